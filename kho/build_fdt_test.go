package kho

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/fdt"
)

// rootVectors are the 7.3.4 roots and the values they hold (vectors
// README; the stage-1 kexec-metadata address is read from its bytes).
var rootVectors = []struct {
	file     string
	mapAddr  uint64
	luo, kex uint64 // preserved-data of LUO and kexec-metadata
}{
	{"kho_in_fdt_stage2.dtb", 0x1ee000, 0x3b3000, 0x1f6000},
	{"kho_out_fdt_stage1_0x1eb000.dtb", 0x1ea000, 0x3a9000, 0x1f2000},
}

func vectorRoot(mapAddr, luo, kex uint64) *Handover {
	return &Handover{
		Compatible: "kho-v4",
		MemoryMap:  MemoryMap{Addr: mapAddr},
		Subtrees: []Subtree{
			{Name: "LUO", Addr: luo, Size: 32},
			{Name: "kexec-metadata", Addr: kex, Size: kexecMetadataBlobSize},
		},
	}
}

// TestEncodeRootFDTVectors: encoding the values a 7.3.4 kernel wrote
// reproduces its root FDT byte for byte, and so does re-encoding what
// DecodeRoot makes of those bytes.
func TestEncodeRootFDTVectors(t *testing.T) {
	for _, v := range rootVectors {
		t.Run(v.file, func(t *testing.T) {
			want := readVector(t, v.file)
			got, err := EncodeRootFDT(vectorRoot(v.mapAddr, v.luo, v.kex))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("root FDT (-kernel +encoded):\n%s", d)
			}
			mem, _ := vectorMemory(t, nil)
			h, err := DecodeRoot(mem, want, nil)
			if err != nil {
				t.Fatal(err)
			}
			again, err := EncodeRootFDT(h)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, again); d != "" {
				t.Errorf("root FDT (-kernel +decoded and re-encoded):\n%s", d)
			}
		})
	}
}

// TestBuildRootFDTBytes: the root the builder lays out for the vectors'
// values is the kernel's, byte for byte, once the three addresses (which
// the builder chooses) are put back.
func TestBuildRootFDTBytes(t *testing.T) {
	v := rootVectors[0]
	kernel := readVector(t, v.file)
	b, err := Build(vectorHandover(), nil)
	if err != nil {
		t.Fatal(err)
	}
	built := readPhys(t, b.Mem, b.RootAddr, len(kernel))
	hb := b.Handover
	var luo, kex uint64
	for _, s := range hb.Subtrees {
		switch s.Name {
		case "LUO":
			luo = s.Addr
		case "kexec-metadata":
			kex = s.Addr
		}
	}
	want := bytes.Clone(kernel)
	for _, r := range []struct{ kernel, built uint64 }{{v.mapAddr, hb.MemoryMap.Addr}, {v.luo, luo}, {v.kex, kex}} {
		k := bldLE.AppendUint64(nil, r.kernel)
		if bytes.Count(want, k) != 1 {
			t.Fatalf("address %#x is not in the vector exactly once", r.kernel)
		}
		i := bytes.Index(want, k)
		bldLE.PutUint64(want[i:], r.built)
	}
	if d := cmp.Diff(want, built); d != "" {
		t.Errorf("root FDT (-kernel with built addresses +built):\n%s", d)
	}
	if _, err := fdt.Decode(built, nil); err != nil {
		t.Errorf("built root: %v", err)
	}
}

// TestEncodeRootFDTStrings: the strings table follows the kernel's order
// for every root version, and a blob decodes back to the values.
func TestEncodeRootFDTStrings(t *testing.T) {
	for _, tc := range []struct {
		compat string
		subs   []Subtree
		want   string
	}{
		{"kho-v1", []Subtree{{Name: "a", Addr: 0x5000}}, "fdt\x00preserved-memory-map\x00compatible\x00"},
		{"kho-v1", nil, "preserved-memory-map\x00compatible\x00"},
		{"kho-v2", []Subtree{{Name: "a", Addr: 0x5000}}, "preserved-memory-map\x00compatible\x00preserved-data\x00"},
		{"kho-v3", []Subtree{{Name: "a", Addr: 0x5000, Size: 7}}, "preserved-memory-map\x00compatible\x00preserved-data\x00blob-size\x00"},
		{"kho-v4;radix-v1;vmalloc-v1", nil, "preserved-memory-map\x00compatible\x00preserved-data\x00blob-size\x00"},
	} {
		t.Run(tc.compat, func(t *testing.T) {
			blob, err := EncodeRootFDT(&Handover{Compatible: tc.compat, MemoryMap: MemoryMap{Addr: 0x3000}, Subtrees: tc.subs})
			if err != nil {
				t.Fatal(err)
			}
			off, size := bigEndian32(blob[12:]), bigEndian32(blob[32:])
			if d := cmp.Diff(tc.want, string(blob[off:off+size])); d != "" {
				t.Errorf("strings (-want +got):\n%s", d)
			}
			tree, err := fdt.Decode(blob, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := tree.Root.Prop("preserved-memory-map").U64In(bldLE); got != 0x3000 {
				t.Errorf("preserved-memory-map %#x", got)
			}
		})
	}
	if _, err := EncodeRootFDT(&Handover{Compatible: "kho-v9"}); err == nil {
		t.Error("EncodeRootFDT accepted kho-v9")
	}
}

func bigEndian32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
