package image

import (
	"fmt"
	"io"

	"github.com/khokit/khokit/kho/physmem"
)

// Segment is one PT_LOAD written by [WriteELFSegments]: MemSize bytes of
// physical memory from Start, of which the first FileSize are stored
// (read from the memory) and the rest read back as zeros.
type Segment struct {
	Start    uint64
	MemSize  uint64
	FileSize uint64
}

// AppendSegment appends s to segs, joining it with the last segment when
// the two are adjacent and the join still stores a prefix: an s that
// stores nothing extends the last segment's zeros, and a last segment
// stored whole takes s's stored bytes and zeros. Otherwise s is appended
// as its own segment.
func AppendSegment(segs []Segment, s Segment) []Segment {
	if n := len(segs); n > 0 && segs[n-1].Start+segs[n-1].MemSize == s.Start {
		prev := &segs[n-1]
		switch {
		case s.FileSize == 0:
			prev.MemSize += s.MemSize
			return segs
		case prev.FileSize == prev.MemSize:
			prev.FileSize += s.FileSize
			prev.MemSize += s.MemSize
			return segs
		}
	}
	return append(segs, s)
}

// WriteELFSegments writes an ELF64 core file holding exactly segs, one
// PT_LOAD each, in order and not merged: a carved image keeps each page's
// read part without the zeros between pages. segs must be sorted by Start,
// must not overlap, and each FileSize must be at most its MemSize; a list
// that breaks this is an error wrapping ErrInvalidArgument.
// opts.TrimZeros is ignored (the caller chose the file sizes).
func WriteELFSegments(w io.Writer, m physmem.Memory, segs []Segment, opts *ELFOptions) error {
	o := opts.withDefaults()
	var prevEnd uint64
	for i, s := range segs {
		end := s.Start + s.MemSize
		switch {
		case s.MemSize == 0:
			return fmt.Errorf("image: segment %d at %#x is empty: %w", i, s.Start, ErrInvalidArgument)
		case end < s.Start:
			return fmt.Errorf("image: segment %d at %#x wraps the address space: %w", i, s.Start, ErrInvalidArgument)
		case s.FileSize > s.MemSize:
			return fmt.Errorf("image: segment %d at %#x stores %#x bytes of %#x: %w", i, s.Start, s.FileSize, s.MemSize, ErrInvalidArgument)
		case i > 0 && s.Start < prevEnd:
			return fmt.Errorf("image: segment %d at %#x overlaps or precedes the one before: %w", i, s.Start, ErrInvalidArgument)
		}
		prevEnd = end
	}
	return writeCore(w, m, segs, o)
}
