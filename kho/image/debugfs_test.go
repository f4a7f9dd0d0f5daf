package image

import (
	"encoding/binary"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/fdt"
)

// TestDebugfsBlobPlacement checks where each sub_fdts file goes, or why it
// does not, by the properties of its node in the root FDT.
func TestDebugfsBlobPlacement(t *testing.T) {
	u64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	for _, tc := range []struct {
		name     string
		props    []prop
		blob     []byte
		want     []DebugfsBlob
		findings []string
	}{
		{"preserved-data and blob-size", []prop{{"preserved-data", u64(0x5000)}, {"blob-size", u64(4)}}, []byte("abcd"),
			[]DebugfsBlob{{Name: "x", Addr: 0x5000, Size: 4, BlobSize: 4}}, nil},
		{"kho-v1 fdt", []prop{{"fdt", u64(0x6000)}}, []byte("abcd"),
			[]DebugfsBlob{{Name: "x", Addr: 0x6000, Size: 4}}, nil},
		{"blob-size disagrees", []prop{{"preserved-data", u64(0x5000)}, {"blob-size", u64(8)}}, []byte("abcd"),
			[]DebugfsBlob{{Name: "x", Addr: 0x5000, Size: 4, BlobSize: 8}},
			[]string{"image: sub_fdts/x: blob-size 8 but the file holds 4 bytes: malformed image"}},
		// blob-size alone says nothing of where the blob was: not placed
		// (this once dereferenced the missing property).
		{"blob-size only", []prop{{"blob-size", u64(4)}}, []byte("abcd"),
			nil, []string{`image: sub_fdts/x: node /x has no preserved-data property; blob not placed: malformed image`}},
		{"no properties", nil, []byte("abcd"),
			nil, []string{`image: sub_fdts/x: node /x has no preserved-data property; blob not placed: malformed image`}},
		{"preserved-data not 8 bytes", []prop{{"preserved-data", []byte{1, 2, 3}}}, []byte("abcd"),
			nil, []string{`image: sub_fdts/x: fdt: offset 0x48: /x property "preserved-data": value is 3 bytes, want 8 (a u64); blob not placed: malformed image`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := rootWithX(t, tc.props...)
			d, err := OpenDebugfsFS(fstest.MapFS{"fdt": {Data: root}, "sub_fdts/x": {Data: tc.blob}}, "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, d.Blobs); diff != "" {
				t.Errorf("blobs (-want +got):\n%s", diff)
			}
			checkFormatFindings(t, tc.findings, d.Findings)
		})
	}
}

// prop is one property of a node a test writes.
type prop struct {
	name  string
	value []byte
}

// rootWithX is a root FDT with one child, x, holding props.
func rootWithX(t *testing.T, props ...prop) []byte {
	t.Helper()
	w := fdt.NewWriter()
	w.BeginNode("")
	w.BeginNode("x")
	for _, p := range props {
		w.Property(p.name, p.value)
	}
	w.EndNode()
	w.EndNode()
	root, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// checkFormatFindings checks that findings read as want, each wrapping
// ErrFormat.
func checkFormatFindings(t *testing.T, want []string, findings []error) {
	t.Helper()
	var got []string
	for _, f := range findings {
		if !errors.Is(f, ErrFormat) {
			t.Errorf("finding %v does not wrap ErrFormat", f)
		}
		got = append(got, f.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
