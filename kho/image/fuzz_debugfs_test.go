package image

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/fdt"
)

// debugfsFuzzNames name the sub_fdts files when the fuzzed root FDT does
// not supply (usable) node names of its own.
var debugfsFuzzNames = []string{"LUO", "kexec-metadata", "memblock", "extra"}

// debugfsFuzzInput is the fuzz layout of FuzzDebugfs: a u16 length and
// the root FDT, then blobs as {u16 length, bytes}.
func debugfsFuzzInput(root []byte, blobs ...[]byte) []byte {
	in := binary.LittleEndian.AppendUint16(nil, uint16(len(root)))
	in = append(in, root...)
	for _, b := range blobs {
		in = binary.LittleEndian.AppendUint16(in, uint16(len(b)))
		in = append(in, b...)
	}
	return in
}

// debugfsBlobNames returns the file name for each blob: the root's child
// names in order where they make file names (on disk too), else the
// fixed names.
func debugfsBlobNames(root []byte, n int) []string {
	var names []string
	if t, err := fdt.Decode(root, &fdt.Options{Lenient: true}); err == nil {
		for _, c := range t.Root.Children {
			if c.Name != "" && c.Name != "." && c.Name != ".." && len(c.Name) < 200 && !strings.ContainsAny(c.Name, "/\x00") {
				names = append(names, c.Name)
			}
		}
	}
	names = append(names, debugfsFuzzNames...)
	seen := map[string]bool{}
	out := names[:0]
	for _, s := range names {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out[:min(n, len(out))]
}

// splitDebugfsFuzzInput cuts a FuzzDebugfs input into the root FDT and up
// to four sub_fdts files by name; ok is false when it is too short.
func splitDebugfsFuzzInput(in []byte) (root []byte, files map[string][]byte, ok bool) {
	if len(in) < 2 {
		return nil, nil, false
	}
	n := min(int(binary.LittleEndian.Uint16(in)), len(in)-2)
	root, rest := in[2:2+n], in[2+n:]
	var blobs [][]byte
	for len(rest) >= 2 && len(blobs) < 4 {
		k := min(int(binary.LittleEndian.Uint16(rest)), len(rest)-2)
		blobs = append(blobs, rest[2:2+k])
		rest = rest[2+k:]
	}
	files = map[string][]byte{}
	for i, name := range debugfsBlobNames(root, len(blobs)) {
		files[name] = blobs[i]
	}
	return root, files, true
}

// debugfsMapFS lays a copy out in memory as OpenDebugfs finds it on disk:
// fdt and sub_fdts/<name> at the top.
func debugfsMapFS(root []byte, files map[string][]byte) fstest.MapFS {
	fsys := fstest.MapFS{"fdt": {Data: root}, "sub_fdts": {Mode: os.ModeDir | 0o755}}
	for name, b := range files {
		fsys["sub_fdts/"+name] = &fstest.MapFile{Data: b}
	}
	return fsys
}

// writeDebugfsDir writes the same copy into dir.
func writeDebugfsDir(t testing.TB, dir string, root []byte, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "sub_fdts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fdt"), root, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, "sub_fdts", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkDebugfsRead checks what reading a copy of files returned: an
// error means a nil result; on success every placed blob reads back from
// Memory as its file's bytes, and blobs are sorted by address.
func checkDebugfsRead(t testing.TB, d *Debugfs, err error, files map[string][]byte) {
	t.Helper()
	if err != nil {
		if d != nil {
			t.Fatalf("error %v with a result", err)
		}
		return
	}
	for i, b := range d.Blobs {
		if i > 0 && d.Blobs[i-1].Addr > b.Addr {
			t.Fatalf("blobs not sorted: %#x then %#x", d.Blobs[i-1].Addr, b.Addr)
		}
		want, ok := files[b.Name]
		if !ok || uint64(len(want)) != b.Size {
			t.Fatalf("blob %q (%d bytes) is not a file written", b.Name, b.Size)
		}
		got := make([]byte, b.Size)
		if _, err := d.Memory.ReadAt(got, b.Addr); err != nil {
			t.Fatalf("blob %q at %#x: %v", b.Name, b.Addr, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("blob %q at %#x reads back different bytes", b.Name, b.Addr)
		}
	}
}

// FuzzDebugfs reads a debugfs copy (root FDT and up to four sub_fdts
// blobs, from the input) through OpenDebugfsFS from memory, and checks it
// as checkDebugfsRead says. That OpenDebugfs and Open read the same copy
// from disk alike is TestDebugfsDiskMatchesFS, over the same corpus: a
// directory written per input cost the fuzzer most of its time.
func FuzzDebugfs(f *testing.F) {
	for _, in := range debugfsSeeds(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDebugfsInput(t, in)
	})
}

// checkDebugfsInput is FuzzDebugfs' body.
func checkDebugfsInput(t testing.TB, in []byte) {
	root, files, ok := splitDebugfsFuzzInput(in)
	if !ok {
		return
	}
	d, err := OpenDebugfsFS(debugfsMapFS(root, files), "")
	checkDebugfsRead(t, d, err, files)
	if err == nil {
		exercise(t, d.Memory)
	}
}

// debugfsSeeds are FuzzDebugfs' seeds: the real kernel's in and out copies
// (whole, without a blob, and with the root truncated so that property
// names are lost).
func debugfsSeeds(t testing.TB) [][]byte {
	t.Helper()
	vec := filepath.Join("..", "..", "testdata", "vectors", "linux-7.3.4-x86_64")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(vec, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	root, kexec, out := read("kho_in_fdt_stage2.dtb"), read("kexec_metadata_in.bin"), read("kho_out_fdt_stage1_0x1eb000.dtb")
	return [][]byte{
		debugfsFuzzInput(root, make([]byte, 0x20), kexec),
		debugfsFuzzInput(root, make([]byte, 0x20)),
		debugfsFuzzInput(out, make([]byte, 0x20), kexec),
		debugfsFuzzInput(root[:200], make([]byte, 0x20), kexec), // truncated root: names lost
	}
}

// debugfsCorpus is the seeds and testdata/fuzz/FuzzDebugfs.
func debugfsCorpus(t testing.TB) [][]byte {
	t.Helper()
	ins := debugfsSeeds(t)
	return append(ins, fuzzCorpus(t, "FuzzDebugfs")...)
}

// fuzzCorpus reads the inputs in testdata/fuzz/<target>, each a corpus
// file of one []byte.
func fuzzCorpus(t testing.TB, target string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var ins [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, val, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		q, ok := strings.CutPrefix(val, "[]byte(")
		q, ok2 := strings.CutSuffix(q, ")")
		s, err := strconv.Unquote(q)
		if head != "go test fuzz v1" || !ok || !ok2 || err != nil {
			t.Fatalf("%s: not a corpus file of one []byte", f)
		}
		ins = append(ins, []byte(s))
	}
	return ins
}

// TestDebugfsDiskMatchesFS writes each FuzzDebugfs corpus input to disk and
// checks that OpenDebugfs, Open and OpenDebugfsFS (over os.DirFS and over
// the in-memory copy the fuzzer reads) see the same copy: same bytes,
// blobs and findings, their paths aside.
func TestDebugfsDiskMatchesFS(t *testing.T) {
	for i, in := range debugfsCorpus(t) {
		root, files, ok := splitDebugfsFuzzInput(in)
		if !ok {
			continue
		}
		dir := filepath.Join(t.TempDir(), "kho")
		writeDebugfsDir(t, dir, root, files)
		type read struct {
			Err      bool
			RootFDT  []byte
			Blobs    []DebugfsBlob
			Findings []string
		}
		summary := func(d *Debugfs, err error, prefix string) read {
			checkDebugfsRead(t, d, err, files)
			if err != nil {
				return read{Err: true}
			}
			r := read{RootFDT: d.RootFDT, Blobs: d.Blobs}
			for _, f := range d.Findings {
				r.Findings = append(r.Findings, strings.ReplaceAll(f.Error(), prefix, ""))
			}
			return r
		}
		d, err := OpenDebugfs(dir, "")
		want := summary(d, err, dir+"/")
		if err == nil && d.Dir != dir {
			t.Errorf("input %d: Dir %q, want %q", i, d.Dir, dir)
		}
		dm, err := OpenDebugfsFS(debugfsMapFS(root, files), "")
		if diff := cmp.Diff(want, summary(dm, err, "")); diff != "" {
			t.Errorf("input %d: OpenDebugfs (-) and OpenDebugfsFS over MapFS (+) differ:\n%s", i, diff)
		}
		dd, err := OpenDebugfsFS(os.DirFS(dir), "")
		if diff := cmp.Diff(want, summary(dd, err, "")); diff != "" {
			t.Errorf("input %d: OpenDebugfs (-) and OpenDebugfsFS over os.DirFS (+) differ:\n%s", i, diff)
		}
		im, err := Open(dir, Options{})
		if (err == nil) != !want.Err || err != nil && im != nil {
			t.Fatalf("input %d: Open: %v, result %v; OpenDebugfs failed: %v", i, err, im != nil, want.Err)
		}
		if im != nil {
			if !bytes.Equal(im.RootFDT, root) || len(im.Debugfs.Blobs) != len(want.Blobs) {
				t.Errorf("input %d: Open and OpenDebugfs read the copy differently", i)
			}
			im.Close()
		}
	}
}

// BenchmarkFuzzDebugfs times FuzzDebugfs' body over its corpus ("fs"),
// and what the fuzz target once did instead ("disk"): rewrite one
// directory per input and read it with OpenDebugfs and Open.
func BenchmarkFuzzDebugfs(b *testing.B) {
	corpus := debugfsCorpus(b)
	b.Run("fs", func(b *testing.B) {
		benchInputs(b, corpus, func(in []byte) { checkDebugfsInput(b, in) })
	})
	b.Run("disk", func(b *testing.B) {
		dir := filepath.Join(b.TempDir(), "kho")
		var written map[string][]byte
		benchInputs(b, corpus, func(in []byte) {
			root, files, ok := splitDebugfsFuzzInput(in)
			if !ok {
				return
			}
			writeDebugfsDir(b, dir, root, files)
			for name := range written {
				if _, ok := files[name]; !ok {
					if err := os.Remove(filepath.Join(dir, "sub_fdts", name)); err != nil {
						b.Fatal(err)
					}
				}
			}
			written = files
			d, err := OpenDebugfs(dir, "")
			checkDebugfsRead(b, d, err, files)
			if err == nil {
				exercise(b, d.Memory)
			}
			if im, err := Open(dir, Options{}); err == nil {
				im.Close()
			}
		})
	})
}
