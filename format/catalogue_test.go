package format

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCatalogueNames(t *testing.T) {
	required := []string{"fdt", "kho-root", "luo-ser", "luo-flb", "session-block", "file-block", "memfd-v1",
		"memfd-v2", "kexec-metadata", "vmalloc-chunk", "kho-v1-chunk", "radix-node", "kho-data", "scratch"}
	for _, n := range required {
		if _, err := Lookup(n); err != nil {
			t.Errorf("Lookup(%q): %v", n, err)
		}
	}
	for _, ps := range PageSizes {
		seen := map[string]bool{}
		for _, f := range AllFor(ps) {
			for _, n := range append([]string{f.Name}, f.Aliases...) {
				if seen[n] {
					t.Errorf("%v: name %q used twice", ps, n)
				}
				seen[n] = true
			}
		}
	}
	if _, err := Lookup("no-such"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Lookup(no-such): %v", err)
	}
	if _, err := LookupFor("radix-node", 8192); !errors.Is(err, ErrPageSize) {
		t.Errorf("LookupFor 8 KiB: %v", err)
	}
	if f, _ := Lookup("luo-ser-v5"); f == nil || f.Name != "luo-ser" {
		t.Errorf("alias luo-ser-v5 -> %v", f)
	}
}

// TestCatalogueLayout checks each table against itself: fields in order,
// inside the struct, no gaps or overlaps (bitfields share one storage unit),
// nested and array sizes consistent, and containers' capacities.
func TestCatalogueLayout(t *testing.T) {
	for _, ps := range PageSizes {
		for _, f := range AllFor(ps) {
			switch f.Kind {
			case KindStruct:
				checkStruct(t, ps, f)
			case KindContainer:
				e, err := LookupFor(f.Entry, ps)
				if err != nil {
					t.Errorf("%s: entry: %v", f.Name, err)
					continue
				}
				hs := 0
				if f.Header != "" {
					h, err := LookupFor(f.Header, ps)
					if err != nil {
						t.Errorf("%s: header: %v", f.Name, err)
						continue
					}
					hs = h.Size
				}
				if want := (f.Bytes - hs) / e.Size; f.Capacity != want {
					t.Errorf("%v %s: capacity %d, want %d", ps, f.Name, f.Capacity, want)
				}
			case KindFDT:
				if len(f.Nodes) == 0 && f.Name != "fdt" {
					t.Errorf("%s: FDT format without nodes", f.Name)
				}
			default:
				t.Errorf("%s: kind %v", f.Name, f.Kind)
			}
			if f.Status.String() == "" || f.Since == "" {
				t.Errorf("%s: status %v since %q", f.Name, f.Status, f.Since)
			}
		}
	}
}

func checkStruct(t *testing.T, ps PageSize, f *Format) {
	t.Helper()
	if f.CName == "" || len(f.Fields) == 0 {
		t.Errorf("%s: struct without C name or fields", f.Name)
		return
	}
	if f.PageSize != PageAny && f.PageSize != ps {
		t.Errorf("%s: page size %v in the %v catalogue", f.Name, f.PageSize, ps)
	}
	end := 0
	for i, fl := range f.Fields {
		if fl.BitSize > 0 {
			prevShares := i > 0 && f.Fields[i-1].Offset == fl.Offset && f.Fields[i-1].BitSize > 0
			if prevShares {
				prev := f.Fields[i-1]
				if fl.BitOffset != prev.BitOffset+prev.BitSize {
					t.Errorf("%s.%s: bitfield gap", f.Name, fl.Name)
				}
				end = fl.Offset + fl.Size
				if fl.BitOffset+fl.BitSize > 8*fl.Size {
					t.Errorf("%s.%s: bitfield beyond its unit", f.Name, fl.Name)
				}
				continue
			}
		}
		if fl.Offset != end {
			t.Errorf("%v %s.%s: offset %d, previous field ends at %d", ps, f.Name, fl.Name, fl.Offset, end)
		}
		end = fl.Offset + fl.Size
		switch fl.Type {
		case FieldU8, FieldU16, FieldU32, FieldU64, FieldPhys:
			want := map[FieldType]int{FieldU8: 1, FieldU16: 2, FieldU32: 4, FieldU64: 8, FieldPhys: 8}[fl.Type]
			if fl.Size != want {
				t.Errorf("%s.%s: %v of %d bytes", f.Name, fl.Name, fl.Type, fl.Size)
			}
		case FieldStruct:
			n, err := LookupFor(fl.Struct, ps)
			if err != nil || n.Size != fl.Size {
				t.Errorf("%s.%s: nested %q: size %d vs %v, %v", f.Name, fl.Name, fl.Struct, fl.Size, n, err)
			}
		case FieldArray:
			es := 8
			if fl.Elem == FieldStruct {
				n, err := LookupFor(fl.Struct, ps)
				if err != nil {
					t.Errorf("%s.%s: %v", f.Name, fl.Name, err)
					continue
				}
				es = n.Size
			}
			if fl.Count*es != fl.Size {
				t.Errorf("%s.%s: %d x %d != %d", f.Name, fl.Name, fl.Count, es, fl.Size)
			}
		case FieldBitmap:
			if fl.Count != 8*fl.Size {
				t.Errorf("%s.%s: %d bits in %d bytes", f.Name, fl.Name, fl.Count, fl.Size)
			}
		}
	}
	if end != f.Size {
		t.Errorf("%v %s: fields end at %d, size %d", ps, f.Name, end, f.Size)
	}
}

func TestGeometry(t *testing.T) {
	want := map[PageSize]Geometry{
		Page4K: {PageSize: Page4K, KhoserBitmapSize: 255, PreserveBits: 32768, VmallocSize: 511,
			SessionsPerBlock: 51, FilesPerBlock: 63, FLBMax: 63, SessionMax: 819, FileMax: 128},
		Page16K: {PageSize: Page16K, KhoserBitmapSize: 1023, PreserveBits: 131072, VmallocSize: 2047,
			SessionsPerBlock: 204, FilesPerBlock: 255, FLBMax: 255, SessionMax: 3276, FileMax: 512},
		Page64K: {PageSize: Page64K, KhoserBitmapSize: 4095, PreserveBits: 524288, VmallocSize: 8191,
			SessionsPerBlock: 819, FilesPerBlock: 1023, FLBMax: 1023, SessionMax: 13107, FileMax: 2048},
	}
	for ps, w := range want {
		g, err := GeometryFor(ps)
		if err != nil {
			t.Fatal(err)
		}
		g.Radix = RadixGeometry{}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%v (-want +got):\n%s", ps, diff)
		}
	}
	if _, err := GeometryFor(0); !errors.Is(err, ErrPageSize) {
		t.Errorf("GeometryFor(0): %v", err)
	}
}

func TestByCompatible(t *testing.T) {
	names := func(compat string) []string {
		fs, err := ByCompatible(compat)
		if err != nil {
			t.Errorf("ByCompatible(%q): %v", compat, err)
		}
		var s []string
		for _, f := range fs {
			s = append(s, f.Name)
		}
		return s
	}
	tests := map[string][]string{
		"kho-v4":                     {"kho-root", "block-header"},
		"kho-v1":                     {"kho-root-v1", "kho-v1-chunk-header", "kho-v1-bitmap-ptr", "kho-v1-chunk", "kho-v1-bitmap", "kho-v1-bitmap-512"},
		"kho-v4;radix-v1;vmalloc-v1": {"kho-root-composite"},
		"luo-v5":                     {"luo-ser", "session-block", "file-block"},
		"luo-v5;block-v1":            {"luo-ser-v5-block-v1"},
		"luo-v1":                     {"luo-fdt-v1"},
		"memfd-v2":                   {"memfd-v2"},
		"memblock-v1":                {"memblock"},
		"reserve-mem-v1":             {"reserve-mem"},
		"luo-flb-v1":                 {"flb-header", "flb-ser", "luo-flb"},
		"radix-v1":                   {"radix-node", "radix-leaf"},
	}
	for compat, want := range tests {
		if diff := cmp.Diff(want, names(compat)); diff != "" {
			t.Errorf("ByCompatible(%q) (-want +got):\n%s", compat, diff)
		}
	}
	if _, err := ByCompatible("kho-v9"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("kho-v9: %v", err)
	}
}

// TestEveryCodec decodes zeroed bytes of the right size through each
// format's Decode and re-encodes them, so no catalogue struct lacks a codec.
func TestEveryCodec(t *testing.T) {
	for _, ps := range PageSizes {
		for _, f := range AllFor(ps) {
			size := f.Size
			if f.Kind == KindContainer {
				size = f.Bytes
			}
			b := make([]byte, size)
			switch f.CName {
			case "luo_ser":
				copy(b, f.Compatible)
			case "kho_kexec_metadata":
				b[0] = 1
			}
			v, err := f.Decode(b)
			if f.Kind == KindFDT || f.Name == "file-array-v1" {
				if !errors.Is(err, ErrNotStruct) {
					t.Errorf("%s: %v, want ErrNotStruct", f.Name, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%v %s: %v", ps, f.Name, err)
				continue
			}
			enc, err := Encode(v)
			if err != nil {
				t.Errorf("%v %s: encode: %v", ps, f.Name, err)
				continue
			}
			if f.Kind == KindStruct && f.Name != "scratch" && !bytes.Equal(enc, b) {
				t.Errorf("%v %s: %d bytes re-encoded to %d", ps, f.Name, len(b), len(enc))
			}
			if f.Kind == KindStruct && f.Name != "scratch" && f.Name != "memfd-v2-vmalloc-v1" && v.Format() != f {
				t.Errorf("%v %s: Format() = %v", ps, f.Name, v.Format())
			}
		}
	}
}
