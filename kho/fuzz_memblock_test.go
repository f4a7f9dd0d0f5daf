package kho

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzMemblock replaces the memblock sub-FDT of a built kho-v4 handover
// with the input and decodes the handover. Findings are documented; a
// decoded Memblock, encoded again by the builder, decodes to the same
// regions.
func FuzzMemblock(f *testing.F) {
	s := newSubtreeFuzz(f, "memblock")
	f.Add(s.blob(f))
	for _, m := range []*Memblock{
		{Compatible: "memblock-v1"},
		{Compatible: "memblock-v1", Regions: []ReserveMem{{Name: "a-name-longer-than-15", Compatible: "reserve-mem-v1", Start: 0x200000, Size: 0x1000}}},
		{Compatible: "memblock-v1", Regions: []ReserveMem{{Name: "odd", Compatible: "reserve-mem-v1", Start: 0x311001, Size: 0}, {Name: "x", Compatible: "bogus"}}},
	} {
		b, err := bldMemblockFDT(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h := s.decode(t, in)
		if h.Memblock == nil {
			if len(findingsUnder(h.Findings, "/memblock")) == 0 {
				t.Fatal("memblock dropped without a finding")
			}
			return
		}
		again, err := bldMemblockFDT(h.Memblock)
		if err != nil {
			return // names the decoder keeps but the FDT writer refuses
		}
		h2 := s.decode(t, again)
		if diff := cmp.Diff(h.Memblock, h2.Memblock); diff != "" {
			t.Fatalf("memblock round trip differs (-decoded +re-decoded):\n%s", diff)
		}
	})
}
