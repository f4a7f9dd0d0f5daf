package kho

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"slices"
	"sort"
	"sync"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

func (m *MemoryMap) pageShift() uint {
	if m.PageSize == 0 {
		return 12
	}
	return uint(bits.TrailingZeros64(m.PageSize))
}

// blockSize is the byte size of one block of the run; 0 if it does not
// fit 64 bits.
func (m *MemoryMap) blockSize(order uint8) uint64 {
	s := uint(order) + m.pageShift()
	if s >= 64 {
		return 0
	}
	return 1 << s
}

// runEnd is the first address past r, saturating at 2^64-1; r.Addr
// when its blocks do not fit 64 bits (blockSize 0), so that such a run
// covers nothing.
func (m *MemoryMap) runEnd(r Run) uint64 {
	bs := m.blockSize(r.Order)
	hi, lo := bits.Mul64(bs, uint64(r.Count))
	if hi != 0 {
		return ^uint64(0)
	}
	if e := r.Addr + lo; e >= r.Addr {
		return e
	}
	return ^uint64(0)
}

// All yields every preserved block: those of Runs, then Blocks.
func (m *MemoryMap) All() iter.Seq[Block] {
	return func(yield func(Block) bool) {
		for _, r := range m.Runs {
			bs := m.blockSize(r.Order)
			for i := uint64(0); i < uint64(r.Count); i++ {
				if !yield(Block{Addr: r.Addr + i*bs, Order: r.Order}) {
					return
				}
			}
		}
		for _, b := range m.Blocks {
			if !yield(b) {
				return
			}
		}
	}
}

// Covers reports whether every byte of [addr, addr+size) lies in preserved
// blocks, and returns the block holding addr. Blocks listed in Blocks
// count as well as Runs.
func (m *MemoryMap) Covers(addr, size uint64) (Block, bool) {
	end := addr + size
	if end < addr {
		return Block{}, false
	}
	if len(m.Blocks) > 0 {
		// Rare path (builder descriptions): fold blocks into runs.
		c := *m
		c.Runs = append(append([]Run(nil), m.Runs...), blocksToRuns(m.Blocks)...)
		c.Blocks = nil
		sort.Slice(c.Runs, func(i, j int) bool { return c.Runs[i].Addr < c.Runs[j].Addr })
		return c.Covers(addr, size)
	}
	rs := m.Runs
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Addr > addr }) - 1
	if i < 0 || m.runEnd(rs[i]) <= addr {
		return Block{}, false
	}
	r := rs[i]
	bs := m.blockSize(r.Order)
	if bs == 0 {
		return Block{}, false
	}
	b := Block{Addr: r.Addr + (addr-r.Addr)/bs*bs, Order: r.Order}
	for cur := m.runEnd(r); cur < end; {
		i++
		if i == len(rs) || rs[i].Addr != cur {
			return b, false
		}
		cur = m.runEnd(rs[i])
	}
	return b, true
}

func blocksToRuns(bs []Block) []Run {
	rs := make([]Run, len(bs))
	for i, b := range bs {
		rs[i] = Run{Addr: b.Addr, Order: b.Order, Count: 1}
	}
	return rs
}

const mapPath = "/preserved-memory-map"

// radixWalk decodes a kho-v2+ radix tree. Every node is read at most once
// (a visited set): shared nodes, cycles and upward pointers are findings
// and their subtree is skipped, so a hostile DAG costs one read per
// distinct page.
type radixWalk struct {
	d       *decoder
	sc      *radixScratch // its byOrder lists are each ascending, since keys grow with addresses
	runs    int           // runs in sc.byOrder, against Options.MaxRuns
	stopped bool
	bad     bool // a structural error: the map is incomplete
}

// mapScratch is the memory both map walks (radix and kho-v1 chunk) need
// only while they run: the runs by order, the merge buffers and the
// visited set. It is kept for the next walk, in a pool or a MapDecoder,
// so that decoding a large map allocates little more than its result.
type mapScratch struct {
	byOrder runLists
	merge   mergeBufs
	visited pageSet
}

// release trims the run lists by order to maxPooledRuns runs in all, as
// mergeBufs.release does the merge buffers (after every merge), before
// the scratch goes back to a pool. A MapDecoder keeps them: its scratch
// is its own.
func (sc *mapScratch) release() { sc.byOrder.trim(maxPooledRuns) }

// setMapFrom installs the runs a walk left in sc.byOrder (setMapWith
// copies them out), then empties the lists and the visited set for the
// next walk.
func (d *decoder) setMapFrom(sc *mapScratch, clean, overlaps bool) {
	d.setMapWith(sc.byOrder[:], clean, &sc.merge, overlaps)
	for o := range sc.byOrder {
		sc.byOrder[o] = sc.byOrder[o][:0]
	}
	sc.visited.reset(maxPooledNodes)
}

// radixScratch is a radix walk's scratch: one node page per level, and
// the scratch every map walk has.
type radixScratch struct {
	pages [][]byte
	mapScratch
}

// runLists are a walk's runs, one list per order.
type runLists [64][]Run

// trim drops the largest lists until the rest hold at most max runs (a
// hostile map may fill every order, each list just under a per-list
// bound), so that one hostile map does not pin its runs in a pool.
func (ls *runLists) trim(max int) {
	total := 0
	for _, q := range ls {
		total += cap(q)
	}
	for total > max {
		largest := 0
		for o, q := range ls {
			if cap(q) > cap(ls[largest]) {
				largest = o
			}
		}
		total -= cap(ls[largest])
		ls[largest] = nil
	}
}

// maxPooledNodes bounds the visited set a pooled scratch keeps: a hostile
// tree's huge set is dropped, not cleared on every later decode.
const maxPooledNodes = 4096

var radixScratchPool sync.Pool

func newRadixScratch(g geometry) *radixScratch {
	sc := &radixScratch{pages: make([][]byte, g.depth)}
	for i := range sc.pages {
		sc.pages[i] = make([]byte, g.pageSize)
	}
	return sc
}

// decodeRadix decodes a radix tree with scratch from the pool.
func (d *decoder) decodeRadix(root uint64) {
	sc, _ := radixScratchPool.Get().(*radixScratch)
	if sc == nil || len(sc.pages) != d.geo.depth || uint64(len(sc.pages[0])) != d.geo.pageSize {
		sc = newRadixScratch(d.geo)
	}
	d.decodeRadixWith(root, sc)
	sc.release()
	radixScratchPool.Put(sc)
}

// decodeRadixWith decodes a radix tree with sc, made for d's geometry,
// and leaves sc ready for the next walk.
func (d *decoder) decodeRadixWith(root uint64, sc *radixScratch) {
	w := &radixWalk{d: d, sc: sc}
	w.node(root, d.geo.depth-1, 0)
	d.setMapFrom(&sc.mapScratch, !w.bad && !w.stopped, false)
}

// pageSet is a set of addresses: open addressing over a power-of-two
// table, cheaper than a map for the few dozen pages of a typical tree.
type pageSet struct {
	slots []uint64 // 0 is empty; address 0 is the zero flag
	zero  bool
	n     int
}

func (s *pageSet) len() int { return s.n }

func (s *pageSet) slot(a uint64) int {
	mask := len(s.slots) - 1
	i := int((a*0x9E3779B97F4A7C15)>>32) & mask
	for s.slots[i] != 0 && s.slots[i] != a {
		i = (i + 1) & mask
	}
	return i
}

func (s *pageSet) has(a uint64) bool {
	if a == 0 {
		return s.zero
	}
	return len(s.slots) > 0 && s.slots[s.slot(a)] == a
}

func (s *pageSet) add(a uint64) {
	if a == 0 {
		if !s.zero {
			s.zero, s.n = true, s.n+1
		}
		return
	}
	if 2*(s.n+1) > len(s.slots) {
		old := s.slots
		s.slots = make([]uint64, max(64, 2*len(old)))
		for _, o := range old {
			if o != 0 {
				s.slots[s.slot(o)] = o
			}
		}
	}
	if i := s.slot(a); s.slots[i] == 0 {
		s.slots[i], s.n = a, s.n+1
	}
}

// reset empties the set, dropping a table grown past keep entries.
func (s *pageSet) reset(keep int) {
	if len(s.slots) > 2*keep {
		s.slots = nil
	} else {
		clear(s.slots)
	}
	s.zero, s.n = false, 0
}

func (w *radixWalk) node(pa uint64, level int, prefix uint64) {
	d := w.d
	if w.stopped {
		return
	}
	visited := &w.sc.visited
	if visited.has(pa) {
		d.add("radix.shared-node", "", mapPath, pa, "level-%d node %#x (key prefix %#x) was already visited; subtree skipped", level, pa, prefix)
		return
	}
	if visited.len() >= d.opts.MaxRadixNodes {
		w.stopped = true
		d.add("map.node-limit", "", mapPath, pa, "more than %d radix nodes; the rest of the tree is not read", d.opts.MaxRadixNodes)
		return
	}
	visited.add(pa)
	if !d.check(mapPath, "radix node", pa, d.geo.pageSize, need{align: d.geo.pageSize}) {
		w.bad = true
		return
	}
	buf := w.sc.pages[level]
	if !d.readInto(mapPath, "radix node", pa, buf) {
		w.bad = true
		return
	}
	if level == 0 {
		w.leaf(prefix, buf, pa)
		return
	}
	shift := d.geo.levelShift(level)
	limit := len(buf) / 8
	if level == d.geo.depth-1 {
		limit = 1 << (d.geo.keyWidth - shift)
		for i := range nonZeroEntries(buf, limit, len(buf)/8) {
			e := binary.LittleEndian.Uint64(buf[i*8:])
			d.add("radix.key-too-wide", "", mapPath, pa, "root entry %d (-> %#x) holds keys wider than %d bits; skipped", i, e, d.geo.keyWidth)
		}
	}
	for i := range nonZeroEntries(buf, 0, limit) {
		w.node(binary.LittleEndian.Uint64(buf[i*8:]), level-1, prefix|uint64(i)<<shift)
		if w.stopped {
			return
		}
	}
}

// nonZeroEntries yields the indices in [from, to) of the non-zero 64-bit
// entries of table. The caller must not modify table meanwhile. Tables
// are sparse: eight entries at a time are skipped when all are zero.
func nonZeroEntries(table []byte, from, to int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := from; i < to; {
			if i%8 == 0 && i+8 <= to {
				q := table[i*8 : i*8+64]
				if binary.LittleEndian.Uint64(q)|binary.LittleEndian.Uint64(q[8:])|binary.LittleEndian.Uint64(q[16:])|binary.LittleEndian.Uint64(q[24:])|
					binary.LittleEndian.Uint64(q[32:])|binary.LittleEndian.Uint64(q[40:])|binary.LittleEndian.Uint64(q[48:])|binary.LittleEndian.Uint64(q[56:]) == 0 {
					i += 8
					continue
				}
			}
			if binary.LittleEndian.Uint64(table[i*8:]) != 0 && !yield(i) {
				return
			}
			i++
		}
	}
}

// leaf turns one bitmap page into runs. Every bit of a leaf shares the
// key prefix, hence one order for the whole leaf.
func (w *radixWalk) leaf(prefix uint64, buf []byte, pa uint64) {
	d := w.d
	if prefix == 0 {
		// Keys are the bit numbers alone: key 0, or an order far above any
		// MAX_PAGE_ORDER.
		if buf[0]&1 != 0 {
			d.add("radix.key-zero", "", mapPath, pa, "bit 0 of the all-zero-index leaf (key 0) is set")
		}
		if n := popcount(buf) - int(buf[0]&1); n > 0 {
			d.add("radix.order-too-large", "", mapPath, pa, "%d keys of the all-zero-index leaf decode to orders >= %d", n, d.geo.keyWidth-d.geo.bitmapLog2)
		}
		return
	}
	msb := uint(bits.Len64(prefix)) - 1
	order := d.geo.keyWidth - 1 - msb
	if order > uint(d.opts.MaxPageOrder) {
		d.add("radix.order-too-large", "", mapPath, pa, "%d keys of leaf with prefix %#x decode to order %d (max %d)", popcount(buf), prefix, order, d.opts.MaxPageOrder)
		return
	}
	shift := d.geo.pageShift + order
	q := &w.sc.byOrder[order]
	before := len(*q)
	*q = appendBitRuns(*q, buf, prefix<<shift, shift, uint8(order))
	// One leaf adds at most half its bits in runs, so the cap is
	// overshot by one leaf's worth at most.
	if w.runs += len(*q) - before; w.runs > d.opts.MaxRuns {
		w.stopped = true
		d.add("map.run-limit", "", mapPath, pa, "more than %d preserved runs; the rest of the tree is not read", d.opts.MaxRuns)
	}
}

// appendBitRuns appends, for every run of set bits in bitmap, the run of
// blocks at base + bit<<shift, extending the last run of runs when it
// continues it. It works on run boundaries, not bits: a 64-byte block all
// set or all clear is one step, and in a mixed block a word's boundaries
// are the set bits of w ^ (w<<1 | carry), visited with TrailingZeros64.
func appendBitRuns(runs []Run, bitmap []byte, base uint64, shift uint, order uint8) []Run {
	// A run of one piece's bits always fits a Run; joining across pieces
	// splits at maxRunCount.
	const piece = maxRunCount / 8 &^ 63
	for len(bitmap) > piece {
		runs = appendBitRuns(runs, bitmap[:piece], base, shift, order)
		bitmap, base = bitmap[piece:], base+piece*8<<shift
	}
	first := len(runs)
	words := len(bitmap) / 8
	var carry uint64 // the bit before the current word
	var start uint64 // first bit of the open run, when carry is 1
	for wi := 0; wi < words; {
		// A 64-byte block all set or all clear (most of a real map) is
		// one step whatever the carry; a mixed one goes word by word.
		if wi+8 <= words {
			// Uniform when the first word is all clear or all set and the
			// other seven equal it: XORs folded as they load keep few
			// values live.
			q := bitmap[wi*8 : wi*8+64]
			if x := binary.LittleEndian.Uint64(q); x+1 <= 1 &&
				(binary.LittleEndian.Uint64(q[8:])^x)|(binary.LittleEndian.Uint64(q[16:])^x)|(binary.LittleEndian.Uint64(q[24:])^x)|
					(binary.LittleEndian.Uint64(q[32:])^x)|(binary.LittleEndian.Uint64(q[40:])^x)|(binary.LittleEndian.Uint64(q[48:])^x)|
					(binary.LittleEndian.Uint64(q[56:])^x) == 0 {
				switch {
				case x == 0 && carry != 0:
					runs = append(runs, Run{Addr: base + start<<shift, Count: uint32(uint64(wi)*64 - start), Order: order})
					carry = 0
				case x != 0 && carry == 0:
					start, carry = uint64(wi)*64, 1
				}
				wi += 8
				continue
			}
		}
		for end := min(wi+8, words); wi < end; wi++ {
			w := binary.LittleEndian.Uint64(bitmap[wi*8:])
			t := w ^ (w<<1 | carry)
			carry = w >> 63
			for t != 0 {
				bit := uint64(wi)*64 + uint64(bits.TrailingZeros64(t))
				t &= t - 1
				if w>>(bit%64)&1 != 0 {
					start = bit
				} else {
					runs = append(runs, Run{Addr: base + start<<shift, Count: uint32(bit - start), Order: order})
				}
			}
		}
	}
	if carry != 0 {
		runs = append(runs, Run{Addr: base + start<<shift, Count: uint32(uint64(words)*64 - start), Order: order})
	}
	if first > 0 && first < len(runs) {
		r := joinRun(&runs[first-1], runs[first], shift)
		if r.Count == 0 {
			return slices.Delete(runs, first, first+1)
		}
		runs[first] = r
	}
	return runs
}

// maxRunCount is the most blocks one Run holds; a longer stretch is split
// into runs of maxRunCount blocks and a last, shorter one.
const maxRunCount = math.MaxUint32

// joinRun adds as many blocks of r as fit (up to maxRunCount) to last when
// r continues it, blocks of 1<<shift bytes, and returns the rest of r.
func joinRun(last *Run, r Run, shift uint) Run {
	if end, ok := blocksEnd(last.Addr, last.Count, shift); last.Order != r.Order || !ok || end != r.Addr {
		return r
	}
	take := min(r.Count, maxRunCount-last.Count)
	last.Count += take
	r.Addr += uint64(take) << shift
	r.Count -= take
	return r
}

// appendRun appends r to out, joining it into the last run when it
// continues it.
func appendRun(out []Run, r Run, pageShift uint) []Run {
	if n := len(out); n > 0 {
		if r = joinRun(&out[n-1], r, uint(r.Order)+pageShift); r.Count == 0 {
			return out
		}
	}
	return append(out, r)
}

func popcount(b []byte) int {
	n := 0
	for len(b) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	for _, c := range b {
		n += bits.OnesCount8(c)
	}
	return n
}

// kho-v1 layout: khoser_mem_chunk_hdr, then num_elms khoser_mem_bitmap_ptr.
var (
	chunkHeaderSize = uint64((format.KhoserChunkHeader{}).Format().Size)
	bitmapPtrSize   = uint64((format.BitmapPtr{}).Format().Size)
)

// chunkScratch is a kho-v1 chunk walk's scratch: a chunk page, a
// bitmap, the runs in list order, and the scratch every map walk has.
type chunkScratch struct {
	chunk  []byte // one page
	bitmap []byte // one page: a bitmap is a page or 512 bytes of it
	runs   []Run
	mapScratch
}

var chunkScratchPool sync.Pool

func newChunkScratch(g geometry) *chunkScratch {
	return &chunkScratch{chunk: make([]byte, g.pageSize), bitmap: make([]byte, g.pageSize)}
}

// decodeChunks decodes a kho-v1 chunk list with scratch from the pool.
func (d *decoder) decodeChunks(head uint64) {
	sc, _ := chunkScratchPool.Get().(*chunkScratch)
	if sc == nil || uint64(len(sc.chunk)) != d.geo.pageSize {
		sc = newChunkScratch(d.geo)
	}
	d.decodeChunksWith(head, sc)
	sc.release()
	chunkScratchPool.Put(sc)
}

// release drops the runs in list order grown past maxPooledRuns, and
// trims the rest as mapScratch.release does, before sc goes back to the
// pool. A MapDecoder keeps them: its scratch is its own.
func (sc *chunkScratch) release() {
	if cap(sc.runs) > maxPooledRuns {
		sc.runs = nil
	}
	sc.mapScratch.release()
}

// decodeChunksWith decodes a kho-v1 chunk list (rule 11) with sc, made
// for d's page size, its bitmaps read at the size Options.KHOv1Bitmap
// gives or the elements show, and leaves sc ready for the next walk.
func (d *decoder) decodeChunksWith(head uint64, sc *chunkScratch) {
	bitmapSize := d.chunkBitmapSize(head, sc)
	sc.visited.reset(maxPooledNodes) // chunkBitmapSize's walk used it
	w := chunkWalk{d: d, sc: sc, bitmap: sc.bitmap[:bitmapSize], runs: sc.runs[:0]}
	for pa, i := head, 0; pa != 0 && !w.stopped; i++ {
		next, ok := w.chunk(pa, i)
		if !ok {
			break
		}
		pa = next
	}
	// Chunks may come in any order: sort each order's runs, and join the
	// runs of neighbouring windows, as a radix walk's are. Two elements
	// may give one window: its runs then overlap within their order.
	byOrder := &sc.byOrder // empty: setMapFrom leaves it so
	overlaps := false
	for _, r := range w.runs {
		byOrder[r.Order&63] = append(byOrder[r.Order&63], r)
	}
	for o, q := range byOrder {
		slices.SortFunc(q, cmpRun)
		var over bool
		byOrder[o], over = joinRuns(q, d.geo.pageShift)
		overlaps = overlaps || over
	}
	d.setMapFrom(&sc.mapScratch, !w.bad && !w.stopped, overlaps)
	sc.runs = w.runs[:0]
}

// chunkWalk is the state of a kho-v1 chunk list's decode: the runs of
// its bitmaps in list order, and whether it stopped at a limit or met a
// structural error (the map is then incomplete).
type chunkWalk struct {
	d       *decoder
	sc      *chunkScratch
	bitmap  []byte // sc.bitmap at the list's bitmap size
	runs    []Run
	stopped bool
	bad     bool
}

// chunk reads chunk i of the list, at pa, and the bitmaps of its
// elements. It returns the next chunk's address, ok false when the list
// cannot be followed further (a cycle, the node limit, a bad page).
func (w *chunkWalk) chunk(pa uint64, i int) (next uint64, ok bool) {
	d, visited := w.d, &w.sc.visited
	if visited.has(pa) {
		d.add("chunk.cycle", "", mapPath, pa, "chunk %d at %#x was already visited", i, pa)
		return 0, false
	}
	if visited.len() >= d.opts.MaxRadixNodes {
		w.stopped = true
		d.add("map.node-limit", "", mapPath, pa, "more than %d chunk and bitmap pages; the rest is not read", d.opts.MaxRadixNodes)
		return 0, false
	}
	visited.add(pa)
	chunk := w.sc.chunk
	if !d.check(mapPath, "chunk", pa, d.geo.pageSize, need{align: d.geo.pageSize}) || !d.readInto(mapPath, "chunk", pa, chunk) {
		w.bad = true
		return 0, false
	}
	hdr, err := format.DecodeKhoserChunkHeader(chunk)
	if err != nil {
		d.add("ptr.read-failed", "", mapPath, pa, "%v", err)
		w.bad = true
		return 0, false
	}
	maxElms := uint64(d.geo.caps.KhoserBitmapSize)
	switch {
	case uint64(hdr.NumElms) > maxElms:
		d.add("chunk.num-elms-too-large", "", mapPath, pa, "chunk num_elms %d > %d", hdr.NumElms, maxElms)
	case hdr.Order > uint32(d.opts.MaxPageOrder):
		d.add("chunk.order-too-large", "", mapPath, pa, "chunk order %d > %d", hdr.Order, d.opts.MaxPageOrder)
	default:
		w.elements(pa, chunk, uint64(hdr.NumElms), uint8(hdr.Order))
	}
	return hdr.Next, true
}

// elements reads the bitmaps of the first n elements of the chunk page at
// pa (n within the page, order within MaxPageOrder) into runs.
func (w *chunkWalk) elements(pa uint64, chunk []byte, n uint64, order uint8) {
	d, visited := w.d, &w.sc.visited
	bitmapSize := uint64(len(w.bitmap))
	shift := d.geo.pageShift + uint(order)
	window := bitmapSize * 8 << shift
	for e := uint64(0); e < n; e++ {
		bp, err := format.DecodeBitmapPtr(chunk[chunkHeaderSize+e*bitmapPtrSize:])
		if err != nil {
			d.add("ptr.read-failed", "", mapPath, pa, "%v", err)
			w.bad = true
			return
		}
		start, bm := bp.PhysStart, bp.Bitmap
		if bm == 0 {
			d.add("chunk.bitmap-zero", "", mapPath, pa, "chunk element %d has a 0 bitmap pointer", e)
			continue
		}
		if start+window-1 < start {
			d.add("map.block-outside-memory", "", mapPath, pa, "chunk element %d window at %#x runs past the top of the address space", e, start)
			continue
		}
		if start%window != 0 {
			d.add("chunk.start-unaligned", "", mapPath, pa, "chunk element %d phys_start %#x not aligned to %#x (%d-byte bitmaps)", e, start, window, bitmapSize)
			continue
		}
		if visited.has(bm) {
			d.add("chunk.cycle", "", mapPath, bm, "bitmap %#x of chunk element %d already read", bm, e)
			continue
		}
		if visited.len() >= d.opts.MaxRadixNodes {
			d.add("map.node-limit", "", mapPath, bm, "more than %d chunk and bitmap pages; the rest is not read", d.opts.MaxRadixNodes)
			w.stopped = true
			return
		}
		visited.add(bm)
		if !d.check(mapPath, "chunk bitmap", bm, bitmapSize, need{align: bitmapSize}) || !d.readInto(mapPath, "chunk bitmap", bm, w.bitmap) {
			w.bad = true
			continue
		}
		w.runs = appendBitRuns(w.runs, w.bitmap, start, shift, order)
		if len(w.runs) > d.opts.MaxRuns {
			d.add("map.run-limit", "", mapPath, bm, "more than %d preserved runs; the rest of the chunk list is not read", d.opts.MaxRuns)
			w.stopped = true
			return
		}
	}
}

// kho-v1 bitmap sizes: 6.16 and 6.17 kzalloc 512 bytes; 6.18 (a2fff99f92da)
// allocates a page.
const khoV1Bitmap512 = format.PreserveBits616 / 8

// chunkBitmapSize returns the byte size of the chunk list's bitmaps: the
// one Options.KHOv1Bitmap forces, else the one the elements show
// (chunkEvidence), else a page. It reports how it chose.
func (d *decoder) chunkBitmapSize(head uint64, sc *chunkScratch) uint64 {
	switch d.opts.KHOv1Bitmap {
	case KHOv1Bitmap512:
		return khoV1Bitmap512
	case KHOv1BitmapPage:
		if ev := d.chunkEvidence(head, sc); ev.found {
			d.add("chunk.bitmap-size-conflict", "", mapPath, ev.chunk, "page bitmaps were asked for, but chunk element %d only fits 512-byte ones (Linux 6.16/6.17): it %s", ev.elem, ev.why)
		}
		return d.geo.pageSize
	}
	ev := d.chunkEvidence(head, sc)
	switch {
	case ev.found:
		d.add("chunk.bitmap-512", "", mapPath, ev.chunk, "bitmaps read as 512 bytes (Linux 6.16/6.17): chunk element %d %s", ev.elem, ev.why)
		return khoV1Bitmap512
	case ev.elems > 0:
		d.add("chunk.bitmap-size-assumed", "", mapPath, head, "no chunk element shows the bitmap size: read as one page (Linux 6.18 on); Options.KHOv1Bitmap (khodump --kho-v1-bitmap 512) reads a 6.16/6.17 map")
	}
	return d.geo.pageSize
}

// bitmapEvidence is the first chunk element that only fits 512-byte
// bitmaps, and how many elements were looked at before it.
type bitmapEvidence struct {
	found bool
	chunk uint64 // the chunk page holding the element
	elem  uint64 // its index
	why   string
	elems int // elements with a non-zero bitmap pointer seen
}

// chunkEvidence walks the chunk list, without findings (the decode that
// follows reports what is wrong), until an element only fits 512-byte
// bitmaps. Every page-bitmap element also fits the 512-byte layout (a
// page-aligned pointer is 512-aligned, a page window is a multiple of a
// 512-byte window), so no element can speak for pages alone: the absence
// of evidence is all there is. The walk keeps the decode's bounds: a
// visited set, MaxRadixNodes chunk pages, num_elms and order capped.
func (d *decoder) chunkEvidence(head uint64, sc *chunkScratch) bitmapEvidence {
	var ev bitmapEvidence
	ps := d.geo.pageSize
	chunk := sc.chunk
	maxElms := uint64(d.geo.caps.KhoserBitmapSize)
	visited := &sc.visited
	visited.reset(maxPooledNodes)
	for pa := head; pa != 0 && pa%ps == 0; {
		if visited.has(pa) || visited.len() >= d.opts.MaxRadixNodes {
			break
		}
		visited.add(pa)
		if _, err := d.mem.ReadAt(chunk, pa); err != nil {
			break
		}
		hdr, err := format.DecodeKhoserChunkHeader(chunk)
		if err != nil {
			break
		}
		if uint64(hdr.NumElms) <= maxElms && hdr.Order <= uint32(d.opts.MaxPageOrder) {
			shift := d.geo.pageShift + uint(hdr.Order)
			small, page := uint64(format.PreserveBits616)<<shift, uint64(d.geo.caps.PreserveBits)<<shift
			for e := uint64(0); e < uint64(hdr.NumElms); e++ {
				bp, err := format.DecodeBitmapPtr(chunk[chunkHeaderSize+e*bitmapPtrSize:])
				if err != nil || bp.Bitmap == 0 {
					continue
				}
				ev.elems++
				switch {
				case bp.Bitmap%khoV1Bitmap512 == 0 && bp.Bitmap%ps != 0:
					ev.why = fmt.Sprintf("has bitmap pointer %#x, 512-aligned but not page-aligned", bp.Bitmap)
				case bp.PhysStart%small == 0 && bp.PhysStart%page != 0:
					ev.why = fmt.Sprintf("has phys_start %#x, aligned to a 512-byte bitmap's window %#x but not to a page bitmap's %#x", bp.PhysStart, small, page)
				default:
					continue
				}
				ev.found, ev.chunk, ev.elem = true, pa, e
				return ev
			}
		}
		pa = hdr.Next
	}
	return ev
}

// joinRuns joins, in place, each run of the sorted one-order rs into the
// run before it when it continues it, up to maxRunCount blocks a run. It
// reports whether a run starts inside the one before it.
func joinRuns(rs []Run, pageShift uint) (joined []Run, overlaps bool) {
	n := 0
	for _, r := range rs {
		if n > 0 {
			if end, ok := checkedRunEnd(rs[n-1], pageShift); !ok || r.Addr < end {
				overlaps = true
			}
			if r = joinRun(&rs[n-1], r, uint(r.Order)+pageShift); r.Count == 0 {
				continue
			}
		}
		rs[n] = r
		n++
	}
	return rs[:n], overlaps
}

// setMap merges the decoded runs, given as one address-ascending sequence
// per order (a radix walk yields them so: keys grow with addresses), checks
// them (rule 12's block checks: inside memory, no overlaps, not in scratch)
// and installs them.
func (d *decoder) setMap(seqs [][]Run, clean bool) { d.setMapWith(seqs, clean, nil, false) }

// setMapWith is setMap with scratch space for the merge, reused across
// decodes (nil allocates), and with overlaps set when runs of one order
// may overlap (a kho-v1 window given twice): the inline merge, which
// does not join runs, is then not used.
func (d *decoder) setMapWith(seqs [][]Run, clean bool, merge *mergeBufs, overlaps bool) {
	m := &d.h.MemoryMap
	m.PageSize = d.geo.pageSize
	if merge == nil {
		merge = new(mergeBufs)
	}
	a, b, rare := merge.mergeToThree(seqs)
	mc := mapChecker{d: d, m: m, shift: d.geo.pageShift, ram: rangeCursor{rs: d.mem.Ranges()}, scratch: len(d.scr.rs) > 0, addOnly: overlaps}
	if n := len(a) + len(b) + len(rare); cap(m.Runs) >= n {
		mc.out = m.Runs[:0]
	} else {
		mc.out = make([]Run, 0, n)
	}
	mc.addMerged(a, b, rare)
	merge.release()
	out := mc.out
	if len(out) == 0 {
		out = nil
	}
	m.Runs = out
	d.mapSet = true
	d.mapOK = clean
}

// mergeBufs holds the buffers of a merge: two its rounds alternate
// between, and one for the runs of rare orders.
type mergeBufs struct {
	a, b, rare []Run
}

// maxPooledRuns bounds the merge buffers a pooled scratch keeps.
const maxPooledRuns = 1 << 16

// release drops buffers grown past maxPooledRuns, so that one hostile map
// does not pin its memory in the pool.
func (mb *mergeBufs) release() {
	if cap(mb.a) > maxPooledRuns {
		mb.a = nil
	}
	if cap(mb.b) > maxPooledRuns {
		mb.b = nil
	}
	if cap(mb.rare) > maxPooledRuns {
		mb.rare = nil
	}
}

// mergeToThree is mergeToTwo for the common shape of a map: two long
// sequences and a few runs of rare orders. Those it merges into rare, for
// the caller to merge in as they come, instead of inserting them into a
// long sequence, which would copy it. Otherwise rare is empty. The results
// may alias seqs or mb, valid until the next call.
func (mb *mergeBufs) mergeToThree(seqs [][]Run) (a, b, rare []Run) {
	var long [2]int // indices in seqs of the two longest
	long[0], long[1] = -1, -1
	total := 0
	for i, q := range seqs {
		total += len(q)
		switch {
		case len(q) == 0:
		case long[0] < 0 || len(q) > len(seqs[long[0]]):
			long[0], long[1] = i, long[0]
		case long[1] < 0 || len(q) > len(seqs[long[1]]):
			long[1] = i
		}
	}
	if long[1] < 0 || (total-len(seqs[long[0]])-len(seqs[long[1]]))*16 > total {
		a, b = mb.mergeToTwo(seqs)
		return a, b, nil
	}
	var others [64][]Run
	k := 0
	for i, q := range seqs {
		if i != long[0] && i != long[1] && len(q) > 0 && k < len(others) {
			others[k], k = q, k+1
		}
	}
	x, y := mb.mergeToTwo(others[:k])
	if len(y) > 0 {
		if n := len(x) + len(y); cap(mb.rare) < n {
			mb.rare = make([]Run, n)
		}
		x = mb.rare[:mergeTwo(mb.rare[:len(x)+len(y)], x, y)]
	}
	return seqs[long[0]], seqs[long[1]], x
}

// mergeToTwo merges seqs down to at most two sequences, each ascending by
// (address, order), whose merge gives every run in that order. It merges
// in rounds, each writing into the other buffer, pairing the shortest
// sequences and leaving the longest out when their number is odd: the few
// runs of rare orders are merged among themselves or inserted into a long
// sequence by binary search, so that the long interleaved sequences are
// merged only once, by the caller, with its checks. The results may alias
// seqs or mb, valid until the next call.
func (mb *mergeBufs) mergeToTwo(seqs [][]Run) (a, b []Run) {
	// in is 0 for a sequence of seqs, else 1 + the buffer holding it.
	type seq struct {
		q  []Run
		in int
	}
	var lists [64]seq
	k, n := 0, 0
	for _, q := range seqs {
		if len(q) > 0 && k < len(lists) {
			lists[k], k, n = seq{q: q}, k+1, n+len(q)
		}
	}
	if k > 2 {
		if cap(mb.a) < n {
			mb.a = make([]Run, n)
		}
		if cap(mb.b) < n && k > 4 {
			mb.b = make([]Run, n)
		}
	}
	bufs := [2][]Run{mb.a, mb.b}
	for round := 0; k > 2; round++ {
		ls := lists[:k]
		slices.SortFunc(ls, func(x, y seq) int { return cmp.Compare(len(x.q), len(y.q)) })
		dst, in := bufs[round%2][:n], 1+round%2
		w, off := 0, 0
		for i := 0; i+1 < k; i += 2 {
			c := mergeTwo(dst[off:], ls[i].q, ls[i+1].q)
			lists[w], w, off = seq{dst[off : off+c], in}, w+1, off+c
		}
		if k%2 == 1 {
			// The longest is left out and read from where it is, unless
			// the next round would write over it.
			last := ls[k-1]
			if next := (k + 1) / 2; next > 2 && last.in != 0 {
				c := copy(dst[off:], last.q)
				last = seq{dst[off : off+c], in}
			}
			lists[w], w = last, w+1
		}
		k = w
	}
	return lists[0].q, lists[1].q
}

// runBefore orders runs by address, then order.
func runBefore(x, y Run) bool {
	return x.Addr < y.Addr || x.Addr == y.Addr && x.Order < y.Order
}

// mergeTwo writes the merge of x and y, each ascending by runBefore, to
// dst, which has room for both, and returns how many runs it wrote. A
// short sequence is inserted into a long one by binary search, the long
// one's stretches copied whole.
func mergeTwo(dst, x, y []Run) int {
	if len(x) < len(y) {
		x, y = y, x
	}
	dst = dst[:len(x)+len(y)]
	i, o := 0, 0
	if len(y)*16 <= len(x) {
		for _, r := range y {
			p := i + sort.Search(len(x)-i, func(t int) bool { return runBefore(r, x[i+t]) })
			o += copy(dst[o:], x[i:p])
			dst[o] = r
			o, i = o+1, p
		}
		return o + copy(dst[o:], x[i:])
	}
	j := 0
	for i < len(x) && j < len(y) {
		if runBefore(y[j], x[i]) {
			dst[o] = y[j]
			j++
		} else {
			dst[o] = x[i]
			i++
		}
		o++
	}
	o += copy(dst[o:], x[i:])
	o += copy(dst[o:], y[j:])
	return o
}

// mapChecker checks runs arriving in address order and appends the good
// ones to out, merging a run into the last when it continues it.
type mapChecker struct {
	d       *decoder
	m       *MemoryMap
	shift   uint
	out     []Run
	end     uint64 // end of the last kept run, before scratch splits
	ram     rangeCursor
	scratch bool // Options.Scratch is set
	addOnly bool // runs of one order may overlap: every run takes add
	sizes   *smallBlockSizes
}

// addMerged adds the merge of a, b and rare, each ascending by runBefore,
// to c.out, whose capacity is len(a)+len(b)+len(rare). The common case
// goes through mergeInline, which stops before each rare run; every other
// run takes add.
func (c *mapChecker) addMerged(a, b, rare []Run) {
	for len(a) > 0 || len(b) > 0 || len(rare) > 0 {
		if c.scratch || c.addOnly || len(a) == 0 && len(b) == 0 {
			c.add(takeFirst(&a, &b, &rare))
			continue
		}
		stopAt := ^uint64(0)
		if len(rare) > 0 {
			stopAt = rare[0].Addr
		}
		var r Run
		var stopped bool
		if a, b, r, stopped = c.mergeInline(a, b, stopAt); !stopped {
			continue
		}
		for len(rare) > 0 && runBefore(rare[0], r) {
			c.add(rare[0])
			rare = rare[1:]
		}
		c.add(r)
	}
}

// takeFirst removes and returns the first run of the sequences, each
// ascending by runBefore and not all empty.
func takeFirst(seqs ...*[]Run) Run {
	var first *[]Run
	for _, q := range seqs {
		if len(*q) > 0 && (first == nil || runBefore((*q)[0], (*first)[0])) {
			first = q
		}
	}
	r := (*first)[0]
	*first = (*first)[1:]
	return r
}

// mergeInline moves the merge of a and b to c.out while each run is the
// common case: below stopAt, in range, after the last run, inside the span
// of memory found last (without scratch, which add handles). It stops at
// the first run that is not, and returns it with what is left of a and b.
//
// It does not join a run into the last one: the runs it is given are
// maximal within their order and do not overlap within it (a radix walk's;
// a kho-v1 map's unless a window is given twice, when addMerged sends
// every run to add), so the run before one of its order never ends where
// it starts. Without scratch neither it nor add makes more than one run
// of a run, so out, with room for every run, never needs to grow.
func (c *mapChecker) mergeInline(a, b []Run, stopAt uint64) (restA, restB []Run, stop Run, stopped bool) {
	// The runs from stopAt on are cut off first, so that the merge loop
	// tests one bound fewer per run.
	cutA := sort.Search(len(a), func(k int) bool { return a[k].Addr >= stopAt })
	cutB := sort.Search(len(b), func(k int) bool { return b[k].Addr >= stopAt })
	n0 := len(c.out)
	if c.sizes == nil {
		c.sizes = &smallBlockSizesByShift()[c.shift] // page shifts are 12, 14 or 16
	}
	n, low, i, j, stop, stopped := mergeChecked(c.out[n0:cap(c.out)], a[:cutA], b[:cutB], c.sizes, max(c.ram.lo, c.end), c.ram.hi)
	c.out = c.out[:n0+n]
	if n > 0 {
		c.end = low
	}
	switch {
	case stopped:
		return a[i:], b[j:], stop, true
	case cutA == len(a) && cutB == len(b):
		return nil, nil, Run{}, false
	case cutB < len(b) && (cutA == len(a) || runBefore(b[cutB], a[cutA])):
		// Merged up to stopAt: the first run past it is the stop.
		return a[cutA:], b[cutB+1:], b[cutB], true
	default:
		return a[cutA+1:], b[cutB:], a[cutA], true
	}
}

// mergeChecked writes the merge of a and b, each ascending by runBefore,
// to out, which has room for both, while every run starts at or after the
// end of the one before (low at first), has blocks of at most 2^32 bytes
// (so that its end is computed without overflow), and ends by hi. It
// returns how many runs it wrote, the end of the last, and how far it
// took a and b; stopped, with the run that failed, when it did not take
// them whole.
//
// It calls nothing, so that its state stays in registers, and it is two
// plain loops (b's runs before each of a's) because one loop picking a
// side per run spilled its state.
func mergeChecked(out, a, b []Run, sizes *smallBlockSizes, low, hi uint64) (n int, end uint64, i, j int, stop Run, stopped bool) {
	out = out[:len(a)+len(b)]
	ok := false
	for ; i < len(a); i++ {
		x := a[i]
		for ; j < len(b); j++ {
			r := b[j]
			if !runBefore(r, x) {
				break
			}
			if n, low, ok = takeRun(out, n, r, sizes, low, hi); !ok {
				return n, low, i, j + 1, r, true
			}
		}
		if n, low, ok = takeRun(out, n, x, sizes, low, hi); !ok {
			return n, low, i + 1, j, x, true
		}
	}
	for ; j < len(b); j++ {
		if n, low, ok = takeRun(out, n, b[j], sizes, low, hi); !ok {
			return n, low, i, j + 1, b[j], true
		}
	}
	return n, low, i, j, Run{}, false
}

// smallBlockSizes holds the block size of each order up to 2^32 bytes,
// and 0 for larger blocks: a run's end, computed with it, is then its
// start, which fails mergeChecked's checks. A count times a size never
// overflows, and the end takes a multiply instead of a shift by a
// variable (which ties up a register).
type smallBlockSizes [256]uint64

// smallBlockSizesByShift holds the tables of every page shift up to that
// of 64 KiB pages, made once.
var smallBlockSizesByShift = sync.OnceValue(func() *[17]smallBlockSizes {
	var t [17]smallBlockSizes
	for shift := range t {
		for o := range t[shift] {
			if s := o + shift; s <= 32 {
				t[shift][o] = 1 << s
			}
		}
	}
	return &t
})

// takeRun puts r at out[n] and returns the new count and end when r
// passes mergeChecked's checks; ok false leaves both as they were.
func takeRun(out []Run, n int, r Run, sizes *smallBlockSizes, low, hi uint64) (int, uint64, bool) {
	e := r.Addr + uint64(r.Count)*sizes[r.Order]
	if r.Addr < low || e <= r.Addr || e > hi {
		return n, low, false
	}
	out[n] = r
	return n + 1, e, true
}

// checkedRunEnd returns the end of r, unless it is past the top of the
// address space.
func checkedRunEnd(r Run, pageShift uint) (uint64, bool) {
	return blocksEnd(r.Addr, r.Count, uint(r.Order)+pageShift)
}

// blocksEnd returns the end of count blocks of 1<<shift bytes from addr,
// unless it is past the top of the address space.
func blocksEnd(addr uint64, count uint32, shift uint) (uint64, bool) {
	if shift >= 64 || uint64(count) > (^uint64(0)-addr)>>shift {
		return 0, false
	}
	return addr + uint64(count)<<shift, true
}

func (c *mapChecker) add(r Run) {
	d := c.d
	s := uint(r.Order) + c.shift
	if _, ok := checkedRunEnd(r, c.shift); !ok {
		d.add("map.block-outside-memory", "", mapPath, r.Addr, "order-%d blocks at %#x run past the top of the address space", r.Order, r.Addr)
		return
	}
	bs := uint64(1) << s
	if len(c.out) > 0 && r.Addr < c.end {
		drop := min((c.end-r.Addr+bs-1)/bs, uint64(r.Count))
		d.add("map.overlap", "", mapPath, r.Addr, "%d order-%d blocks at %#x overlap the block ending at %#x; dropped", drop, r.Order, r.Addr, c.end)
		r.Addr += drop * bs
		r.Count -= uint32(drop)
		if r.Count == 0 {
			return
		}
	}
	rEnd := r.Addr + uint64(r.Count)<<s
	if !c.ram.covers(r.Addr, rEnd) {
		d.add("map.block-outside-memory", "", mapPath, r.Addr, "%d order-%d blocks [%#x, %#x) are not all in memory", r.Count, r.Order, r.Addr, rEnd)
		return
	}
	c.end = rEnd
	if c.scratch {
		if _, hit := d.inScratch(r.Addr, rEnd-r.Addr); hit {
			for _, part := range d.withoutScratch(c.m, r) {
				c.out = appendRun(c.out, part, c.shift)
			}
			return
		}
	}
	c.out = appendRun(c.out, r, c.shift)
}

func cmpRun(a, b Run) int {
	if a.Addr != b.Addr {
		return cmp.Compare(a.Addr, b.Addr)
	}
	return cmp.Compare(a.Order, b.Order)
}

// rangeCursor answers "is [addr, end) described memory" (present or
// excluded, without gaps) for ascending queries in amortised constant time.
type rangeCursor struct {
	rs     []physmem.Range
	i      int
	lo, hi uint64 // a gap-free span of described memory found last
}

func (c *rangeCursor) covers(addr, end uint64) bool {
	if c.lo <= addr && addr < c.hi {
		return end <= c.hi
	}
	for c.i < len(c.rs) && c.rs[c.i].End() <= addr {
		c.i++
	}
	if c.i == len(c.rs) || c.rs[c.i].Start > addr {
		return false
	}
	// Extend to the whole gap-free span, so that later queries inside it
	// take the fast path.
	cur := c.rs[c.i].End()
	for j := c.i + 1; j < len(c.rs) && c.rs[j].Start == cur; j++ {
		cur = c.rs[j].End()
	}
	c.lo, c.hi = c.rs[c.i].Start, cur
	return end <= cur
}

// withoutScratch returns r minus the blocks that overlap a scratch region,
// reporting each overlap.
func (d *decoder) withoutScratch(m *MemoryMap, r Run) []Run {
	parts := []Run{r}
	for _, s := range d.scr.candidates(r.Addr, m.runEnd(r)) {
		if len(parts) == 0 {
			break
		}
		var next []Run
		for _, p := range parts {
			pEnd := m.runEnd(p)
			if s.Size == 0 || regionEnd(s) <= p.Addr || pEnd <= s.Addr {
				next = append(next, p)
				continue
			}
			bs := m.blockSize(p.Order)
			first := uint64(0) // first overlapping block
			if s.Addr > p.Addr {
				first = (s.Addr - p.Addr) / bs
			}
			last := uint64(p.Count) // one past the last overlapping block
			if e := regionEnd(s); e < pEnd {
				last = (e - p.Addr + bs - 1) / bs
			}
			d.add("map.block-in-scratch", "", mapPath, p.Addr+first*bs, "%d order-%d blocks from %#x overlap scratch [%#x, %#x); dropped", last-first, p.Order, p.Addr+first*bs, s.Addr, regionEnd(s))
			if first > 0 {
				next = append(next, Run{Addr: p.Addr, Order: p.Order, Count: uint32(first)})
			}
			if last < uint64(p.Count) {
				next = append(next, Run{Addr: p.Addr + last*bs, Order: p.Order, Count: p.Count - uint32(last)})
			}
		}
		parts = next
	}
	return parts
}
