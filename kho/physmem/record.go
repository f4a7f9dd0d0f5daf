package physmem

import "sort"

// Recorder is a Memory that passes every read to another Memory and
// remembers which pages the successful part of each read touched. Decoding
// a handover through a Recorder yields exactly the pages reachable from it:
// what a carved image must keep.
type Recorder struct {
	mem      Memory
	pageSize uint64
	pages    map[uint64]struct{} // page numbers
}

// NewRecorder wraps m; pages are pageSize bytes (a power of two; 0 means
// 4096).
func NewRecorder(m Memory, pageSize uint64) *Recorder {
	if pageSize == 0 || pageSize&(pageSize-1) != 0 {
		pageSize = 4096
	}
	return &Recorder{mem: m, pageSize: pageSize, pages: make(map[uint64]struct{})}
}

// ReadAt implements [Memory] and records the pages of the bytes read.
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
	end := addr + size - 1
	if end < addr {
		end = ^uint64(0)
	}
	for pg := addr / r.pageSize; pg <= end/r.pageSize; pg++ {
		r.pages[pg] = struct{}{}
		if pg == ^uint64(0)/r.pageSize {
			break
		}
	}
}

// Recorded returns the recorded pages as present ranges, sorted, adjacent
// pages joined, and clipped to the present ranges of the wrapped memory
// (a page only partly present yields its present part).
func (r *Recorder) Recorded() []Range {
	pgs := make([]uint64, 0, len(r.pages))
	for pg := range r.pages {
		pgs = append(pgs, pg)
	}
	sort.Slice(pgs, func(i, j int) bool { return pgs[i] < pgs[j] })
	var joined []Range
	for _, pg := range pgs {
		start := pg * r.pageSize
		if n := len(joined); n > 0 && joined[n-1].End() == start {
			joined[n-1].Size += r.pageSize
			continue
		}
		joined = append(joined, Range{Start: start, Size: r.pageSize, State: Present})
	}
	var out []Range
	present := r.mem.Ranges()
	for _, j := range joined {
		i := sort.Search(len(present), func(i int) bool { return present[i].End() > j.Start })
		for ; i < len(present) && present[i].Start < j.End(); i++ {
			p := present[i]
			if p.State != Present {
				continue
			}
			lo, hi := max(p.Start, j.Start), min(p.End(), j.End())
			if n := len(out); n > 0 && out[n-1].End() == lo {
				out[n-1].Size += hi - lo
				continue
			}
			out = append(out, Range{Start: lo, Size: hi - lo, State: Present})
		}
	}
	return out
}
