package kho

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/khokit/khokit/format"
)

// TestDecodeFoliosRange checks memfd.folio-index-range against where the
// kernel puts a folio: memfd_luo_retrieve_folios checks no index against
// the size, and shmem_add_to_page_cache stores a folio of order o over
// the 2^o indices from its index rounded down to 2^o (folioSpan). A folio
// is refused only when that span starts at or past the file's last page;
// a large folio whose Index is past the end but whose span starts inside
// the file is kept and read there.
func TestDecodeFoliosRange(t *testing.T) {
	const (
		ps    = 4096
		u     = format.FolioUptodate
		max64 = ^uint64(0)
	)
	// Orders come from the memory map: PFNs 0x100 and 0x104 are order-2
	// blocks, 0x200-0x20f order 0.
	radix := []Run{{Addr: 0x100000, Count: 2, Order: 2}, {Addr: 0x200000, Count: 16, Order: 0}}
	tests := []struct {
		name     string
		noMap    bool // decode without a memory map: every order is 0
		size     uint64
		entries  []format.FolioSer
		findings []string // Finding.String()
		folios   []Folio
		pages    []byte // pfnByte of the page each file page reads, 0 for a hole
		holes    uint64 // bytes, as Memfd.Holes counts them
	}{{
		name:    "order 2 past the end, its span starting inside",
		size:    5 * ps,
		entries: []format.FolioSer{{PFN: 0x100, Flags: u, Index: 6}},
		findings: []string{
			"error memfd.folio-index-unaligned /f[0] @0x100000: order-2 folio at index 6, not a multiple of 4",
		},
		folios: []Folio{{PFN: 0x100, Flags: u, Index: 6, Order: 2}},
		pages:  []byte{0, 0, 0, 0, 0x10},
		holes:  4 * ps,
	}, {
		name:    "order 2 past the end, the file ending inside its first page",
		size:    4*ps + 100,
		entries: []format.FolioSer{{PFN: 0x104, Flags: u, Index: 7}},
		findings: []string{
			"error memfd.folio-index-unaligned /f[0] @0x104000: order-2 folio at index 7, not a multiple of 4",
		},
		folios: []Folio{{PFN: 0x104, Flags: u, Index: 7, Order: 2}},
		pages:  []byte{0, 0, 0, 0, 0x14},
		holes:  4 * ps,
	}, {
		name:    "order 2 past the end, its span starting at the end",
		size:    4 * ps,
		entries: []format.FolioSer{{PFN: 0x100, Flags: u, Index: 5}},
		findings: []string{
			"error memfd.folio-index-unaligned /f[0] @0x100000: order-2 folio at index 5, not a multiple of 4",
			"error memfd.folio-index-range /f[0] @0x100000: order-2 folio at index 5 fills indices from 4, none below the 4 pages of a 16384-byte file; the kernel inserts it past i_size all the same",
		},
		pages: []byte{0, 0, 0, 0},
		holes: 4 * ps,
	}, {
		name:    "aligned order 2 at the last page, running past the end",
		size:    5 * ps,
		entries: []format.FolioSer{{PFN: 0x100, Flags: u, Index: 4}},
		folios:  []Folio{{PFN: 0x100, Flags: u, Index: 4, Order: 2}},
		pages:   []byte{0, 0, 0, 0, 0x10},
		holes:   4 * ps,
	}, {
		name:    "aligned order 2 at the end",
		size:    4 * ps,
		entries: []format.FolioSer{{PFN: 0x100, Flags: u, Index: 4}},
		findings: []string{
			"error memfd.folio-index-range /f[0] @0x100000: order-2 folio at index 4 fills indices from 4, none below the 4 pages of a 16384-byte file; the kernel inserts it past i_size all the same",
		},
		pages: []byte{0, 0, 0, 0},
		holes: 4 * ps,
	}, {
		name:    "order 2 at 2^64-1",
		size:    5 * ps,
		entries: []format.FolioSer{{PFN: 0x100, Flags: u, Index: max64}},
		findings: []string{
			"error memfd.folio-index-unaligned /f[0] @0x100000: order-2 folio at index 18446744073709551615, not a multiple of 4",
			"error memfd.folio-index-range /f[0] @0x100000: order-2 folio at index 18446744073709551615 fills indices from 18446744073709551612, none below the 5 pages of a 20480-byte file; the kernel inserts it past i_size all the same",
		},
		pages: []byte{0, 0, 0, 0, 0},
		holes: 5 * ps,
	}, {
		name:    "order 0 at the last page",
		size:    5 * ps,
		entries: []format.FolioSer{{PFN: 0x200, Flags: u, Index: 4}},
		folios:  []Folio{{PFN: 0x200, Flags: u, Index: 4}},
		pages:   []byte{0, 0, 0, 0, 0x20},
		holes:   4 * ps,
	}, {
		name:    "order 0 at the page count",
		size:    4*ps + 1,
		entries: []format.FolioSer{{PFN: 0x200, Flags: u, Index: 5}},
		findings: []string{
			"error memfd.folio-index-range /f[0] @0x200000: index 5 >= 5 pages of a 16385-byte file; the kernel inserts it past i_size all the same",
		},
		pages: []byte{0, 0, 0, 0, 0},
		holes: 4*ps + 1,
	}, {
		name:    "order 0 at 2^64-1",
		size:    ps,
		entries: []format.FolioSer{{PFN: 0x200, Flags: u, Index: max64}},
		findings: []string{
			"error memfd.folio-index-range /f[0] @0x200000: index 18446744073709551615 >= 1 pages of a 4096-byte file; the kernel inserts it past i_size all the same",
		},
		pages: []byte{0},
		holes: ps,
	}, {
		// The kernel inserts the first folio past i_size, so the third's
		// insert at the same index fails.
		name: "a folio past the end still takes its index",
		size: 5 * ps,
		entries: []format.FolioSer{
			{PFN: 0x200, Flags: u, Index: 9},
			{PFN: 0x201, Flags: u, Index: 2},
			{PFN: 0x202, Flags: u, Index: 9},
		},
		findings: []string{
			"error memfd.folio-index-range /f[0] @0x200000: index 9 >= 5 pages of a 20480-byte file; the kernel inserts it past i_size all the same",
			"error memfd.folio-index-duplicate /f[2] @0x202000: index 9 is used by an earlier folio",
		},
		folios: []Folio{{PFN: 0x201, Flags: u, Index: 2}},
		pages:  []byte{0, 0, 0x21, 0, 0},
		holes:  4 * ps,
	}, {
		// Without a map the order is unknown and taken as 0: the span is
		// the index alone.
		name:    "no memory map, index past the end",
		noMap:   true,
		size:    5 * ps,
		entries: []format.FolioSer{{PFN: 0x100, Flags: u, Index: 6}, {PFN: 0x200, Flags: u, Index: 3}},
		findings: []string{
			"error memfd.folio-index-range /f[0] @0x100000: index 6 >= 5 pages of a 20480-byte file; the kernel inserts it past i_size all the same",
		},
		folios: []Folio{{PFN: 0x200, Flags: u, Index: 3}},
		pages:  []byte{0, 0, 0, 0x20, 0},
		holes:  4 * ps,
	}}
	mem := spanMemory(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := folioDecoder(t, mem, radix...)
			if tt.noMap {
				d = vmDecoder(t, mem, nil) // the missing map already reported
			}
			m := &Memfd{Size: tt.size, Folios: d.decodeFolios("/f", tt.size, folioArray(t, tt.entries))}
			var findings []string
			for _, f := range d.h.Findings {
				findings = append(findings, f.String())
			}
			if diff := cmp.Diff(tt.findings, findings); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.folios, m.Folios, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("folios (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.pages, pageBytes(t, mem, m)); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
			if got := m.Holes(ps); got != tt.holes {
				t.Errorf("Holes = %d, want %d", got, tt.holes)
			}
		})
	}
}

// FuzzFolioSpans decodes folio arrays over the map of
// TestDecodeFoliosRange and checks the range rule against folioSpan: a
// kept folio's span starts inside the file, a range finding is given only
// for a folio whose span starts at or past its end, kept spans never
// share an index, and an entry without a finding is kept as it reads.
func FuzzFolioSpans(f *testing.F) {
	f.Add(uint64(5*4096), []byte{1, 6, 0, 3, 2, 0})
	f.Add(uint64(4*4096+1), []byte{1, 5, 0, 2, 4, 0, 9, 9, 0, 9, 2, 0, 10, 9, 0})
	f.Add(uint64(4096), []byte{2, 0xff, 0x80, 3, 0, 0x80, 4, 1, 0})
	mem := spanMemory(f)
	f.Fuzz(func(t *testing.T, size uint64, raw []byte) {
		const ps = 4096
		// 0 is an empty slot, 1 and 2 the order-2 blocks, 3 a page
		// inside the first (ptr.order-mismatch), 4-19 order-0 pages.
		pfns := []uint64{0, 0x100, 0x104, 0x101}
		for p := uint64(0x200); p < 0x210; p++ {
			pfns = append(pfns, p)
		}
		order := func(pfn uint64) uint8 {
			if pfn == 0x100 || pfn == 0x104 {
				return 2
			}
			return 0
		}
		if size > 64*ps {
			size = size%(64*ps) + 1
		}
		pages := (size + ps - 1) / ps
		var entries []format.FolioSer
		for i := 0; i+2 < len(raw) && len(entries) < 32; i += 3 {
			idx := uint64(raw[i+1] & 0x7f)
			if raw[i+1]&0x80 != 0 {
				idx = ^uint64(0) - uint64(raw[i+2]) // near the top
			}
			entries = append(entries, format.FolioSer{PFN: pfns[int(raw[i])%len(pfns)], Flags: uint16(raw[i+2] & 3), Index: idx})
		}
		d := folioDecoder(t, mem, Run{Addr: 0x100000, Count: 2, Order: 2}, Run{Addr: 0x200000, Count: 16, Order: 0})
		kept := d.decodeFolios("/f", size, folioArray(t, entries))
		found := map[string][]string{} // path → codes
		for _, fd := range d.h.Findings {
			found[fd.Path] = append(found[fd.Path], fd.Code)
		}
		for i, e := range entries {
			path := fmt.Sprintf("/f[%d]", i)
			want := Folio{PFN: e.PFN, Flags: e.Flags, Index: e.Index, Order: order(e.PFN)}
			if slices.Contains(found[path], "memfd.folio-index-range") {
				if start, _ := folioSpan(want); start < pages {
					t.Errorf("%s %+v: range finding, but its span starts at %d of %d pages", path, want, start, pages)
				}
			}
			if e.PFN != 0 && len(found[path]) == 0 && !slices.Contains(kept, want) {
				t.Errorf("%s %+v: no finding, but not kept: %+v", path, want, kept)
			}
		}
		ends := make([][2]uint64, 0, len(kept))
		for _, k := range kept {
			start, end := folioSpan(k)
			if start >= pages {
				t.Errorf("kept %+v: its span starts at %d of %d pages", k, start, pages)
			}
			for _, o := range ends {
				if start < o[1] && o[0] < end {
					t.Errorf("kept %+v fills [%d, %d), which overlaps a kept [%d, %d)", k, start, end, o[0], o[1])
				}
			}
			ends = append(ends, [2]uint64{start, end})
		}
	})
}
