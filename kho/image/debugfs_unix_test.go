//go:build unix

package image

import (
	"encoding/binary"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"testing/fstest"
)

// TestDebugfsNotRegular: a sub_fdts entry that is not a regular file (a
// named pipe would block the open until a writer came) is a finding, not
// read.
func TestDebugfsNotRegular(t *testing.T) {
	root := rootWithX(t, prop{"preserved-data", binary.LittleEndian.AppendUint64(nil, 0x5000)})
	dir := t.TempDir()
	writeDebugfsDir(t, dir, root, nil)
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
			checkFormatFindings(t, []string{"image: " + tc.path + ": not a regular file (p---------): malformed image"}, d.Findings)
		})
	}
}
