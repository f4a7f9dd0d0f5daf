package kho

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/khokit/khokit/format"
)

// blockChainSeed lays counts entries out as a chain of blocks of 80-byte
// entries at consecutive pages from pageFuzzBase; loop makes the last
// block point back at the first.
func blockChainSeed(counts []int, loop bool) []byte {
	pages := map[uint64][]byte{}
	for i, n := range counts {
		pa := pageFuzzBase + uint64(i)*4096
		p := make([]byte, 4096)
		var next uint64
		if i+1 < len(counts) {
			next = pa + 4096
		} else if loop {
			next = pageFuzzBase
		}
		encPutBlockHeader(p, next, uint64(n))
		for j := range n {
			e := p[format.BlockHeaderSize+j*format.SessionSerSize:]
			copy(e, "session")
			e[7] = byte('a' + j%26)
			binary.LittleEndian.PutUint64(e[64:], 0x200000+uint64(j)*4096)
			binary.LittleEndian.PutUint64(e[72:], uint64(j))
		}
		pages[pa] = p
	}
	return pageRecords(pages, pageFuzzBase)
}

// FuzzBlocks walks a linked-block chain (page records, the head block at
// the first) with the decoder's block walk for 80-byte session entries,
// under a map that preserves the whole RAM. The walk must end and document
// its findings; it returns whole entries, at most a block's worth per
// block, each block once, no more blocks than MaxBlocks, and entries that
// are the bytes at their addresses; a broken chain comes with a finding.
func FuzzBlocks(f *testing.F) {
	f.Add(blockChainSeed([]int{1}, false))
	f.Add(blockChainSeed([]int{51, 51, 3}, false))
	f.Add(blockChainSeed([]int{2, 2}, true))
	for _, name := range []string{"session_block_0x3e9000.bin", "file_block_0x3f808000.bin"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", "linux-7.3.4-x86_64", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pageRecords(map[uint64][]byte{pageFuzzBase: b}, pageFuzzBase))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		mem, head := pageMemory(in)
		d := fuzzDecoder(t, mem)
		trustAllRAM(d)
		const entrySize = format.SessionSerSize
		perBlock := uint64(d.geo.caps.SessionsPerBlock)
		entries, addrs, ok := d.walkBlocks("/fuzz", "sessions", head, entrySize, perBlock)
		checkFindingsDocumented(t, d.h.Findings)
		if !ok && len(d.h.Findings) == 0 {
			t.Fatal("broken chain without a finding")
		}
		if len(entries) != len(addrs)*entrySize {
			t.Fatalf("%d entry bytes for %d addresses", len(entries), len(addrs))
		}
		perPage := map[uint64]uint64{}
		var last uint64
		for i, a := range addrs {
			pg := a &^ 4095
			if perPage[pg] > 0 && pg != last {
				t.Fatalf("block %#x read twice", pg)
			}
			last = pg
			if perPage[pg]++; perPage[pg] > perBlock {
				t.Fatalf("block %#x yields more than %d entries", pg, perBlock)
			}
			got := make([]byte, entrySize)
			if _, err := mem.ReadAt(got, a); err != nil {
				t.Fatalf("entry %d at %#x: %v", i, a, err)
			}
			if !bytes.Equal(got, entries[i*entrySize:(i+1)*entrySize]) {
				t.Fatalf("entry %d is not the bytes at %#x", i, a)
			}
		}
		if len(perPage) > d.opts.MaxBlocks {
			t.Fatalf("%d blocks, above MaxBlocks %d", len(perPage), d.opts.MaxBlocks)
		}
	})
}
