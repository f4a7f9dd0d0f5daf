package format

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkDecodeFolioSer(b *testing.B) {
	in := put(make([]byte, 16)).u64(0, 3<<52|0x3f80b).u64(8, 9)
	b.SetBytes(16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFolioSer(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeFolios decodes a full 4 KiB page of folio entries (256).
func BenchmarkDecodeFolios(b *testing.B) {
	in := make([]byte, 4096)
	for i := 0; i < 256; i++ {
		put(in).u64(16*i, 3<<52|uint64(i+1)).u64(16*i+8, uint64(i))
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFolios(in, 256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFLBPage(b *testing.B) {
	in, err := os.ReadFile(filepath.Join(vectorDir, "flb_block_0x3b8000.bin"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFLBPage(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRadixNode(b *testing.B) {
	in := make([]byte, 4096)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRadixNode(in, Page4K); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRadixDecodeKey(b *testing.B) {
	g, _ := RadixFor(Page4K)
	key := uint64(1<<43 | 0x201)
	for b.Loop() {
		if _, _, err := g.Decode(key, DefaultMaxPageOrder); err != nil {
			b.Fatal(err)
		}
	}
}
