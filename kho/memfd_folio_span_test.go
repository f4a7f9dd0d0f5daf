package kho

import (
	"bytes"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

func TestFolioSpan(t *testing.T) {
	const max64 = ^uint64(0)
	tests := []struct {
		name       string
		f          Folio
		start, end uint64
	}{
		{"order 0", Folio{Index: 5}, 5, 6},
		{"order 2 aligned", Folio{Index: 8, Order: 2}, 8, 12},
		{"order 2 at 5", Folio{Index: 5, Order: 2}, 4, 8},
		{"order 2 at 7", Folio{Index: 7, Order: 2}, 4, 8},
		{"order 9 at 1000", Folio{Index: 1000, Order: 9}, 512, 1024},
		{"order 0 at the top", Folio{Index: max64}, max64, max64},
		{"order 2 at the top", Folio{Index: max64, Order: 2}, max64 - 3, max64},
		{"order 63 low", Folio{Index: 1 << 50, Order: 63}, 0, 1 << 63},
		{"order 63 high", Folio{Index: max64, Order: 63}, 1 << 63, max64},
		{"order 64", Folio{Index: 77, Order: 64}, 0, max64},
		{"order 255", Folio{Index: 1, Order: 255}, 0, max64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := folioSpan(tt.f)
			if diff := cmp.Diff([2]uint64{tt.start, tt.end}, [2]uint64{start, end}); diff != "" {
				t.Errorf("folioSpan(%+v) [start, end) (-want +got):\n%s", tt.f, diff)
			}
		})
	}
}

// pfnByte is the byte spanMemory fills page pfn with: distinct for the
// PFNs these tests use, and never 0, which a hole reads as.
func pfnByte(pfn uint64) byte { return byte(pfn&0xf | pfn>>8<<4) }

// presentMemory is size bytes of present memory from address 0, reading
// as zeros until written.
func presentMemory(t testing.TB, size uint64) *physmem.Sparse {
	t.Helper()
	mem := &physmem.Sparse{}
	if err := mem.AddRange(0, size, physmem.Present); err != nil {
		t.Fatal(err)
	}
	return mem
}

// folioDecoder is a decoder over mem with a usable radix memory map of
// runs, as decodeFolios finds it once a root's map has been decoded.
func folioDecoder(t testing.TB, mem physmem.Memory, runs ...Run) *decoder {
	t.Helper()
	d, err := newDecoder(mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.h.MemoryMap = MemoryMap{Kind: MapRadix, Runs: runs}
	d.mapSet, d.mapOK = true, true
	return d
}

// folioArray encodes entries as a memfd's folio array.
func folioArray(t testing.TB, entries []format.FolioSer) []byte {
	t.Helper()
	var array []byte
	for _, e := range entries {
		var err error
		if array, err = e.Append(array); err != nil {
			t.Fatal(err)
		}
	}
	return array
}

// spanMemory is 4 MiB of 4 KiB pages, page pfn filled with pfnByte(pfn).
func spanMemory(t testing.TB) *physmem.Sparse {
	t.Helper()
	mem := presentMemory(t, 4<<20)
	for pfn := uint64(0x100); pfn < 0x400; pfn++ {
		if err := mem.WriteAt(bytes.Repeat([]byte{pfnByte(pfn)}, 4096), pfn*4096); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

// pageBytes reads m through MemfdContents and sums each page up as the
// byte it holds throughout, 0xee for a page of mixed bytes.
func pageBytes(t *testing.T, mem physmem.Memory, m *Memfd) []byte {
	t.Helper()
	data, err := io.ReadAll(MemfdContents(mem, m, 4096))
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(data)) != m.Size {
		t.Fatalf("read %d bytes of a %d-byte memfd", len(data), m.Size)
	}
	var out []byte
	for p := 0; p < len(data); p += 4096 {
		page := data[p:min(len(data), p+4096)]
		if bytes.Count(page, page[:1]) != len(page) {
			out = append(out, 0xee)
			continue
		}
		out = append(out, page[0])
	}
	return out
}

// TestMemfdMisalignedFolio checks that the pages of an order-2 folio whose
// index is not a multiple of 4 are read, and counted by Holes, where the
// kernel's page cache puts them: its page j at index (Index rounded down
// to 4) + j, not at Index + j.
func TestMemfdMisalignedFolio(t *testing.T) {
	const ps = 4096
	tests := []struct {
		name   string
		size   uint64
		folios []Folio
		pages  []byte // pfnByte of the page each file page reads, 0 for a hole
		holes  uint64
	}{{
		name:   "order 2 at 5",
		size:   8 * ps,
		folios: []Folio{{PFN: 0x100, Index: 5, Order: 2}},
		pages:  []byte{0, 0, 0, 0, 0x10, 0x11, 0x12, 0x13},
		holes:  4 * ps,
	}, {
		name:   "order 2 at 7, order 0 after it",
		size:   10 * ps,
		folios: []Folio{{PFN: 0x100, Index: 7, Order: 2}, {PFN: 0x200, Index: 8}},
		pages:  []byte{0, 0, 0, 0, 0x10, 0x11, 0x12, 0x13, 0x20, 0},
		holes:  5 * ps,
	}, {
		name:   "order 2 at 6, order 0 before it",
		size:   8 * ps,
		folios: []Folio{{PFN: 0x100, Index: 6, Order: 2}, {PFN: 0x201, Index: 3}},
		pages:  []byte{0, 0, 0, 0x21, 0x10, 0x11, 0x12, 0x13},
		holes:  3 * ps,
	}, {
		name:   "order 2 at 9, the file ending inside it",
		size:   9*ps + 100,
		folios: []Folio{{PFN: 0x100, Index: 9, Order: 2}},
		pages:  []byte{0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x11},
		holes:  8 * ps,
	}, {
		name:   "order 2 at 1 fills the hole before it",
		size:   5 * ps,
		folios: []Folio{{PFN: 0x300, Index: 1, Order: 2}, {PFN: 0x202, Index: 4}},
		pages:  []byte{0x30, 0x31, 0x32, 0x33, 0x22},
		holes:  0,
	}}
	mem := spanMemory(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Memfd{Size: tt.size, Folios: tt.folios}
			if diff := cmp.Diff(tt.pages, pageBytes(t, mem, m)); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
			if got := m.Holes(ps); got != tt.holes {
				t.Errorf("Holes = %d, want %d", got, tt.holes)
			}
		})
	}
}

// TestDecodedMisalignedFolio checks the decoder and the reader end to
// end: the decoder reports an order-2 folio at index 5 as
// memfd.folio-index-unaligned and keeps it, drops the folio at index 4
// that overlaps where the kernel puts it, keeps the one at 8, and the
// reader then reads file pages 4-7 from the order-2 folio's pages 0-3.
func TestDecodedMisalignedFolio(t *testing.T) {
	const u = format.FolioUptodate
	mem := spanMemory(t)
	d := folioDecoder(t, mem, Run{Addr: 0x100000, Count: 1, Order: 2}, Run{Addr: 0x200000, Count: 2, Order: 0})
	array := folioArray(t, []format.FolioSer{
		{PFN: 0x100, Flags: u, Index: 5}, // order 2 from the map: fills [4, 8)
		{PFN: 0x200, Flags: u, Index: 4}, // overlaps it: dropped
		{PFN: 0x201, Flags: u, Index: 8},
	})
	m := &Memfd{Size: 9 * 4096, Folios: d.decodeFolios("/f", 9*4096, array)}
	if diff := cmp.Diff([]string{"memfd.folio-index-unaligned /f[0]", "memfd.folio-index-duplicate /f[1]"}, findingPaths(d)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]byte{0, 0, 0, 0, 0x10, 0x11, 0x12, 0x13, 0x21}, pageBytes(t, mem, m)); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if got := m.Holes(4096); got != 4*4096 {
		t.Errorf("Holes = %d, want %d", got, 4*4096)
	}
}
