package physmem

import (
	"errors"
	"fmt"
	"sort"
)

// Sentinel errors wrapped by [AddrError].
var (
	// ErrAbsent means the address lies outside every range the source describes.
	ErrAbsent = errors.New("physical memory absent from source")
	// ErrExcluded means the range was memory, but the source did not keep
	// its contents (a page makedumpfile filtered out, for example).
	ErrExcluded = errors.New("physical memory excluded from dump")
	// ErrOverflow means addr+size wraps around the 64-bit address space.
	ErrOverflow = errors.New("physical range overflows 64 bits")
	// ErrTooLarge means a read asked for more than its caller's limit.
	ErrTooLarge = errors.New("read exceeds its limit")
)

// State says what a source knows of a physical range.
type State uint8

const (
	Absent   State = iota // not described by the source
	Present               // contents readable
	Excluded              // known memory whose contents the source lacks
	Mixed                 // a range that spans more than one state
)

func (s State) String() string {
	switch s {
	case Absent:
		return "absent"
	case Present:
		return "present"
	case Excluded:
		return "excluded"
	case Mixed:
		return "mixed"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Range is a run of physical addresses [Start, Start+Size) in one state.
type Range struct {
	Start uint64
	Size  uint64
	State State
}

// End returns the first address past the range, saturating at 2^64-1 so
// that a range touching the top of the address space compares correctly.
func (r Range) End() uint64 {
	if e := r.Start + r.Size; e >= r.Start {
		return e
	}
	return ^uint64(0)
}

func (r Range) String() string {
	return fmt.Sprintf("[%#x-%#x) %s", r.Start, r.End(), r.State)
}

// Memory is random access to physical memory.
//
// ReadAt fills p from physical address addr. When some byte is not
// present it returns the count read before it and an [*AddrError] that
// wraps ErrAbsent, ErrExcluded or ErrOverflow, or an I/O error from the
// underlying file. Implementations must not allocate in proportion to
// anything but len(p).
//
// Ranges lists the ranges the source describes, sorted by Start and not
// overlapping. It may be coarser than ReadAt: a dump that excludes single
// pages may report a present range and fail a read inside it with
// ErrExcluded. Implementations compute it lazily and cache it.
type Memory interface {
	ReadAt(p []byte, addr uint64) (n int, err error)
	Ranges() []Range
}

// AddrError is a failed physical access: where, how much, and why.
type AddrError struct {
	Addr uint64 // first address that could not be read
	Size uint64 // size of the access that failed
	Err  error  // ErrAbsent, ErrExcluded, ErrOverflow or an I/O error
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("physical %#x (+%#x): %v", e.Addr, e.Size, e.Err)
}

func (e *AddrError) Unwrap() error { return e.Err }

// StateOf reports the state of [addr, addr+size) according to m.Ranges.
// A zero size is Present when addr lies in a present range.
func StateOf(m Memory, addr, size uint64) State {
	if addr+size < addr {
		return Absent
	}
	st, _ := walk(m.Ranges(), addr, addr+size)
	return st
}

// Described reports whether every byte of [addr, addr+size) lies in one of
// m's ranges, whatever their state: memory the image knows of, whether it
// holds the bytes or left them out (a dump's filtered pages). A zero size
// is described when addr lies in some range.
func Described(m Memory, addr, size uint64) bool {
	if addr+size < addr {
		return false
	}
	_, described := walk(m.Ranges(), addr, addr+size)
	return described
}

// walk follows the sorted, disjoint ranges rs over [addr, end): the state
// of those bytes (Absent when addr lies in no range, Mixed when they span a
// gap or more than one state), and whether every byte lies in some range.
func walk(rs []Range, addr, end uint64) (st State, described bool) {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].End() > addr })
	if i == len(rs) || rs[i].Start > addr {
		return Absent, false
	}
	st = rs[i].State
	for cur := rs[i].End(); cur < end; {
		if i++; i == len(rs) || rs[i].Start != cur {
			return Mixed, false
		}
		if rs[i].State != st {
			st = Mixed
		}
		cur = rs[i].End()
	}
	return st, true
}

// Read returns n bytes at addr, refusing before it allocates when n
// exceeds max: callers pass the largest object the format allows.
func Read(m Memory, addr uint64, n, max int) ([]byte, error) {
	if n < 0 || n > max {
		return nil, &AddrError{Addr: addr, Size: uint64(n), Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, max)}
	}
	if addr+uint64(n) < addr {
		return nil, &AddrError{Addr: addr, Size: uint64(n), Err: ErrOverflow}
	}
	b := make([]byte, n)
	if _, err := m.ReadAt(b, addr); err != nil {
		return nil, err
	}
	return b, nil
}

// Storer is implemented by sources in which some present bytes are implied
// rather than stored: an ELF segment's p_memsz beyond its p_filesz reads as
// zeros, and so do the unwritten pages of a [Sparse]. StoredRanges lists the
// present ranges whose bytes the source really holds, sorted and not
// overlapping.
type Storer interface {
	StoredRanges() []Range
}

// ScanRanges returns the ranges a scan for structures must read: the stored
// ranges of m when it says which they are, widened to whole multiples of
// grain (a page size: a structure starting in a stored byte may run into
// the implied zeros after it) and clipped to present memory; else m's
// present ranges. Implied zeros hold no structure, and skipping them keeps
// a scan's cost in proportion to the input rather than to what a header
// claims (an ELF header may claim terabytes of zero fill in a few bytes).
// grain must be a power of two; 0 or 1 means none.
func ScanRanges(m Memory, grain uint64) []Range {
	s, ok := m.(Storer)
	if !ok {
		var present []Range
		for _, r := range m.Ranges() {
			if r.State == Present {
				present = append(present, r)
			}
		}
		return present
	}
	if grain == 0 {
		grain = 1
	}
	var widened []Range
	for _, r := range s.StoredRanges() {
		widened = append(widened, widen(r, grain))
	}
	return clipToPresent(widened, m.Ranges())
}

// widen returns r grown outwards to multiples of grain, a power of two. An
// end past 2^64-1 (r's own, or rounded up) saturates there, as [Range.End].
func widen(r Range, grain uint64) Range {
	start := r.Start &^ (grain - 1)
	end := r.End()
	if up := (end + grain - 1) &^ (grain - 1); up >= end {
		end = up
	} else {
		end = ^uint64(0)
	}
	return Range{Start: start, Size: end - start, State: r.State}
}

// clipToPresent cuts spans, sorted by Start but possibly overlapping, to the
// present ranges among rs (sorted, not overlapping), joining the pieces
// where they touch or overlap.
func clipToPresent(spans, rs []Range) []Range {
	var out []Range
	for _, sp := range spans {
		i := sort.Search(len(rs), func(i int) bool { return rs[i].End() > sp.Start })
		for ; i < len(rs) && rs[i].Start < sp.End(); i++ {
			if rs[i].State != Present {
				continue
			}
			lo, hi := max(sp.Start, rs[i].Start), min(sp.End(), rs[i].End())
			if n := len(out); n > 0 && out[n-1].End() >= lo {
				if hi > out[n-1].End() {
					out[n-1].Size = hi - out[n-1].Start
				}
				continue
			}
			out = append(out, Range{Start: lo, Size: hi - lo, State: Present})
		}
	}
	return out
}
