package fdttest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/fdt"
)

// TestGenerateTree checks the sizes the documentation promises and that
// the blob decodes strictly.
func TestGenerateTree(t *testing.T) {
	type shape struct{ Bytes, Nodes, Props int }
	for _, tc := range []struct {
		groups, perGroup int
		want             shape
	}{
		{0, 0, shape{Nodes: 1, Props: 1}},
		{2, 3, shape{Nodes: 1 + 2 + 6, Props: 1 + 2 + 6*4}},
		{100, 100, shape{Bytes: 1083678, Nodes: 10101, Props: 40101}},
	} {
		data, err := GenerateTree(tc.groups, tc.perGroup)
		if err != nil {
			t.Fatalf("GenerateTree(%d, %d): %v", tc.groups, tc.perGroup, err)
		}
		tree, err := fdt.Decode(data, nil)
		if err != nil {
			t.Fatalf("GenerateTree(%d, %d) does not decode: %v", tc.groups, tc.perGroup, err)
		}
		var got shape
		if tc.want.Bytes != 0 {
			got.Bytes = len(data)
		}
		var visit func(n *fdt.Node)
		visit = func(n *fdt.Node) {
			got.Nodes++
			got.Props += len(n.Props)
			for _, c := range n.Children {
				visit(c)
			}
		}
		visit(tree.Root)
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("GenerateTree(%d, %d) (-want +got):\n%s", tc.groups, tc.perGroup, d)
		}
	}
}
