package kho

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

func TestMemfdHoles(t *testing.T) {
	const max64 = ^uint64(0)
	tests := []struct {
		name     string
		size     uint64
		folios   []Folio
		pageSize uint64
		want     uint64
	}{
		{"empty", 0, nil, 4096, 0},
		{"no folios", 10000, nil, 4096, 10000},
		{"dense", 3*4096 + 100, []Folio{{Index: 0}, {Index: 1}, {Index: 2}, {Index: 3}}, 4096, 0},
		{"dense unsorted", 3*4096 + 100, []Folio{{Index: 3}, {Index: 1}, {Index: 0}, {Index: 2}}, 0, 0},
		{"one large folio", 4 * 4096, []Folio{{Index: 0, Order: 2}}, 4096, 0},
		{"tail hole", 5 * 4096, []Folio{{Index: 0}}, 4096, 4 * 4096},
		{"gap between folios", 5 * 4096, []Folio{{Index: 0}, {Index: 4}}, 4096, 3 * 4096},
		{"partial last page", 4096 + 1, []Folio{{Index: 0}}, 4096, 1},
		{"last page backed", 4096 + 1, []Folio{{Index: 1}}, 4096, 4096},
		{"overlapping folios count once", 4 * 4096, []Folio{{Index: 0, Order: 2}, {Index: 1}, {Index: 2, Order: 1}}, 4096, 0},
		{"folio past size", 4096, []Folio{{Index: 1}, {Index: 9}}, 4096, 4096},
		// An order-3 folio at index 1 fills indices [0, 8) (the kernel rounds
		// a large folio's index down to its size), clipped to the 2 pages.
		{"folio running past size", 2 * 4096, []Folio{{Index: 1, Order: 3}}, 4096, 0},
		{"16k pages", 3 * 16384, []Folio{{Index: 1}}, 16384, 2 * 16384},
		// Hostile: a folio far out, the size stretched to reach it.
		{"far folio", (1<<39 + 1) * 4096, []Folio{{Index: 0}, {Index: 1 << 39}}, 4096, (1<<39 - 1) * 4096},
		// Orders of 64 and more fill every index; order 63 rounds index
		// 2^50 down to 0: both cover the whole file.
		{"order 255", 8192, []Folio{{Index: 1, Order: 255}}, 4096, 0},
		{"order 63 at top", max64, []Folio{{Index: 1 << 50, Order: 63}}, 4096, 0},
		{"order 63 from 2^63", max64, []Folio{{Index: 1<<63 + 5, Order: 63}}, 4096, max64},
		{"index at top", max64, []Folio{{Index: max64, Order: 40}}, 4096, max64},
		{"whole space", max64, []Folio{{Index: 0, Order: 63}, {Index: 1 << 63, Order: 63}}, 4096, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Memfd{Size: tt.size, Folios: tt.folios}
			if got := m.Holes(tt.pageSize); got != tt.want {
				t.Errorf("Holes(%d) = %d, want %d", tt.pageSize, got, tt.want)
			}
		})
	}
}

func TestOpenMemfd(t *testing.T) {
	content := bytes.Repeat([]byte("memfd page "), 1000) // 11000 bytes: 3 pages
	h := &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", Sessions: []Session{
		{Name: "s", Files: []File{{Compatible: "memfd-v2", Memfd: &Memfd{}}}},
	}}}
	b, err := Build(h, &BuildOptions{Contents: map[FileID][]byte{{Session: 0, File: 0}: content}})
	if err != nil {
		t.Fatal(err)
	}
	built := b.Handover.LUO.Sessions[0].Files[0].Memfd
	tail := *built
	tail.Size = 3*4096 + 10000 // 10000 bytes past the last folio
	farFolio := *built
	farFolio.Folios = append(append([]Folio(nil), built.Folios...), Folio{PFN: built.Folios[0].PFN, Index: 1 << 39})
	farFolio.Size = (1<<39 + 1) * 4096

	tests := []struct {
		name     string
		m        *Memfd
		pageSize uint64
		maxHoles uint64
		want     []byte
		wantErr  error
	}{
		{"built", built, 4096, 0, content, nil},
		{"page size 0 means 4096", built, 0, 0, content, nil},
		{"holes at the bound", &tail, 4096, 10000, append(append([]byte(nil), content...), make([]byte, 3*4096+10000-len(content))...), nil},
		{"holes past the bound", &tail, 4096, 9999, nil, ErrMemfdHoles},
		{"far folio", &farFolio, 4096, DefaultMaxMemfdHoles, nil, ErrMemfdHoles},
		{"page size 8192", built, 8192, DefaultMaxMemfdHoles, nil, format.ErrPageSize},
		{"page size 3", built, 3, DefaultMaxMemfdHoles, nil, format.ErrPageSize},
		{"page size 2^32+4096", built, 1<<32 + 4096, DefaultMaxMemfdHoles, nil, format.ErrPageSize},
		{"page size 2^63", built, 1 << 63, DefaultMaxMemfdHoles, nil, format.ErrPageSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := OpenMemfd(b.Mem, tt.m, tt.pageSize, tt.maxHoles)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || r != nil {
					t.Fatalf("OpenMemfd = %v, %v; want nil, an error wrapping %v", r, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("contents: got %d bytes, want %d (equal prefix %v)", len(got), len(tt.want), bytes.HasPrefix(got, content))
			}
		})
	}
}

// A reader over memory that lacks a folio's page reports where.
func TestOpenMemfdAbsentPage(t *testing.T) {
	m := &Memfd{Size: 4096, Folios: []Folio{{PFN: 0x100, Index: 0}}}
	r, err := OpenMemfd(&physmem.Sparse{}, m, 4096, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	if !errors.Is(err, physmem.ErrAbsent) {
		t.Errorf("read: %v, want an error wrapping physmem.ErrAbsent", err)
	}
}

// FuzzMemfdHoles checks Holes against a page-by-page count for files of up
// to 64 pages, and that it never exceeds Size for any file.
func FuzzMemfdHoles(f *testing.F) {
	f.Add(uint64(3*4096+100), []byte{0, 0, 1, 0, 2, 0, 3, 0})
	f.Add(uint64(5*4096), []byte{0, 0, 4, 1})
	f.Add(^uint64(0), []byte{255, 63, 0, 200})
	f.Fuzz(func(t *testing.T, size uint64, raw []byte) {
		const ps = 4096
		var folios []Folio
		for i := 0; i+1 < len(raw) && len(folios) < 64; i += 2 {
			// Small indices mostly; a high bit set reaches far out.
			idx := uint64(raw[i] & 0x7f)
			if raw[i]&0x80 != 0 {
				idx = uint64(raw[i]&0x7f) << 57
			}
			folios = append(folios, Folio{Index: idx, Order: raw[i+1]})
		}
		m := &Memfd{Size: size, Folios: folios}
		got := m.Holes(ps)
		if got > size {
			t.Fatalf("Holes = %d > Size %d", got, size)
		}
		if size > 64*ps {
			return
		}
		pages := (size + ps - 1) / ps
		backed := make([]bool, pages)
		for _, f := range folios {
			// The kernel puts an order-o folio at its index rounded
			// down to a multiple of 2^o.
			start := uint64(0)
			if f.Order < 64 {
				start = f.Index / (1 << f.Order) * (1 << f.Order)
			}
			for p := start; p < pages; p++ {
				if f.Order < 64 && p-start >= 1<<f.Order {
					break
				}
				backed[p] = true
			}
		}
		want := size
		for p, b := range backed {
			if b {
				want -= min(ps, size-uint64(p)*ps)
			}
		}
		if got != want {
			t.Fatalf("Holes(%d, %v) = %d, page by page %d", size, folios, got, want)
		}
		// What Holes counts is what reads as zeros: backed pages read
		// onesMemory's 0xff.
		for i := range folios {
			folios[i].PFN = 1
		}
		data, err := io.ReadAll(MemfdContents(onesMemory{}, m, ps))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if zeros := uint64(bytes.Count(data, []byte{0})); zeros != got {
			t.Fatalf("Holes(%d, %v) = %d, but %d bytes read as zeros", size, folios, got, zeros)
		}
	})
}

// onesMemory is memory of 0xff bytes at every address.
type onesMemory struct{}

func (onesMemory) ReadAt(p []byte, addr uint64) (int, error) {
	for i := range p {
		p[i] = 0xff
	}
	return len(p), nil
}

func (onesMemory) Ranges() []physmem.Range { return nil }

// TestMemfdContentsOverlap checks that a page two folios claim (a hostile
// list) is read, from the folio reaching furthest, not left as zeros
// because the folio with the nearest index ends before it.
func TestMemfdContentsOverlap(t *testing.T) {
	const ps = 4096
	mem := presentMemory(t, 1<<20)
	for pfn := uint64(0x10); pfn < 0x20; pfn++ {
		if err := mem.WriteAt(bytes.Repeat([]byte{byte(pfn)}, ps), pfn*ps); err != nil {
			t.Fatal(err)
		}
	}
	m := &Memfd{Size: 5 * ps, Folios: []Folio{{PFN: 0x10, Index: 0, Order: 2}, {PFN: 0x18, Index: 1}}}
	data, err := io.ReadAll(MemfdContents(mem, m, ps))
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for p := 0; p < len(data); p += ps {
		got = append(got, data[p])
	}
	// Pages 0..3 from the order-2 folio, which reaches furthest; page 4 a hole.
	if diff := cmp.Diff([]byte{0x10, 0x11, 0x12, 0x13, 0}, got); diff != "" {
		t.Errorf("first byte of each page (-want +got):\n%s", diff)
	}
	if got := m.Holes(ps); got != ps {
		t.Errorf("Holes = %d, want %d", got, ps)
	}
}

// TestMemfdContentsHostile checks that MemfdContents reads fail, with the
// right sentinel, on a page size it cannot use and on a folio whose PFN
// would wrap past the top of memory, instead of panicking or reading the
// wrapped address.
func TestMemfdContentsHostile(t *testing.T) {
	mem := presentMemory(t, 1<<20)
	tests := []struct {
		name     string
		m        Memfd
		pageSize uint64
		want     error
	}{
		{"page size 2^63", Memfd{Size: 100, Folios: []Folio{{PFN: 1}}}, 1 << 63, format.ErrPageSize},
		{"page size 8192", Memfd{Size: 100, Folios: []Folio{{PFN: 1}}}, 8192, format.ErrPageSize},
		{"PFN times page size wraps", Memfd{Size: 100, Folios: []Folio{{PFN: 1 << 52}}}, 4096, physmem.ErrOverflow},
		{"PFN plus index wraps", Memfd{Size: 3 << 12, Folios: []Folio{{PFN: ^uint64(0), Order: 2}}}, 4096, physmem.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := io.ReadAll(MemfdContents(mem, &tt.m, tt.pageSize))
			if !errors.Is(err, tt.want) {
				t.Errorf("read error %v, want one wrapping %v", err, tt.want)
			}
		})
	}
}

// TestDecodeFoliosPFNOverflow checks that a folio whose PFN, shifted by
// a 64 KiB page, passes 2^64 is a ptr.overflow finding and is dropped, not
// wrapped onto page 0x10 (0x100000). At 4 KiB a 52-bit PFN cannot pass
// 2^64.
func TestDecodeFoliosPFNOverflow(t *testing.T) {
	mem := presentMemory(t, 1<<30)
	d, err := newDecoder(mem, &Options{PageSize: 65536})
	if err != nil {
		t.Fatal(err)
	}
	array := folioArray(t, []format.FolioSer{{PFN: 1<<48 | 0x10, Flags: format.FolioUptodate, Index: 0}})
	if got := d.decodeFolios("/f", 65536, array); len(got) != 0 {
		t.Errorf("kept folios %+v", got)
	}
	if diff := cmp.Diff([]string{"ptr.overflow"}, findingCodes(d.h.Findings)); diff != "" {
		t.Errorf("finding codes (-want +got):\n%s", diff)
	}
}

// TestDecodeFoliosInsideLargeFolio checks that of two folios whose
// page-cache indices overlap, one of them an order-2 folio (4 indices,
// from its index rounded down to 4, as the kernel's xarray stores it), the
// later in the array is a memfd.folio-index-duplicate finding and is
// dropped: memfd_luo_retrieve_folios inserts the folios in array order,
// and the insert of the later fails with -EEXIST (which fails the
// retrieve). The unaligned order-2 folio is also a
// memfd.folio-index-unaligned finding.
func TestDecodeFoliosInsideLargeFolio(t *testing.T) {
	const u = format.FolioUptodate
	tests := []struct {
		name     string
		in       []format.FolioSer
		want     []Folio
		findings []string
	}{{
		name: "aligned",
		in: []format.FolioSer{
			{PFN: 0x201, Flags: u, Index: 7}, // first in the array: kept
			{PFN: 0x100, Flags: u, Index: 4}, // order 2: indices 4-7, 7 taken: dropped
			{PFN: 0x200, Flags: u, Index: 5}, // 5 free once the order-2 folio is out: kept
			{PFN: 0x202, Flags: u, Index: 8}, // after it: kept
		},
		want:     []Folio{{PFN: 0x201, Flags: u, Index: 7}, {PFN: 0x200, Flags: u, Index: 5}, {PFN: 0x202, Flags: u, Index: 8}},
		findings: []string{"memfd.folio-index-duplicate /f[1]"},
	}, {
		name: "aligned, the large folio first",
		in: []format.FolioSer{
			{PFN: 0x100, Flags: u, Index: 4}, // order 2: indices 4-7
			{PFN: 0x201, Flags: u, Index: 7}, // inside: dropped
			{PFN: 0x200, Flags: u, Index: 5}, // inside: dropped
			{PFN: 0x202, Flags: u, Index: 8}, // after it: kept
		},
		want:     []Folio{{PFN: 0x100, Flags: u, Index: 4, Order: 2}, {PFN: 0x202, Flags: u, Index: 8}},
		findings: []string{"memfd.folio-index-duplicate /f[1]", "memfd.folio-index-duplicate /f[2]"},
	}, {
		name: "unaligned",
		in: []format.FolioSer{
			{PFN: 0x200, Flags: u, Index: 4}, // where the order-2 folio lands: kept
			{PFN: 0x100, Flags: u, Index: 5}, // order 2 at 5 fills indices 4-7: dropped
			{PFN: 0x201, Flags: u, Index: 8}, // inside [5, 9) but not [4, 8): kept
			{PFN: 0x202, Flags: u, Index: 3}, // below: kept
		},
		want: []Folio{
			{PFN: 0x200, Flags: u, Index: 4},
			{PFN: 0x201, Flags: u, Index: 8},
			{PFN: 0x202, Flags: u, Index: 3},
		},
		findings: []string{"memfd.folio-index-unaligned /f[1]", "memfd.folio-index-duplicate /f[1]"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := folioDecoder(t, presentMemory(t, 1<<30), Run{Addr: 0x100000, Count: 1, Order: 2}, Run{Addr: 0x200000, Count: 3, Order: 0})
			got := d.decodeFolios("/f", 16*4096, folioArray(t, tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("folios (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.findings, findingPaths(d)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeFoliosRefusedClaimsIndex checks that a folio refused by its
// pointer check still claims its index when the indices stop ascending
// later: the folio after it at the same index is a duplicate, whether the
// set of indices is built before or after the refused one.
func TestDecodeFoliosRefusedClaimsIndex(t *testing.T) {
	const u = format.FolioUptodate
	tests := []struct {
		name     string
		in       []format.FolioSer
		findings []string
	}{{
		name: "refused before the set",
		in: []format.FolioSer{
			{PFN: 0x300, Flags: u, Index: 5}, // not preserved: refused
			{PFN: 0x200, Flags: u, Index: 3}, // indices stop ascending
			{PFN: 0x201, Flags: u, Index: 5}, // index 5 again
		},
		findings: []string{"ptr.unpreserved /f[0]", "memfd.folio-index-duplicate /f[2]"},
	}, {
		name: "refused after the set",
		in: []format.FolioSer{
			{PFN: 0x200, Flags: u, Index: 3},
			{PFN: 0x201, Flags: u, Index: 2}, // indices stop ascending
			{PFN: 0x300, Flags: u, Index: 5}, // not preserved: refused
			{PFN: 0x202, Flags: u, Index: 5}, // index 5 again
		},
		findings: []string{"ptr.unpreserved /f[2]", "memfd.folio-index-duplicate /f[3]"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := folioDecoder(t, presentMemory(t, 1<<30), Run{Addr: 0x200000, Count: 3, Order: 0})
			d.decodeFolios("/f", 16*4096, folioArray(t, tt.in))
			if diff := cmp.Diff(tt.findings, findingPaths(d)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMemfdFolioTotalSkipsRefused checks that the folios of a memfd
// refused before its array is read (nr_folios above what total_pages
// holds) do not count against the all-memfds folio total: a hostile
// handover of such memfds must not get a real memfd after them refused
// as memfd.too-many-folios.
func TestMemfdFolioTotalSkipsRefused(t *testing.T) {
	mem := presentMemory(t, 1<<20)
	// nr_folios 4 in an array of 0 pages: refused before it is read.
	ser, err := format.MemfdSerV2{Size: 4 * 4096, NrFolios: 4, Folios: format.Vmalloc{First: 0x2000}}.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.WriteAt(ser, 0x1000); err != nil {
		t.Fatal(err)
	}
	d, err := newDecoder(mem, &Options{MaxFolios: 4})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // 20 folios declared, above the total of 16
		d.decodeMemfd("/m", 0x1000, 2)
	}
	want := []string{"map.unusable"}
	for range 5 {
		want = append(want, "memfd.nr-folios-too-large")
	}
	if diff := cmp.Diff(want, findingCodes(d.h.Findings)); diff != "" {
		t.Errorf("finding codes (-want +got):\n%s", diff)
	}
	if d.totalFolios != 0 {
		t.Errorf("totalFolios = %d, want 0", d.totalFolios)
	}
}

// TestVmallocSharedRunPath checks that a vmalloc run claimed by a second
// memfd's folio array is reported at that run, not at its chunk.
func TestVmallocSharedRunPath(t *testing.T) {
	b := hostileBase(t, "kho-v4+luo-v5")
	m := mutator{t: t, b: b}
	L := b.Layout
	m.put64(L.FolioChunks[0][0][0]+8, m.get64(L.FolioChunks[0][1][0]+8))
	h, err := Decode(b.Mem, b.RootAddr, &Options{Scratch: b.Scratch})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range h.Findings {
		if f.Code == "vmalloc.shared" {
			paths = append(paths, f.Path)
		}
	}
	if len(paths) != 1 || !strings.HasSuffix(paths[0], "/folios/chunks[0]/runs[0]") {
		t.Errorf("vmalloc.shared findings at %q, want one at .../folios/chunks[0]/runs[0]", paths)
	}
}
