package fdt

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// treeOpts compares trees by content: names, values and order, not the
// offsets or layout a particular blob had.
var treeOpts = cmp.Options{
	cmpopts.IgnoreUnexported(Tree{}, Node{}, Property{}),
	cmpopts.IgnoreFields(Tree{}, "Findings"),
	cmpopts.EquateEmpty(),
}

// validBlobs returns every valid blob in testdata: dtc's, the kernel's and
// the generated valid cases.
func validBlobs(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"valid/*.dtb", "kernel/*.dtb"} {
		m, err := filepath.Glob(filepath.Join("..", "testdata", "fdt", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, c := range readCaseTable(t) {
		if c.strict == "ok" {
			files = append(files, filepath.Join("..", "testdata", "fdt", "malformed", c.file))
		}
	}
	if len(files) < 12 {
		t.Fatalf("only %d valid blobs found", len(files))
	}
	return files
}

// forEachValidBlob runs fn in a subtest for each of validBlobs, with the
// blob's bytes and its strict decode.
func forEachValidBlob(t *testing.T, fn func(t *testing.T, data []byte, tree *Tree)) {
	for _, file := range validBlobs(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tree, err := Decode(data, nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			fn(t, data, tree)
		})
	}
}

func TestValidRoundTrip(t *testing.T) {
	forEachValidBlob(t, func(t *testing.T, data []byte, tree *Tree) {
		if err := Validate(data, nil); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		if len(tree.Findings) != 0 {
			t.Errorf("strict decode of a valid blob has findings: %v", tree.Findings)
		}
		out, err := tree.Encode()
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("Encode is not byte-identical:\ngot:\n%swant:\n%s", hex.Dump(out), hex.Dump(data))
		}
		lenient, err := Decode(data, &Options{Lenient: true})
		if err != nil {
			t.Fatalf("lenient Decode: %v", err)
		}
		if d := cmp.Diff(tree, lenient, treeOpts); d != "" {
			t.Errorf("lenient tree differs (-strict +lenient):\n%s", d)
		}
	})
}

// TestDTSThroughDTC compiles WriteDTS output with the real dtc and checks
// that the result decodes to the same tree.
func TestDTSThroughDTC(t *testing.T) {
	dtc, err := exec.LookPath("dtc")
	if err != nil {
		t.Skip("dtc not installed (Debian: apt install device-tree-compiler)")
	}
	forEachValidBlob(t, func(t *testing.T, _ []byte, want *Tree) {
		got, dts := throughDTC(t, dtc, want)
		if d := cmp.Diff(want, got, treeOpts, cmpopts.IgnoreFields(Tree{}, "Version", "LastCompVersion", "BootCPUID")); d != "" {
			t.Errorf("tree after WriteDTS | dtc differs (-want +got):\n%s\nsource:\n%s", d, dts)
		}
	})
}

// TestDTSOddNames checks that names made of every allowed character and
// values of every kind survive WriteDTS | dtc.
func TestDTSOddNames(t *testing.T) {
	dtc, err := exec.LookPath("dtc")
	if err != nil {
		t.Skip("dtc not installed (Debian: apt install device-tree-compiler)")
	}
	w := NewWriter()
	w.AddReservation(0xffffffff_ffff0000, 0x10000)
	w.BeginNode("")
	for i, name := range []string{"123", "?", "#", "+", ",", ".", "_", "-", "a#b?c", "0x10", "zz"} {
		w.Property(name, [][]byte{nil, []byte("x\x00"), {1}, {0, 0, 0, 1}, []byte("a\x00\x00"), []byte("\"\\\x00"),
			[]byte("tab\t\x00"), {0xff, 0xfe, 0, 0}, []byte("a\x00b\x00"), {0, 0, 0, 0, 0, 0, 0, 0}, []byte("\x00")}[i])
	}
	for _, name := range []string{"1", "-a", "a@b,c", "A_B.c+d", "x@0", "x@1"} {
		w.BeginNode(name)
		w.EndNode()
	}
	w.EndNode()
	_, want := finishAndDecode(t, w)
	got, _ := throughDTC(t, dtc, want)
	if d := cmp.Diff(want, got, treeOpts); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// throughDTC writes want as DTS, compiles it with dtc and decodes dtc's
// blob; it returns the decoded tree and the DTS source for messages.
func throughDTC(t *testing.T, dtc string, want *Tree) (*Tree, string) {
	t.Helper()
	var dts bytes.Buffer
	if err := WriteDTS(&dts, want); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dtc, "-q", "-I", "dts", "-O", "dtb")
	cmd.Stdin = bytes.NewReader(dts.Bytes())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	blob, err := cmd.Output()
	if err != nil {
		t.Fatalf("dtc: %v: %s\nsource:\n%s", err, strings.TrimSpace(stderr.String()), dts.String())
	}
	got, err := Decode(blob, nil)
	if err != nil {
		t.Fatalf("decoding dtc's blob: %v", err)
	}
	return got, dts.String()
}
