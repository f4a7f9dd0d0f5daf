package fdt

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNamesSurviveWrites checks the invariant that lets node and property
// names be strings over Decode's private blob copy without a copy of their
// own: neither the caller's buffer (reused after Decode) nor a Property's
// Value (exported and writable, aliasing the copy) shares a byte with any
// name.
func TestNamesSurviveWrites(t *testing.T) {
	forEachValidBlob(t, func(t *testing.T, data []byte, tree *Tree) {
		names := func() []string {
			var list []string
			tree.Walk(func(n *Node, _ int) error {
				list = append(list, strings.Clone(n.Name))
				for _, p := range n.Props {
					list = append(list, strings.Clone(p.Name))
				}
				return nil
			})
			return list
		}
		want := names()
		for i := range data {
			data[i] ^= 0xff
		}
		tree.Walk(func(n *Node, _ int) error {
			for _, p := range n.Props {
				for i := range p.Value {
					p.Value[i] ^= 0xff
				}
			}
			return nil
		})
		if diff := cmp.Diff(want, names()); diff != "" {
			t.Errorf("names changed by writes to the input and to values (-before +after):\n%s", diff)
		}
	})
}

// TestNilChild checks that every tree walk (Encode, the printers, Walk)
// stops at a nil child with a located error instead of dropping it.
func TestNilChild(t *testing.T) {
	tree := &Tree{Root: &Node{Children: []*Node{{Name: "a"}, nil}}}
	nested := &Tree{Root: &Node{Children: []*Node{{Name: "a", Children: []*Node{{Name: "b@1", Children: []*Node{nil}}}}}}}
	if err := nested.Walk(func(*Node, int) error { return nil }); !errors.Is(err, ErrStructure) || !strings.Contains(err.Error(), "/a/b@1") {
		t.Errorf("nested nil child: error %v, want ErrStructure naming /a/b@1", err)
	}
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"Encode", func() error { _, err := tree.Encode(); return err }},
		{"WriteDTS", func() error { return WriteDTS(io.Discard, tree) }},
		{"WriteText", func() error { return WriteText(io.Discard, tree) }},
		{"WriteJSON", func() error { return WriteJSON(io.Discard, tree) }},
		{"Walk", func() error { return tree.Walk(func(*Node, int) error { return nil }) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if !errors.Is(err, ErrStructure) || !strings.Contains(err.Error(), "child 1 is nil") {
				t.Errorf("error %v, want ErrStructure about child 1", err)
			}
		})
	}
}

// TestPrintedPathsOfBuiltTree: the printers name nested nodes of a tree
// built by hand (no parent links) by their full paths.
func TestPrintedPathsOfBuiltTree(t *testing.T) {
	tree := &Tree{Version: 17, Root: &Node{Children: []*Node{{Name: "a", Children: []*Node{{Name: "b@1"}}}, {Name: "c"}}}}
	for _, c := range []struct {
		name  string
		write func(io.Writer, *Tree) error
		want  []string
	}{
		{"WriteText", WriteText, []string{"     - /\n", "     - /a\n", "     - /a/b@1\n", "     - /c\n"}},
		{"WriteJSON", WriteJSON, []string{`"path":"/",`, `"path":"/a",`, `"path":"/a/b@1",`, `"path":"/c",`}},
	} {
		var b strings.Builder
		if err := c.write(&b, tree); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s output lacks %q:\n%s", c.name, w, b.String())
			}
		}
	}
}
