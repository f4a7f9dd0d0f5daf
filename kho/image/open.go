package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/khokit/khokit/kho/physmem"
)

// Format names an image format.
type Format uint8

const (
	FormatAuto      Format = iota // detect from the bytes
	FormatRaw                     // physical memory from Options.Base, no header
	FormatELF                     // ELF64 core file
	FormatKdump                   // makedumpfile kdump-compressed
	FormatFlattened               // makedumpfile flattened stream of a kdump-compressed file
	FormatDebugfs                 // copy of /sys/kernel/debug/kho
	FormatFDT                     // a bare FDT blob (a root FDT), no address
	FormatBlob                    // any single blob (luo_ser, a block page ...), no address
)

var formatNames = [...]string{"auto", "raw", "elf", "kdump", "flattened", "debugfs", "fdt", "blob"}

// formatWhat describes each format in error messages.
var formatWhat = [...]string{"", "raw dump", "ELF core file", "kdump-compressed file", "makedumpfile flattened file", "debugfs copy", "FDT blob", "blob"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// ParseFormat is the inverse of Format.String.
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if strings.EqualFold(s, n) {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("image: unknown format %q (want one of %s)", s, strings.Join(formatNames[:], ", "))
}

// Detect names the format of a file from its first bytes (64 are enough;
// fewer may not be). It returns FormatAuto when nothing matches: raw
// dumps and blobs have no signature.
func Detect(head []byte) Format {
	switch {
	case len(head) >= 18 && string(head[:4]) == elf.ELFMAG:
		return FormatELF // ET_CORE or not: NewELF explains which it is
	case bytes.HasPrefix(head, []byte(KdumpSignature)), bytes.HasPrefix(head, []byte(DiskdumpSignature)):
		return FormatKdump
	case len(head) >= 16 && cstring(head[:16]) == FlatSignature:
		return FormatFlattened
	case len(head) >= 4 && binary.BigEndian.Uint32(head) == 0xd00dfeed:
		return FormatFDT
	}
	return FormatAuto
}

// Options says how to open an image.
type Options struct {
	Format Format
	Base   uint64     // FormatRaw: physical address of file offset 0
	Ranges []RawRange // FormatRaw: explicit layout instead of Base
	Side   string     // FormatDebugfs: "in", "out", or "" (in when present)
}

// MaxBlob bounds the FDT and blob files Open reads into memory.
const MaxBlob = 64 << 20

// Image is an opened memory image.
type Image struct {
	Format     Format
	Memory     physmem.Memory // nil for FormatFDT and FormatBlob
	Notes      []Note         // ELF notes (ELF, kdump)
	VMCoreInfo *VMCoreInfo
	RootFDT    []byte // debugfs and FDT images: the root FDT, whose address is unknown
	Blob       []byte // FDT and blob images: the file's bytes
	// Findings are the non-fatal problems met at open, most of them
	// *FormatError. Kdump.Findings may gain more when Ranges first runs;
	// AllFindings returns these and those.
	Findings []error

	ELF       *ELF       // set for FormatELF
	Kdump     *Kdump     // set for FormatKdump and FormatFlattened
	Flattened *Flattened // set for FormatFlattened
	Debugfs   *Debugfs   // set for FormatDebugfs

	file      *os.File
	kdumpSeen int // len(Kdump.Findings) when open copied them into Findings
}

// AllFindings returns Findings, then the findings the kdump reader has
// added since open: those its first Ranges call met (a bitmap it could not
// read, more runs than it lists). Call it after the memory has been used
// to see them all; it is safe while other goroutines read the image.
func (im *Image) AllFindings() []error {
	out := slices.Clone(im.Findings)
	if im.Kdump != nil {
		out = append(out, im.Kdump.findingsFrom(im.kdumpSeen)...)
	}
	return out
}

// Close releases the file and decoders.
func (im *Image) Close() error {
	if im.Kdump != nil {
		im.Kdump.Close()
	}
	if im.file != nil {
		return im.file.Close()
	}
	return nil
}

// Open opens the image at path: a file, or a debugfs directory. With
// FormatAuto the format comes from the bytes; an explicit format that the
// bytes contradict is refused with a one-line error naming the right one.
func Open(path string, opts Options) (*Image, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		if opts.Format != FormatAuto && opts.Format != FormatDebugfs {
			return nil, fmt.Errorf("image: %s is a directory; only --format debugfs (or auto) reads directories: %w", path, ErrWrongFormat)
		}
		d, err := OpenDebugfs(path, opts.Side)
		if err != nil {
			return nil, err
		}
		return &Image{Format: FormatDebugfs, Memory: d.Memory, RootFDT: d.RootFDT, Findings: d.Findings, Debugfs: d}, nil
	}
	if opts.Format == FormatDebugfs {
		return nil, fmt.Errorf("image: %s is a file; --format debugfs wants the copied kho directory: %w", path, ErrWrongFormat)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	im, err := open(f, st.Size(), path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	im.file = f
	return im, nil
}

// OpenReader opens an image held by r, of size bytes, as Open does for a
// file. Debugfs copies are directories and need Open.
func OpenReader(r io.ReaderAt, size int64, opts Options) (*Image, error) {
	if opts.Format == FormatDebugfs {
		return nil, fmt.Errorf("image: a debugfs copy is a directory; use Open: %w", ErrWrongFormat)
	}
	return open(r, size, "image", opts)
}

// open reads r as opts asks; name is for messages.
func open(r io.ReaderAt, size int64, name string, opts Options) (*Image, error) {
	head := make([]byte, min(size, 64))
	if err := readAtFull(r, head, 0, "the first bytes"); err != nil {
		return nil, err
	}
	detected := Detect(head)
	format := opts.Format
	switch {
	case format == FormatAuto && detected == FormatAuto:
		return nil, fmt.Errorf("image: %s: no known image format (starts % x); pass --format raw --base ADDR for a raw dump, or --format blob: %w", name, head[:min(len(head), 8)], ErrUnknownFormat)
	case format == FormatAuto:
		format = detected
	case format == FormatRaw || format == FormatBlob:
		// The user knows: raw memory and blobs may start with anything.
	case format != detected && detected != FormatAuto:
		return nil, fmt.Errorf("image: %s: this looks like a %s, not a %s; pass --format %v (or auto): %w", name, formatWhat[detected], formatWhat[format], detected, ErrWrongFormat)
	case format != detected:
		return nil, fmt.Errorf("image: %s: no %s signature; pass --format raw --base ADDR for a raw dump, or --format blob: %w", name, formatWhat[format], ErrWrongFormat)
	}
	im := &Image{Format: format}
	switch format {
	case FormatRaw:
		var err error
		if opts.Ranges != nil {
			im.Memory, err = NewRawRanges(r, size, opts.Ranges)
		} else {
			im.Memory, err = NewRaw(r, size, opts.Base)
		}
		if err != nil {
			return nil, err
		}
	case FormatELF:
		e, err := NewELF(r, size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		im.ELF, im.Memory, im.Notes, im.VMCoreInfo, im.Findings = e, e, e.Notes, e.VMCoreInfo, e.Findings
	case FormatKdump, FormatFlattened:
		var kr io.ReaderAt = r
		ksize := size
		if format == FormatFlattened {
			fl, err := NewFlattened(r, size)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			im.Flattened, im.Findings = fl, fl.Findings
			kr, ksize = fl, fl.Size()
		}
		k, err := NewKdump(kr, ksize)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		im.Kdump, im.Memory, im.Notes, im.VMCoreInfo = k, k, k.Notes, k.VMCoreInfo
		im.Findings = append(im.Findings, k.Findings...)
		im.kdumpSeen = len(k.Findings)
	case FormatFDT, FormatBlob:
		if size > MaxBlob {
			return nil, fmt.Errorf("image: %s: %d bytes is too large for a blob (limit %d); for memory dumps pass --format raw --base ADDR: %w", name, size, MaxBlob, ErrLimit)
		}
		im.Blob = make([]byte, size)
		if err := readAtFull(r, im.Blob, 0, "the blob"); err != nil {
			return nil, err
		}
		if format == FormatFDT {
			im.RootFDT = im.Blob
		}
	default:
		return nil, fmt.Errorf("image: %s: cannot open format %v", name, format)
	}
	return im, nil
}
