package physmem

import (
	"fmt"
	"sort"
)

// Sparse is physical memory held in process memory: a set of RAM ranges,
// of which only the pages ever written take space. Unwritten bytes inside
// RAM read as zero, like freshly booted RAM in a dump; bytes outside RAM are
// absent. Ranges may also be marked excluded to imitate a filtered dump.
//
// The zero value has no RAM. Sparse is not safe for concurrent writes.
type Sparse struct {
	ranges []Range // sorted, non-overlapping
	pages  map[uint64]*[sparsePage]byte
}

const sparsePage = 4096

// AddRange declares [start, start+size) as memory in state st (Present or
// Excluded). It fails on overflow or overlap with a range already declared.
func (s *Sparse) AddRange(start, size uint64, st State) error {
	if size == 0 {
		return nil
	}
	if start+size < start {
		return &AddrError{Addr: start, Size: size, Err: ErrOverflow}
	}
	if st != Present && st != Excluded {
		return fmt.Errorf("physmem: cannot add a range in state %v", st)
	}
	r := Range{Start: start, Size: size, State: st}
	i := sort.Search(len(s.ranges), func(i int) bool { return s.ranges[i].Start >= start })
	if i > 0 && s.ranges[i-1].End() > start || i < len(s.ranges) && s.ranges[i].Start < r.End() {
		return fmt.Errorf("physmem: range %v overlaps a declared range", r)
	}
	s.ranges = append(s.ranges, Range{})
	copy(s.ranges[i+1:], s.ranges[i:])
	s.ranges[i] = r
	return nil
}

// Ranges implements [Memory].
func (s *Sparse) Ranges() []Range { return s.ranges }

// WriteAt copies p to physical address addr, which must be present memory.
func (s *Sparse) WriteAt(p []byte, addr uint64) error {
	if st := StateOf(s, addr, uint64(len(p))); len(p) > 0 && st != Present {
		return &AddrError{Addr: addr, Size: uint64(len(p)), Err: fmt.Errorf("write to %v memory", st)}
	}
	if s.pages == nil {
		s.pages = make(map[uint64]*[sparsePage]byte)
	}
	for len(p) > 0 {
		pg, off := addr/sparsePage, addr%sparsePage
		buf := s.pages[pg]
		if buf == nil {
			buf = new([sparsePage]byte)
			s.pages[pg] = buf
		}
		n := copy(buf[off:], p)
		p, addr = p[n:], addr+uint64(n)
	}
	return nil
}

// ReadAt implements [Memory].
func (s *Sparse) ReadAt(p []byte, addr uint64) (int, error) {
	size := uint64(len(p))
	if addr+size < addr {
		return 0, &AddrError{Addr: addr, Size: size, Err: ErrOverflow}
	}
	n := 0
	for n < len(p) {
		cur := addr + uint64(n)
		i := sort.Search(len(s.ranges), func(i int) bool { return s.ranges[i].End() > cur })
		if i == len(s.ranges) || s.ranges[i].Start > cur {
			return n, &AddrError{Addr: cur, Size: size, Err: ErrAbsent}
		}
		if s.ranges[i].State != Present {
			return n, &AddrError{Addr: cur, Size: size, Err: ErrExcluded}
		}
		pg, off := cur/sparsePage, cur%sparsePage
		chunk := p[n:]
		if room := sparsePage - off; uint64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		if left := s.ranges[i].End() - cur; uint64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		if buf := s.pages[pg]; buf != nil {
			copy(chunk, buf[off:])
		} else {
			clear(chunk)
		}
		n += len(chunk)
	}
	return n, nil
}

// Pages calls fn for every written page in ascending address order, with
// the page's physical address and contents. Image writers use it to emit
// only the pages that hold data.
func (s *Sparse) Pages(fn func(addr uint64, page []byte) error) error {
	keys := make([]uint64, 0, len(s.pages))
	for k := range s.pages {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		if err := fn(k*sparsePage, s.pages[k][:]); err != nil {
			return err
		}
	}
	return nil
}

// StoredRanges implements [Storer]: the written pages, merged into runs and
// clipped to present memory.
func (s *Sparse) StoredRanges() []Range {
	var written []Range
	_ = s.Pages(func(addr uint64, _ []byte) error {
		if n := len(written); n > 0 && written[n-1].End() == addr {
			written[n-1].Size += sparsePage
		} else {
			written = append(written, Range{Start: addr, Size: sparsePage, State: Present})
		}
		return nil
	})
	return clipToPresent(written, s.ranges)
}
