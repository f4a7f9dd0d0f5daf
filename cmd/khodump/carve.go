package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/khokit/khokit/cmd/khodump/internal/carve"
	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
	"github.com/spf13/pflag"
)

var cmdCarve = &command{
	name:     "carve",
	synopsis: "carve --out FILE [flags] SOURCE",
	summary:  "write a minimal ELF core holding only the pages reachable from the handover (no kernel text, no user data beyond preserved memfds)",
	examples: []string{
		"khodump carve --out handover.elf vmcore.elf",
		"khodump carve --out small.elf --root 0x1eb000 dump.kdump",
		"khodump handover.elf          # the carved core decodes like the original",
	},
	flags: func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.out, "out", "", "the ELF core file to write (required)")
		fs.BoolVar(&o.wholePages, "whole-pages", false, "store every reached page whole, not only up to the last byte read (trailing zeros are never stored)")
		sourceFlags(fs, o)
	},
	run: runCarve,
}

func runCarve(o *options, args []string, stdout, stderr io.Writer) int {
	path, err := oneSource(args)
	if err != nil {
		errorLine(stderr, "carve: "+err.Error())
		return exitUsage
	}
	if o.out == "" {
		errorLine(stderr, "carve: --out FILE is required")
		return exitUsage
	}
	if o.as != "" {
		errorLine(stderr, "carve: --as decodes one blob; carve reads memory images")
		return exitUsage
	}
	l, err := load(path, o, forCarve)
	defer l.close()
	if err != nil {
		return exitFor(stderr, err)
	}
	rec, ok := l.mem.(*physmem.Recorder)
	if !ok {
		errorLine(stderr, fmt.Sprintf("carve: %s is a %v source, not a memory image: nothing to carve", path, l.im.Format))
		return exitUsage
	}
	var preserved, scratch []physmem.Range
	for _, d := range l.handovers {
		preserved = append(preserved, d.h.MemoryMap.PreservedRanges()...)
		c := d.cand
		if c == nil {
			continue
		}
		rec.Add(c.Addr, c.Size)
		if h := c.Handoff; h != nil {
			keepHandoff(o, rec, h)
		}
		keepChosen(o, rec, c)
		for _, s := range c.Scratch {
			// Scratch must be RAM for the handoff to be sound: kept
			// (as zeros), as the locator checks.
			if e := s.Addr + s.Size; e > s.Addr {
				scratch = append(scratch, physmem.Range{Start: s.Addr, Size: s.Size, State: physmem.Present})
			}
		}
	}
	keep := carve.Keep(l.im.Memory, preserved, scratch)
	segs, err := carve.Segments(l.im.Memory, rec.Recorded(), keep, o.effectivePageSize(), o.wholePages)
	if err != nil {
		errorLine(stderr, "carve: "+err.Error())
		return exitMalformed
	}
	var eo image.ELFOptions
	if l.im.VMCoreInfo != nil {
		eo.VMCoreInfo = []byte(l.im.VMCoreInfo.Text)
	}
	if err := writeAtomic(o.out, func(w io.Writer) error { return image.WriteELFSegments(w, l.im.Memory, segs, &eo) }); err != nil {
		errorLine(stderr, "carve: "+err.Error())
		return exitUsage
	}
	var total, stored uint64
	for _, s := range segs {
		total += s.MemSize
		stored += s.FileSize
	}
	o.note("carved %s of memory (%s stored) in %d segments from %s into %s", human(total), human(stored), len(segs), path, o.out)
	return exitOK
}

// maxScratchArray is the largest scratch array kho's locator reads, in
// bytes; past it, it reports scratch.too-many and reads nothing.
const maxScratchArray = kho.MaxScratchEntries * format.ScratchSize

// keepHandoff records what the locator read of an x86 handoff, so the
// carved core keeps its incoming role: the setup_data header and kho_data
// (whatever the node's len says), and the scratch array up to the bound
// the locator reads.
func keepHandoff(o *options, rec *physmem.Recorder, h *kho.KHOData) {
	rec.Add(h.Node, format.SetupDataHeaderSize+format.KHODataSize)
	keepScratchArray(o, rec, "kho_data", h.Node+format.SetupDataHeaderSize, h.ScratchAddr, h.ScratchSize)
}

// keepScratchArray records the scratch array a handoff names (what, at
// where: kho_data or a boot FDT's linux,kho-scratch) as the locator reads
// it: whole entries, at most maxScratchArray bytes. The size comes from
// the image: recorded as given, a hostile one would keep every present
// byte above the array's address.
func keepScratchArray(o *options, rec *physmem.Recorder, what string, where, addr, size uint64) {
	n := size / format.ScratchSize * format.ScratchSize // whole entries, as the locator reads
	if n > maxScratchArray {
		o.note("%s at %#x: scratch_size %d is past the %d bytes of scratch array the locator reads: the array at %#x is not kept",
			what, where, size, maxScratchArray, addr)
		return
	}
	rec.Add(addr, n)
}

// writeAtomic writes a file through a temporary file in the same directory
// and renames it into place, so a failed write leaves nothing half-done.
func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("%s: %v", path, unwrapPath(err))
	}
	tmp := f.Name()
	err = f.Chmod(0o644) // CreateTemp makes 0600; a carved core is no secret the source was not
	if err == nil {
		err = write(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}
