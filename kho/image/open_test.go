package image

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

const vectors = "../../testdata/image"

// writeFile writes data into dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenDetects(t *testing.T) {
	src := testMemory(t)
	dir := t.TempDir()
	kd := writeTestKdump(t, src, src.Ranges(), &KdumpOptions{Compression: PageZlib, VMCoreInfo: []byte(testVMCoreInfo)})
	elfData := writeTestELF(t, src, src.Ranges(), &ELFOptions{VMCoreInfo: []byte(testVMCoreInfo)})
	files := map[Format]string{
		FormatELF:       writeFile(t, dir, "mem.elf", elfData),
		FormatKdump:     writeFile(t, dir, "mem.kdump", kd),
		FormatFlattened: writeFile(t, dir, "mem.flat", flatten(t, kd, 4096)),
	}
	for format, path := range files {
		t.Run(format.String(), func(t *testing.T) {
			im, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			if im.Format != format {
				t.Errorf("format %v, want %v", im.Format, format)
			}
			if v, _ := im.VMCoreInfo.Get("OSRELEASE"); v != "7.3.4" {
				t.Errorf("VMCOREINFO %+v", im.VMCoreInfo)
			}
			if len(im.Findings) != 0 {
				t.Errorf("findings %v", im.Findings)
			}
			compareData(t, src, im.Memory, presentRanges(src.Ranges()))
			// The explicit format works too.
			im2, err := Open(path, Options{Format: format})
			if err != nil {
				t.Fatal(err)
			}
			im2.Close()
		})
	}
}

func TestOpenRawAndBlobs(t *testing.T) {
	dir := t.TempDir()
	raw := writeFile(t, dir, "ram.bin", bytes.Repeat([]byte{7}, 8192))
	im, err := Open(raw, Options{Format: FormatRaw, Base: 0x40000000})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	want := []physmem.Range{{Start: 0x40000000, Size: 8192, State: physmem.Present}}
	if d := cmp.Diff(want, im.Memory.Ranges()); d != "" {
		t.Errorf("raw ranges (-want +got):\n%s", d)
	}
	blob, err := Open(raw, Options{Format: FormatBlob})
	if err != nil || len(blob.Blob) != 8192 || blob.Memory != nil {
		t.Fatalf("blob: %v", err)
	}
	blob.Close()
	fdtPath := filepath.Join(vectors, "debugfs/in/kho/in/fdt")
	f, err := Open(fdtPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Format != FormatFDT || len(f.RootFDT) != 285 {
		t.Errorf("fdt: format %v, %d bytes", f.Format, len(f.RootFDT))
	}
}

func TestOpenWrongFormat(t *testing.T) {
	src := testMemory(t)
	dir := t.TempDir()
	kd := writeTestKdump(t, src, src.Ranges(), nil)
	kdump := writeFile(t, dir, "mem.kdump", kd)
	flat := writeFile(t, dir, "mem.flat", flatten(t, kd, 4096))
	junk := writeFile(t, dir, "junk", bytes.Repeat([]byte{0x42}, 100))
	exe := writeFile(t, dir, "vmlinux", func() []byte {
		d := writeTestELF(t, src, src.Ranges()[:1], nil)
		d[16] = 2 // ET_EXEC
		return d
	}())
	tests := []struct {
		name     string
		path     string
		opts     Options
		sentinel error
		says     string
	}{
		{"flattened as kdump", flat, Options{Format: FormatKdump}, ErrWrongFormat, "this looks like a makedumpfile flattened file, not a kdump-compressed file; pass --format flattened"},
		{"kdump as elf", kdump, Options{Format: FormatELF}, ErrWrongFormat, "this looks like a kdump-compressed file"},
		{"unknown", junk, Options{}, ErrUnknownFormat, "no known image format (starts 42 42 42 42 42 42 42 42); pass --format raw --base ADDR"},
		{"junk as elf", junk, Options{Format: FormatELF}, ErrWrongFormat, "no ELF core file signature"},
		{"executable", exe, Options{}, ErrWrongFormat, "not a core dump"},
		{"file as debugfs", junk, Options{Format: FormatDebugfs}, ErrWrongFormat, "wants the copied kho directory"},
		{"directory as elf", dir, Options{Format: FormatELF}, ErrWrongFormat, "is a directory"},
		{"directory without kho", dir, Options{}, ErrWrongFormat, "no kho debugfs copy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := Open(tt.path, tt.opts)
			if err == nil {
				im.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.says) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q; want %v saying %q on one line", err, tt.sentinel, tt.says)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for f := FormatAuto; f <= FormatBlob; f++ {
		if got, err := ParseFormat(f.String()); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("vmdk"); err == nil {
		t.Error("ParseFormat accepted vmdk")
	}
}

func TestDebugfs(t *testing.T) {
	tests := []struct {
		name     string
		dir      string
		side     string
		want     []DebugfsBlob
		findings int
	}{
		{"in side", "debugfs/in", "", []DebugfsBlob{
			{Name: "kexec-metadata", Addr: 0x1f6000, Size: 73, BlobSize: 73},
			{Name: "LUO", Addr: 0x3b3000, Size: 32, BlobSize: 32},
		}, 0},
		{"kho dir given", "debugfs/in/kho", "in", []DebugfsBlob{
			{Name: "kexec-metadata", Addr: 0x1f6000, Size: 73, BlobSize: 73},
			{Name: "LUO", Addr: 0x3b3000, Size: 32, BlobSize: 32},
		}, 0},
		// The 233-byte out/fdt lost its strings block: addresses are
		// inferred from the property that is not the blob size.
		{"truncated out side", "debugfs/out", "", []DebugfsBlob{
			{Name: "kexec-metadata", Addr: 0x1f2000, Size: 73, BlobSize: 73},
			{Name: "LUO", Addr: 0x3a9000, Size: 32, BlobSize: 32},
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := Open(filepath.Join(vectors, tt.dir), Options{Side: tt.side})
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			if im.Format != FormatDebugfs || len(im.RootFDT) == 0 {
				t.Errorf("format %v, root FDT %d bytes", im.Format, len(im.RootFDT))
			}
			if d := cmp.Diff(tt.want, im.Debugfs.Blobs); d != "" {
				t.Errorf("blobs (-want +got):\n%s", d)
			}
			if len(im.Findings) != tt.findings {
				t.Errorf("findings %v; want %d", im.Findings, tt.findings)
			}
			var want []physmem.Range
			for _, b := range tt.want {
				want = append(want, physmem.Range{Start: b.Addr, Size: b.Size, State: physmem.Present})
				got := make([]byte, b.Size)
				if _, err := im.Memory.ReadAt(got, b.Addr); err != nil {
					t.Fatal(err)
				}
				file, _ := os.ReadFile(filepath.Join(im.Debugfs.Dir, "sub_fdts", b.Name))
				if !bytes.Equal(got, file) {
					t.Errorf("%s: memory differs from the file", b.Name)
				}
			}
			if d := cmp.Diff(want, im.Memory.Ranges()); d != "" {
				t.Errorf("ranges (-want +got):\n%s", d)
			}
		})
	}
}

func TestDebugfsProblems(t *testing.T) {
	dir := t.TempDir()
	side := filepath.Join(dir, "kho", "in")
	os.MkdirAll(filepath.Join(side, "sub_fdts"), 0o755)
	root, _ := os.ReadFile(filepath.Join(vectors, "debugfs/in/kho/in/fdt"))
	writeFile(t, side, "fdt", root)
	writeFile(t, side, "sub_fdts/LUO", make([]byte, 40))           // blob-size says 32
	writeFile(t, side, "sub_fdts/stray", make([]byte, 8))          // no node
	writeFile(t, side, "sub_fdts/kexec-metadata", make([]byte, 0)) // empty: nothing to place
	im, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Findings) != 3 {
		t.Errorf("findings %v; want two blob-size mismatches and a missing node", im.Findings)
	}
	for _, f := range im.Findings {
		if !errors.Is(f, ErrFormat) {
			t.Errorf("finding %v does not wrap ErrFormat", f)
		}
	}
	if n := len(im.Debugfs.Blobs); n != 1 {
		t.Errorf("%d blobs placed, want LUO only", n)
	}
}
