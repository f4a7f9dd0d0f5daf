package kho

import (
	"encoding/binary"
	"math/bits"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

func TestMemoryMapTotals(t *testing.T) {
	const max64 = ^uint64(0)
	tests := []struct {
		name              string
		m                 MemoryMap
		wantBlocks, wantB uint64
	}{
		{"empty", MemoryMap{}, 0, 0},
		{"4k run", MemoryMap{Runs: []Run{{Addr: 0x1000, Count: 3, Order: 1}}}, 3, 3 * 8192},
		{"runs and blocks", MemoryMap{Runs: []Run{{Count: 2}}, Blocks: []Block{{Addr: 0x10000, Order: 2}}}, 3, 2*4096 + 4*4096},
		{"16k pages", MemoryMap{PageSize: 16384, Runs: []Run{{Count: 2, Order: 1}}}, 2, 2 * 32768},
		{"4k order 51", MemoryMap{Blocks: []Block{{Order: 51}}}, 1, 1 << 63},
		{"4k order 52", MemoryMap{Blocks: []Block{{Order: 52}}}, 1, max64},
		{"4k order 255", MemoryMap{Blocks: []Block{{Order: 255}}}, 1, max64},
		{"64k order 47", MemoryMap{PageSize: 65536, Blocks: []Block{{Order: 47}}}, 1, 1 << 63},
		{"64k order 48", MemoryMap{PageSize: 65536, Blocks: []Block{{Order: 48}}}, 1, max64},
		{"16k product overflows", MemoryMap{PageSize: 16384, Runs: []Run{{Count: 4, Order: 48}}}, 4, max64},
		{"sum overflows", MemoryMap{Blocks: []Block{{Order: 51}, {Order: 51}}}, 2, max64},
		{"saturated stays", MemoryMap{Blocks: []Block{{Order: 52}, {Order: 0}}}, 2, max64},
		{"max count", MemoryMap{Runs: []Run{{Count: 1<<32 - 1}, {Count: 1<<32 - 1}}}, 2 * (1<<32 - 1), 2 * (1<<32 - 1) * 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks, b := tt.m.Totals()
			if diff := cmp.Diff([2]uint64{tt.wantBlocks, tt.wantB}, [2]uint64{blocks, b}); diff != "" {
				t.Errorf("Totals (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemoryMapPreservedRanges(t *testing.T) {
	present := func(start, size uint64) physmem.Range {
		return physmem.Range{Start: start, Size: size, State: physmem.Present}
	}
	tests := []struct {
		name string
		m    MemoryMap
		want []physmem.Range
	}{
		{"empty", MemoryMap{}, []physmem.Range{}},
		{"one run", MemoryMap{Runs: []Run{{Addr: 0x1000, Count: 3, Order: 1}}}, []physmem.Range{present(0x1000, 3*8192)}},
		{"touching runs of two orders join", MemoryMap{Runs: []Run{{Addr: 0x10000, Count: 4}, {Addr: 0x14000, Count: 1, Order: 2}}},
			[]physmem.Range{present(0x10000, 0x8000)}},
		{"gap kept", MemoryMap{Runs: []Run{{Addr: 0x10000, Count: 1}, {Addr: 0x12000, Count: 1}}},
			[]physmem.Range{present(0x10000, 0x1000), present(0x12000, 0x1000)}},
		{"blocks between runs", MemoryMap{Runs: []Run{{Addr: 0x10000, Count: 1}, {Addr: 0x20000, Count: 1}},
			Blocks: []Block{{Addr: 0x11000}, {Addr: 0x30000, Order: 1}}},
			[]physmem.Range{present(0x10000, 0x2000), present(0x20000, 0x1000), present(0x30000, 0x2000)}},
		{"overlapping block and run", MemoryMap{Runs: []Run{{Addr: 0x10000, Count: 2, Order: 2}}, Blocks: []Block{{Addr: 0x12000, Order: 1}, {Addr: 0x17000, Order: 1}}},
			[]physmem.Range{present(0x10000, 0x9000)}},
		{"unsorted blocks", MemoryMap{Blocks: []Block{{Addr: 0x5000}, {Addr: 0x1000}, {Addr: 0x3000}, {Addr: 0x2000}}},
			[]physmem.Range{present(0x1000, 0x3000), present(0x5000, 0x1000)}},
		{"64k pages", MemoryMap{PageSize: 65536, Runs: []Run{{Addr: 0x100000, Count: 2}}}, []physmem.Range{present(0x100000, 0x20000)}},
		// Hostile extents are left out, the rest kept.
		{"block past 64 bits", MemoryMap{Blocks: []Block{{Addr: 0x1000}, {Addr: 0x2000, Order: 52}}}, []physmem.Range{present(0x1000, 0x1000)}},
		{"run product past 64 bits", MemoryMap{Runs: []Run{{Addr: 0, Count: 1 << 20, Order: 40}, {Addr: 1 << 40, Count: 1}}}, []physmem.Range{present(1<<40, 0x1000)}},
		{"run wrapping the address space", MemoryMap{Runs: []Run{{Addr: 1<<64 - 0x1000, Count: 2}}}, []physmem.Range{}},
		{"order 255", MemoryMap{Blocks: []Block{{Addr: 0x1000, Order: 255}}}, []physmem.Range{}},
		{"zero count", MemoryMap{Runs: []Run{{Addr: 0x1000}}}, []physmem.Range{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.m.PreservedRanges()); diff != "" {
				t.Errorf("PreservedRanges (-want +got):\n%s", diff)
			}
		})
	}
}

// A built and decoded handover's ranges are its preserved allocations.
func TestMemoryMapPreservedRangesBuilt(t *testing.T) {
	h := &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", Sessions: []Session{
		{Name: "s", Files: []File{{Compatible: "memfd-v2", Memfd: &Memfd{}}}},
	}}}
	b, err := Build(h, &BuildOptions{Contents: map[FileID][]byte{{Session: 0, File: 0}: make([]byte, 5*4096)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b.Mem, b.RootAddr, &Options{Scratch: b.Scratch})
	if err != nil {
		t.Fatal(err)
	}
	want := (&MemoryMap{Blocks: b.Preserved}).PreservedRanges()
	if len(want) == 0 {
		t.Fatal("the builder preserved nothing")
	}
	if diff := cmp.Diff(want, got.MemoryMap.PreservedRanges()); diff != "" {
		t.Errorf("decoded map's ranges (-built +decoded):\n%s", diff)
	}
	blocks, bytes := got.MemoryMap.Totals()
	if blocks != uint64(len(b.Preserved)) {
		t.Errorf("Totals: %d blocks, built %d", blocks, len(b.Preserved))
	}
	var sum uint64
	for _, r := range want {
		sum += r.Size
	}
	if bytes != sum {
		t.Errorf("Totals: %d bytes, ranges hold %d", bytes, sum)
	}
}

// FuzzMemoryMapPreservedRanges checks that the ranges are sorted, apart
// (touching ones joined), cover every run and block that fits 64 bits,
// hold no more than Totals counts, and begin and end where those do.
func FuzzMemoryMapPreservedRanges(f *testing.F) {
	f.Add(uint8(0), []byte{0, 0, 0, 1, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 1})
	f.Add(uint8(2), []byte{255, 255, 255, 255, 255, 255, 255, 240, 2, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, pageShift uint8, raw []byte) {
		m := MemoryMap{PageSize: []uint64{4096, 16384, 65536}[pageShift%3]}
		for i := 0; i+13 <= len(raw) && i < 13*32; i += 13 {
			addr := binary.LittleEndian.Uint64(raw[i:]) &^ 0xfff
			count := uint32(raw[i+8])
			order := raw[i+12] % 70
			if raw[i+10]&1 == 0 {
				m.Runs = append(m.Runs, Run{Addr: addr, Count: count, Order: order})
			} else {
				m.Blocks = append(m.Blocks, Block{Addr: addr, Order: order})
			}
		}
		rs := m.PreservedRanges()
		for i, r := range rs {
			if r.Size == 0 || r.State != physmem.Present || r.Start+r.Size < r.Start {
				t.Fatalf("range %d %v", i, r)
			}
			if i > 0 && rs[i-1].End() >= r.Start {
				t.Fatalf("ranges %d %v and %d %v not sorted and apart", i-1, rs[i-1], i, r)
			}
		}
		covered := func(start, end uint64) bool {
			for _, r := range rs {
				if r.Start <= start && end <= r.End() {
					return true
				}
			}
			return false
		}
		var sum uint64
		for _, r := range rs {
			sum += r.Size
		}
		if _, bytes := m.Totals(); sum > bytes {
			t.Fatalf("ranges hold %d bytes, Totals %d", sum, bytes)
		}
		// Extents the map claims, whole runs: each fits 64 bits or is left out.
		var claimed []physmem.Range
		for _, r := range append(append([]Run(nil), m.Runs...), blocksToRuns(m.Blocks)...) {
			hi, n := bits.Mul64(m.blockSize(r.Order), uint64(r.Count))
			if hi == 0 && n != 0 && r.Addr+n >= r.Addr {
				claimed = append(claimed, physmem.Range{Start: r.Addr, Size: n})
			}
		}
		for _, c := range claimed {
			if !covered(c.Start, c.End()) {
				t.Fatalf("extent %v not covered by %v", c, rs)
			}
		}
		for _, r := range rs { // every range starts and ends at a claimed edge
			var starts, ends bool
			for _, c := range claimed {
				starts = starts || c.Start == r.Start
				ends = ends || c.End() == r.End()
			}
			if !starts || !ends {
				t.Fatalf("range %v does not start and end at claimed extents %v", r, claimed)
			}
		}
	})
}
