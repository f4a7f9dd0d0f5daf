package kho

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// chunkSeed lays blocks out as a kho-v1 chunk list in the fuzz RAM, the
// head chunk first, with page bitmaps or (small) 512-byte ones. An empty
// list still gets a (zero) head page.
func chunkSeed(tb testing.TB, blocks []Block, small bool) []byte {
	a := fuzzPageAlloc(pageFuzzBase, 0x20000)
	head, pages, err := bldChunks(a, blocks, small)
	if err != nil {
		tb.Fatal(err)
	}
	if head == 0 {
		head = pageFuzzBase
		pages[head] = make([]byte, 4096)
	}
	return pageRecords(pages, head)
}

// FuzzChunkMap walks a kho-v1 khoser_mem_chunk list laid out from the
// input (page records, the head chunk at the first) with the decoder's
// chunk walk. Invariants as for the radix-tree map target: the walk ends,
// findings are documented, runs pass rule 12, decoding is deterministic
// (a MapDecoder, fresh and after other decodes, agrees),
// and a map that decoded without findings (but which bitmap size it was
// read with) survives a round trip through the builder's chunk encoding at
// that size.
func FuzzChunkMap(f *testing.F) {
	for _, bs := range radixSeedBlocks {
		f.Add(chunkSeed(f, bs, false))
		f.Add(chunkSeed(f, bs, true))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		mem, head := pageMemory(in)
		d := fuzzDecoder(t, mem)
		d.decodeChunks(head)
		m := &d.h.MemoryMap
		checkFindingsDocumented(t, d.h.Findings)
		checkMapRules(t, mem, m, d.opts.MaxPageOrder)

		d.finish()
		m.Addr, m.Kind = head, MapChunk
		checkMapDecoder(t, mem, MapChunk, head, &Options{}, d.h)
		small := false
		for _, f := range d.h.Findings {
			switch f.Code {
			case "chunk.bitmap-512":
				small = true
			case "chunk.bitmap-size-assumed":
			default:
				return
			}
		}
		if len(m.Runs) == 0 {
			return
		}
		var blocks []Block
		for b := range m.All() {
			blocks = append(blocks, b)
		}
		head2, pages, err := bldChunks(fuzzPageAlloc(reencodeBase, reencodeRAM), blocks, small)
		if err != nil {
			t.Fatal(err)
		}
		d3 := fuzzDecoder(t, reencodedMemory(t, pages))
		d3.decodeChunks(head2)
		if diff := cmp.Diff(m.Runs, d3.h.MemoryMap.Runs); diff != "" {
			t.Fatalf("re-encoded map decodes differently (-decoded +re-decoded):\n%s", diff)
		}
		if diff := cmp.Diff(findingCodes(d.h.Findings), findingCodes(d3.h.Findings)); diff != "" {
			t.Fatalf("re-encoded map's findings differ (-decoded +re-decoded):\n%s", diff)
		}
	})
}
