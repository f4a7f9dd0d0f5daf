//go:build unix

package image

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/fdt"
)

// TestDebugfsNotRegular: a sub_fdts entry that is not a regular file (a
// named pipe would block the open until a writer came) is a finding, not
// read.
func TestDebugfsNotRegular(t *testing.T) {
	w := fdt.NewWriter()
	w.BeginNode("")
	w.BeginNode("x")
	w.Property("preserved-data", binary.LittleEndian.AppendUint64(nil, 0x5000))
	w.EndNode()
	w.EndNode()
	root, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fdt"), root, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub_fdts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "sub_fdts", "x"), 0o644); err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		name string
		open func() (*Debugfs, error)
		path string
	}{
		{"disk fifo", func() (*Debugfs, error) { return OpenDebugfs(dir, "") }, filepath.Join(dir, "sub_fdts", "x")},
		{"fs.FS pipe", func() (*Debugfs, error) {
			return OpenDebugfsFS(fstest.MapFS{"fdt": {Data: root}, "sub_fdts/x": {Data: []byte("abcd"), Mode: fs.ModeNamedPipe}}, "")
		}, "sub_fdts/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.open()
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Blobs) != 0 {
				t.Errorf("blobs %v from a pipe", d.Blobs)
			}
			want := []string{"image: " + tc.path + ": not a regular file (p---------): malformed image"}
			var got []string
			for _, f := range d.Findings {
				if !errors.Is(f, ErrFormat) {
					t.Errorf("finding %v does not wrap ErrFormat", f)
				}
				got = append(got, f.Error())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}
