package fdt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// addSeeds adds every blob under testdata/fdt to the corpus.
func addSeeds(f *testing.F) {
	for _, pat := range []string{"valid/*.dtb", "kernel/*", "malformed/*.dtb"} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "fdt", pat))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// FuzzDecode: no panic; an error means a nil tree and agrees with
// Validate; a strictly valid blob re-encodes byte for byte; every decoded
// tree encodes to a blob that decodes to an equal tree and re-encodes to
// the same bytes; accessors and printers run on every property.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []*Options{nil, {Lenient: true}} {
			tree, err := Decode(data, opts)
			verr := Validate(data, opts)
			if (err == nil) != (verr == nil) {
				t.Fatalf("lenient=%v: Decode error %v, Validate error %v", opts != nil, err, verr)
			}
			if err != nil {
				if tree != nil {
					t.Fatal("Decode returned a tree with an error")
				}
				var fe *Error
				if !errors.As(err, &fe) || fe.Err == nil {
					t.Fatalf("error %v is not an *Error with a sentinel", err)
				}
				continue
			}
			exercise(t, tree)
			enc, err := tree.Encode()
			if err != nil {
				if opts == nil {
					t.Fatalf("Encode of a strictly valid tree: %v", err)
				}
				continue // lenient trees may have lost property names
			}
			if opts == nil {
				total := int(binary.BigEndian.Uint32(data[4:]))
				if !bytes.Equal(enc, data[:total]) {
					t.Fatalf("Encode is not byte-identical:\n got %x\nwant %x", enc, data[:total])
				}
			}
			// The Writer writes only strictly valid blobs, whatever the
			// tree came from.
			again, err := Decode(enc, nil)
			if err != nil {
				t.Fatalf("decoding the encoded tree strictly: %v", err)
			}
			if !cmp.Equal(tree, again, treeOpts) {
				t.Fatalf("tree changed through Encode (-first +again):\n%s", cmp.Diff(tree, again, treeOpts))
			}
			enc2, err := again.Encode()
			if err != nil || !bytes.Equal(enc, enc2) {
				t.Fatalf("re-encoding is not stable: %v", err)
			}
		}
	})
}

func exercise(t *testing.T, tree *Tree) {
	for _, write := range []func(io.Writer, *Tree) error{WriteText, WriteJSON, WriteDTS} {
		_ = write(io.Discard, tree)
	}
	_ = walk(tree.Root, func(n *Node, _ int) error {
		_ = n.Path()
		for i := range n.Props {
			p := &n.Props[i]
			p.U32()
			p.U64()
			p.U64In(binary.LittleEndian)
			p.String()
			p.Strings()
			p.Cells()
			p.Regs(2, 1)
			p.Regs(1, 0)
		}
		return nil
	}, func(*Node, int) error { return nil })
}

// FuzzWriter drives the Writer with an operation stream; whatever it
// accepts must decode strictly to the same tree and re-encode identically.
func FuzzWriter(f *testing.F) {
	f.Add([]byte{0, 1, 'p', 2, 0xaa, 0xbb, 0, 'a', 3, 0, 'b', 1, 'q', 3, 3, 4})
	f.Add([]byte{5, 0, 3, 4})
	f.Fuzz(func(t *testing.T, ops []byte) {
		w := NewWriter()
		names := []string{"", "a", "b@1", "b", "LUO", "x,y", "bad name", "a@"}
		props := []string{"p", "q", "#size-cells", "compatible", "", "bad=name"}
		for i := 0; i+1 < len(ops) && i < 4096; i += 2 {
			op, arg := ops[i]%6, int(ops[i+1])
			switch op {
			case 0:
				w.BeginNode(names[arg%len(names)])
			case 1:
				w.Property(props[arg%len(props)], bytes.Repeat([]byte{byte(arg)}, arg%13))
			case 2, 3:
				w.EndNode()
			case 4:
				w.AddReservation(uint64(arg)<<12, uint64(arg%3))
			case 5:
				w.Version = uint32(15 + arg%4)
			}
		}
		blob, err := w.Finish()
		if err != nil {
			if !errors.Is(err, ErrWriter) {
				t.Fatalf("Writer error %v does not wrap ErrWriter", err)
			}
			return
		}
		tree, err := Decode(blob, nil)
		if err != nil {
			t.Fatalf("Writer output does not decode: %v", err)
		}
		enc, err := tree.Encode()
		if err != nil || !bytes.Equal(enc, blob) {
			t.Fatalf("Writer output does not re-encode identically: %v", err)
		}
	})
}
