package fdt

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKernelDebugfsCopy decodes the shape of the kernel's debugfs
// kho/out/fdt file: 233 bytes of a 285-byte tree. The structure block is
// whole; 52 of the 57 strings bytes are missing, so every property name is.
func TestKernelDebugfsCopy(t *testing.T) {
	data := readTestdata(t, "kernel/kho_out_fdt_debugfs_233.bin")
	if len(data) != 233 {
		t.Fatalf("file is %d bytes", len(data))
	}
	_, err := Decode(data, nil)
	var fe *Error
	if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) || fe.Offset != 233 {
		t.Fatalf("strict: %v, want ErrTruncated at 0xe9", err)
	}
	tree, err := Decode(data, &Options{Lenient: true})
	if err != nil {
		t.Fatalf("lenient: %v", err)
	}
	want := []Finding{
		{Offset: 0xe9, Code: FindTruncatedTail},
		{Offset: 0x40, Path: "/", Code: FindMissingString},
		{Offset: 0x54, Path: "/", Code: FindMissingString},
		{Offset: 0x70, Path: "/LUO", Code: FindMissingString},
		{Offset: 0x84, Path: "/LUO", Code: FindMissingString},
		{Offset: 0xb0, Path: "/kexec-metadata", Code: FindMissingString},
		{Offset: 0xc4, Path: "/kexec-metadata", Code: FindMissingString},
	}
	if d := cmp.Diff(want, tree.Findings, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Message" }, cmp.Ignore())); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	var names []string
	for _, c := range tree.Root.Children {
		names = append(names, c.Name)
	}
	if d := cmp.Diff([]string{"LUO", "kexec-metadata"}, names); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	// Values survive; names do not, but their string offsets do.
	p := &tree.Root.Props[1]
	if v, err := p.U64In(binary.LittleEndian); err != nil || v != 0x1ea000 || p.Name != "" {
		t.Errorf("root property 1 = %q %#x, %v; want nameless 0x1ea000", p.Name, v, err)
	}
	if off, ok := p.NameOffset(); !ok || off != 0 {
		t.Errorf("NameOffset = %#x, %v; want 0 (preserved-memory-map)", off, ok)
	}
	if _, err := tree.Encode(); !errors.Is(err, ErrWriter) {
		t.Errorf("Encode of a tree with lost names: %v, want ErrWriter", err)
	}
}

// TestLimits: a blob 10^6 nodes deep and one with 10^6 properties fail
// with ErrLimit under the defaults, and decode with raised limits without
// recursion (u-root's recursive walk dies on the deep one).
func TestLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two 12 MB blobs")
	}
	const n = 1000000
	deep := NewWriter()
	for i := range n {
		name := "n"
		if i == 0 {
			name = ""
		}
		deep.BeginNode(name)
	}
	for range n {
		deep.EndNode()
	}
	deepBlob, err := deep.Finish()
	if err != nil {
		t.Fatal(err)
	}
	wide := NewWriter()
	wide.BeginNode("")
	for range n {
		wide.Property("p", []byte{})
	}
	wide.EndNode()
	wideBlob, err := wide.Finish()
	if err != nil {
		t.Fatal(err)
	}
	raised := &Options{Limits: Limits{MaxDepth: n, MaxNodes: n, MaxProperties: n}}
	for _, tc := range []struct {
		name string
		blob []byte
	}{{"deep", deepBlob}, {"wide", wideBlob}} {
		if err := Validate(tc.blob, nil); !errors.Is(err, ErrLimit) {
			t.Errorf("%s: Validate with default limits: %v, want ErrLimit", tc.name, err)
		}
		if _, err := Decode(tc.blob, nil); !errors.Is(err, ErrLimit) {
			t.Errorf("%s: Decode with default limits: %v, want ErrLimit", tc.name, err)
		}
		tree, err := Decode(tc.blob, raised)
		if err != nil {
			t.Fatalf("%s: Decode with raised limits: %v", tc.name, err)
		}
		if tc.name == "deep" {
			var sink discard
			if err := WriteDTS(&sink, tree); err != nil {
				t.Errorf("deep: WriteDTS: %v", err)
			}
			leaf := tree.Root
			for len(leaf.Children) > 0 {
				leaf = leaf.Children[0]
			}
			if got, want := leaf.Path(), strings.Repeat("/n", n-1); got != want {
				t.Errorf("deep: leaf path is %d bytes, want %d", len(got), len(want))
			}
		}
		out, err := tree.Encode()
		if err != nil || len(out) != len(tc.blob) {
			t.Errorf("%s: Encode: %d bytes, %v", tc.name, len(out), err)
		}
	}
	if err := Validate(wideBlob, &Options{Limits: Limits{MaxProperties: n - 1}}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxProperties n-1: %v", err)
	}
	if err := Validate(deepBlob[:1<<20], &Options{Limits: Limits{MaxSize: 1 << 20}}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxSize: %v", err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestErrorMessage(t *testing.T) {
	data := readTestdata(t, "malformed/node-name-bad-char.dtb")
	err := Validate(data, nil)
	if got, want := err.Error(), `fdt: offset 0x40: /: node name "a b": character ' ' not allowed`; got != want {
		t.Errorf("message\n got %s\nwant %s", got, want)
	}
	data = readTestdata(t, "malformed/prop-after-subnode.dtb")
	if got, want := Validate(data, nil).Error(), `fdt: offset 0x4c: /: property after a subnode`; got != want {
		t.Errorf("message\n got %s\nwant %s", got, want)
	}
}

// TestIterator checks the token stream of the kernel FDT.
func TestIterator(t *testing.T) {
	data := readTestdata(t, "kernel/kho_in_fdt_stage2.dtb")
	var it Iterator
	if err := it.Reset(data, nil); err != nil {
		t.Fatal(err)
	}
	type tok struct {
		Kind   TokenKind
		Offset int
		Depth  int
		Name   string
		Len    int
	}
	var got []tok
	for it.Next() {
		k := it.Token()
		got = append(got, tok{k.Kind, k.Offset, k.Depth, string(k.Name), len(k.Value)})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	want := []tok{
		{TokenBeginNode, 0x38, 0, "", 0},
		{TokenProperty, 0x40, 0, "compatible", 7},
		{TokenProperty, 0x54, 0, "preserved-memory-map", 8},
		{TokenBeginNode, 0x68, 1, "LUO", 0},
		{TokenProperty, 0x70, 1, "blob-size", 8},
		{TokenProperty, 0x84, 1, "preserved-data", 8},
		{TokenEndNode, 0x98, 1, "", 0},
		{TokenBeginNode, 0x9c, 1, "kexec-metadata", 0},
		{TokenProperty, 0xb0, 1, "blob-size", 8},
		{TokenProperty, 0xc4, 1, "preserved-data", 8},
		{TokenEndNode, 0xd8, 1, "", 0},
		{TokenEndNode, 0xdc, 0, "", 0},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tokens (-want +got):\n%s", d)
	}
	if it.Next() {
		t.Error("Next after the end returned true")
	}
}

func TestPathsAndOffsets(t *testing.T) {
	tree, err := Decode(readTestdata(t, "valid/board.dtb"), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := tree.Lookup("/soc/serial@10000000")
	if n == nil || n.Path() != "/soc/serial@10000000" || n.Parent() != tree.Lookup("/soc") {
		t.Fatalf("Lookup/Path/Parent broken: %v", n)
	}
	if tree.Root.Path() != "/" || tree.Lookup("/") != tree.Root || tree.Lookup("/nope") != nil || tree.Lookup("soc") != nil {
		t.Error("root lookups broken")
	}
	p := n.Prop("odd-bytes")
	if p == nil || p.Node() != n || p.Offset() <= n.Offset() || n.Offset() <= 0 {
		t.Errorf("offsets: node %#x prop %v", n.Offset(), p)
	}
	if n.Child("x") != nil || n.Prop("x") != nil || (*Node)(nil).Prop("x") != nil {
		t.Error("absent child/prop not nil")
	}
	if got := (&Node{Name: "free"}).Offset(); got != -1 {
		t.Errorf("offset of a built node = %d", got)
	}
}

func TestChildLikeLibfdt(t *testing.T) {
	root := &Node{Children: []*Node{{Name: "LUO@1"}, {Name: "LUO"}, {Name: "x"}, {Name: "LUOX"}}}
	for _, tc := range []struct{ lookup, libfdt, exact string }{
		{"LUO", "LUO@1", "LUO"},
		{"LUO@1", "LUO@1", "LUO@1"},
		{"LUO@2", "", ""},
		{"LU", "", ""},
		{"x", "x", "x"},
	} {
		name := func(n *Node) string {
			if n == nil {
				return ""
			}
			return n.Name
		}
		if got := name(root.ChildLikeLibfdt(tc.lookup)); got != tc.libfdt {
			t.Errorf("ChildLikeLibfdt(%q) = %q, want %q", tc.lookup, got, tc.libfdt)
		}
		if got := name(root.Child(tc.lookup)); got != tc.exact {
			t.Errorf("Child(%q) = %q, want %q", tc.lookup, got, tc.exact)
		}
	}
}

// TestV16SizeField: a v16 blob may carry anything in the v17
// size_dt_struct slot; it is not padding.
func TestV16SizeField(t *testing.T) {
	data := append([]byte(nil), readTestdata(t, "valid/board-v16.dtb")...)
	data[39] = 0x7c
	tree, err := Decode(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tree.Encode()
	if err != nil || string(out) != string(data) {
		t.Errorf("v16 blob with a size_dt_struct value does not round-trip: %v", err)
	}
}

// TestFindingsCapped: a blob with a non-zero padding byte after each of
// 5000 properties keeps 256 findings and a count of the rest.
func TestFindingsCapped(t *testing.T) {
	w := NewWriter()
	w.BeginNode("")
	w.BeginNode("n")
	for range 5000 {
		w.Property("p", []byte{1})
	}
	w.EndNode()
	w.EndNode()
	blob, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var it Iterator
	it.Reset(blob, nil)
	for it.Next() {
		if tok := it.Token(); tok.Kind == TokenProperty {
			blob[tok.Offset+13] = 0xee
		}
	}
	if err := Validate(blob, nil); !errors.Is(err, ErrPadding) {
		t.Fatalf("strict: %v, want ErrPadding", err)
	}
	tree, err := Decode(blob, &Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Findings) != 257 {
		t.Fatalf("%d findings, want 256 and a summary", len(tree.Findings))
	}
	last := tree.Findings[256]
	if last.Code != FindSuppressed || last.Message != "4744 more findings not recorded" {
		t.Errorf("summary finding %+v", last)
	}
	if f := tree.Findings[255]; f.Path != "/n" || f.Code != FindNonzeroPadding {
		t.Errorf("finding 255 = %+v", f)
	}
	// A Validator walk reports the same findings, the count included.
	var v Validator
	if err := v.Validate(blob, &Options{Lenient: true}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree.Findings, v.Findings()); diff != "" {
		t.Errorf("Validator findings differ from Decode's (-decode +validator):\n%s", diff)
	}
}

func TestWalkOrder(t *testing.T) {
	tree, err := Decode(readTestdata(t, "valid/deep.dtb"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	stop := errors.New("stop")
	err = tree.Walk(func(n *Node, depth int) error {
		got = append(got, n.Path())
		if depth != len(got)-1 && n.Name != "z" {
			t.Errorf("%s at depth %d", n.Path(), depth)
		}
		if n.Name == "z" {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("Walk returned %v, want the callback's error", err)
	}
	want := []string{"/", "/a", "/a/b", "/a/b/c", "/a/b/c/d", "/a/b/c/d/e", "/a/b/c/d/e/f", "/a/b/c/d/e/f/g",
		"/a/b/c/d/e/f/g/h", "/a/b/c/d/e/f/g/h/i", "/a/b/c/d/e/f/g/h/i/j", "/z"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
