package kho

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// radixSeedBlocks are block sets the builder lays out as radix trees for
// the seeds: single pages, huge orders, neighbours that merge into runs,
// and blocks outside the fuzz RAM or above the order limit.
var radixSeedBlocks = [][]Block{
	nil,
	{{Addr: 0x180000, Order: 0}},
	{{Addr: 0x180000, Order: 0}, {Addr: 0x181000, Order: 0}, {Addr: 0x184000, Order: 2}, {Addr: 0x200000, Order: 9}},
	{{Addr: 0x300000, Order: 8}, {Addr: 0x300000, Order: 0}},   // overlap across orders
	{{Addr: 0x80000000, Order: 0}, {Addr: 0x1c0000, Order: 6}}, // one outside memory
	{{Addr: 0, Order: 20}, {Addr: 0x3ff000, Order: 0}},         // order above the default maximum
}

// radixSeed lays blocks out as a radix tree in the fuzz RAM, root first.
func radixSeed(tb testing.TB, blocks []Block) []byte {
	root, pages := radixLayout(tb, fuzzPageAlloc(pageFuzzBase, 0x20000), blocks)
	return pageRecords(pages, root)
}

// radixLayout is the builder's radix tree of blocks in pages from a: its
// root and its pages.
func radixLayout(tb testing.TB, a *bldPageAlloc, blocks []Block) (uint64, map[uint64][]byte) {
	tb.Helper()
	root, err := a.alloc(0)
	if err != nil {
		tb.Fatal(err)
	}
	pages, err := bldRadix(a, root, blocks)
	if err != nil {
		tb.Fatal(err)
	}
	return root, pages
}

// FuzzRadixMap walks a kho-v2+ radix tree laid out from the input (page
// records, the root at the first) with the decoder's map walk. The walk
// must end, its findings must be documented, every run it returns must
// pass rule 12 (order, memory, order of runs, no overlap), and a
// MapDecoder, fresh and after other decodes, must agree with it: decoding
// is deterministic. A map that decoded without findings, laid out again by
// the builder, decodes to the same runs.
func FuzzRadixMap(f *testing.F) {
	for _, bs := range radixSeedBlocks {
		f.Add(radixSeed(f, bs))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		mem, root := pageMemory(in)
		d := fuzzDecoder(t, mem)
		d.decodeRadix(root)
		m := &d.h.MemoryMap
		checkFindingsDocumented(t, d.h.Findings)
		checkMapRules(t, mem, m, d.opts.MaxPageOrder)

		d.finish()
		m.Addr, m.Kind = root, MapRadix
		checkMapDecoder(t, mem, MapRadix, root, &Options{}, d.h)
		if len(d.h.Findings) > 0 {
			return
		}
		// Round trip: the builder's radix encoding of the runs, with its
		// nodes above the fuzz RAM, decodes to the same runs.
		var blocks []Block
		for b := range m.All() {
			blocks = append(blocks, b)
		}
		root2, pages := radixLayout(t, fuzzPageAlloc(reencodeBase, reencodeRAM), blocks)
		d3 := fuzzDecoder(t, reencodedMemory(t, pages))
		d3.decodeRadix(root2)
		if diff := cmp.Diff(m.Runs, d3.h.MemoryMap.Runs); diff != "" {
			t.Fatalf("re-encoded map decodes differently (-decoded +re-decoded):\n%s", diff)
		}
		if len(d3.h.Findings) > 0 {
			t.Fatalf("re-encoded map has findings: %v", d3.h.Findings)
		}
	})
}
