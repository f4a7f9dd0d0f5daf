package fdtcompare

import (
	"bytes"

	"github.com/khokit/khokit/fdt"
	"github.com/u-root/u-root/pkg/dt"
)

// KhokitIterWalk walks data once with a caller-owned fdt.Iterator, which
// validates every token as it goes (everything fdt.Validate checks except
// duplicate sibling names). It does not allocate.
func KhokitIterWalk(it *fdt.Iterator, data []byte) (WalkStats, error) {
	var s WalkStats
	if err := it.Reset(data, nil); err != nil {
		return s, err
	}
	for it.Next() {
		s.add(it.Token())
	}
	return s, it.Err()
}

// KhokitValidatorWalk walks data once with a caller-owned fdt.Validator:
// every check fdt.Validate makes, duplicate sibling names included, in the
// same pass that visits every node and property. Once the Validator has
// seen a blob as large, it does not allocate.
func KhokitValidatorWalk(v *fdt.Validator, data []byte) (WalkStats, error) {
	var s WalkStats
	if err := v.Reset(data, nil); err != nil {
		return s, err
	}
	for v.Next() {
		s.add(v.Token())
	}
	return s, v.Err()
}

// add counts one token of a walk; small enough to inline into the loops.
func (s *WalkStats) add(tok *fdt.Token) {
	switch tok.Kind {
	case fdt.TokenBeginNode:
		s.Nodes++
		s.NameBytes += len(tok.Name)
	case fdt.TokenProperty:
		s.Props++
		s.ValueBytes += len(tok.Value)
	}
}

// KhokitValidateWalk is the package-level fdt.Validate followed by an
// iterator walk: two passes, as libfdt's fdt_check_full and offset walk
// are. Validate's scratch comes from a sync.Pool.
func KhokitValidateWalk(it *fdt.Iterator, data []byte) (WalkStats, error) {
	if err := fdt.Validate(data, nil); err != nil {
		return WalkStats{}, err
	}
	return KhokitIterWalk(it, data)
}

// KhokitDecodeWalk decodes data into khokit's tree model and walks it.
func KhokitDecodeWalk(data []byte) (WalkStats, error) {
	var s WalkStats
	t, err := fdt.Decode(data, nil)
	if err != nil {
		return s, err
	}
	// The decoder caps depth (64 by default), so recursion is bounded.
	var visit func(n *fdt.Node)
	visit = func(n *fdt.Node) {
		s.Nodes++
		s.NameBytes += len(n.Name)
		for i := range n.Props {
			s.Props++
			s.ValueBytes += len(n.Props[i].Value)
		}
		for _, c := range n.Children {
			visit(c)
		}
	}
	visit(t.Root)
	return s, nil
}

// URootReadWalk decodes data with u-root's dt.ReadFDT and walks the tree
// with its Node.Walk, which recurses without a depth limit: never give it
// an untrusted blob.
func URootReadWalk(data []byte) (WalkStats, error) {
	var s WalkStats
	f, err := dt.ReadFDT(bytes.NewReader(data))
	if err != nil {
		return s, err
	}
	err = f.RootNode.Walk(func(n *dt.Node) error {
		s.Nodes++
		s.NameBytes += len(n.Name)
		for i := range n.Properties {
			s.Props++
			s.ValueBytes += len(n.Properties[i].Value)
		}
		return nil
	})
	return s, err
}
