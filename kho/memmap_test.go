package kho

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/kho/physmem"
)

// handMap builds preserved-memory maps page by page in a Sparse memory
// with 1 GiB of RAM at 0 (and an excluded range at 1 GiB), for tests that
// need shapes no builder writes.
type handMap struct {
	t    testing.TB
	mem  *physmem.Sparse
	g    geometry
	next uint64            // bump allocator for map pages
	node map[string]uint64 // radix path "i5/i4/.." → node page
}

const handRAM = 1 << 30

func newHandMap(t testing.TB, pageSize uint64) *handMap {
	m := &handMap{t: t, mem: &physmem.Sparse{}, g: newGeometry(pageSize), next: 0x2000_0000, node: map[string]uint64{}}
	if err := m.mem.AddRange(0, handRAM, physmem.Present); err != nil {
		t.Fatal(err)
	}
	if err := m.mem.AddRange(handRAM, 1<<20, physmem.Excluded); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *handMap) page() uint64 {
	p := m.next
	m.next += m.g.pageSize
	return p
}

func (m *handMap) put64(addr, v uint64) {
	if err := m.mem.WriteAt(binary.LittleEndian.AppendUint64(nil, v), addr); err != nil {
		m.t.Fatal(err)
	}
}

func (m *handMap) get64(addr uint64) uint64 {
	b := make([]byte, 8)
	if _, err := m.mem.ReadAt(b, addr); err != nil {
		m.t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b)
}

// root returns the radix root page, allocating it on first use.
func (m *handMap) root() uint64 {
	if r, ok := m.node[""]; ok {
		return r
	}
	r := m.page()
	m.node[""] = r
	return r
}

// setKey sets a raw radix key's bit, creating the nodes on its path.
func (m *handMap) setKey(key uint64) {
	pa := m.root()
	path := ""
	for level := m.g.depth - 1; level >= 1; level-- {
		idx := key >> m.g.levelShift(level) & (1<<m.g.tableLog2 - 1)
		if level == m.g.depth-1 {
			idx = key >> m.g.levelShift(level) // keep too-wide indices visible
		}
		path += "/" + string(rune('0'+idx%10)) + string(rune('a'+idx/10%26)) + string(rune('A'+idx/260))
		child, ok := m.node[path]
		if !ok {
			child = m.page()
			m.node[path] = child
			m.put64(pa+idx*8, child)
		}
		pa = child
	}
	bit := key & (1<<m.g.bitmapLog2 - 1)
	b := make([]byte, 1)
	addr := pa + bit/8
	if _, err := m.mem.ReadAt(b, addr); err != nil {
		m.t.Fatal(err)
	}
	b[0] |= 1 << (bit % 8)
	if err := m.mem.WriteAt(b, addr); err != nil {
		m.t.Fatal(err)
	}
}

// firstChild returns the first non-zero entry of a table node.
func (m *handMap) firstChild(node uint64) uint64 {
	for i := uint64(0); i < m.g.pageSize/8; i++ {
		if v := m.get64(node + i*8); v != 0 {
			return v
		}
	}
	m.t.Fatalf("node %#x is empty", node)
	return 0
}

// key is the radix key of a block of 2^order pages at pa.
func (m *handMap) key(pa uint64, order uint) uint64 {
	return 1<<(m.g.keyWidth-1-order) | pa>>(m.g.pageShift+order)
}

// decode decodes a kho-v4 root holding only the map.
func (m *handMap) decode(compat string, mapAddr uint64, opts *Options) *Handover {
	m.t.Helper()
	w := fdt.NewWriter()
	_ = w.BeginNode("")
	_ = w.Property("compatible", append([]byte(compat), 0))
	_ = w.Property("preserved-memory-map", binary.LittleEndian.AppendUint64(nil, mapAddr))
	_ = w.EndNode()
	blob, err := w.Finish()
	if err != nil {
		m.t.Fatal(err)
	}
	if opts == nil {
		opts = &Options{}
	}
	opts.PageSize = m.g.pageSize
	h, err := DecodeRoot(m.mem, blob, opts)
	if err != nil {
		m.t.Fatal(err)
	}
	if mapAddr != 0 {
		kind := MapRadix
		if compat == "kho-v1" {
			kind = MapChunk
		}
		checkMapDecoder(m.t, m.mem, kind, mapAddr, opts, h)
	}
	return h
}

// checkMapDecoder checks that a MapDecoder, fresh and after decoding
// other maps, decodes the map at mapAddr as DecodeRoot did into h.
func checkMapDecoder(t testing.TB, mem physmem.Memory, kind MapKind, mapAddr uint64, opts *Options, h *Handover) {
	t.Helper()
	var want []Finding
	for _, f := range h.Findings {
		if f.Code != "map.unusable" {
			want = append(want, f)
		}
	}
	md, err := NewMapDecoder(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, addr := range []uint64{mapAddr, 1 << 40, mapAddr} {
		m, fs, err := md.Decode(mem, kind, addr)
		if err != nil {
			t.Fatal(err)
		}
		if addr != mapAddr {
			continue
		}
		if d := cmp.Diff(h.MemoryMap, *m); d != "" {
			t.Errorf("MapDecoder (decode %d): map differs from DecodeRoot's (-DecodeRoot +MapDecoder):\n%s", i, d)
		}
		if d := cmp.Diff(want, fs, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("MapDecoder (decode %d): findings differ from DecodeRoot's (-DecodeRoot +MapDecoder):\n%s", i, d)
		}
	}
}

func TestRadixDecode(t *testing.T) {
	for _, ps := range []uint64{4096, 16384, 65536} {
		m := newHandMap(t, ps)
		m.setKey(m.key(0x4000_0000-ps, 0))
		m.setKey(m.key(0x10_0000, 0))
		m.setKey(m.key(0x10_0000+ps, 0))
		m.setKey(m.key(0x80_0000, 3))
		m.setKey(m.key(0x1000_0000, 10))
		h := m.decode("kho-v4", m.root(), nil)
		want := MemoryMap{Addr: m.root(), Kind: MapRadix, PageSize: ps, Runs: []Run{
			{Addr: 0x10_0000, Order: 0, Count: 2},
			{Addr: 0x80_0000, Order: 3, Count: 1},
			{Addr: 0x1000_0000, Order: 10, Count: 1},
			{Addr: 0x4000_0000 - ps, Order: 0, Count: 1},
		}}
		if d := cmp.Diff(want, h.MemoryMap); d != "" {
			t.Errorf("page size %d: map (-want +got):\n%s", ps, d)
		}
		if len(h.Findings) != 0 {
			t.Errorf("page size %d: findings %v", ps, h.Findings)
		}
	}
}

// TestRadixHostile covers rule 12 with hand-made trees.
func TestRadixHostile(t *testing.T) {
	tests := []struct {
		name  string
		build func(m *handMap) (root uint64, opts *Options)
		want  []string
	}{
		{"self loop", func(m *handMap) (uint64, *Options) {
			m.put64(m.root(), m.root())
			return m.root(), nil
		}, []string{"radix.shared-node"}},
		{"shared subtree", func(m *handMap) (uint64, *Options) {
			m.setKey(m.key(0x10_0000, 0))
			l4 := m.firstChild(m.root())
			m.put64(l4+8*511, m.firstChild(l4)) // a second L4 slot → the same L3 node
			return m.root(), nil
		}, []string{"radix.shared-node"}},
		{"upward pointer", func(m *handMap) (uint64, *Options) {
			m.setKey(m.key(0x10_0000, 0))
			l4 := m.firstChild(m.root())
			l3 := m.firstChild(l4)
			m.put64(l3+8*511, l4)
			return m.root(), nil
		}, []string{"radix.shared-node"}},
		{"DAG of full tables", func(m *handMap) (uint64, *Options) {
			// Every table slot of every level points at the one node below:
			// 4·512^4 paths, six distinct pages.
			nodes := make([]uint64, m.g.depth)
			for i := range nodes {
				nodes[i] = m.page()
			}
			for lvl := m.g.depth - 1; lvl >= 1; lvl-- {
				n := 512
				if lvl == m.g.depth-1 {
					n = 4
				}
				for i := 0; i < n; i++ {
					m.put64(nodes[lvl]+uint64(i)*8, nodes[lvl-1])
				}
			}
			m.put64(nodes[0], ^uint64(0))
			return nodes[m.g.depth-1], nil
		}, []string{"decode.findings-truncated", "radix.key-zero", "radix.order-too-large", "radix.shared-node"}},
		{"key too wide", func(m *handMap) (uint64, *Options) {
			m.put64(m.root()+5*8, m.page())
			return m.root(), nil
		}, []string{"radix.key-too-wide"}},
		{"key zero", func(m *handMap) (uint64, *Options) {
			m.setKey(0)
			return m.root(), nil
		}, []string{"radix.key-zero"}},
		{"order too large", func(m *handMap) (uint64, *Options) {
			m.setKey(m.key(0x100_0000, 11))
			return m.root(), nil
		}, []string{"radix.order-too-large"}},
		{"order above any MAX_PAGE_ORDER", func(m *handMap) (uint64, *Options) {
			m.setKey(1 << 40)
			return m.root(), nil
		}, []string{"radix.order-too-large"}},
		{"block outside memory", func(m *handMap) (uint64, *Options) {
			m.setKey(m.key(0x8000_0000, 0))
			return m.root(), nil
		}, []string{"map.block-outside-memory"}},
		{"blocks overlap", func(m *handMap) (uint64, *Options) {
			m.setKey(m.key(0x10_0000, 2))
			m.setKey(m.key(0x10_1000, 0))
			return m.root(), nil
		}, []string{"map.overlap"}},
		{"block in scratch", func(m *handMap) (uint64, *Options) {
			m.setKey(m.key(0x10_0000, 2))
			return m.root(), &Options{Scratch: []ScratchRegion{{Addr: 0x10_2000, Size: 0x1000}}}
		}, []string{"map.block-in-scratch"}},
		{"node unaligned", func(m *handMap) (uint64, *Options) {
			m.put64(m.root(), m.page()+8)
			return m.root(), nil
		}, []string{"map.unusable", "ptr.unaligned"}},
		{"node absent", func(m *handMap) (uint64, *Options) {
			m.put64(m.root(), 1<<40)
			return m.root(), nil
		}, []string{"map.unusable", "ptr.absent"}},
		{"node excluded", func(m *handMap) (uint64, *Options) {
			m.put64(m.root(), handRAM)
			return m.root(), nil
		}, []string{"map.unusable", "ptr.excluded"}},
		{"root absent", func(m *handMap) (uint64, *Options) {
			return 1 << 40, nil
		}, []string{"map.unusable", "ptr.absent"}},
		{"node limit", func(m *handMap) (uint64, *Options) {
			m.setKey(m.key(0x10_0000, 0))
			return m.root(), &Options{MaxRadixNodes: 3}
		}, []string{"map.node-limit", "map.unusable"}},
		{"run limit", func(m *handMap) (uint64, *Options) {
			for i := uint64(0); i < 64; i++ { // every other page: one run each
				m.setKey(m.key(0x10_0000+2*i*4096, 0))
			}
			return m.root(), &Options{MaxRuns: 10}
		}, []string{"map.run-limit", "map.unusable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newHandMap(t, 4096)
			root, opts := tt.build(m)
			h := m.decode("kho-v4", root, opts)
			if d := cmp.Diff(tt.want, handoverCodes(h)); d != "" {
				for _, f := range h.Findings {
					t.Log(f)
				}
				t.Errorf("codes (-want +got):\n%s", d)
			}
		})
	}
}

// putChunk writes a kho-v1 chunk: header and (phys_start, bitmap) pairs.
func (m *handMap) putChunk(pa, next uint64, order, nElms uint32, elems ...uint64) {
	m.put64(pa, next)
	m.put64(pa+8, uint64(nElms)<<32|uint64(order))
	for i, v := range elems {
		m.put64(pa+16+uint64(i)*8, v)
	}
}

// TestChunkMap covers rule 11.
func TestChunkMap(t *testing.T) {
	tests := []struct {
		name     string
		build    func(m *handMap) uint64
		want     []string
		wantRuns []Run
	}{
		{"valid", func(m *handMap) uint64 {
			c, c2, bm, bm2 := m.page(), m.page(), m.page(), m.page()
			m.put64(bm, 0b111) // order 0, window 0: pages 0..2
			m.put64(bm2+8, 1)  // order 2, window 1 (512 MiB): bit 64
			m.putChunk(c, c2, 0, 1, 0, bm)
			m.putChunk(c2, 0, 2, 1, 0x2000_0000, bm2)
			return c
		}, []string{"chunk.bitmap-size-assumed"}, []Run{{Addr: 0, Order: 0, Count: 3}, {Addr: 0x2000_0000 + 64<<14, Order: 2, Count: 1}}},
		{"num_elms too large", func(m *handMap) uint64 {
			c := m.page()
			m.putChunk(c, 0, 0, 256)
			return c
		}, []string{"chunk.num-elms-too-large"}, nil},
		{"order too large", func(m *handMap) uint64 {
			c := m.page()
			m.putChunk(c, 0, 19, 1, 0, m.page())
			return c
		}, []string{"chunk.order-too-large"}, nil},
		{"bitmap zero", func(m *handMap) uint64 {
			c := m.page()
			m.putChunk(c, 0, 0, 1, 0, 0)
			return c
		}, []string{"chunk.bitmap-zero"}, nil},
		{"phys_start unaligned", func(m *handMap) uint64 {
			c := m.page()
			m.putChunk(c, 0, 0, 1, 0x1000, m.page())
			return c
		}, []string{"chunk.bitmap-size-assumed", "chunk.start-unaligned"}, nil},
		{"chunk loop", func(m *handMap) uint64 {
			c, c2 := m.page(), m.page()
			m.putChunk(c, c2, 0, 0)
			m.putChunk(c2, c, 0, 0)
			return c
		}, []string{"chunk.cycle"}, nil},
		{"window past 2^64", func(m *handMap) uint64 {
			c, bm := m.page(), m.page()
			m.put64(bm, 1)
			m.putChunk(c, 0, 0, 1, ^uint64(0)&^(1<<27-1), bm)
			return c
		}, []string{"chunk.bitmap-size-assumed", "map.block-outside-memory"}, nil},
		{"shared bitmap", func(m *handMap) uint64 {
			c, bm := m.page(), m.page()
			m.put64(bm, 1)
			m.putChunk(c, 0, 0, 2, 0, bm, 0, bm)
			return c
		}, []string{"chunk.bitmap-size-assumed", "chunk.cycle"}, []Run{{Addr: 0, Order: 0, Count: 1}}},
		{"window given twice", func(m *handMap) uint64 {
			// Pages 0..9 from bm; 2..4 (overlap) and 10..14 from bm2: the
			// union is one run, as add joins it.
			c, bm, bm2 := m.page(), m.page(), m.page()
			m.put64(bm, 0x3ff)
			m.put64(bm2, 0b11111<<10|0b111<<2)
			m.putChunk(c, 0, 0, 2, 0, bm, 0, bm2)
			return c
		}, []string{"chunk.bitmap-size-assumed", "map.overlap"}, []Run{{Addr: 0, Order: 0, Count: 15}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newHandMap(t, 4096)
			head := tt.build(m)
			h := m.decode("kho-v1", head, nil)
			if d := cmp.Diff(tt.want, handoverCodes(h)); d != "" {
				t.Errorf("codes (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantRuns, h.MemoryMap.Runs); d != "" {
				t.Errorf("runs (-want +got):\n%s", d)
			}
		})
	}
}

// TestChunkMapNodeLimit: the page cap reached at a chunk or at one of its
// bitmaps stops the walk with a finding either way, and the map is not used.
func TestChunkMapNodeLimit(t *testing.T) {
	for _, limit := range []int{1, 2} {
		m := newHandMap(t, 4096)
		c, c2, bm := m.page(), m.page(), m.page()
		m.put64(bm, 1)
		m.putChunk(c, c2, 0, 1, 0, bm) // limit 1: stops at bm
		m.putChunk(c2, 0, 0, 0)        // limit 2: stops at c2
		h := m.decode("kho-v1", c, &Options{MaxRadixNodes: limit})
		if d := cmp.Diff([]string{"chunk.bitmap-size-assumed", "map.node-limit", "map.unusable"}, handoverCodes(h)); d != "" {
			t.Errorf("MaxRadixNodes %d: codes (-want +got):\n%s", limit, d)
		}
	}
}

func TestAppendBitRuns(t *testing.T) {
	bm := make([]byte, 24)
	binary.LittleEndian.PutUint64(bm, 0x8000_0000_0000_000f)   // bits 0-3, 63
	binary.LittleEndian.PutUint64(bm[8:], ^uint64(0))          // 64-127
	binary.LittleEndian.PutUint64(bm[16:], 0b101<<62>>62|1<<2) // 128, 130
	got := appendBitRuns(nil, bm, 0x1000, 12, 0)
	want := []Run{{Addr: 0x1000, Count: 4}, {Addr: 0x1000 + 63<<12, Count: 66}, {Addr: 0x1000 + 130<<12, Count: 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
	n := uint64(0)
	for _, r := range got {
		n += uint64(r.Count)
	}
	if want := uint64(popcount(bm)); n != want {
		t.Errorf("runs hold %d blocks, popcount %d", n, want)
	}
	_ = bits.Len64
}

func TestCovers(t *testing.T) {
	m := MemoryMap{Runs: []Run{{Addr: 0x1000, Order: 0, Count: 2}, {Addr: 0x3000, Order: 0, Count: 1}, {Addr: 0x8000, Order: 3, Count: 2}}}
	tests := []struct {
		addr, size uint64
		want       Block
		ok         bool
	}{
		{0x1000, 0x1000, Block{0x1000, 0}, true},
		{0x1800, 0x1000, Block{0x1000, 0}, true},
		{0x1800, 0x2000, Block{0x1000, 0}, true}, // runs 1 and 2 are adjacent
		{0x3800, 0x1000, Block{0x3000, 0}, false},
		{0xc000, 0x10, Block{0x8000, 3}, true},
		{0x11000, 0x10, Block{0x10000, 3}, true},
		{0x18000, 0x10, Block{}, false},
		{0x0, 0x10, Block{}, false},
		{^uint64(0), 2, Block{}, false},
	}
	for _, tt := range tests {
		b, ok := m.Covers(tt.addr, tt.size)
		if b != tt.want || ok != tt.ok {
			t.Errorf("Covers(%#x, %#x) = %v, %v; want %v, %v", tt.addr, tt.size, b, ok, tt.want, tt.ok)
		}
	}
}

// naiveBitRuns is appendBitRuns bit by bit, the reference it is checked
// against.
func naiveBitRuns(runs []Run, bitmap []byte, base uint64, shift uint, order uint8) []Run {
	for bit := uint64(0); bit < uint64(len(bitmap)/8*64); bit++ {
		if bitmap[bit/8]>>(bit%8)&1 == 0 {
			continue
		}
		addr := base + bit<<shift
		if n := len(runs); n > 0 && runs[n-1].Order == order && runs[n-1].Count < maxRunCount && runs[n-1].Addr+uint64(runs[n-1].Count)<<shift == addr {
			runs[n-1].Count++
			continue
		}
		runs = append(runs, Run{Addr: addr, Order: order, Count: 1})
	}
	return runs
}

func TestAppendBitRunsMatchesBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int, p float64, stretch int) []byte {
		b := make([]byte, n)
		on := false
		for i := range b {
			if i%stretch == 0 {
				on = rng.Float64() < p
			}
			if on {
				b[i] = 0xff
			}
			if rng.IntN(8) == 0 {
				b[i] ^= byte(rng.Uint32())
			}
		}
		return b
	}
	prev := []Run{{Addr: 0x1000_0000 - 3<<12, Order: 0, Count: 3}} // continued by a run at bit 0
	type bitCase struct {
		bitmap []byte
		runs   []Run
	}
	cases := []bitCase{
		{make([]byte, 4096), nil},
		{bytes.Repeat([]byte{0xff}, 4096), nil},
		{bytes.Repeat([]byte{0xff}, 4096), prev},
		{bytes.Repeat([]byte{0x55}, 256), prev},
		{bytes.Repeat([]byte{0xaa}, 256), prev},
		{append(bytes.Repeat([]byte{0xff}, 64), make([]byte, 64)...), nil},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 1, 0, 0, 0, 0, 0, 0, 0}, nil},
		{[]byte{1, 2, 3}, nil}, // a tail shorter than a word is ignored
		{fill(4096, 0.5, 64), prev},
		{fill(4096, 0.3, 8), nil},
		{fill(4096, 0.7, 3), prev},
		{fill(4096, 0.5, 1), nil},
	}
	// A 64-byte block uniform but for word k, after a set block and after
	// a clear one (carry 1 and 0): the uniform test must see every word.
	for k := 1; k < 8; k++ {
		ones, zeros := bytes.Repeat([]byte{0xff}, 64), make([]byte, 64)
		onesBut, zerosBut := slices.Clone(ones), slices.Clone(zeros)
		copy(onesBut[k*8:], zeros[:8])
		copy(zerosBut[k*8:], ones[:8])
		cases = append(cases, bitCase{slices.Concat(ones, onesBut, zeros, onesBut, ones, zerosBut, zeros, zerosBut), nil})
	}
	for i, c := range cases {
		base := uint64(0x1000_0000)
		want := naiveBitRuns(slices.Clone(c.runs), c.bitmap, base, 12, 0)
		got := appendBitRuns(slices.Clone(c.runs), c.bitmap, base, 12, 0)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("case %d: runs (-want +got):\n%s", i, diff)
		}
	}
}

// TestMergeRuns checks the pairwise merge against a sort by (address,
// order) for every count of sequences up to 9 (odd counts leave one
// sequence over in a round), with equal addresses across sequences, and
// reusing the buffers between calls.
func TestMergeRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var mb mergeBufs
	for k := 0; k <= 9; k++ {
		for trial := 0; trial < 20; trial++ {
			seqs := make([][]Run, 12)
			var want []Run
			for i := 0; i < k; i++ {
				o := rng.IntN(len(seqs))
				if len(seqs[o]) > 0 {
					continue // one sequence per order, as the walk makes them
				}
				addr := uint64(0)
				n := rng.IntN(30)
				if i < 2 && trial%2 == 0 {
					n = 100 + rng.IntN(300) // two long sequences, the rest rare
				}
				for ; n > 0; n-- {
					addr += uint64(rng.IntN(4)) << 12 // steps of 0 too: equal addresses
					seqs[o] = append(seqs[o], Run{Addr: addr, Order: uint8(o), Count: uint32(1 + rng.IntN(3))})
				}
				want = append(want, seqs[o]...)
			}
			slices.SortStableFunc(want, cmpRun)
			x, y := mb.mergeToTwo(seqs)
			got := make([]Run, mergeTwo(make([]Run, len(x)+len(y)), x, y))
			mergeTwo(got, x, y)
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("k=%d trial %d: merge (-want +got):\n%s", k, trial, diff)
			}
			// mergeToThree: the same runs, whether or not the short
			// sequences are set apart as rare.
			x, y, rare := mb.mergeToThree(seqs)
			xy := make([]Run, len(x)+len(y))
			xy = xy[:mergeTwo(xy, x, y)]
			got3 := make([]Run, len(xy)+len(rare))
			got3 = got3[:mergeTwo(got3, xy, rare)]
			if len(got3) == 0 {
				got3 = nil
			}
			if diff := cmp.Diff(want, got3); diff != "" {
				t.Fatalf("k=%d trial %d: mergeToThree (-want +got):\n%s", k, trial, diff)
			}
		}
	}
}

// TestJoinRun checks the joining of a run into the one before it: only
// when it continues it in the same order, filling the last run up to
// maxRunCount blocks and returning the rest.
func TestJoinRun(t *testing.T) {
	const bs = 1 << 12
	tests := []struct {
		name           string
		last, r        Run
		wantLast, rest Run
	}{
		{"joins", Run{Addr: 0, Count: 2}, Run{Addr: 2 * bs, Count: 3}, Run{Addr: 0, Count: 5}, Run{Addr: 5 * bs}},
		{"gap", Run{Addr: 0, Count: 2}, Run{Addr: 3 * bs, Count: 3}, Run{Addr: 0, Count: 2}, Run{Addr: 3 * bs, Count: 3}},
		{"other order", Run{Addr: 0, Count: 2}, Run{Addr: 2 * bs, Count: 3, Order: 1}, Run{Addr: 0, Count: 2}, Run{Addr: 2 * bs, Count: 3, Order: 1}},
		{"fills first", Run{Addr: 0, Count: maxRunCount - 2}, Run{Addr: (maxRunCount - 2) * bs, Count: 5}, Run{Addr: 0, Count: maxRunCount}, Run{Addr: maxRunCount * bs, Count: 3}},
		{"last full", Run{Addr: 0, Count: maxRunCount}, Run{Addr: maxRunCount * bs, Count: 1}, Run{Addr: 0, Count: maxRunCount}, Run{Addr: maxRunCount * bs, Count: 1}},
		{"last past the top", Run{Addr: 1<<64 - bs, Count: 2}, Run{Addr: bs, Count: 1}, Run{Addr: 1<<64 - bs, Count: 2}, Run{Addr: bs, Count: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last := tt.last
			rest := joinRun(&last, tt.r, 12)
			if d := cmp.Diff([]Run{tt.wantLast, tt.rest}, []Run{last, rest}); d != "" {
				t.Errorf("joinRun (-want +got):\n%s", d)
			}
		})
	}
}

// TestJoinRunsSplitsLongRuns checks the joining of a kho-v1 map's sorted
// runs: two touching runs that together pass maxRunCount blocks stay two
// runs, the first full, and setMap keeps them so.
func TestJoinRunsSplitsLongRuns(t *testing.T) {
	const bs = 1 << 12
	mem := &physmem.Sparse{}
	if err := mem.AddRange(0, 4*maxRunCount*bs, physmem.Excluded); err != nil {
		t.Fatal(err)
	}
	d, err := newDecoder(mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	joined, overlaps := joinRuns([]Run{{Addr: 0, Count: maxRunCount - 1}, {Addr: (maxRunCount - 1) * bs, Count: 3}, {Addr: (maxRunCount + 2) * bs, Count: 1}}, 12)
	want := []Run{{Addr: 0, Count: maxRunCount}, {Addr: maxRunCount * bs, Count: 3}}
	if diff := cmp.Diff(want, joined); diff != "" {
		t.Errorf("joinRuns (-want +got):\n%s", diff)
	}
	if overlaps {
		t.Errorf("joinRuns reports overlaps in runs that only touch")
	}
	d.setMap([][]Run{joined}, true)
	if diff := cmp.Diff(want, d.h.MemoryMap.Runs); diff != "" {
		t.Errorf("setMap (-want +got):\n%s", diff)
	}
}

// TestSetMapMatchesAdd checks setMap's merge and inline checks against
// the plain reference: every run, in (address, order) order, through
// mapChecker.add. Random maps with two long sequences and a few rare ones
// (or sequences of any length), overlapping across orders, partly outside
// memory and, half the time, crossing scratch, must give the same runs and
// the same findings; so must kho-v1 maps whose windows are given twice,
// with runs overlapping within an order.
func TestSetMapMatchesAdd(t *testing.T) {
	const page = 1 << 12
	mem := &physmem.Sparse{}
	for _, r := range []struct {
		start, size uint64
		state       physmem.State
	}{{0, 64 << 20, physmem.Present}, {64 << 20, 16 << 20, physmem.Excluded}, {96 << 20, 64 << 20, physmem.Present}} {
		if err := mem.AddRange(r.start, r.size, r.state); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 400 {
		seqs := make([][]Run, 11)
		// Trials from 300 on are kho-v1 maps with windows given twice:
		// runs of one order overlap, joined as decodeChunks joins them.
		twice := trial >= 300
		overlaps := false
		for o := range seqs {
			n := rng.IntN(4)
			switch {
			case o == 0 || o == 3:
				n = 50 + rng.IntN(200) // the two long sequences
			case trial%3 == 0:
				n = rng.IntN(60)
			}
			addr := uint64(rng.IntN(1<<10)) * page
			for range n {
				bs := uint64(page) << o
				addr = (addr + bs - 1) / bs * bs
				count := 1 + rng.IntN(4)
				seqs[o] = append(seqs[o], Run{Addr: addr, Count: uint32(count), Order: uint8(o)})
				// Runs of one order never touch: the gap is a block or more.
				addr += uint64(count+1+rng.IntN(3)) * bs
			}
			if twice {
				for _, r := range slices.Clone(seqs[o]) {
					if rng.IntN(2) == 0 {
						// A second bitmap's run in or next to this one.
						off := uint64(rng.IntN(int(r.Count)+1)) * (uint64(page) << o)
						seqs[o] = append(seqs[o], Run{Addr: r.Addr + off, Count: uint32(1 + rng.IntN(6)), Order: uint8(o)})
					}
				}
				slices.SortFunc(seqs[o], cmpRun)
				var over bool
				seqs[o], over = joinRuns(seqs[o], 12)
				overlaps = overlaps || over
			}
		}
		if twice && !overlaps {
			continue
		}
		var opts *Options
		if trial%2 == 1 {
			s := uint64(rng.IntN(40<<20)) &^ (page - 1)
			opts = &Options{Scratch: []ScratchRegion{{Addr: s, Size: 1 << 20}}}
		}
		checkSetMapMatchesAdd(t, fmt.Sprintf("trial %d", trial), mem, opts, seqs, overlaps)
	}
}

// checkSetMapMatchesAdd checks that setMapWith installs the runs and
// findings the plain reference does: every run of seqs, in (address,
// order) order, through mapChecker.add.
func checkSetMapMatchesAdd(t *testing.T, name string, mem physmem.Memory, opts *Options, seqs [][]Run, overlaps bool) {
	t.Helper()
	ref, err := newDecoder(mem, opts)
	if err != nil {
		t.Fatal(err)
	}
	var all []Run
	for _, q := range seqs {
		all = append(all, q...)
	}
	slices.SortStableFunc(all, cmpRun)
	mc := mapChecker{d: ref, m: &ref.h.MemoryMap, shift: ref.geo.pageShift, ram: rangeCursor{rs: mem.Ranges()}, scratch: opts != nil && len(opts.Scratch) > 0}
	for _, r := range all {
		mc.add(r)
	}
	d, err := newDecoder(mem, opts)
	if err != nil {
		t.Fatal(err)
	}
	d.setMapWith(seqs, true, nil, overlaps)
	want := mc.out
	if len(want) == 0 {
		want = nil
	}
	if diff := cmp.Diff(want, d.h.MemoryMap.Runs); diff != "" {
		t.Fatalf("%s: runs (-add +setMap):\n%s", name, diff)
	}
	if diff := cmp.Diff(ref.h.Findings, d.h.Findings); diff != "" {
		t.Fatalf("%s: findings (-add +setMap):\n%s", name, diff)
	}
}

// TestSetMapLargeBlocks covers the runs the inline merge leaves to add
// because their blocks are above 2^32 bytes (64 KiB pages, orders 17 to
// 20) or their ends pass the top of the address space, among runs it
// takes.
func TestSetMapLargeBlocks(t *testing.T) {
	const top = 1 << 50
	mem := &physmem.Sparse{}
	if err := mem.AddRange(0, top, physmem.Present); err != nil {
		t.Fatal(err)
	}
	opts := &Options{PageSize: 1 << 16, MaxPageOrder: 20}
	const gib = 1 << 30
	tests := []struct {
		name string
		runs []Run
	}{
		{"order 16 (4 GiB blocks) taken inline, order 17 left to add", []Run{
			{Addr: 0, Count: 3, Order: 0}, {Addr: 4 * gib, Count: 1, Order: 16}, {Addr: 8 * gib, Count: 2, Order: 0},
			{Addr: 16 * gib, Count: 1, Order: 17}, {Addr: 24 * gib, Count: 5, Order: 0}, {Addr: 32 * gib, Count: 2, Order: 16},
		}},
		{"orders 18 to 20 between order-0 runs", []Run{
			{Addr: 0, Count: 1, Order: 0}, {Addr: 64 * gib, Count: 1, Order: 20}, {Addr: 128 * gib, Count: 1, Order: 0},
			{Addr: 256 * gib, Count: 3, Order: 18}, {Addr: 1024 * gib, Count: 1, Order: 19}, {Addr: 2048 * gib, Count: 1, Order: 0},
		}},
		{"a large block overlapping small ones", []Run{
			{Addr: 0, Count: 1, Order: 17}, {Addr: 1 << 20, Count: 4, Order: 0}, {Addr: 16 * gib, Count: 1, Order: 0},
		}},
		{"ends past memory and past 2^64", []Run{
			{Addr: 0, Count: 1, Order: 0}, {Addr: top - 1<<16, Count: 2, Order: 0},
			{Addr: 1<<64 - 1<<16, Count: 1 << 20, Order: 0}, {Addr: 1<<64 - 1<<36, Count: 2, Order: 20},
		}},
		{"a count times a block size past 2^64", []Run{
			// After a run the merge takes: the first run always goes to add,
			// which finds the memory span the merge then checks against.
			{Addr: 0, Count: 1, Order: 0}, {Addr: 1 << 36, Count: 1<<28 + 1, Order: 20}, {Addr: 1 << 40, Count: 1, Order: 0},
		}},
	}
	for _, tt := range tests {
		seqs := make([][]Run, 21)
		for _, r := range tt.runs {
			seqs[r.Order] = append(seqs[r.Order], r)
		}
		for _, q := range seqs {
			slices.SortFunc(q, cmpRun)
		}
		checkSetMapMatchesAdd(t, tt.name, mem, opts, seqs, false)
	}
}

// TestSetMapMatchesAddPageShifts compares the inline merge with add, run
// by run, for 16 and 64 KiB pages as well as 4 KiB ones, orders up to 20
// (blocks above 2^32 bytes), runs near the top of the address space and
// counts up to 2^32-1, memory with holes and excluded ranges, and a few
// runs of rare orders, where the merge cuts at the next rare run.
func TestSetMapMatchesAddPageShifts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, shift := range []uint{12, 14, 16} {
		page := uint64(1) << shift
		for trial := range 300 {
			mem := &physmem.Sparse{}
			top := uint64(1) << (30 + rng.IntN(34))
			if rng.IntN(4) == 0 {
				top = -page
			}
			const parts = 3
			for k := range uint64(parts) {
				size := top / parts &^ (page - 1)
				state := physmem.Present
				switch rng.IntN(3) {
				case 0:
					continue // a hole
				case 1:
					state = physmem.Excluded
				}
				if err := mem.AddRange(k*size, size, state); err != nil {
					t.Fatal(err)
				}
			}
			seqs := make([][]Run, 21)
			for o := range seqs {
				n := 0
				switch {
				case o == 0 || o == 9:
					n = 100 + rng.IntN(200) // the two long sequences
				case rng.IntN(4) == 0:
					n = 1 + rng.IntN(2) // rare orders
				}
				bs := page << o
				var addr uint64
				switch rng.IntN(3) {
				case 0:
					addr = rng.Uint64() % (top + top/4)
				case 1:
					addr = -(uint64(rng.IntN(1<<20)) * page)
				default:
					addr = uint64(rng.IntN(1<<12)) * page
				}
				addr &^= bs - 1
				for range n {
					count := uint64(1 + rng.IntN(5))
					switch s := shift + uint(o); {
					case s > 32 && rng.IntN(3) == 0:
						// count × block size wraps past 2^64 to a small size.
						count = 1<<(64-s) + uint64(rng.IntN(3))
					case rng.IntN(20) == 0:
						count = uint64(rng.Uint32() | 1)
					}
					seqs[o] = append(seqs[o], Run{Addr: addr, Count: uint32(count), Order: uint8(o)})
					// Runs of one order never touch: the gap is a block or more.
					hi, step := bits.Mul64(count+1+uint64(rng.IntN(3)), bs)
					if hi != 0 || addr+step < addr {
						break
					}
					addr += step
				}
			}
			opts := &Options{PageSize: page, MaxPageOrder: 20}
			checkSetMapMatchesAdd(t, fmt.Sprintf("page shift %d, trial %d", shift, trial), mem, opts, seqs, false)
		}
	}
}

// TestRadixScratchRelease checks that a scratch goes back to the pool
// without run lists grown past maxPooledRuns, and keeps the others.
func TestRadixScratchRelease(t *testing.T) {
	var sc radixScratch
	sc.byOrder[0] = make([]Run, 0, maxPooledRuns+1)
	sc.byOrder[9] = make([]Run, 0, maxPooledRuns)
	sc.release()
	got := []int{cap(sc.byOrder[0]), cap(sc.byOrder[9])}
	if d := cmp.Diff([]int{0, maxPooledRuns}, got); d != "" {
		t.Errorf("capacities of orders 0 and 9 (-want +got):\n%s", d)
	}

	// Every order just under the bound: the largest lists go until the
	// rest hold at most maxPooledRuns runs in all.
	var full radixScratch
	for o := range full.byOrder {
		full.byOrder[o] = make([]Run, 0, maxPooledRuns-o)
	}
	full.release()
	total := 0
	for _, q := range full.byOrder {
		total += cap(q)
	}
	if total > maxPooledRuns || cap(full.byOrder[63]) == 0 {
		t.Errorf("after release: %d runs kept in all (at most %d), order 63's list (the smallest) %d", total, maxPooledRuns, cap(full.byOrder[63]))
	}
}
