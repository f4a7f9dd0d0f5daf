package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

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
		fs.BoolVar(&o.exact, "whole-pages", false, "store every reached page whole, not only up to the last byte read (trailing zeros are never stored)")
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
	for _, d := range l.handovers {
		if c := d.cand; c != nil {
			rec.Add(c.Addr, c.Size)
			if h := c.Handoff; h != nil {
				rec.Add(h.Node, 16+uint64(h.Len)) // setup_data header and kho_data: the carved core keeps its incoming role
				rec.Add(h.ScratchAddr, h.ScratchSize)
			}
		}
	}
	// What must stay present memory: a Recorder with grain 1 is physmem's
	// range set (Recorded sorts, joins and clips to present memory).
	keep := physmem.NewRecorder(l.im.Memory, 1)
	for _, d := range l.handovers {
		for _, r := range d.h.MemoryMap.PreservedRanges() {
			keep.Add(r.Start, r.Size)
		}
		for _, s := range d.scratch {
			// Scratch must be RAM for the handoff to be sound: kept
			// present (as zeros), as the locator checks.
			if e := s.Addr + s.Size; e > s.Addr {
				keep.Add(s.Addr, s.Size)
			}
		}
	}
	segs, err := carveSegments(l.im.Memory, rec.Recorded(), keep.Recorded(), o.effectivePageSize(), o.exact)
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

// carveSegments turns the bytes a decode read (sorted, merged, present)
// into ELF segments: every page holding a read byte is kept as present
// memory, and its bytes are stored up to the last one read (the whole page
// with wholePages), without trailing zeros. The rest of such a page reads
// back as zeros: the decoder never looked at it.
//
// Preserved memory (sorted, joined) the decode did not read is kept as
// present zeros (stored size 0): the decoder checks that preserved blocks
// and whole objects lie in memory, and a carved core must pass the same
// checks.
func carveSegments(mem physmem.Memory, spans, preserved []physmem.Range, pageSize uint64, wholePages bool) ([]image.Segment, error) {
	type page struct {
		addr, fileEnd uint64 // fileEnd: offset in the page past the last byte read
		size          uint64 // 0 for a read page; else a zero piece of this size
	}
	var pages []page
	for _, s := range spans {
		for a := s.Start &^ (pageSize - 1); a < s.End(); a += pageSize {
			end := min(s.End()-a, pageSize)
			if n := len(pages); n > 0 && pages[n-1].addr == a {
				pages[n-1].fileEnd = max(pages[n-1].fileEnd, end)
			} else {
				pages = append(pages, page{addr: a, fileEnd: end})
			}
			if a+pageSize < a {
				break
			}
		}
	}
	// Preserved ranges not covered by a read page become zero pieces.
	reads := pages[:len(pages):len(pages)] // appends below go to a new array
	i := 0
	for _, r := range preserved {
		cur, end := r.Start, r.End()
		for i < len(reads) && reads[i].addr+pageSize <= cur {
			i++
		}
		for j := i; j < len(reads) && reads[j].addr < end; j++ {
			if reads[j].addr > cur {
				pages = append(pages, page{addr: cur, size: reads[j].addr - cur})
			}
			cur = max(cur, reads[j].addr+pageSize)
		}
		if cur < end {
			pages = append(pages, page{addr: cur, size: end - cur})
		}
	}
	sort.Slice(pages, func(a, b int) bool { return pages[a].addr < pages[b].addr })
	var segs []image.Segment
	buf := make([]byte, pageSize)
	for _, p := range pages {
		size := pageSize
		if p.size != 0 { // a zero piece of preserved memory
			size, p.fileEnd = p.size, 0
		} else if wholePages {
			p.fileEnd = pageSize
		}
		for _, r := range presentParts(mem, p.addr, size) {
			file := min(p.addr+p.fileEnd, r.End()) // stored bytes end
			var fileSize uint64
			if file > r.Start {
				b := buf[:file-r.Start]
				if _, err := mem.ReadAt(b, r.Start); err != nil {
					return nil, err
				}
				fileSize = uint64(len(bytes.TrimRight(b, "\x00")))
			}
			segs = image.AppendSegment(segs, image.Segment{Start: r.Start, MemSize: r.Size, FileSize: fileSize})
		}
	}
	return segs, nil
}

// presentParts returns the present parts of [addr, addr+size).
func presentParts(mem physmem.Memory, addr, size uint64) []physmem.Range {
	var out []physmem.Range
	end := addr + size
	if end < addr {
		end = ^uint64(0)
	}
	for _, r := range mem.Ranges() {
		if r.State != physmem.Present || r.End() <= addr || r.Start >= end {
			continue
		}
		lo, hi := max(r.Start, addr), min(r.End(), end)
		out = append(out, physmem.Range{Start: lo, Size: hi - lo, State: physmem.Present})
	}
	return out
}
