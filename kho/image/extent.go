package image

import (
	"errors"
	"io"
	"sort"

	"github.com/khokit/khokit/kho/physmem"
)

// extent maps physical memory onto a file: [start, start+size) reads from
// the file at off for the first fileSize bytes and as zeros after that
// (an ELF segment whose p_filesz is below p_memsz).
type extent struct {
	start    uint64
	size     uint64
	off      int64
	fileSize uint64
}

func (e extent) end() uint64 { return e.start + e.size }

// extentMemory is physical memory backed by sorted, non-overlapping
// extents of one file. Raw and ELF images use it.
type extentMemory struct {
	r      io.ReaderAt
	ext    []extent
	ranges []physmem.Range
}

// newExtentMemory takes extents sorted by start and not overlapping.
func newExtentMemory(r io.ReaderAt, ext []extent) *extentMemory {
	return &extentMemory{r: r, ext: ext, ranges: extentRuns(ext, func(e extent) uint64 { return e.size })}
}

// extentRuns returns the first size(e) bytes of each extent as present
// ranges, adjacent ones joined (by mergeRuns, as the writers join).
func extentRuns(ext []extent, size func(extent) uint64) []physmem.Range {
	rs := make([]physmem.Range, len(ext))
	for i, e := range ext {
		rs[i] = physmem.Range{Start: e.start, Size: size(e), State: physmem.Present}
	}
	return mergeRuns(rs)
}

// Ranges implements [physmem.Memory].
func (m *extentMemory) Ranges() []physmem.Range { return m.ranges }

// StoredRanges implements [physmem.Storer]: the parts of the extents that
// the file holds, without the zeros an ELF segment implies past p_filesz.
func (m *extentMemory) StoredRanges() []physmem.Range {
	return extentRuns(m.ext, func(e extent) uint64 { return min(e.fileSize, e.size) })
}

// ReadAt implements [physmem.Memory].
func (m *extentMemory) ReadAt(p []byte, addr uint64) (int, error) {
	size := uint64(len(p))
	if addr+size < addr {
		return 0, &physmem.AddrError{Addr: addr, Size: size, Err: physmem.ErrOverflow}
	}
	n := 0
	i := sort.Search(len(m.ext), func(i int) bool { return m.ext[i].end() > addr })
	for n < len(p) {
		cur := addr + uint64(n)
		if i == len(m.ext) || m.ext[i].start > cur {
			return n, &physmem.AddrError{Addr: cur, Size: size, Err: physmem.ErrAbsent}
		}
		e := m.ext[i]
		rel := cur - e.start
		chunk := p[n:]
		if left := e.size - rel; uint64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		if rel < e.fileSize {
			fc := chunk
			if left := e.fileSize - rel; uint64(len(fc)) > left {
				fc = fc[:left]
			}
			k, err := m.r.ReadAt(fc, e.off+int64(rel))
			if k < len(fc) {
				if err == nil || errors.Is(err, io.EOF) {
					err = formatErr(e.off+int64(rel)+int64(k), ErrTruncated, "file ends inside a segment", nil)
				}
				return n + k, &physmem.AddrError{Addr: cur + uint64(k), Size: size, Err: err}
			}
			clear(chunk[len(fc):])
		} else {
			clear(chunk)
		}
		n += len(chunk)
		i++
	}
	return n, nil
}

// clipExtents sorts ext by start (stably, so file order breaks ties) and
// cuts every extent that overlaps one before it, so the earlier-starting
// extent wins; overlap is called for each cut so callers can report it.
func clipExtents(ext []extent, overlap func(e extent, prevEnd uint64)) []extent {
	sort.SliceStable(ext, func(i, j int) bool { return ext[i].start < ext[j].start })
	out := ext[:0]
	var prevEnd uint64
	for _, e := range ext {
		if len(out) > 0 && e.start < prevEnd {
			overlap(e, prevEnd)
			if e.end() <= prevEnd {
				continue
			}
			cut := prevEnd - e.start
			e.start, e.size = prevEnd, e.size-cut
			if cut < e.fileSize {
				e.off += int64(cut)
				e.fileSize -= cut
			} else {
				e.fileSize = 0
			}
		}
		out = append(out, e)
		prevEnd = e.end()
	}
	return out
}

// readAtFull reads exactly len(p) bytes at off. A short read is a
// *FormatError at the first byte not read: ErrTruncated where the file
// ends, else wrapping the reader's error. An error the reader located
// itself (a flattened stream's) keeps its offset and gains what.
func readAtFull(r io.ReaderAt, p []byte, off int64, what string) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if fe := (*FormatError)(nil); errors.As(err, &fe) {
		if !fe.inFlat {
			return err
		}
		return &FormatError{Off: fe.Off, Msg: what + " cannot be read, " + fe.Msg, Val: fe.Val, Err: fe.Err, inFlat: true}
	}
	if err == nil || errors.Is(err, io.EOF) {
		return formatErr(off+int64(n), ErrTruncated, "file ends inside "+what, nil)
	}
	return &FormatError{Off: off + int64(n), Msg: "reading " + what + " failed", Err: err}
}
