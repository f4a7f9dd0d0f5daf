package image

import (
	"bufio"
	"io"
	"sort"

	"github.com/khokit/khokit/kho/physmem"
)

// WriteRaw writes the present ranges of m listed in ranges back to back
// and returns where each landed, for [NewRawRanges]. A single range
// starting at base gives a file that [NewRaw] reads with that base.
func WriteRaw(w io.Writer, m physmem.Memory, ranges []physmem.Range) ([]RawRange, error) {
	bw := bufio.NewWriterSize(w, copyChunk)
	var layout []RawRange
	var off int64
	for _, r := range mergeRuns(ranges) {
		if err := copyMemory(bw, m, r.Start, r.Size); err != nil {
			return nil, err
		}
		layout = append(layout, RawRange{Off: off, Start: r.Start, Size: r.Size})
		off += int64(r.Size)
	}
	return layout, bw.Flush()
}

// WrittenRanges returns the pages of s that were ever written, as present
// ranges with adjacent pages joined: what a writer needs to store only the
// pages that hold data.
func WrittenRanges(s *physmem.Sparse) []physmem.Range {
	var rs []physmem.Range
	declared := s.Ranges()
	s.Pages(func(addr uint64, page []byte) error {
		end := addr + uint64(len(page))
		i := sort.Search(len(declared), func(i int) bool { return declared[i].End() > addr })
		for ; i < len(declared) && declared[i].Start < end; i++ {
			if d := declared[i]; d.State == physmem.Present {
				lo, hi := max(addr, d.Start), min(end, d.End())
				rs = append(rs, physmem.Range{Start: lo, Size: hi - lo, State: physmem.Present})
			}
		}
		return nil
	})
	return mergeRuns(rs)
}
