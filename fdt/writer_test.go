package fdt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWriterMatchesDTC writes minimal.dts and kho-like.dts with the Writer
// and compares with dtc's blobs byte for byte (same layout and string
// order as dtc's first-use order).
func TestWriterMatchesDTC(t *testing.T) {
	w := NewWriter()
	w.BeginNode("")
	w.EndNode()
	got, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if want := readTestdata(t, "valid/minimal.dtb"); !bytes.Equal(got, want) {
		t.Errorf("minimal:\ngot  %x\nwant %x", got, want)
	}

	le := func(v uint64) []byte {
		b := make([]byte, 8)
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		return b
	}
	w = NewWriter()
	w.BeginNode("")
	w.Property("compatible", []byte("kho-v4\x00"))
	w.Property("preserved-memory-map", le(0x1ea000))
	w.BeginNode("LUO")
	w.Property("preserved-data", le(0x3a9000))
	w.Property("blob-size", le(32))
	w.EndNode()
	w.BeginNode("kexec-metadata")
	w.Property("preserved-data", le(0x1f6000))
	w.Property("blob-size", le(73))
	w.EndNode()
	w.BeginNode("memfd@1234")
	w.Property("compatible", []byte("memfd-v2\x00"))
	w.Property("empty", nil)
	w.EndNode()
	w.EndNode()
	got, err = w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if want := readTestdata(t, "valid/kho-like.dtb"); !bytes.Equal(got, want) {
		t.Errorf("kho-like:\ngot  %x\nwant %x", got, want)
	}
}

func TestWriterReservationsAndVersion(t *testing.T) {
	w := &Writer{Version: 16, BootCPUID: 3}
	w.AddReservation(0x80000000, 0x10000)
	w.BeginNode("")
	w.EndNode()
	_, tree := finishAndDecode(t, w)
	want := &Tree{Root: &Node{}, Reservations: []Reservation{{0x80000000, 0x10000}}, Version: 16, LastCompVersion: 16, BootCPUID: 3}
	if d := cmp.Diff(want, tree, treeOpts); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestWriterRefuses checks that the Writer rejects what a reader would.
func TestWriterRefuses(t *testing.T) {
	for name, build := range map[string]func(w *Writer) error{
		"named root":          func(w *Writer) error { return w.BeginNode("x") },
		"bad node name":       func(w *Writer) error { w.BeginNode(""); return w.BeginNode("a b") },
		"empty node name":     func(w *Writer) error { w.BeginNode(""); return w.BeginNode("") },
		"bad property name":   func(w *Writer) error { w.BeginNode(""); return w.Property("a=b", nil) },
		"empty property name": func(w *Writer) error { w.BeginNode(""); return w.Property("", nil) },
		"property after node": func(w *Writer) error {
			w.BeginNode("")
			w.BeginNode("a")
			w.EndNode()
			return w.Property("p", nil)
		},
		"property outside":  func(w *Writer) error { return w.Property("p", nil) },
		"end without begin": func(w *Writer) error { return w.EndNode() },
		"second root":       func(w *Writer) error { w.BeginNode(""); w.EndNode(); return w.BeginNode("") },
		"zero reservation":  func(w *Writer) error { return w.AddReservation(0x1000, 0) },
		"duplicate node": func(w *Writer) error {
			w.BeginNode("")
			w.BeginNode("LUO")
			w.EndNode()
			return w.BeginNode("LUO")
		},
		"unit collision": func(w *Writer) error {
			w.BeginNode("")
			w.BeginNode("LUO")
			w.EndNode()
			return w.BeginNode("LUO@1")
		},
		"finish with no root": func(w *Writer) error { _, err := w.Finish(); return err },
		"finish open node":    func(w *Writer) error { w.BeginNode(""); _, err := w.Finish(); return err },
		"bad version":         func(w *Writer) error { w.Version = 15; w.BeginNode(""); w.EndNode(); _, err := w.Finish(); return err },
		// Refused before the copy: the untouched zero pages cost no memory.
		"value past 2^31-1": func(w *Writer) error { w.BeginNode(""); return w.Property("p", make([]byte, 1<<31-12)) },
	} {
		w := NewWriter()
		err := build(w)
		if !errors.Is(err, ErrWriter) {
			t.Errorf("%s: error %v, want ErrWriter", name, err)
		}
		if _, err := w.Finish(); !errors.Is(err, ErrWriter) {
			t.Errorf("%s: Finish after an error returned %v", name, err)
		}
	}
}

// TestEncodeChangedTree edits a decoded kernel tree: the strings table
// keeps its order, a new name is appended, and the result decodes to the
// edited tree.
func TestEncodeChangedTree(t *testing.T) {
	data := readTestdata(t, "kernel/kho_in_fdt_stage2.dtb")
	tree, err := Decode(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	luo := tree.Lookup("/LUO")
	luo.Props = append(luo.Props, Property{Name: "new-prop", Value: []byte{1, 2, 3}})
	luo.Children = append(luo.Children, &Node{Name: "child", Props: []Property{{Name: "blob-size", Value: make([]byte, 8)}}})
	tree.Reservations = append(tree.Reservations, Reservation{0x1000, 0x2000})
	out, err := tree.Encode()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Decode(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(tree, again, treeOpts); d != "" {
		t.Errorf("(-edited +re-decoded):\n%s", d)
	}
	// The kernel's strings come first, unchanged, then the new name.
	h, _ := parseHeader(out)
	strs := out[h.OffDtStrings : h.OffDtStrings+h.SizeDtStrings]
	if want := "preserved-memory-map\x00compatible\x00preserved-data\x00blob-size\x00new-prop\x00"; string(strs) != want {
		t.Errorf("strings block %q, want %q", strs, want)
	}
}

func TestEncodeNameless(t *testing.T) {
	tree := &Tree{Root: &Node{Props: []Property{{Name: "", Value: nil}}}}
	if _, err := tree.Encode(); !errors.Is(err, ErrWriter) {
		t.Errorf("Encode of a nameless property: %v, want ErrWriter", err)
	}
}

// TestEncodeLastCompVersionZero: last_comp_version 0 is valid (it is not
// above version), and a decoded tree keeps it instead of the Writer's
// default 16 (found by the decode fuzz target).
func TestEncodeLastCompVersionZero(t *testing.T) {
	data := bytes.Clone(readTestdata(t, "kernel/kho_in_fdt_stage2.dtb"))
	binary.BigEndian.PutUint32(data[24:], 0)
	tree, err := Decode(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tree.LastCompVersion != 0 {
		t.Fatalf("LastCompVersion %d, want 0", tree.LastCompVersion)
	}
	enc, err := tree.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(data, enc); d != "" {
		t.Errorf("Encode is not byte-identical (-blob +encoded):\n%s", d)
	}
	// A tree built by hand still gets the default.
	built := &Tree{Root: &Node{}}
	enc, err = built.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint32(enc[24:]); got != 16 {
		t.Errorf("hand-built tree: last_comp_version %d, want 16", got)
	}
}

// finishAndDecode finishes w and decodes its blob, failing the test on
// either error.
func finishAndDecode(t *testing.T, w *Writer) ([]byte, *Tree) {
	t.Helper()
	blob, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Decode(blob, nil)
	if err != nil {
		t.Fatal(err)
	}
	return blob, tree
}
