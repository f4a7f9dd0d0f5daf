package kho

import (
	"cmp"
	"encoding/binary"
	"iter"
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

// runEnd is the first address past r, saturating at 2^64-1.
func (m *MemoryMap) runEnd(r Run) uint64 {
	bs := m.blockSize(r.Order)
	hi, lo := bits.Mul64(bs, r.Count)
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
			for i := uint64(0); i < r.Count; i++ {
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
	visited map[uint64]struct{}
	bufs    [][]byte  // one page per level, reused
	byOrder [64][]Run // runs per order: each ascending, since keys grow with addresses
	stopped bool
	bad     bool // a structural error: the map is incomplete
}

// radixScratch is the memory a radix walk needs only while it runs (node
// pages, per-order run lists); it is pooled, so that decoding a large map
// allocates little more than its result.
type radixScratch struct {
	pages   [][]byte
	byOrder [64][]Run
}

var radixScratchPool sync.Pool

func (d *decoder) decodeRadix(root uint64) {
	sc, _ := radixScratchPool.Get().(*radixScratch)
	if sc == nil || len(sc.pages) != d.geo.depth || uint64(len(sc.pages[0])) != d.geo.pageSize {
		sc = &radixScratch{pages: make([][]byte, d.geo.depth)}
		for i := range sc.pages {
			sc.pages[i] = make([]byte, d.geo.pageSize)
		}
	}
	w := &radixWalk{d: d, visited: make(map[uint64]struct{}), bufs: sc.pages}
	for o := range sc.byOrder {
		w.byOrder[o] = sc.byOrder[o][:0]
	}
	w.node(root, d.geo.depth-1, 0)
	d.setMap(w.byOrder[:], !w.bad && !w.stopped) // copies the runs out
	for o := range w.byOrder {
		sc.byOrder[o] = w.byOrder[o][:0]
	}
	radixScratchPool.Put(sc)
}

func (w *radixWalk) node(pa uint64, level int, prefix uint64) {
	d := w.d
	if w.stopped {
		return
	}
	if _, seen := w.visited[pa]; seen {
		d.add("radix.shared-node", "", mapPath, pa, "level-%d node %#x (key prefix %#x) was already visited; subtree skipped", level, pa, prefix)
		return
	}
	if len(w.visited) >= d.opts.MaxRadixNodes {
		w.stopped = true
		d.add("map.node-limit", "", mapPath, pa, "more than %d radix nodes; the rest of the tree is not read", d.opts.MaxRadixNodes)
		return
	}
	w.visited[pa] = struct{}{}
	if !d.check(mapPath, "radix node", pa, d.geo.pageSize, need{align: d.geo.pageSize}) {
		w.bad = true
		return
	}
	buf := w.bufs[level]
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
		for i := limit; i < len(buf)/8; i++ {
			if e := binary.LittleEndian.Uint64(buf[i*8:]); e != 0 {
				d.add("radix.key-too-wide", "", mapPath, pa, "root entry %d (-> %#x) holds keys wider than %d bits; skipped", i, e, d.geo.keyWidth)
			}
		}
	}
	for i := 0; i < limit; i++ {
		if e := binary.LittleEndian.Uint64(buf[i*8:]); e != 0 {
			w.node(e, level-1, prefix|uint64(i)<<shift)
			if w.stopped {
				return
			}
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
	w.byOrder[order] = appendBitRuns(w.byOrder[order], buf, prefix<<shift, shift, uint8(order))
}

// appendBitRuns appends, for every run of set bits in bitmap, the run of
// blocks at base + bit<<shift, extending the last run of runs when it
// continues. It works a 64-bit word at a time (full and empty words in one
// step) and a run at a time within mixed words, so it costs about what a
// popcount of the bitmap does.
func appendBitRuns(runs []Run, bitmap []byte, base uint64, shift uint, order uint8) []Run {
	var cur Run
	var curEnd uint64 // address after cur
	have := false
	if n := len(runs); n > 0 && runs[n-1].Order == order {
		cur, have = runs[n-1], true
		curEnd = cur.Addr + cur.Count<<shift
		runs = runs[:n-1]
	}
	for wi := 0; wi+8 <= len(bitmap); wi += 8 {
		// Skip empty stretches 32 bytes at a time: sparse leaves are
		// mostly zero.
		if wi%32 == 0 && wi+32 <= len(bitmap) {
			q := bitmap[wi : wi+32]
			if binary.LittleEndian.Uint64(q)|binary.LittleEndian.Uint64(q[8:])|
				binary.LittleEndian.Uint64(q[16:])|binary.LittleEndian.Uint64(q[24:]) == 0 {
				wi += 24
				continue
			}
		}
		word := binary.LittleEndian.Uint64(bitmap[wi:])
		if word == 0 {
			continue
		}
		bit := uint64(wi) * 8
		if word == ^uint64(0) && have && curEnd == base+bit<<shift {
			// Extend over this and every following full word at once.
			k := wi + 8
			for k+8 <= len(bitmap) && binary.LittleEndian.Uint64(bitmap[k:]) == ^uint64(0) {
				k += 8
			}
			full := uint64(k-wi) * 8
			cur.Count += full
			curEnd += full << shift
			wi = k - 8
			continue
		}
		for word != 0 {
			tz := uint(bits.TrailingZeros64(word))
			ones := uint(64)
			if word != ^uint64(0) {
				ones = uint(bits.TrailingZeros64(^(word >> tz)))
			}
			if ones >= 64-tz {
				ones = 64 - tz
				word = 0
			} else {
				word &^= (1<<ones - 1) << tz
			}
			addr := base + (bit+uint64(tz))<<shift
			if have && curEnd == addr {
				cur.Count += uint64(ones)
				curEnd += uint64(ones) << shift
				continue
			}
			if have {
				runs = append(runs, cur)
			}
			cur, have = Run{Addr: addr, Order: order, Count: uint64(ones)}, true
			curEnd = addr + uint64(ones)<<shift
		}
	}
	if have {
		runs = append(runs, cur)
	}
	return runs
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

// decodeChunks decodes a kho-v1 chunk list (rule 11).
func (d *decoder) decodeChunks(head uint64) {
	var runs []Run
	bad, stopped := false, false
	visited := make(map[uint64]struct{})
	chunk := make([]byte, d.geo.pageSize)
	bitmap := make([]byte, d.geo.pageSize)
	maxElms := uint64(d.geo.caps.KhoserBitmapSize)
	preserveBits := uint64(d.geo.caps.PreserveBits)
	for pa, i := head, 0; pa != 0; i++ {
		if _, seen := visited[pa]; seen {
			d.add("chunk.cycle", "", mapPath, pa, "chunk %d at %#x was already visited", i, pa)
			break
		}
		if len(visited) >= d.opts.MaxRadixNodes {
			stopped = true
			d.add("map.node-limit", "", mapPath, pa, "more than %d chunk and bitmap pages; the rest is not read", d.opts.MaxRadixNodes)
			break
		}
		visited[pa] = struct{}{}
		if !d.check(mapPath, "chunk", pa, d.geo.pageSize, need{align: d.geo.pageSize}) || !d.readInto(mapPath, "chunk", pa, chunk) {
			bad = true
			break
		}
		hdr, err := format.DecodeKhoserChunkHeader(chunk)
		if err != nil {
			d.add("ptr.read-failed", "", mapPath, pa, "%v", err)
			bad = true
			break
		}
		next, order, nElms := hdr.Next, hdr.Order, hdr.NumElms
		switch {
		case uint64(nElms) > maxElms:
			d.add("chunk.num-elms-too-large", "", mapPath, pa, "chunk num_elms %d > %d", nElms, maxElms)
		case order > uint32(d.opts.MaxPageOrder):
			d.add("chunk.order-too-large", "", mapPath, pa, "chunk order %d > %d", order, d.opts.MaxPageOrder)
		default:
			shift := d.geo.pageShift + uint(order)
			window := preserveBits << shift
			for e := uint64(0); e < uint64(nElms); e++ {
				bp, err := format.DecodeBitmapPtr(chunk[chunkHeaderSize+e*bitmapPtrSize:])
				if err != nil {
					d.add("ptr.read-failed", "", mapPath, pa, "%v", err)
					bad = true
					break
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
					d.add("chunk.start-unaligned", "", mapPath, pa, "chunk element %d phys_start %#x not aligned to %#x", e, start, window)
					continue
				}
				if _, seen := visited[bm]; seen {
					d.add("chunk.cycle", "", mapPath, bm, "bitmap page %#x of chunk element %d already read", bm, e)
					continue
				}
				if len(visited) >= d.opts.MaxRadixNodes {
					stopped = true
					break
				}
				visited[bm] = struct{}{}
				if !d.check(mapPath, "chunk bitmap", bm, d.geo.pageSize, need{align: d.geo.pageSize}) || !d.readInto(mapPath, "chunk bitmap", bm, bitmap) {
					bad = true
					continue
				}
				runs = appendBitRuns(runs, bitmap, start, shift, uint8(order))
			}
		}
		if stopped {
			break
		}
		pa = next
	}
	// Chunks may come in any order: sort each order's runs.
	var byOrder [64][]Run
	for _, r := range runs {
		byOrder[r.Order&63] = append(byOrder[r.Order&63], r)
	}
	for _, q := range byOrder {
		slices.SortFunc(q, cmpRun)
	}
	d.setMap(byOrder[:], !bad && !stopped)
}

// setMap merges the decoded runs, given as one address-ascending sequence
// per order (a radix walk yields them so: keys grow with addresses), checks
// them (rule 12's block checks: inside memory, no overlaps, not in scratch)
// and installs them. The merge and the checks are one pass.
func (d *decoder) setMap(seqs [][]Run, clean bool) {
	m := &d.h.MemoryMap
	m.PageSize = d.geo.pageSize
	shift := d.geo.pageShift
	// The sequences still to merge and the next position in each: indices,
	// not re-slicing, so the loop stores no pointers (no write barriers).
	var live [][]Run
	var pos []int
	var heads []uint64 // live[i][pos[i]].Addr, kept flat for the compare loop
	n := 0
	for _, q := range seqs {
		if len(q) > 0 {
			live = append(live, q)
			pos = append(pos, 0)
			heads = append(heads, q[0].Addr)
			n += len(q)
		}
	}
	out := make([]Run, 0, n)
	var end uint64    // end of the last kept run, before scratch splits
	var outEnd uint64 // end of out[len(out)-1]
	ram := rangeCursor{rs: d.mem.Ranges()}
	for len(live) > 0 {
		// The lowest address next; on a tie the lower order (earlier
		// sequence) first.
		best := 0
		for i := 1; i < len(heads); i++ {
			if heads[i] < heads[best] {
				best = i
			}
		}
		r := live[best][pos[best]]
		if pos[best]++; pos[best] == len(live[best]) {
			live = slices.Delete(live, best, best+1)
			pos = slices.Delete(pos, best, best+1)
			heads = slices.Delete(heads, best, best+1)
		} else {
			heads[best] = live[best][pos[best]].Addr
		}
		s := uint(r.Order) + shift
		if s >= 64 || r.Count > (^uint64(0)-r.Addr)>>s {
			d.add("map.block-outside-memory", "", mapPath, r.Addr, "order-%d blocks at %#x run past the top of the address space", r.Order, r.Addr)
			continue
		}
		bs := uint64(1) << s
		if len(out) > 0 && r.Addr < end {
			drop := min((end-r.Addr+bs-1)/bs, r.Count)
			d.add("map.overlap", "", mapPath, r.Addr, "%d order-%d blocks at %#x overlap the block ending at %#x; dropped", drop, r.Order, r.Addr, end)
			r.Addr += drop * bs
			r.Count -= drop
			if r.Count == 0 {
				continue
			}
		}
		rEnd := r.Addr + r.Count<<s
		if !ram.covers(r.Addr, rEnd) {
			d.add("map.block-outside-memory", "", mapPath, r.Addr, "%d order-%d blocks [%#x, %#x) are not all in memory", r.Count, r.Order, r.Addr, rEnd)
			continue
		}
		switch k := len(out); {
		case len(d.opts.Scratch) == 0 && k > 0 && out[k-1].Order == r.Order && outEnd == r.Addr:
			out[k-1].Count += r.Count
			outEnd = rEnd
		case len(d.opts.Scratch) == 0:
			out = append(out, r)
			outEnd = rEnd
		default:
			if _, hit := d.inScratch(r.Addr, rEnd-r.Addr); !hit {
				out = appendRun(m, out, r)
			} else {
				for _, part := range d.withoutScratch(m, r) {
					out = appendRun(m, out, part)
				}
			}
			if len(out) > 0 {
				outEnd = m.runEnd(out[len(out)-1])
			}
		}
		end = rEnd
	}
	if len(out) == 0 {
		out = nil
	}
	m.Runs = out
	d.mapSet = true
	d.mapOK = clean
}

func cmpRun(a, b Run) int {
	if a.Addr != b.Addr {
		return cmp.Compare(a.Addr, b.Addr)
	}
	return cmp.Compare(a.Order, b.Order)
}

// appendRun appends r to sorted runs, merging it into the last run when
// it continues it.
func appendRun(m *MemoryMap, out []Run, r Run) []Run {
	if n := len(out); n > 0 && out[n-1].Order == r.Order && m.runEnd(out[n-1]) == r.Addr {
		out[n-1].Count += r.Count
		return out
	}
	return append(out, r)
}

// rangeCursor answers "is [addr, end) described memory" (present or
// excluded, without gaps) for ascending queries in amortised constant time.
type rangeCursor struct {
	rs []physmem.Range
	i  int
}

func (c *rangeCursor) covers(addr, end uint64) bool {
	for c.i < len(c.rs) && c.rs[c.i].End() <= addr {
		c.i++
	}
	if c.i == len(c.rs) || c.rs[c.i].Start > addr {
		return false
	}
	cur := c.rs[c.i].End()
	for j := c.i + 1; cur < end; j++ {
		if j == len(c.rs) || c.rs[j].Start != cur {
			return false
		}
		cur = c.rs[j].End()
	}
	return true
}

// withoutScratch returns r minus the blocks that overlap a scratch region,
// reporting each overlap.
func (d *decoder) withoutScratch(m *MemoryMap, r Run) []Run {
	parts := []Run{r}
	for _, s := range d.opts.Scratch {
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
			last := p.Count // one past the last overlapping block
			if e := regionEnd(s); e < pEnd {
				last = (e - p.Addr + bs - 1) / bs
			}
			d.add("map.block-in-scratch", "", mapPath, p.Addr+first*bs, "%d order-%d blocks from %#x overlap scratch [%#x, %#x); dropped", last-first, p.Order, p.Addr+first*bs, s.Addr, regionEnd(s))
			if first > 0 {
				next = append(next, Run{Addr: p.Addr, Order: p.Order, Count: first})
			}
			if last < p.Count {
				next = append(next, Run{Addr: p.Addr + last*bs, Order: p.Order, Count: p.Count - last})
			}
		}
		parts = next
	}
	return parts
}
