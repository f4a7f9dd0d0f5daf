package fdt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriterSeedStrings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seed  []string
		props []string // properties of the root, in order
		want  string   // the strings block
	}{
		{"unseeded: first use", nil, []string{"compatible", "a"}, "compatible\x00a\x00"},
		{"seed order wins", []string{"a", "compatible"}, []string{"compatible", "a"}, "a\x00compatible\x00"},
		{"unused seed kept", []string{"z"}, []string{"a"}, "z\x00a\x00"},
		{"repeated seed once", []string{"a", "a", "b"}, []string{"b", "a"}, "a\x00b\x00"},
		{"kho root", []string{"preserved-memory-map", "compatible", "preserved-data", "blob-size"},
			[]string{"compatible", "preserved-memory-map"},
			"preserved-memory-map\x00compatible\x00preserved-data\x00blob-size\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWriter()
			if err := w.SeedStrings(tc.seed...); err != nil {
				t.Fatal(err)
			}
			_ = w.BeginNode("")
			for _, p := range tc.props {
				_ = w.Property(p, []byte{1})
			}
			_ = w.EndNode()
			blob, tree := finishAndDecode(t, w)
			off, size := binary.BigEndian.Uint32(blob[12:]), binary.BigEndian.Uint32(blob[32:])
			got := string(blob[off : off+size])
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("strings (-want +got):\n%s", d)
			}
			for _, p := range tc.props {
				if pr := tree.Root.Prop(p); pr == nil || !bytes.Equal(pr.Value, []byte{1}) {
					t.Errorf("property %q = %v after decode", p, pr)
				}
			}
		})
	}
}

func TestWriterSeedStringsBadName(t *testing.T) {
	w := NewWriter()
	err := w.SeedStrings("ok", "bad\x00name")
	if !errors.Is(err, ErrWriter) {
		t.Fatalf("SeedStrings with a NUL in a name: %v, want ErrWriter", err)
	}
	if err := w.BeginNode(""); !errors.Is(err, ErrWriter) {
		t.Errorf("the error does not stick: %v", err)
	}
}
