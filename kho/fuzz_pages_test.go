package kho

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/khokit/khokit/kho/physmem"
)

// The per-parser fuzz targets (radix map, chunk list, vmalloc area, block
// chain) lay their input out as page records {u16 page index, u16 length,
// bytes} in a small RAM of pageFuzzRAM bytes at pageFuzzBase; the first
// record's page is where the walk starts. Page indices wrap inside the RAM
// and trailing zeros of a page are not stored, so seeds stay small.
const (
	pageFuzzBase  = 0x100000
	pageFuzzRAM   = 4 << 20
	pageFuzzPages = pageFuzzRAM / 4096
)

// fuzzPageAlloc is a builder page allocator over the size bytes at base.
func fuzzPageAlloc(base, size uint64) *bldPageAlloc {
	return &bldPageAlloc{pageSize: 4096, ram: []physmem.Range{{Start: base, Size: size, State: physmem.Present}}, next: base}
}

// The map round trips lay the builder's re-encoding out in the 1 MiB at
// reencodeBase, above the fuzz RAM, so it cannot land on the input's pages.
const (
	reencodeBase = 0x40000000
	reencodeRAM  = 1 << 20
)

// reencodedMemory is the fuzz RAM plus the re-encoding RAM, with pages
// (address → contents, inside the re-encoding RAM) written into it.
func reencodedMemory(t *testing.T, pages map[uint64][]byte) *physmem.Sparse {
	t.Helper()
	mem := &physmem.Sparse{}
	if err := mem.AddRange(pageFuzzBase, pageFuzzRAM, physmem.Present); err != nil {
		t.Fatal(err)
	}
	if err := mem.AddRange(reencodeBase, reencodeRAM, physmem.Present); err != nil {
		t.Fatal(err)
	}
	for pa, p := range pages {
		if err := mem.WriteAt(p, pa); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

// pageRecords flattens pages (address → contents, addresses inside the
// fuzz RAM) into records, the page at first first.
func pageRecords(pages map[uint64][]byte, first uint64) []byte {
	addrs := make([]uint64, 0, len(pages))
	for a := range pages {
		if a != first {
			addrs = append(addrs, a)
		}
	}
	slices.Sort(addrs)
	if _, ok := pages[first]; ok {
		addrs = append([]uint64{first}, addrs...)
	}
	var in []byte
	for _, a := range addrs {
		p := pages[a]
		n := len(p)
		for n > 0 && p[n-1] == 0 {
			n--
		}
		if a == first && n == 0 {
			n = 1 // keep the first record: it names the start page
		}
		if n == 0 {
			continue
		}
		in = binary.LittleEndian.AppendUint16(in, uint16((a-pageFuzzBase)/4096))
		in = binary.LittleEndian.AppendUint16(in, uint16(n))
		in = append(in, p[:n]...)
	}
	return in
}

// pageMemory lays page records out in a fresh memory and returns it with
// the first record's page address (pageFuzzBase when there is none).
func pageMemory(recs []byte) (*physmem.Sparse, uint64) {
	mem := &physmem.Sparse{}
	_ = mem.AddRange(pageFuzzBase, pageFuzzRAM, physmem.Present)
	start := uint64(pageFuzzBase)
	for i := 0; len(recs) >= 4; i++ {
		pa := pageFuzzBase + uint64(binary.LittleEndian.Uint16(recs)%pageFuzzPages)*4096
		n := min(int(binary.LittleEndian.Uint16(recs[2:])), 4096, len(recs)-4)
		_ = mem.WriteAt(recs[4:4+n], pa)
		if i == 0 {
			start = pa
		}
		recs = recs[4+n:]
	}
	return mem, start
}

// fuzzDecoder is a decoder over mem with default options.
func fuzzDecoder(t *testing.T, mem physmem.Memory) *decoder {
	d, err := newDecoder(mem, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// trustAllRAM makes d's memory map cover the whole fuzz RAM with order-0
// pages, so that walks run their preservation checks (which need a map
// that decoded) instead of skipping them.
func trustAllRAM(d *decoder) {
	d.h.MemoryMap = MemoryMap{PageSize: 4096, Kind: MapRadix, Runs: []Run{{Addr: pageFuzzBase, Order: 0, Count: pageFuzzPages}}}
	d.mapOK, d.mapSet = true, true
}

// checkFindingsDocumented fails on a finding code missing from the code
// table.
func checkFindingsDocumented(t *testing.T, fs []Finding) {
	t.Helper()
	for _, f := range fs {
		if _, ok := LookupCode(f.Code); !ok {
			t.Fatalf("undocumented finding code %q (%s)", f.Code, f)
		}
	}
}

// checkMapRules checks a decoded memory map against rule 12: every run
// non-empty, of an order at most max, inside present memory, runs sorted
// and not overlapping.
func checkMapRules(t *testing.T, mem physmem.Memory, m *MemoryMap, max uint8) {
	t.Helper()
	if len(m.Blocks) != 0 {
		t.Fatalf("decoded map has %d loose blocks", len(m.Blocks))
	}
	var prevEnd uint64
	for i, r := range m.Runs {
		if r.Count == 0 {
			t.Fatalf("run %d %+v is empty", i, r)
		}
		if r.Order > max {
			t.Fatalf("run %d %+v: order above %d", i, r, max)
		}
		bs := m.blockSize(r.Order)
		if bs == 0 || r.Addr%bs != 0 {
			t.Fatalf("run %d %+v not aligned to its order", i, r)
		}
		size := uint64(r.Count) * bs
		if size/bs != uint64(r.Count) || r.Addr+size < r.Addr {
			t.Fatalf("run %d %+v overflows", i, r)
		}
		if st := physmem.StateOf(mem, r.Addr, size); st != physmem.Present {
			t.Fatalf("run %d %+v is %v memory", i, r, st)
		}
		if i > 0 && r.Addr < prevEnd {
			t.Fatalf("run %d %+v starts before the previous run's end %#x", i, r, prevEnd)
		}
		prevEnd = r.Addr + size
	}
}
