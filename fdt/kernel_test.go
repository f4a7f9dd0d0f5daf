package fdt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "fdt", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestKernelFDT checks every value the vectors README lists for the two
// kernel FDTs, and that they re-encode byte for byte.
func TestKernelFDT(t *testing.T) {
	for _, tc := range []struct {
		file                      string
		memMap, luoData, metaData uint64
		luoSize, metaSize         uint64
	}{
		{"kernel/kho_in_fdt_stage2.dtb", 0x1ee000, 0x3b3000, 0x1f6000, 32, 73},
		{"kernel/kho_out_fdt_stage1_0x1eb000.dtb", 0x1ea000, 0x3a9000, 0, 32, 73},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			data := readTestdata(t, tc.file)
			tree, err := Decode(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(data, nil); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if len(tree.Findings) != 0 {
				t.Errorf("findings: %v", tree.Findings)
			}
			compat, err := tree.Root.Prop("compatible").String()
			if err != nil || compat != "kho-v4" {
				t.Errorf("compatible = %q, %v; want kho-v4", compat, err)
			}
			le := func(path, prop string) uint64 {
				t.Helper()
				p := tree.Lookup(path).Prop(prop)
				if p == nil {
					t.Fatalf("%s: no property %s", path, prop)
				}
				v, err := p.U64In(binary.LittleEndian)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			if got := le("/", "preserved-memory-map"); got != tc.memMap {
				t.Errorf("preserved-memory-map = %#x, want %#x", got, tc.memMap)
			}
			if got := le("/LUO", "preserved-data"); got != tc.luoData {
				t.Errorf("LUO preserved-data = %#x, want %#x", got, tc.luoData)
			}
			if got := le("/LUO", "blob-size"); got != tc.luoSize {
				t.Errorf("LUO blob-size = %d, want %d", got, tc.luoSize)
			}
			if tc.metaData != 0 {
				if got := le("/kexec-metadata", "preserved-data"); got != tc.metaData {
					t.Errorf("kexec-metadata preserved-data = %#x, want %#x", got, tc.metaData)
				}
			}
			if got := le("/kexec-metadata", "blob-size"); got != tc.metaSize {
				t.Errorf("kexec-metadata blob-size = %d, want %d", got, tc.metaSize)
			}
			out, err := tree.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, data) {
				t.Errorf("Encode differs from the kernel's bytes:\ngot  %x\nwant %x", out, data)
			}
		})
	}
}

func TestReadHeader(t *testing.T) {
	data := readTestdata(t, "kernel/kho_in_fdt_stage2.dtb")
	h, err := ReadHeader(data[:40])
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Magic: Magic, TotalSize: 285, OffDtStruct: 0x38, OffDtStrings: 0xe4, OffMemRsvmap: 0x28,
		Version: 17, LastCompVersion: 16, SizeDtStrings: 0x39, SizeDtStruct: 0xac}
	if h != want {
		t.Errorf("ReadHeader = %+v, want %+v", h, want)
	}
	if _, err := ReadHeader(data[:39]); !errors.Is(err, ErrTruncated) {
		t.Errorf("39 bytes: %v, want ErrTruncated", err)
	}
}
