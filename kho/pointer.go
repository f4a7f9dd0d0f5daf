package kho

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/khokit/khokit/kho/physmem"
)

// decoder carries one decode: the memory, the options, the handover being
// filled and the state shared by every walk (visited block pages, finding
// counts).
type decoder struct {
	mem    physmem.Memory
	opts   Options
	geo    geometry
	h      *Handover
	scr    scratchSet // opts.Scratch, sorted for lookup
	mapOK  bool       // the memory map decoded cleanly: preservation can be checked
	mapSet bool       // a memory map was decoded at all

	mapNoted     bool
	mapStale     bool // the map was read but looks reused: an image taken after the kexec
	codeCounts   map[string]int
	blockOwner   map[uint64]string // block page → path of the chain that owns it
	totalBlocks  int
	blockBuf     []byte              // scratch page for block reads
	vmBuf        []byte              // scratch page for vmalloc chunk reads
	vmClaims     blockClaims[string] // vmalloc chunk and run blocks, in pages → the chunk claiming them
	totalFolios  uint64              // folio entries read so far, all memfds
	subtreeBytes uint64              // subtree blob bytes read so far, all subtrees
	totalDropped int
}

func newDecoder(mem physmem.Memory, opts *Options) (*decoder, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &decoder{
		mem:  mem,
		opts: o,
		geo:  newGeometry(o.PageSize),
		h:    &Handover{},
		scr:  newScratchSet(o.Scratch),
	}, nil
}

// scratchPage returns *buf, a page-sized buffer made on first use: most
// decodes never need one, and a clean decode should not pay for it.
func (d *decoder) scratchPage(buf *[]byte) []byte {
	if *buf == nil {
		*buf = make([]byte, d.geo.pageSize)
	}
	return *buf
}

// add records a finding. ctx selects a context-specific kernel impact
// ("sessions", "files", "block", ...); "" uses the code's own.
func (d *decoder) add(code, ctx, path string, addr uint64, format string, args ...any) {
	if !countFinding(&d.codeCounts, code, d.opts.MaxFindingsPerCode) {
		d.totalDropped++
		return
	}
	info := codeInfo(code)
	if ctx != "" {
		if k, ok := contextImpacts[code+"@"+ctx]; ok {
			info.Kernel = slices.Clone(k)
		}
	}
	d.h.Findings = append(d.h.Findings, Finding{
		Severity: info.Severity,
		Code:     code,
		Path:     path,
		Addr:     addr,
		Message:  fmt.Sprintf(format, args...),
		Kernel:   info.Kernel,
	})
}

// finish adds the truncation summary.
func (d *decoder) finish() {
	if d.totalDropped > 0 {
		d.h.Findings = appendTruncation(d.h.Findings, d.codeCounts, d.opts.MaxFindingsPerCode, "")
	}
}

// countFinding counts a finding of code in *counts (made on first use)
// and reports whether it is to be listed: at most max of one code are.
func countFinding(counts *map[string]int, code string, max int) bool {
	if *counts == nil {
		*counts = make(map[string]int)
	}
	(*counts)[code]++
	return (*counts)[code] <= max
}

// appendTruncation appends to fs, in code order, a summary finding at
// path for each code counted more than max times.
func appendTruncation(fs []Finding, counts map[string]int, max int, path string) []Finding {
	codes := make([]string, 0, len(counts))
	for c, n := range counts {
		if n > max {
			codes = append(codes, c)
		}
	}
	sort.Strings(codes)
	for _, c := range codes {
		fs = append(fs, Finding{Severity: Info, Code: "decode.findings-truncated", Path: path,
			Message: fmt.Sprintf("%d more %s findings not listed", counts[c]-max, c)})
	}
	return fs
}

// need says how a pointer's target must be preserved.
type need struct {
	align uint64 // required alignment (1 = none)
	// preserved: the producer preserves the object, so it must be covered
	// by the memory map. order >= 0 additionally expects the covering
	// block to start at the pointer and have that order.
	preserved bool
	order     int
	ctx       string // impact context for findings
}

func (d *decoder) page() need { return need{align: d.geo.pageSize, preserved: true, order: -1} }

// check applies abi.md §10 rule 1 to [pa, pa+size) and reports what is
// wrong. It returns false when the object must not be read.
func (d *decoder) check(path, what string, pa, size uint64, n need) bool {
	if pa == 0 {
		d.add("ptr.zero", n.ctx, path, 0, "%s pointer is 0", what)
		return false
	}
	if pa+size < pa {
		d.add("ptr.overflow", n.ctx, path, pa, "%s at %#x + %#x overflows", what, pa, size)
		return false
	}
	if n.align > 1 && pa%n.align != 0 {
		d.add("ptr.unaligned", n.ctx, path, pa, "%s at %#x is not %#x-aligned", what, pa, n.align)
		return false
	}
	if !d.present(path, what, pa, size, n.ctx) {
		return false
	}
	if r, ok := d.inScratch(pa, size); ok {
		d.add("ptr.in-scratch", n.ctx, path, pa, "%s [%#x, %#x) overlaps scratch [%#x, %#x)", what, pa, pa+size, r.Addr, regionEnd(r))
		return false
	}
	if n.preserved {
		return d.checkPreserved(path, what, pa, size, n)
	}
	return true
}

// fine reports, without any finding, whether check would pass with none:
// hot loops call it first and build the path for check only when not.
func (d *decoder) fine(pa, size uint64, n need) bool {
	if pa == 0 || pa+size < pa || n.align > 1 && pa%n.align != 0 {
		return false
	}
	if physmem.StateOf(d.mem, pa, size) != physmem.Present {
		return false
	}
	if _, hit := d.inScratch(pa, size); hit {
		return false
	}
	if !n.preserved {
		return true
	}
	if !d.mapOK {
		return d.mapNoted
	}
	b, ok := d.h.MemoryMap.Covers(pa, size)
	return ok && (n.order < 0 || b.Addr == pa && int(b.Order) == n.order)
}

// present reports whether [pa, pa+size) can be read, with a finding when not.
func (d *decoder) present(path, what string, pa, size uint64, ctx string) bool {
	switch physmem.StateOf(d.mem, pa, size) {
	case physmem.Present:
		return true
	case physmem.Excluded:
		d.add("ptr.excluded", ctx, path, pa, "%s [%#x, %#x) is excluded from the dump", what, pa, pa+size)
		return false
	case physmem.Mixed:
		if !physmem.Described(d.mem, pa, size) {
			d.add("ptr.absent", ctx, path, pa, "%s [%#x, %#x) runs outside memory", what, pa, pa+size)
		} else {
			d.add("ptr.excluded", ctx, path, pa, "%s [%#x, %#x) is partly excluded from the dump", what, pa, pa+size)
		}
		return false
	}
	d.add("ptr.absent", ctx, path, pa, "%s [%#x, %#x) is not in memory", what, pa, pa+size)
	return false
}

// inScratch returns a scratch region [pa, pa+size) overlaps, the one
// starting lowest; pa+size must not overflow.
func (d *decoder) inScratch(pa, size uint64) (ScratchRegion, bool) {
	for _, r := range d.scr.candidates(pa, pa+size) {
		if pa < regionEnd(r) {
			return r, true
		}
	}
	return ScratchRegion{}, false
}

// scratchSet holds the scratch regions sorted by start, with the largest
// end up to each, so that the regions a range may overlap are found by
// binary search: a hostile scratch array holds up to MaxScratchEntries
// regions, and every run of the map and every pointer is checked against
// them (scanning them all took 0.55 s for a map of 131,072 runs against
// 4,096 regions).
type scratchSet struct {
	rs     []ScratchRegion // the non-empty regions, sorted by Addr
	maxEnd []uint64        // maxEnd[i] is the largest regionEnd of rs[:i+1]
}

func newScratchSet(regions []ScratchRegion) scratchSet {
	var s scratchSet
	for _, r := range regions {
		if r.Size != 0 {
			s.rs = append(s.rs, r)
		}
	}
	slices.SortStableFunc(s.rs, func(a, b ScratchRegion) int { return cmp.Compare(a.Addr, b.Addr) })
	s.maxEnd = make([]uint64, len(s.rs))
	top := uint64(0)
	for i, r := range s.rs {
		top = max(top, regionEnd(r))
		s.maxEnd[i] = top
	}
	return s
}

// candidates returns the regions that may overlap [pa, end): those that
// start before end, from the first whose maxEnd is past pa. Every region
// that overlaps the range is among them; with regions that do not
// overlap one another, only those that overlap it are.
func (s *scratchSet) candidates(pa, end uint64) []ScratchRegion {
	lo := sort.Search(len(s.maxEnd), func(i int) bool { return s.maxEnd[i] > pa })
	hi := sort.Search(len(s.rs), func(i int) bool { return s.rs[i].Addr >= end })
	if lo >= hi {
		return nil
	}
	return s.rs[lo:hi]
}

func (d *decoder) checkPreserved(path, what string, pa, size uint64, n need) bool {
	if !d.mapOK {
		if !d.mapNoted {
			d.mapNoted = true
			d.add("map.unusable", "", mapPath, d.h.MemoryMap.Addr, "the map did not decode; preservation of %s and every later object is not checked", what)
		}
		return true
	}
	b, ok := d.h.MemoryMap.Covers(pa, size)
	if !ok {
		d.add("ptr.unpreserved", n.ctx, path, pa, "%s [%#x, %#x) is not covered by the preserved-memory map", what, pa, pa+size)
		return false
	}
	if n.order >= 0 && (b.Addr != pa || int(b.Order) != n.order) {
		d.add("ptr.order-mismatch", n.ctx, path, pa, "%s at %#x is preserved by the order-%d block at %#x, want an order-%d block at the pointer", what, pa, b.Order, b.Addr, n.order)
	}
	return true
}

// read reads size bytes at pa into a new slice; size is bounded by the
// caller. A failure is reported and returns nil.
func (d *decoder) read(path, what string, pa uint64, size int) []byte {
	b := make([]byte, size)
	if !d.readInto(path, what, pa, b) {
		return nil
	}
	return b
}

func (d *decoder) readInto(path, what string, pa uint64, b []byte) bool {
	if _, err := d.mem.ReadAt(b, pa); err != nil {
		switch {
		case errors.Is(err, physmem.ErrExcluded):
			d.add("ptr.excluded", "", path, pa, "%s: %v", what, err)
		case errors.Is(err, physmem.ErrAbsent):
			d.add("ptr.absent", "", path, pa, "%s: %v", what, err)
		default:
			d.add("ptr.read-failed", "", path, pa, "%s: %v", what, err)
		}
		return false
	}
	return true
}
