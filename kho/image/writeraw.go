package image

import (
	"bufio"
	"io"

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
