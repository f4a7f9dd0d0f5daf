package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// put builds test bytes at offsets taken from abi.md's quick reference,
// independently of the catalogue tables.
type put []byte

func (p put) u16(off int, v uint16) put { binary.LittleEndian.PutUint16(p[off:], v); return p }
func (p put) u32(off int, v uint32) put { binary.LittleEndian.PutUint32(p[off:], v); return p }
func (p put) u64(off int, v uint64) put { binary.LittleEndian.PutUint64(p[off:], v); return p }
func (p put) str(off int, s string) put { copy(p[off:], s); return p }

func TestStructCodecs(t *testing.T) {
	stale := mustCS(t, "luo-v5", 8)
	stale[7] = 'x' // garbage after the NUL must survive the round trip
	tests := []struct {
		name string
		in   []byte
		dec  func([]byte) (Struct, error)
		want Struct
	}{
		{"setup-data", put(make([]byte, 16)).u64(0, 0x1000).u32(8, SetupKexecKHO).u32(12, 32),
			func(b []byte) (Struct, error) { return DecodeSetupData(b) },
			SetupData{Next: 0x1000, Type: 10, Len: 32}},
		{"kho-data", put(make([]byte, 32)).u64(0, 0x1eb000).u64(8, 4096).u64(16, 0x7000000).u64(24, 64),
			func(b []byte) (Struct, error) { return DecodeKHOData(b) },
			KHOData{FDTAddr: 0x1eb000, FDTSize: 4096, ScratchAddr: 0x7000000, ScratchSize: 64}},
		{"scratch-array", put(make([]byte, 40)).u64(0, 0x1000000).u64(8, 0x400000).u64(16, 0x8000000).u64(24, 0x800000),
			func(b []byte) (Struct, error) { return DecodeScratchArray(b[:32]) },
			ScratchArray{Entries: []Scratch{{0x1000000, 0x400000}, {0x8000000, 0x800000}}}},
		{"kho-v1-chunk-header", put(make([]byte, 16)).u64(0, 0x5000).u32(8, 3).u32(12, 7),
			func(b []byte) (Struct, error) { return DecodeKhoserChunkHeader(b) },
			KhoserChunkHeader{Next: 0x5000, Order: 3, NumElms: 7}},
		{"kho-v1-bitmap-ptr", put(make([]byte, 16)).u64(0, 1<<27).u64(8, 0x6000),
			func(b []byte) (Struct, error) { return DecodeBitmapPtr(b) },
			BitmapPtr{PhysStart: 1 << 27, Bitmap: 0x6000}},
		{"vmalloc", put(make([]byte, 16)).u64(0, 0x9000).u32(8, 12).u16(12, 1).u16(14, 2),
			func(b []byte) (Struct, error) { return DecodeVmalloc(b) },
			Vmalloc{First: 0x9000, TotalPages: 12, Flags: 1, Order: 2}},
		{"block-header", put(make([]byte, 16)).u64(0, 0x3e9000).u64(8, 51),
			func(b []byte) (Struct, error) { return DecodeBlockHeader(b) },
			BlockHeader{Next: 0x3e9000, Count: 51}},
		{"luo-ser v5", put(make([]byte, 32)).str(0, "luo-v5").u64(8, 1).u64(16, 0x3e9000).u64(24, 0x3b8000),
			func(b []byte) (Struct, error) { return DecodeLUOSer(b) },
			LUOSer{Compatible: mustCS(t, "luo-v5", 8), LiveupdateNum: 1, SessionsPA: 0x3e9000, FLBsPA: 0x3b8000}},
		{"luo-ser v5 stale padding", put(make([]byte, 32)).str(0, "luo-v5\x00x").u64(8, 2),
			func(b []byte) (Struct, error) { return DecodeLUOSer(b) },
			LUOSer{Compatible: stale, LiveupdateNum: 2}},
		{"luo-ser v5;block-v1", put(make([]byte, 40)).str(0, "luo-v5;block-v1").u64(16, 3).u64(24, 0x1000).u64(32, 0x2000),
			func(b []byte) (Struct, error) { return DecodeLUOSer(b) },
			LUOSer{Compatible: mustCS(t, "luo-v5;block-v1", 16), LiveupdateNum: 3, SessionsPA: 0x1000, FLBsPA: 0x2000}},
		{"luo-ser v4-kho-block-v1", put(make([]byte, 48)).str(0, "luo-v4-kho-block-v1").u64(24, 4).u64(32, 0x1000).u64(40, 0x2000),
			func(b []byte) (Struct, error) { return DecodeLUOSer(b) },
			LUOSer{Compatible: mustCS(t, "luo-v4-kho-block-v1", 24), LiveupdateNum: 4, SessionsPA: 0x1000, FLBsPA: 0x2000}},
		{"luo-ser v2", put(make([]byte, 24)).u64(0, 5).u64(8, 0x1000).u64(16, 0),
			func(b []byte) (Struct, error) { return DecodeLUOSerV2(b) },
			LUOSer{LiveupdateNum: 5, SessionsPA: 0x1000}},
		{"session-header", put(make([]byte, 8)).u64(0, 2),
			func(b []byte) (Struct, error) { return DecodeSessionHeader(b) },
			SessionHeader{Count: 2}},
		{"session-ser-v1", put(make([]byte, 64)).str(0, "s1"),
			func(b []byte) (Struct, error) { return DecodeSessionSerV1(b) },
			SessionSerV1{Name: mustCS(t, "s1", 64)}},
		{"memfd-v1", put(make([]byte, 40)).u64(0, 7).u64(8, 8192).u64(16, 2).u64(24, 0xa000).u32(32, 1).u16(36, 1).u16(38, 0),
			func(b []byte) (Struct, error) { return DecodeMemfdSerV1(b) },
			MemfdSerV1{Pos: 7, Size: 8192, NrFolios: 2, Folios: Vmalloc{First: 0xa000, TotalPages: 1, Flags: 1}}},
		{"memfd-v2", put(make([]byte, 48)).u64(0, 7).u64(8, 8192).u32(16, 0x3f).u32(20, 0).u64(24, 2).u64(32, 0xa000).u32(40, 1).u16(44, 1).u16(46, 0),
			func(b []byte) (Struct, error) { return DecodeMemfdSerV2(b) },
			MemfdSerV2{Pos: 7, Size: 8192, Seals: 0x3f, NrFolios: 2, Folios: Vmalloc{First: 0xa000, TotalPages: 1, Flags: 1}}},
		// abi.md: flags 0x3 with pfn P gives word 0x003<<52 | P.
		{"folio", put(make([]byte, 16)).u64(0, 0x3<<52|0x3f80b).u64(8, 9),
			func(b []byte) (Struct, error) { return DecodeFolioSer(b) },
			FolioSer{PFN: 0x3f80b, Flags: 3, Index: 9}},
		{"folio max", put(make([]byte, 16)).u64(0, ^uint64(0)).u64(8, ^uint64(0)),
			func(b []byte) (Struct, error) { return DecodeFolioSer(b) },
			FolioSer{PFN: 1<<52 - 1, Flags: 0xfff, Index: ^uint64(0)}},
		{"kexec-metadata unterminated", put(make([]byte, 73)).u32(0, 1).str(4, string(bytes.Repeat([]byte{'a'}, 65))).u32(69, 2),
			func(b []byte) (Struct, error) { return DecodeKexecMetadata(b) },
			KexecMetadata{Version: 1, PreviousRelease: CString(bytes.Repeat([]byte{'a'}, 65)), KexecCount: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.dec(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decode (-want +got):\n%s", diff)
			}
			enc, err := Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.in
			if sa, ok := got.(ScratchArray); ok {
				want = tt.in[:len(sa.Entries)*16]
			}
			if !bytes.Equal(enc, want) {
				t.Errorf("re-encoded\n%x\nwant\n%x", enc, want)
			}
			if _, isArray := got.(ScratchArray); got.Format() == nil || (!isArray && got.Format().Size != len(enc)) {
				t.Errorf("Format() = %v for %d bytes", got.Format(), len(enc))
			}
		})
	}
}

func TestPageCodecs(t *testing.T) {
	for _, ps := range PageSizes {
		g := mustGeometry(ps)
		p := int(ps)
		t.Run(ps.String(), func(t *testing.T) {
			// vmalloc chunk: next, then runs ended by 0.
			b := put(make([]byte, p)).u64(0, 0x7000).u64(8, 0x10000).u64(16, 0x20000)
			vc, err := DecodeVmallocChunk(b, ps)
			if err != nil {
				t.Fatal(err)
			}
			if vc.Next != 0x7000 || len(vc.Phys) != g.VmallocSize || !cmp.Equal(vc.Runs(), []uint64{0x10000, 0x20000}) {
				t.Errorf("vmalloc chunk: next %#x, %d slots, runs %x", vc.Next, len(vc.Phys), vc.Runs())
			}
			roundTrip(t, vc, b)

			// radix node: last table slot.
			b = put(make([]byte, p)).u64(p-8, 0xabc000)
			rn, err := DecodeRadixNode(b, ps)
			if err != nil {
				t.Fatal(err)
			}
			if len(rn.Table) != g.Radix.TableEntries() || rn.Table[len(rn.Table)-1] != 0xabc000 {
				t.Errorf("radix node: %d entries, last %#x", len(rn.Table), rn.Table[len(rn.Table)-1])
			}
			roundTrip(t, rn, b)

			// radix leaf: bit 9 (word 0 bit 9 = byte 1 bit 1) and the last bit.
			b = make([]byte, p)
			b[1] = 0x02
			b[p-1] = 0x80
			rl, err := DecodeRadixLeaf(b, ps)
			if err != nil {
				t.Fatal(err)
			}
			if !rl.Test(9) || rl.Test(8) || !rl.Test(g.Radix.LeafBits()-1) || rl.Test(g.Radix.LeafBits()) {
				t.Errorf("radix leaf bits wrong")
			}
			roundTrip(t, rl, b)

			// kho-v1 chunk: header and the last bitmap pointer.
			b = put(make([]byte, p)).u64(0, 0x8000).u32(8, 2).u32(12, 1).u64(16, 1<<29).u64(24, 0x9000).u64(p-16, 0x55).u64(p-8, 0x66)
			kc, err := DecodeKhoserChunk(b, ps)
			if err != nil {
				t.Fatal(err)
			}
			want := KhoserChunkHeader{Next: 0x8000, Order: 2, NumElms: 1}
			if kc.Header != want || len(kc.Bitmaps) != g.KhoserBitmapSize ||
				kc.Bitmaps[0] != (BitmapPtr{1 << 29, 0x9000}) || kc.Bitmaps[len(kc.Bitmaps)-1] != (BitmapPtr{0x55, 0x66}) || len(kc.Used()) != 1 {
				t.Errorf("kho-v1 chunk: %+v, %d bitmaps", kc.Header, len(kc.Bitmaps))
			}
			roundTrip(t, kc, b)

			pb, err := DecodePhysBits(b, ps)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, pb, b)
		})
	}
}

func roundTrip(t *testing.T, s Struct, want []byte) {
	t.Helper()
	got, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%T: re-encoding differs from input", s)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		sentinel error
		field    string
		off      int64
	}{
		{"short flb-ser", second(DecodeFLBSer(make([]byte, 63))), ErrShort, "", 63},
		{"flb count beyond bytes", second(DecodeFLBPage(put(make([]byte, 80)).u64(8, 2))), ErrShort, "count", 8},
		{"flb count huge", second(DecodeFLBPage(put(make([]byte, 4096)).u64(8, 1<<62))), ErrShort, "count", 8},
		{"flb header short", second(DecodeFLBPage(make([]byte, 10))), ErrShort, "header", 10},
		{"session block count", second(DecodeSessionBlock(put(make([]byte, 4096)).u64(8, 52))), ErrShort, "count", 8},
		{"file block count", second(DecodeFileBlock(put(make([]byte, 4096)).u64(8, 64))), ErrShort, "count", 8},
		{"session array v1 count", second(DecodeSessionArrayV1(put(make([]byte, 8+80)).u64(0, 2))), ErrShort, "count", 0},
		{"file array v1", second(DecodeFileArrayV1(make([]byte, 64), 2)), ErrShort, "count", 0},
		{"folios", second(DecodeFolios(make([]byte, 40), 3)), ErrShort, "count", 0},
		{"kexec version 2", second(DecodeKexecMetadata(put(make([]byte, 73)).u32(0, 2))), ErrUnknownVersion, "version", 0},
		{"kexec short", second(DecodeKexecMetadata(put(make([]byte, 72)).u32(0, 1))), ErrShort, "", 72},
		{"luo-ser unknown", second(DecodeLUOSer(put(make([]byte, 32)).str(0, "luo-v6"))), ErrUnknownVersion, "compatible", 0},
		{"luo-ser v5x", second(DecodeLUOSer(put(make([]byte, 32)).str(0, "luo-v5x"))), ErrUnknownVersion, "compatible", 0},
		{"luo-ser unterminated", second(DecodeLUOSer(bytes.Repeat([]byte{'a'}, 48))), ErrUnknownVersion, "compatible", 0},
		{"luo-ser short unterminated", second(DecodeLUOSer([]byte("luo-v5"))), ErrShort, "compatible", 6},
		{"luo-ser short", second(DecodeLUOSer([]byte("luo-v5\x00\x00\x01"))), ErrShort, "", 9},
		{"radix node page size", second(DecodeRadixNode(make([]byte, 8192), 8192)), ErrPageSize, "", -1},
		{"memfd unknown", second(DecodeMemfd("memfd-v3", make([]byte, 48))), ErrUnknownVersion, "compatible", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.sentinel) {
				t.Fatalf("error %v does not wrap %v", tt.err, tt.sentinel)
			}
			if tt.off < 0 {
				return
			}
			var fe *FormatError
			if !errors.As(tt.err, &fe) {
				t.Fatalf("%v is not a *FormatError", tt.err)
			}
			if fe.Field != tt.field || fe.Off != tt.off {
				t.Errorf("located at %q %#x, want %q %#x (%v)", fe.Field, fe.Off, tt.field, tt.off, tt.err)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func TestEntryErrorLocation(t *testing.T) {
	// An entry that fails to decode is reported at its offset in the page: make
	// the second session entry's nested table lookup impossible by truncating
	// nothing; instead check relocation directly.
	err := relocate(&FormatError{Format: "flb-ser", Field: "name", Off: 0, Msg: "x", Err: ErrValue}, "luo-flb", "entries[2]", 16+2*64)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Format != "luo-flb" || fe.Field != "entries[2].name" || fe.Off != 144 || !errors.Is(err, ErrValue) {
		t.Errorf("relocated error %v", err)
	}
	want := "format: luo-flb.entries[2].name at byte 0x90: x"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		s    Struct
	}{
		{"short name", FLBSer{Name: CString("abc")}},
		{"nil name", FileSer{}},
		{"long release", KexecMetadata{Version: 1, PreviousRelease: make(CString, 66)}},
		{"pfn too wide", FolioSer{PFN: 1 << 52}},
		{"flags too wide", FolioSer{Flags: 1 << 12}},
		{"radix node odd size", RadixNode{Table: make([]uint64, 100)}},
		{"vmalloc chunk odd size", VmallocChunk{Phys: make([]uint64, 10)}},
		{"luo-ser unknown compat", LUOSer{Compatible: CString("luo-v9\x00\x00")}},
		{"luo-ser wrong length", LUOSer{Compatible: CString("luo-v5\x00")}},
		{"session entry", SessionBlock{Header: BlockHeader{Count: 1}, Entries: []SessionSer{{Name: CString("x")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte{1, 2, 3}
			out, err := tt.s.Append(dst)
			if err == nil {
				t.Fatalf("no error, encoded %x", out)
			}
			if !errors.Is(err, ErrValue) && !errors.Is(err, ErrUnknownVersion) {
				t.Errorf("error %v wraps neither ErrValue nor ErrUnknownVersion", err)
			}
			if tt.name != "session entry" && !bytes.Equal(out, dst) {
				t.Errorf("failed Append returned %x, want the original %x", out, dst)
			}
		})
	}
}

func TestCString(t *testing.T) {
	c, err := MakeCString("memfd-v2", 48)
	if err != nil || len(c) != 48 || c.String() != "memfd-v2" || !c.Terminated() || !c.CleanPadding() {
		t.Errorf("MakeCString: %q %v", c, err)
	}
	if _, err := MakeCString("0123456789", 10); !errors.Is(err, ErrValue) {
		t.Errorf("10 chars into char[10]: %v", err)
	}
	if _, err := MakeCString("a\x00b", 10); !errors.Is(err, ErrValue) {
		t.Errorf("embedded NUL: %v", err)
	}
	u := CString("abc")
	if u.Terminated() || u.CleanPadding() || u.String() != "abc" {
		t.Errorf("unterminated: %v %v %q", u.Terminated(), u.CleanPadding(), u.String())
	}
	s := CString("ab\x00c")
	if !s.Terminated() || s.CleanPadding() || s.String() != "ab" {
		t.Errorf("stale padding: %v %v %q", s.Terminated(), s.CleanPadding(), s.String())
	}
}
