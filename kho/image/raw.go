package image

import (
	"fmt"
	"io"

	"github.com/khokit/khokit/kho/physmem"
)

// RawRange places Size bytes of a raw file, starting at file offset Off,
// at physical address Start.
type RawRange struct {
	Off   int64
	Start uint64
	Size  uint64
}

// NewRaw returns the raw dump r of size bytes as physical memory starting
// at base: file offset 0 is physical address base.
func NewRaw(r io.ReaderAt, size int64, base uint64) (physmem.Memory, error) {
	return NewRawRanges(r, size, []RawRange{{Off: 0, Start: base, Size: uint64(size)}})
}

// NewRawRanges returns a raw file as physical memory laid out by ranges.
// Ranges must lie inside the file and must not overlap in physical memory.
func NewRawRanges(r io.ReaderAt, size int64, ranges []RawRange) (physmem.Memory, error) {
	if size < 0 {
		return nil, fmt.Errorf("image: negative file size %d", size)
	}
	ext := make([]extent, 0, len(ranges))
	for _, rr := range ranges {
		if rr.Size == 0 {
			continue
		}
		if rr.Off < 0 || rr.Off > size || rr.Size > uint64(size-rr.Off) {
			return nil, formatErr(rr.Off, ErrTruncated, fmt.Sprintf("raw range of %#x bytes runs past the end of the %#x-byte file", rr.Size, size), nil)
		}
		if rr.Start+rr.Size < rr.Start {
			return nil, &physmem.AddrError{Addr: rr.Start, Size: rr.Size, Err: physmem.ErrOverflow}
		}
		ext = append(ext, extent{start: rr.Start, size: rr.Size, off: rr.Off, fileSize: rr.Size})
	}
	var clash error
	ext = clipExtents(ext, func(e extent, prevEnd uint64) {
		if clash == nil {
			clash = formatErr(e.off, ErrFormat, fmt.Sprintf("raw range at physical %#x overlaps the one ending at %#x", e.start, prevEnd), nil)
		}
	})
	if clash != nil {
		return nil, clash
	}
	return newExtentMemory(r, ext), nil
}
