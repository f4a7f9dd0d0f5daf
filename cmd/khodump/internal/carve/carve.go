package carve

import (
	"bytes"
	"slices"
	"sort"

	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
)

// Segments turns the bytes a decode read (spans: sorted, joined, present)
// into ELF segments: every page holding a read byte is kept as present
// memory, and its bytes are stored up to the last one read (the whole page
// with wholePages), without trailing zeros. The rest of such a page reads
// back as zeros: the decoder never looked at it. pageSize must be a power
// of two.
//
// keep (sorted, joined; see [Keep]) is memory the decode did not
// necessarily read but that must stay present, as zeros taking no file
// space: the decoder checks that preserved blocks, whole objects and
// scratch lie in memory, and a carved core must pass the same checks. Its
// parts mem describes (present or excluded) are kept.
func Segments(mem physmem.Memory, spans, keep []physmem.Range, pageSize uint64, wholePages bool) ([]image.Segment, error) {
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
	// Kept ranges not covered by a read page become zero pieces.
	reads := pages[:len(pages):len(pages)] // appends below go to a new array
	i := 0
	for _, r := range keep {
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
		if p.size != 0 { // a zero piece of kept memory
			size, p.fileEnd = p.size, 0
		} else if wholePages {
			p.fileEnd = pageSize
		}
		for _, r := range presentParts(mem, p.addr, size, p.size != 0) {
			file := r.End() // stored bytes end; p.addr+p.fileEnd may wrap, r.End()-p.addr cannot
			if r.End()-p.addr > p.fileEnd {
				file = p.addr + p.fileEnd
			}
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

// Keep returns the memory a carved core keeps as zeros where no read page
// covers it, sorted and joined for [Segments]: the present parts of
// preserved (a preserved page a dump filtered out stays out, so the carved
// core decodes it as the source does), and the parts of ram the image
// describes, present or excluded (scratch need only be RAM, and its
// contents are never read).
func Keep(mem physmem.Memory, preserved, ram []physmem.Range) []physmem.Range {
	var keep []physmem.Range
	for _, r := range physmem.Merge(slices.Clone(preserved)) { // joined first: fewer lookups
		keep = append(keep, presentParts(mem, r.Start, r.Size, false)...)
	}
	for _, r := range ram {
		keep = append(keep, presentParts(mem, r.Start, r.Size, true)...)
	}
	return physmem.Merge(keep) // every part is Present: all are joined
}

// presentParts returns the parts of [addr, addr+size) in present memory,
// or with described also in excluded memory.
func presentParts(mem physmem.Memory, addr, size uint64, described bool) []physmem.Range {
	var out []physmem.Range
	end := addr + size
	if end < addr {
		end = ^uint64(0)
	}
	rs := mem.Ranges() // sorted, not overlapping: start at the first that reaches addr
	for i := sort.Search(len(rs), func(i int) bool { return rs[i].End() > addr }); i < len(rs) && rs[i].Start < end; i++ {
		r := rs[i]
		if r.State != physmem.Present && !(described && r.State == physmem.Excluded) {
			continue
		}
		lo, hi := max(r.Start, addr), min(r.End(), end)
		out = append(out, physmem.Range{Start: lo, Size: hi - lo, State: physmem.Present})
	}
	return out
}
