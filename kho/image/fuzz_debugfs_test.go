package image

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
// names in order where they make file names, else the fixed names.
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

// FuzzDebugfs writes a debugfs copy (root FDT and up to four sub_fdts
// blobs, from the input) to a temporary directory and opens it with
// OpenDebugfs and Open. An error means a nil result; on success every
// placed blob reads back from Memory as its file's bytes, blobs are sorted
// by address, and Open sees the same copy.
func FuzzDebugfs(f *testing.F) {
	vec := filepath.Join("..", "..", "testdata", "vectors", "linux-7.3.4-x86_64")
	root, err := os.ReadFile(filepath.Join(vec, "kho_in_fdt_stage2.dtb"))
	if err != nil {
		f.Fatal(err)
	}
	kexec, err := os.ReadFile(filepath.Join(vec, "kexec_metadata_in.bin"))
	if err != nil {
		f.Fatal(err)
	}
	out, err := os.ReadFile(filepath.Join(vec, "kho_out_fdt_stage1_0x1eb000.dtb"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(debugfsFuzzInput(root, make([]byte, 0x20), kexec))
	f.Add(debugfsFuzzInput(root, make([]byte, 0x20)))
	f.Add(debugfsFuzzInput(out, make([]byte, 0x20), kexec))
	f.Add(debugfsFuzzInput(root[:200], make([]byte, 0x20), kexec)) // truncated root: names lost
	base := f.TempDir()
	var dir string
	var written map[string][]byte // the sub_fdts files now in dir
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		n := min(int(binary.LittleEndian.Uint16(in)), len(in)-2)
		root, rest := in[2:2+n], in[2+n:]
		var blobs [][]byte
		for len(rest) >= 2 && len(blobs) < 4 {
			k := min(int(binary.LittleEndian.Uint16(rest)), len(rest)-2)
			blobs = append(blobs, rest[2:2+k])
			rest = rest[2+k:]
		}
		// One directory per worker, rewritten per input: creating and
		// removing a tree per input would cost more than the parsing.
		if dir == "" {
			dir = filepath.Join(base, "kho")
			if err := os.MkdirAll(filepath.Join(dir, "sub_fdts"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "fdt"), root, 0o644); err != nil {
			t.Fatal(err)
		}
		names := debugfsBlobNames(root, len(blobs))
		files := map[string][]byte{}
		for i, name := range names {
			if err := os.WriteFile(filepath.Join(dir, "sub_fdts", name), blobs[i], 0o644); err != nil {
				t.Fatal(err)
			}
			files[name] = blobs[i]
		}
		for name := range written {
			if _, ok := files[name]; !ok {
				if err := os.Remove(filepath.Join(dir, "sub_fdts", name)); err != nil {
					t.Fatal(err)
				}
			}
		}
		written = files

		d, err := OpenDebugfs(dir, "")
		if err != nil {
			if d != nil {
				t.Fatalf("OpenDebugfs error %v with a result", err)
			}
		} else {
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
			exercise(t, d.Memory)
		}
		im, err2 := Open(dir, Options{})
		if err2 != nil {
			if im != nil {
				t.Fatalf("Open error %v with a result", err2)
			}
		}
		if (err == nil) != (err2 == nil) {
			t.Fatalf("OpenDebugfs: %v, but Open: %v", err, err2)
		}
		if im != nil {
			if !bytes.Equal(im.RootFDT, root) || len(im.Debugfs.Blobs) != len(d.Blobs) {
				t.Fatalf("Open and OpenDebugfs read the copy differently")
			}
			im.Close()
		}
	})
}
