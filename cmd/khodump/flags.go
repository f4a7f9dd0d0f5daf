package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/image"
	"github.com/spf13/pflag"
)

// options are the flags of every command; each command registers the ones
// it takes.
type options struct {
	root, base   addrValue
	pageSize     uint64
	khoV1Bitmap  kho.KHOv1BitmapSize
	format       string
	as           string
	output       string
	kernel       string
	dir, out     string
	btf          string
	quiet        bool
	verbose      bool
	noProgress   bool
	lenient      bool
	wholePages   bool // carve --whole-pages
	imageFormat  image.Format
	stderr       io.Writer
	outputChoice []string // the values -o accepts for this command
	// changed reports whether a flag was given on the command line (set
	// once the flags are parsed).
	changed func(name string) bool
}

// addrValue is a physical address flag: hex with 0x, or decimal.
type addrValue struct {
	v   uint64
	set bool
}

func (a *addrValue) String() string {
	if !a.set {
		return ""
	}
	return fmt.Sprintf("%#x", a.v)
}

func (a *addrValue) Set(s string) error {
	v, err := parseNumber(s)
	if err != nil {
		return err
	}
	a.v, a.set = v, true
	return nil
}

func (a *addrValue) Type() string { return "ADDR" }

// parseNumber reads hex (0x…) or decimal, never octal: "010" is ten.
func parseNumber(s string) (uint64, error) {
	t := strings.ReplaceAll(s, "_", "")
	base := 10
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		t, base = t[2:], 16
	}
	v, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number (want hex 0x… or decimal)", s)
	}
	return v, nil
}

// numberValue is a size flag in the same syntax.
type numberValue struct{ p *uint64 }

func (n numberValue) String() string {
	if n.p == nil || *n.p == 0 {
		return ""
	}
	return strconv.FormatUint(*n.p, 10)
}

func (n numberValue) Set(s string) error {
	v, err := parseNumber(s)
	if err == nil {
		*n.p = v
	}
	return err
}

func (n numberValue) Type() string { return "N" }

// bitmapSizeValue is --kho-v1-bitmap: detect, 512 or page.
type bitmapSizeValue struct{ p *kho.KHOv1BitmapSize }

func (v bitmapSizeValue) String() string {
	if v.p == nil {
		return kho.KHOv1BitmapDetect.String()
	}
	return v.p.String()
}

func (v bitmapSizeValue) Set(s string) error {
	b, err := kho.ParseKHOv1BitmapSize(s)
	if err != nil {
		return fmt.Errorf("want detect, 512 or page")
	}
	*v.p = b
	return nil
}

func (v bitmapSizeValue) Type() string { return "SIZE" }

// sourceFlags registers the flags that say how to read SOURCE.
func sourceFlags(fs *pflag.FlagSet, o *options) {
	fs.Var(&o.root, "root", "physical address of the KHO root FDT (skips the search)")
	fs.Var(&o.base, "base", "physical address of file offset 0 of a raw dump")
	fs.Var(numberValue{&o.pageSize}, "page-size", "page size of the kernel that wrote the handover: 4096, 16384 or 65536 (default: the dump's VMCOREINFO PAGESIZE, else 4096)")
	fs.Var(bitmapSizeValue{&o.khoV1Bitmap}, "kho-v1-bitmap", "size of a kho-v1 memory map's bitmaps: 512 (Linux 6.16, 6.17), page (6.18 on) or detect (from the chunk elements; pages when they do not tell)")
	fs.StringVar(&o.format, "format", "auto", "SOURCE format: auto, raw, elf, kdump, flattened, debugfs, fdt or blob")
	fs.StringVar(&o.as, "as", "", "decode SOURCE as one blob of this catalogue format (see 'khodump abi'), e.g. luo-flb, fdt")
	fs.BoolVar(&o.lenient, "lenient", false, "accept FDT producer quirks (truncated debugfs copy, short size_dt_struct) as findings")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print no notes on stderr, only errors")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "print more: candidate evidence, memory-map runs, every folio")
	fs.BoolVar(&o.noProgress, "no-progress", false, "never draw a progress bar on stderr")
}

// outputFlag registers -o with the given choices, the first the default.
func outputFlag(fs *pflag.FlagSet, o *options, choices ...string) {
	o.outputChoice = choices
	fs.StringVarP(&o.output, "output", "o", choices[0], "output format: "+strings.Join(choices, ", "))
}

// resolve checks flag values that pflag cannot.
func (o *options) resolve() error {
	if o.outputChoice != nil && !slices.Contains(o.outputChoice, o.output) {
		return fmt.Errorf("unknown output format %q (want %s)", o.output, strings.Join(o.outputChoice, ", "))
	}
	if o.format != "" {
		f, err := image.ParseFormat(o.format)
		if err != nil {
			return fmt.Errorf("--format: unknown format %q (want auto, raw, elf, kdump, flattened, debugfs, fdt or blob)", o.format)
		}
		o.imageFormat = f
	}
	switch o.pageSize {
	case 0, 4096, 16384, 65536:
	default:
		return fmt.Errorf("--page-size %d: want 4096, 16384 or 65536", o.pageSize)
	}
	if o.base.set && o.imageFormat == image.FormatAuto {
		o.imageFormat = image.FormatRaw // --base only means something for raw dumps
	}
	if o.base.set && o.imageFormat != image.FormatRaw {
		return fmt.Errorf("--base is for raw dumps; it cannot go with --format %s", o.format)
	}
	if o.quiet && o.verbose {
		return fmt.Errorf("-q and -v contradict each other")
	}
	return nil
}

// note prints an informational line on stderr unless -q.
func (o *options) note(format string, args ...any) {
	if !o.quiet {
		fmt.Fprintf(o.stderr, "khodump: "+format+"\n", args...)
	}
}

// oneSource checks that exactly one SOURCE was given.
func oneSource(args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("want exactly one SOURCE, got %d arguments", len(args))
	}
	return args[0], nil
}
