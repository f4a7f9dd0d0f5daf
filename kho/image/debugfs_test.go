package image

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"testing"
	"testing/fstest"
	"time"

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

// hugeDirFS is a debugfs copy whose sub_fdts lists total entries, made
// up as they are asked for, the first dirs of them subdirectories; pulled
// counts the entries its ReadDir handed out. With stall, ReadDir returns
// no entries and no error, forever, once it has listed them all.
type hugeDirFS struct {
	root   []byte
	total  int
	dirs   int
	stall  bool
	pulled int
}

func (h *hugeDirFS) Open(name string) (fs.File, error) {
	switch {
	case name == "fdt":
		return &memFile{name: "fdt", Reader: bytes.NewReader(h.root)}, nil
	case name == "sub_fdts":
		return &hugeDir{fs: h}, nil
	case strings.HasPrefix(name, "sub_fdts/"):
		return &memFile{name: path.Base(name), Reader: bytes.NewReader([]byte("blob"))}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// memFile is a regular file of bytes.
type memFile struct {
	name string
	*bytes.Reader
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	return fstest.MapFS{f.name: {Data: make([]byte, f.Size())}}.Stat(f.name)
}
func (f *memFile) Close() error { return nil }

// hugeDir is the sub_fdts directory of a hugeDirFS.
type hugeDir struct {
	fs   *hugeDirFS
	next int
}

func (d *hugeDir) Stat() (fs.FileInfo, error) {
	return fstest.MapFS{"sub_fdts": {Mode: fs.ModeDir | 0o755}}.Stat("sub_fdts")
}
func (d *hugeDir) Read([]byte) (int, error) { return 0, errors.New("is a directory") }
func (d *hugeDir) Close() error             { return nil }

func (d *hugeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	all := n <= 0 // the whole rest, as fs.ReadDir asks
	if all {
		n = d.fs.total - d.next
	}
	var out []fs.DirEntry
	for ; len(out) < n && d.next < d.fs.total; d.next++ {
		if d.next < d.fs.dirs {
			out = append(out, fs.FileInfoToDirEntry(fakeDirInfo(fmt.Sprintf("dir%08d", d.next))))
			continue
		}
		out = append(out, fs.FileInfoToDirEntry(fakeFileInfo(fmt.Sprintf("blob%08d", d.next))))
	}
	d.fs.pulled += len(out)
	if len(out) == 0 && !all && !d.fs.stall {
		return nil, io.EOF
	}
	return out, nil
}

// fakeFileInfo is a 4-byte regular file called its value.
type fakeFileInfo string

func (f fakeFileInfo) Name() string       { return string(f) }
func (f fakeFileInfo) Size() int64        { return 4 }
func (f fakeFileInfo) Mode() fs.FileMode  { return 0o644 }
func (f fakeFileInfo) ModTime() time.Time { return time.Time{} }
func (f fakeFileInfo) IsDir() bool        { return false }
func (f fakeFileInfo) Sys() any           { return nil }

// fakeDirInfo is a directory called its value.
type fakeDirInfo string

func (f fakeDirInfo) Name() string       { return string(f) }
func (f fakeDirInfo) Size() int64        { return 0 }
func (f fakeDirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (f fakeDirInfo) ModTime() time.Time { return time.Time{} }
func (f fakeDirInfo) IsDir() bool        { return true }
func (f fakeDirInfo) Sys() any           { return nil }

// A sub_fdts listing far past the cap is read in batches: at most
// maxDebugfsBlobs+1 entries are pulled from it, the first maxDebugfsBlobs
// are read, and the excess is one ErrLimit finding that says which were
// kept. A listing that stops returning entries without an end ends too,
// with an ErrTruncated finding.
func TestDebugfsSubFDTsCap(t *testing.T) {
	overCap := func(files, dirs int) string {
		return fmt.Sprintf("image: .: sub_fdts lists more than %d entries; only the first %d it listed are kept, sorted by name: %d files read, %d subdirectories (counted, skipped): %v",
			maxDebugfsBlobs, maxDebugfsBlobs, files, dirs, ErrLimit)
	}
	for _, tc := range []struct {
		name       string
		total      int
		dirs       int
		stall      bool
		wantPulled int
		wantRead   int    // blobs read (each a "no node" finding)
		wantLimit  string // the ErrLimit finding
		wantStall  string // the ErrTruncated finding
	}{
		{"empty", 0, 0, false, 0, 0, "", ""},
		{"under the cap", 300, 0, false, 300, 300, "", ""},
		{"at the cap", maxDebugfsBlobs, 0, false, maxDebugfsBlobs, maxDebugfsBlobs, "", ""},
		{"one past the cap", maxDebugfsBlobs + 1, 0, false, maxDebugfsBlobs + 1, maxDebugfsBlobs, overCap(maxDebugfsBlobs, 0), ""},
		{"millions", 5_000_000, 0, false, maxDebugfsBlobs + 1, maxDebugfsBlobs, overCap(maxDebugfsBlobs, 0), ""},
		// Subdirectories listed first take 3 of the cap's places.
		{"past the cap, subdirectories kept", maxDebugfsBlobs + 10, 3, false, maxDebugfsBlobs + 1, maxDebugfsBlobs - 3, overCap(maxDebugfsBlobs-3, 3), ""},
		{"at the cap, subdirectories", maxDebugfsBlobs, 3, false, maxDebugfsBlobs, maxDebugfsBlobs - 3, "", ""},
		// Ends, not a hang, and says the listing may be incomplete.
		{"listing stalls", 10, 0, true, 10, 10, "", "image: .: listing sub_fdts stopped returning entries after 10, with no end of directory: any not listed are not read: " + ErrTruncated.Error()},
		{"listing stalls at once", 0, 0, true, 0, 0, "", "image: .: listing sub_fdts stopped returning entries after 0, with no end of directory: any not listed are not read: " + ErrTruncated.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := &hugeDirFS{root: rootWithX(t), total: tc.total, dirs: tc.dirs, stall: tc.stall}
			d, err := OpenDebugfsFS(fsys, "")
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				Pulled, Read int
				Limit, Stall string
			}
			got := result{Pulled: fsys.pulled}
			for _, f := range d.Findings {
				switch {
				case errors.Is(f, ErrLimit):
					got.Limit += f.Error()
				case errors.Is(f, ErrTruncated):
					got.Stall += f.Error()
				case strings.Contains(f.Error(), "the root FDT has no node"):
					got.Read++
				default:
					t.Errorf("finding %v", f)
				}
			}
			want := result{Pulled: tc.wantPulled, Read: tc.wantRead, Limit: tc.wantLimit, Stall: tc.wantStall}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A sub_fdts that is no directory is refused before it is opened (a named
// pipe would block the open).
func TestDebugfsSubFDTsNotDir(t *testing.T) {
	_, err := OpenDebugfsFS(fstest.MapFS{"fdt": {Data: rootWithX(t)}, "sub_fdts": {Data: []byte("x")}}, "")
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "sub_fdts: not a directory") {
		t.Errorf("%v: want ErrFormat and sub_fdts: not a directory", err)
	}
}

// scriptDirFS is a file system whose only directory, d, lists what
// readDir returns, whatever the fs.ReadDirFile contract says.
type scriptDirFS struct {
	readDir func(n int) ([]fs.DirEntry, error)
}

func (s scriptDirFS) Open(name string) (fs.File, error) {
	if name != "d" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return scriptDir{s}, nil
}

type scriptDir struct{ fs scriptDirFS }

func (d scriptDir) Stat() (fs.FileInfo, error) {
	return fstest.MapFS{"d": {Mode: fs.ModeDir | 0o755}}.Stat("d")
}
func (d scriptDir) Read([]byte) (int, error)             { return 0, errors.New("is a directory") }
func (d scriptDir) Close() error                         { return nil }
func (d scriptDir) ReadDir(n int) ([]fs.DirEntry, error) { return d.fs.readDir(n) }

// The over-cap finding counts as read only the kept files whose bytes
// were read: a named pipe among them is refused with its own finding and
// is no file read.
func TestDebugfsSubFDTsCapRefused(t *testing.T) {
	fsys := fstest.MapFS{"fdt": {Data: rootWithX(t)}, "sub_fdts/a-pipe": {Mode: fs.ModeNamedPipe}}
	for i := range maxDebugfsBlobs {
		fsys[fmt.Sprintf("sub_fdts/blob%08d", i)] = &fstest.MapFile{Data: []byte("blob")}
	}
	d, err := OpenDebugfsFS(fsys, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range d.Findings {
		if !strings.Contains(f.Error(), "the root FDT has no node") {
			got = append(got, f.Error())
		}
	}
	want := []string{
		fmt.Sprintf("image: .: sub_fdts lists more than %d entries; only the first %d it listed are kept, sorted by name: %d files read, 0 subdirectories (counted, skipped): %v",
			maxDebugfsBlobs, maxDebugfsBlobs, maxDebugfsBlobs-1, ErrLimit),
		"image: sub_fdts/a-pipe: not a regular file (p---------): " + ErrFormat.Error(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings other than no node (-want +got):\n%s", diff)
	}
}

// listCapped stays bounded and keeps the first entries listed, sorted,
// whatever ReadDir returns: entries with io.EOF or another error, one
// entry a call forever, more than asked for, nothing and no error.
func TestListCappedReadDir(t *testing.T) {
	const limit = 5
	// names lists "f<k>" for k counting down from 99, so that the kept
	// entries (the first listed) sort in the other order.
	type listing struct {
		next, pulled int
	}
	names := func(l *listing, n int) []fs.DirEntry {
		var out []fs.DirEntry
		for range n {
			out = append(out, fs.FileInfoToDirEntry(fakeFileInfo(fmt.Sprintf("f%02d", 99-l.next))))
			l.next++
		}
		l.pulled += n
		return out
	}
	errIO := errors.New("device gone")
	for _, tc := range []struct {
		name    string
		readDir func(l *listing, n int) ([]fs.DirEntry, error)
		want    []string
		end     listEnd
		err     error
		pulled  int
	}{
		{"entries with EOF", func(l *listing, n int) ([]fs.DirEntry, error) {
			if l.next > 0 {
				return nil, io.EOF
			}
			return names(l, 3), io.EOF
		}, []string{"f97", "f98", "f99"}, listDone, nil, 3},
		{"entries with EOF past the cap", func(l *listing, n int) ([]fs.DirEntry, error) {
			return names(l, 40), io.EOF
		}, []string{"f95", "f96", "f97", "f98", "f99"}, listOverCap, nil, 40},
		{"entries with an error", func(l *listing, n int) ([]fs.DirEntry, error) {
			return names(l, 2), errIO
		}, nil, listDone, errIO, 2},
		{"one a call forever", func(l *listing, n int) ([]fs.DirEntry, error) {
			return names(l, 1), nil
		}, []string{"f95", "f96", "f97", "f98", "f99"}, listOverCap, nil, limit + 1},
		{"more than asked", func(l *listing, n int) ([]fs.DirEntry, error) {
			return names(l, 2*n+1), nil
		}, []string{"f95", "f96", "f97", "f98", "f99"}, listOverCap, nil, 2*(limit+1) + 1},
		{"stalls after two", func(l *listing, n int) ([]fs.DirEntry, error) {
			if l.next >= 2 {
				return nil, nil
			}
			return names(l, 1), nil
		}, []string{"f98", "f99"}, listStalled, nil, 2},
		{"stalls at the cap", func(l *listing, n int) ([]fs.DirEntry, error) {
			if l.next >= limit {
				return nil, nil
			}
			return names(l, 1), nil
		}, []string{"f95", "f96", "f97", "f98", "f99"}, listStalled, nil, limit},
		{"stalls at once", func(l *listing, n int) ([]fs.DirEntry, error) {
			return nil, nil
		}, nil, listStalled, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l listing
			c := debugfsCopy{fsys: scriptDirFS{func(n int) ([]fs.DirEntry, error) {
				if n <= 0 || l.pulled > 1000 {
					t.Fatalf("ReadDir(%d) after %d entries", n, l.pulled)
				}
				return tc.readDir(&l, n)
			}}, show: func(p string) string { return p }}
			entries, end, err := c.listCapped("d", limit)
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			type result struct {
				Names  []string
				End    listEnd
				Pulled int
			}
			if diff := cmp.Diff(result{tc.want, tc.end, tc.pulled}, result{got, end, l.pulled}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDebugfsByteBudget checks that sub_fdts files are read up to
// maxDebugfsBytes in all: past it the rest are one ErrLimit finding, not
// read. The files share one backing array, so the test holds 16 MiB.
func TestDebugfsByteBudget(t *testing.T) {
	big := make([]byte, maxDebugfsFile)
	files := maxDebugfsBytes/maxDebugfsFile + 2
	fsys := fstest.MapFS{"fdt": {Data: rootWithX(t)}}
	for i := range files {
		fsys[fmt.Sprintf("sub_fdts/b%02d", i)] = &fstest.MapFile{Data: big}
	}
	d, err := OpenDebugfsFS(fsys, "")
	if err != nil {
		t.Fatal(err)
	}
	var limits []string
	noNode := 0
	for _, f := range d.Findings {
		switch {
		case errors.Is(f, ErrLimit):
			limits = append(limits, f.Error())
		case strings.Contains(f.Error(), "has no node"):
			noNode++
		}
	}
	want := []string{fmt.Sprintf("image: .: sub_fdts files hold more than %d bytes together; 2 files not read: %v", maxDebugfsBytes, ErrLimit)}
	if diff := cmp.Diff(want, limits); diff != "" {
		t.Errorf("ErrLimit findings (-want +got):\n%s", diff)
	}
	if noNode != files-2 {
		t.Errorf("%d files read (each a no-node finding), want %d", noNode, files-2)
	}
}
