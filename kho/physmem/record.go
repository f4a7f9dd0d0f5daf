package physmem

import (
	"cmp"
	"slices"
)

// Recorder is a Memory that passes every read to another Memory and
// remembers what the successful part of each read touched. Decoding a
// handover through a Recorder yields exactly the memory reachable from it:
// what a carved image must keep.
type Recorder struct {
	mem     Memory
	grain   uint64  // recorded ranges are widened to multiples of grain
	spans   []Range // recorded, unsorted; compacted as it grows
	compact int     // length at which spans is next compacted
}

// NewRecorder wraps m. grain is the unit recorded ranges are widened to: a
// page size to keep whole pages, or 1 to keep exactly the bytes read. It
// must be a power of two; 0, or any other value that is not one, means 4096.
func NewRecorder(m Memory, grain uint64) *Recorder {
	if grain == 0 || grain&(grain-1) != 0 {
		grain = 4096
	}
	return &Recorder{mem: m, grain: grain, compact: 1024}
}

// ReadAt implements [Memory] and records the bytes read.
func (r *Recorder) ReadAt(p []byte, addr uint64) (int, error) {
	n, err := r.mem.ReadAt(p, addr)
	r.Add(addr, uint64(n))
	return n, err
}

// Ranges implements [Memory].
func (r *Recorder) Ranges() []Range { return r.mem.Ranges() }

// Add records [addr, addr+size) as if it had been read.
func (r *Recorder) Add(addr, size uint64) {
	if size == 0 {
		return
	}
	r.spans = append(r.spans, widen(Range{Start: addr, Size: size, State: Present}, r.grain))
	if len(r.spans) >= r.compact {
		r.spans = Merge(r.spans)
		r.compact = max(1024, 2*len(r.spans))
	}
}

// Merge sorts spans by address and joins those of the same state that
// overlap or touch, in place: the result shares spans' storage. Empty
// spans are dropped. Spans of different states are never joined, not even
// where they overlap: the result is then sorted by Start (and State among
// equal starts) but not disjoint, and which state the shared bytes have is
// for the caller to decide. Ends are compared as [Range.End] gives them,
// saturated at 2^64-1: a joined span that would reach past it ends there.
func Merge(spans []Range) []Range {
	byStart := func(a, b Range) int {
		if c := cmp.Compare(a.Start, b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.State, b.State)
	}
	if !slices.IsSortedFunc(spans, byStart) {
		slices.SortFunc(spans, byStart)
	}
	var last [256]int // per state: 1 + the index in out of its last span, or 0
	out := spans[:0]
	for _, s := range spans {
		if s.Size == 0 {
			continue
		}
		if i := last[s.State] - 1; i >= 0 && s.Start <= out[i].End() {
			if e := s.End(); e > out[i].End() {
				out[i].Size = e - out[i].Start
			}
			continue
		}
		out = append(out, s)
		last[s.State] = len(out)
	}
	return out
}

// Recorded returns what was recorded as present ranges, sorted, joined
// where they touch, and clipped to the present ranges of the wrapped
// memory (a page only partly present yields its present part).
func (r *Recorder) Recorded() []Range {
	r.spans = Merge(r.spans)
	return clipToPresent(r.spans, r.mem.Ranges())
}

// StoredRanges implements [Storer] by asking the wrapped memory.
func (r *Recorder) StoredRanges() []Range { return ScanRanges(r.mem, 1) }
