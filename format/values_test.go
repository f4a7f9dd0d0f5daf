package format

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValues(t *testing.T) {
	render := func(vs []Value) []string {
		var s []string
		for _, v := range vs {
			s = append(s, fmt.Sprintf("0x%02x %s = %s", v.Off, v.Path, v))
		}
		return s
	}
	f, _ := Lookup("session-block")
	vs, err := f.Values(readVector(t, "session_block_0x3e9000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0x00 header.next = 0x0",
		"0x08 header.count = 1 (0x1)",
		"0x10 entries[0].name = \"envcheck-session\"",
		"0x50 entries[0].file_set_ser.files = 0x3f808000",
		"0x58 entries[0].file_set_ser.count = 1 (0x1)",
	}
	if diff := cmp.Diff(want, render(vs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	f, _ = Lookup("folio")
	vs, err = f.Values(put(make([]byte, 16)).u64(0, 3<<52|0x3f80b).u64(8, 9))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"0x00 pfn = 260107 (0x3f80b)", "0x00 flags = 3 (0x3)", "0x08 index = 9 (0x9)"}
	if diff := cmp.Diff(want, render(vs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	f, _ = Lookup("kexec-metadata")
	b := put(make([]byte, 73)).u32(0, 1).str(4, "7.3.4\x00x")
	vs, err = f.Values(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(vs)[1]; got != "0x04 previous_release = \"7.3.4\" (stale bytes after NUL)" {
		t.Errorf("release: %s", got)
	}

	f, _ = Lookup("kho-v1-chunk")
	vs, err = f.Values(put(make([]byte, 4096)).u64(16+16*254+8, 0x9000))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3+2*255 || vs[len(vs)-1].Path != "bitmaps[254].bitmap" || vs[len(vs)-1].Off != 4088 || vs[len(vs)-1].Uint != 0x9000 {
		t.Errorf("%d values, last %+v", len(vs), vs[len(vs)-1])
	}

	f, _ = Lookup("luo-flb")
	_, err = f.Values(put(make([]byte, 4096)).u64(8, 64))
	if fe := (*FormatError)(nil); !errors.Is(err, ErrShort) || !errors.As(err, &fe) || fe.Field != "count" || fe.Off != 8 {
		t.Errorf("count 64 in one page: %v, want ErrShort at count (8)", err)
	}
	f, _ = Lookup("file-array-v1")
	vs, err = f.Values(make([]byte, 130))
	if err != nil || len(vs) != 6 {
		t.Errorf("headerless array: %d values, %v", len(vs), err)
	}
	f, _ = Lookup("kho-root")
	if _, err := f.Values(nil); !errors.Is(err, ErrNotStruct) {
		t.Errorf("FDT: %v", err)
	}
	f, _ = Lookup("memfd-v2")
	if _, err := f.Values(make([]byte, 47)); !errors.Is(err, ErrShort) {
		t.Errorf("short: %v", err)
	}
}

// TestValuesMatchCodecs checks the generic decoder against the typed codecs
// on every struct format: the same bytes give the same integers and strings.
func TestValuesMatchCodecs(t *testing.T) {
	f, _ := Lookup("memfd-v2")
	b := put(make([]byte, 48)).u64(0, 7).u64(8, 8192).u32(16, 0x3f).u32(20, 0).u64(24, 2).u64(32, 0xa000).u32(40, 1).u16(44, 1).u16(46, 0)
	vs, err := f.Values(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMemfdSerV2(b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, v := range vs {
		got[v.Path] = v.Uint
	}
	want := map[string]uint64{"pos": m.Pos, "size": m.Size, "seals": uint64(m.Seals), "flags": uint64(m.Flags), "nr_folios": m.NrFolios,
		"folios.first": m.Folios.First, "folios.total_pages": uint64(m.Folios.TotalPages), "folios.flags": uint64(m.Folios.Flags), "folios.order": uint64(m.Folios.Order)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func FuzzValues(f *testing.F) {
	var formats []*Format
	for _, ps := range PageSizes {
		for _, fm := range AllFor(ps) {
			if fm.Kind != KindFDT && (ps == Page4K || fm.PageSize != PageAny) {
				formats = append(formats, fm)
			}
		}
	}
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		fm := formats[int(b[0])%len(formats)]
		vs, err := fm.Values(b[1:])
		if err != nil {
			if vs != nil {
				t.Fatal("values with an error")
			}
			var fe *FormatError
			if !errors.As(err, &fe) || errors.Is(err, ErrTable) {
				t.Fatalf("%s: %v", fm.Name, err)
			}
			return
		}
		for _, v := range vs {
			_ = v.String()
		}
	})
}
