package physmem

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMerge(t *testing.T) {
	p := func(start, size uint64) Range { return Range{Start: start, Size: size, State: Present} }
	e := func(start, size uint64) Range { return Range{Start: start, Size: size, State: Excluded} }
	top := ^uint64(0)
	tests := []struct {
		name string
		in   []Range
		want []Range
	}{
		{"nil", nil, []Range{}},
		{"one", []Range{p(0x1000, 0x1000)}, []Range{p(0x1000, 0x1000)}},
		{"unsorted, apart", []Range{p(0x5000, 0x1000), p(0x1000, 0x1000)}, []Range{p(0x1000, 0x1000), p(0x5000, 0x1000)}},
		{"touching", []Range{p(0x2000, 0x1000), p(0x1000, 0x1000)}, []Range{p(0x1000, 0x2000)}},
		{"overlapping", []Range{p(0x1000, 0x2000), p(0x2000, 0x2000)}, []Range{p(0x1000, 0x3000)}},
		{"contained", []Range{p(0x1000, 0x4000), p(0x2000, 0x1000)}, []Range{p(0x1000, 0x4000)}},
		{"same start", []Range{p(0x1000, 0x1000), p(0x1000, 0x3000)}, []Range{p(0x1000, 0x3000)}},
		{"chain", []Range{p(0x3000, 0x1000), p(0x1000, 0x1000), p(0x2000, 0x1000), p(0x9000, 0x10)}, []Range{p(0x1000, 0x3000), p(0x9000, 0x10)}},
		{"empty spans dropped", []Range{p(0x1000, 0), p(0x1000, 0x10), p(0x2000, 0)}, []Range{p(0x1000, 0x10)}},
		{"one byte apart", []Range{p(0x1000, 0x10), p(0x1011, 0x10)}, []Range{p(0x1000, 0x10), p(0x1011, 0x10)}},
		{"states touching", []Range{e(0x2000, 0x1000), p(0x1000, 0x1000)}, []Range{p(0x1000, 0x1000), e(0x2000, 0x1000)}},
		{"states overlapping", []Range{e(0x1800, 0x1000), p(0x1000, 0x1000)}, []Range{p(0x1000, 0x1000), e(0x1800, 0x1000)}},
		{"same start, states ordered", []Range{e(0x1000, 0x10), p(0x1000, 0x20)}, []Range{p(0x1000, 0x20), e(0x1000, 0x10)}},
		{"a state joins across another", []Range{p(0x1000, 0x1000), e(0x1800, 0x2000), p(0x2000, 0x1000)}, []Range{p(0x1000, 0x2000), e(0x1800, 0x2000)}},
		// End saturates at 2^64-1, so a joined span reaching 2^64 ends a byte short.
		{"top of the address space", []Range{p(top-0xfff, 0x1000), p(top-0x1fff, 0x1000)}, []Range{p(top-0x1fff, 0x1fff)}},
		{"alone at the top, kept as it is", []Range{p(top-0xfff, 0x1000)}, []Range{p(top-0xfff, 0x1000)}},
		{"wrapping span ends at the top", []Range{p(top-0xf, 0x100), p(top-0x1f, 0x10)}, []Range{p(top-0x1f, 0x1f)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(append([]Range(nil), tt.in...))
			if got == nil {
				got = []Range{}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Merge(%v) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}
