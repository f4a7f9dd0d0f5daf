package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFlagStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{FolioFlagsString(0), "0"},
		{FolioFlagsString(FolioAllFlags), "DIRTY|UPTODATE"},
		{FolioFlagsString(0x802), "UPTODATE|0x800"},
		{SealsString(MemfdAllSeals), "SEAL|SHRINK|GROW|WRITE|FUTURE_WRITE|EXEC"},
		{SealsString(0x48), "WRITE|0x40"},
		{VmallocFlagsString(VmallocAlloc), "ALLOC"},
		{VmallocFlagsString(0x4), "0x4"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	got := []string{
		StatusMainline.String(), StatusSeriesInternal.String(), StatusPosted.String(), Status(9).String(),
		KindStruct.String(), KindContainer.String(), KindFDT.String(), Kind(0).String(),
		FieldU8.String(), FieldPhys.String(), FieldBitmap.String(), FieldType(99).String(),
		Page4K.String(), Page16K.String(), Page64K.String(), PageAny.String(), PageSize(8192).String(),
		PropString.String(), PropU64Native.String(), PropAddrSize.String(), PropType(0).String(),
		BTFEqual.String(), BTFAbsent.String(), BTFDifferent.String(), BTFState(0).String(),
		DiffSize.String(), DiffExtra.String(), BTFDiffKind(0).String(),
	}
	want := []string{
		"mainline", "series-internal", "posted", "Status(9)",
		"struct", "container", "fdt", "Kind(0)",
		"u8", "phys", "bitmap", "FieldType(99)",
		"4KiB", "16KiB", "64KiB", "any", "PageSize(8192)",
		"string", "u64-native", "addr-size-cells", "PropType(0)",
		"equal", "absent", "different", "BTFState(0)",
		"size", "extra", "BTFDiffKind(0)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	diffs := []string{
		BTFDiff{Kind: DiffSize, Want: 48, Got: 40}.String(),
		BTFDiff{Field: "seals", Kind: DiffMissing, Want: 16}.String(),
		BTFDiff{Field: "zzz", Kind: DiffExtra, Got: 3}.String(),
		BTFDiff{Field: "folios", Kind: DiffType, WantType: "struct kho_vmalloc", GotType: "other"}.String(),
	}
	wantDiffs := []string{
		"struct: size 48, kernel has 40",
		"seals: missing in kernel (catalogue offset 16)",
		"zzz: not in catalogue (kernel offset 3)",
		"folios: type struct kho_vmalloc, kernel has other",
	}
	if diff := cmp.Diff(wantDiffs, diffs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := Names(); len(n) != len(All()) || n[0] != "fdt" {
		t.Errorf("Names: %v", n)
	}
}

func TestArrayCodecs(t *testing.T) {
	f1, _ := MakeCString("memfd-v1", 48)
	f2, _ := MakeCString("memfd-v2", 48)
	files := FileArrayV1{Entries: []FileSer{{Compatible: f1, Data: 1, Token: 2}, {Compatible: f2, Data: 3, Token: 4}}}
	b, err := Encode(files)
	if err != nil || len(b) != 128 {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	got, err := DecodeFileArrayV1(append(b, make([]byte, 64)...), 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	n, _ := MakeCString("s", 64)
	sa := SessionArrayV1{Header: SessionHeader{Count: 1}, Entries: []SessionSer{{Name: n, FileSet: FileSetSer{Files: 0x2000, Count: 2}}}}
	b, err = Encode(sa)
	if err != nil || len(b) != 88 {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	sa2, err := DecodeSessionArrayV1(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sa, sa2); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := DecodeSessionArrayV1(b[:87]); !errors.Is(err, ErrShort) {
		t.Errorf("short array: %v", err)
	}

	fa := FolioArray{Entries: []FolioSer{{PFN: 1, Flags: 3, Index: 0}, {PFN: 2, Flags: 1, Index: 1}}}
	b, err = Encode(fa)
	if err != nil {
		t.Fatal(err)
	}
	fa2, err := DecodeFolios(b, 2)
	if err != nil || !cmp.Equal(fa, fa2) || fa.Format().Name != "folio" {
		t.Errorf("folios: %+v %v", fa2, err)
	}
	if (ScratchArray{}).Format().Name != "scratch" || files.Format().Name != "file-array-v1" {
		t.Error("container formats")
	}
	pb := PhysBits{Preserve: make([]byte, 512)}
	pb.Preserve[511] = 0x80
	if !pb.Test(4095) || pb.Test(4094) || pb.Test(4096) || pb.Test(-1) || pb.Format().Name != "kho-v1-bitmap-512" {
		t.Error("512-byte bitmap")
	}
	enc, err := Encode(pb)
	if err != nil || !bytes.Equal(enc, pb.Preserve) {
		t.Errorf("512-byte bitmap encode: %v", err)
	}
}

// TestTableMismatch drives the cursors with a table that does not match the
// codec's expectations: the result is an ErrTable error, never a panic.
func TestTableMismatch(t *testing.T) {
	bogus := &Format{Name: "bogus", Kind: KindStruct, Size: 8, Fields: []Field{u64f("a", 0, "")}}
	r := newReader(bogus, make([]byte, 8))
	r.u32("a")
	if err := r.done(); !errors.Is(err, ErrTable) {
		t.Errorf("wrong type: %v", err)
	}
	r = newReader(bogus, make([]byte, 8))
	r.u64("a")
	r.u64("b")
	if err := r.done(); !errors.Is(err, ErrTable) {
		t.Errorf("read past the table: %v", err)
	}
	r = newReader(bogus, make([]byte, 8))
	if err := r.done(); !errors.Is(err, ErrTable) {
		t.Errorf("field not read: %v", err)
	}
	r = newReader(bogus, make([]byte, 8))
	s := r.sub("a")
	s.u64("x")
	r.end(&s)
	if err := r.done(); !errors.Is(err, ErrTable) {
		t.Errorf("sub of a scalar: %v", err)
	}
	w := newWriter(bogus, nil)
	w.u32("a", 1)
	if out, err := w.done(); !errors.Is(err, ErrTable) || len(out) != 0 {
		t.Errorf("writer wrong type: %x %v", out, err)
	}
	w = newWriter(bogus, []byte{9})
	if out, err := w.done(); !errors.Is(err, ErrTable) || !bytes.Equal(out, []byte{9}) {
		t.Errorf("writer field not written: %x %v", out, err)
	}
	nested := &Format{Name: "nested", Kind: KindStruct, Size: 8, Fields: []Field{structf("n", 0, 8, "no-such", "")}}
	r = newReader(nested, make([]byte, 8))
	s = r.sub("n")
	r.end(&s)
	if err := r.done(); !errors.Is(err, ErrTable) {
		t.Errorf("unknown nested struct: %v", err)
	}
}

func TestCStringJSON(t *testing.T) {
	clean, _ := MakeCString("memfd-v2", 8+1)
	tests := []struct {
		in   CString
		want string
	}{
		{clean, `{"string":"memfd-v2","terminated":true}`},
		{CString("ab\x00c"), `{"string":"ab","terminated":true,"raw":"61620063"}`},
		{CString("abc"), `{"string":"abc","terminated":false,"raw":"616263"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("%q: %s %v, want %s", tt.in, b, err, tt.want)
		}
	}
	r := BTFResult{Format: fmtMemfdV2, State: BTFDifferent, Diffs: []BTFDiff{{Kind: DiffSize, Want: 48, Got: 40}, {Field: "seals", Kind: DiffMissing, Want: 16}}}
	if got, want := r.String(), "memfd-v2 (struct memfd_luo_ser): different: struct: size 48, kernel has 40; seals: missing in kernel (catalogue offset 16)"; got != want {
		t.Errorf("BTFResult: %q", got)
	}
}

// TestPageSizedFormatByLength checks that a page-sized value whose array
// length fits no supported page size has no format and refuses to encode,
// and that the length of each page size finds that size's format.
func TestPageSizedFormatByLength(t *testing.T) {
	for _, ps := range PageSizes {
		g := mustGeometry(ps)
		for _, v := range []Struct{
			KhoserChunk{Bitmaps: make([]BitmapPtr, g.KhoserBitmapSize)},
			RadixNode{Table: make([]uint64, g.Radix.TableEntries())},
			VmallocChunk{Phys: make([]uint64, g.VmallocSize)},
		} {
			if f := v.Format(); f == nil || f.PageSize != ps {
				t.Errorf("%v %T: Format() = %v", ps, v, f)
			}
		}
	}
	for _, v := range []Struct{
		KhoserChunk{Bitmaps: make([]BitmapPtr, 256)},
		RadixNode{Table: make([]uint64, 511)},
		VmallocChunk{Phys: make([]uint64, 512)},
	} {
		if f := v.Format(); f != nil {
			t.Errorf("%T of a wrong length: Format() = %v, want nil", v, f)
		}
		if _, err := Encode(v); !errors.Is(err, ErrValue) {
			t.Errorf("%T of a wrong length: Encode error %v, want ErrValue", v, err)
		}
	}
}
