package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/google/go-cmp/cmp"
)

// btfTypes builds BTF types from catalogue tables, the way a C compiler would
// describe the kernel declarations.
type btfTypes struct {
	ps      PageSize
	structs map[string]*btf.Struct
	index   *btf.Int
	char    *btf.Int
	ints    map[int]*btf.Int
}

func newBTFTypes(ps PageSize) *btfTypes {
	return &btfTypes{
		ps:      ps,
		structs: map[string]*btf.Struct{},
		index:   &btf.Int{Name: "__ARRAY_SIZE_TYPE__", Size: 4},
		char:    &btf.Int{Name: "char", Size: 1, Encoding: btf.Char},
		ints: map[int]*btf.Int{
			1: {Name: "u8", Size: 1},
			2: {Name: "short unsigned int", Size: 2},
			4: {Name: "unsigned int", Size: 4},
			8: {Name: "long long unsigned int", Size: 8},
		},
	}
}

func (bt *btfTypes) array(elem btf.Type, n int) *btf.Array {
	return &btf.Array{Index: bt.index, Type: elem, Nelems: uint32(n)}
}

func (bt *btfTypes) of(t *testing.T, name string) *btf.Struct {
	t.Helper()
	f, err := LookupFor(name, bt.ps)
	if err != nil {
		t.Fatal(err)
	}
	if s := bt.structs[f.Name]; s != nil {
		return s
	}
	s := &btf.Struct{Name: f.CName, Size: uint32(f.Size)}
	for _, fl := range f.Fields {
		m := btf.Member{Name: fl.Name, Offset: btf.Bits(fl.Offset * 8)}
		switch fl.Type {
		case FieldU8, FieldU16, FieldU32, FieldU64, FieldPhys:
			m.Type = bt.ints[fl.Size]
			if fl.BitSize > 0 {
				m.Offset += btf.Bits(fl.BitOffset)
				m.BitfieldSize = btf.Bits(fl.BitSize)
			}
		case FieldChars:
			m.Type = bt.array(bt.char, fl.Size)
		case FieldBytes:
			m.Type = bt.array(bt.ints[1], fl.Size)
		case FieldBitmap:
			m.Type = bt.array(&btf.Int{Name: "long unsigned int", Size: 8}, fl.Size/8)
		case FieldStruct:
			m.Type = bt.of(t, fl.Struct)
		case FieldArray:
			if fl.Elem == FieldStruct {
				m.Type = bt.array(bt.of(t, fl.Struct), fl.Count)
			} else {
				m.Type = bt.array(bt.ints[8], fl.Count)
			}
		default:
			t.Fatalf("%s.%s: type %v", f.Name, fl.Name, fl.Type)
		}
		s.Members = append(s.Members, m)
	}
	bt.structs[f.Name] = s
	return s
}

// specOf marshals types to raw BTF and loads it back, as a kernel file would be read.
func specOf(t *testing.T, types ...btf.Type) (*btf.Spec, []byte) {
	t.Helper()
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, &btf.MarshalOptions{Order: binary.LittleEndian})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return spec, raw
}

func structFormats(ps PageSize) []*Format {
	var out []*Format
	for _, f := range AllFor(ps) {
		if f.Kind == KindStruct {
			out = append(out, f)
		}
	}
	return out
}

// TestBTFRight builds every catalogue struct (all variants, which share C
// names) into one BTF blob per page size: every struct must compare equal.
func TestBTFRight(t *testing.T) {
	for _, ps := range PageSizes {
		bt := newBTFTypes(ps)
		var types []btf.Type
		for _, f := range structFormats(ps) {
			types = append(types, bt.of(t, f.Name))
		}
		spec, raw := specOf(t, types...)
		res, err := CheckBTF(spec, structFormats(ps))
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != len(structFormats(ps)) {
			t.Errorf("%v: %d results for %d structs", ps, len(res), len(structFormats(ps)))
		}
		for _, r := range res {
			if r.State != BTFEqual {
				t.Errorf("%v %s: %v %v", ps, r.Format.Name, r.State, r.Diffs)
			}
		}
		// The same through a file, as khodump would load it.
		path := filepath.Join(t.TempDir(), "raw.btf")
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		res2, err := CheckBTFFile(path, structFormats(ps))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(res, res2); diff != "" {
			t.Errorf("file vs spec (-spec +file):\n%s", diff)
		}
	}
}

// TestBTFWrong breaks one thing at a time in each struct and expects exactly
// that difference.
func TestBTFWrong(t *testing.T) {
	type mutation struct {
		name   string
		mutate func(s *btf.Struct, f *Format) bool // false: does not apply
		want   func(f *Format) []BTFDiff
	}
	lastPlain := func(f *Format) int {
		for i := len(f.Fields) - 1; i >= 0; i-- {
			if f.Fields[i].BitSize == 0 {
				return i
			}
		}
		return -1
	}
	mutations := []mutation{
		{"struct size", func(s *btf.Struct, f *Format) bool { s.Size += 8; return true },
			func(f *Format) []BTFDiff {
				return []BTFDiff{{Kind: DiffSize, Want: int64(f.Size), Got: int64(f.Size + 8)}}
			}},
		{"offset", func(s *btf.Struct, f *Format) bool {
			i := lastPlain(f)
			if i < 0 {
				return false
			}
			s.Members[i].Offset += 8
			return true
		}, func(f *Format) []BTFDiff {
			fl := f.Fields[lastPlain(f)]
			return []BTFDiff{{Field: fl.Name, Kind: DiffOffset, Want: int64(fl.Offset), Got: int64(fl.Offset + 1)}}
		}},
		{"missing", func(s *btf.Struct, f *Format) bool { s.Members = s.Members[1:]; return true },
			func(f *Format) []BTFDiff {
				return []BTFDiff{{Field: f.Fields[0].Name, Kind: DiffMissing, Want: int64(f.Fields[0].Offset)}}
			}},
		{"extra", func(s *btf.Struct, f *Format) bool {
			s.Members = append(s.Members, btf.Member{Name: "zzz", Type: &btf.Int{Name: "u8", Size: 1}, Offset: 0})
			return true
		}, func(f *Format) []BTFDiff { return []BTFDiff{{Field: "zzz", Kind: DiffExtra, Got: 0}} }},
		{"member size", func(s *btf.Struct, f *Format) bool {
			for i, fl := range f.Fields {
				if fl.Type == FieldU64 && fl.BitSize == 0 || fl.Type == FieldPhys {
					s.Members[i].Type = &btf.Int{Name: "unsigned int", Size: 4}
					return true
				}
			}
			return false
		}, func(f *Format) []BTFDiff {
			for _, fl := range f.Fields {
				if fl.Type == FieldU64 && fl.BitSize == 0 || fl.Type == FieldPhys {
					return []BTFDiff{{Field: fl.Name, Kind: DiffSize, Want: 8, Got: 4}}
				}
			}
			return nil
		}},
		{"char count", func(s *btf.Struct, f *Format) bool {
			for i, fl := range f.Fields {
				if fl.Type == FieldChars {
					a := *s.Members[i].Type.(*btf.Array)
					a.Nelems--
					s.Members[i].Type = &a
					return true
				}
			}
			return false
		}, func(f *Format) []BTFDiff {
			for _, fl := range f.Fields {
				if fl.Type == FieldChars {
					return []BTFDiff{
						{Field: fl.Name, Kind: DiffSize, Want: int64(fl.Size), Got: int64(fl.Size - 1)},
						{Field: fl.Name, Kind: DiffCount, Want: int64(fl.Size), Got: int64(fl.Size - 1)},
					}
				}
			}
			return nil
		}},
		{"nested type", func(s *btf.Struct, f *Format) bool {
			for i, fl := range f.Fields {
				if fl.Type == FieldStruct {
					n := *s.Members[i].Type.(*btf.Struct)
					n.Name = "other"
					s.Members[i].Type = &n
					return true
				}
			}
			return false
		}, func(f *Format) []BTFDiff {
			for _, fl := range f.Fields {
				if fl.Type == FieldStruct {
					n, _ := LookupFor(fl.Struct, pageOf(f))
					return []BTFDiff{{Field: fl.Name, Kind: DiffType, WantType: "struct " + n.CName, GotType: "other"}}
				}
			}
			return nil
		}},
		{"bitfield width", func(s *btf.Struct, f *Format) bool {
			for i, fl := range f.Fields {
				if fl.BitSize > 0 {
					s.Members[i].BitfieldSize--
					return true
				}
			}
			return false
		}, func(f *Format) []BTFDiff {
			for _, fl := range f.Fields {
				if fl.BitSize > 0 {
					return []BTFDiff{{Field: fl.Name, Kind: DiffBitSize, Want: int64(fl.BitSize), Got: int64(fl.BitSize - 1)}}
				}
			}
			return nil
		}},
		{"bitfield offset", func(s *btf.Struct, f *Format) bool {
			for i := len(f.Fields) - 1; i >= 0; i-- {
				if f.Fields[i].BitSize > 0 {
					s.Members[i].Offset--
					return true
				}
			}
			return false
		}, func(f *Format) []BTFDiff {
			for i := len(f.Fields) - 1; i >= 0; i-- {
				if fl := f.Fields[i]; fl.BitSize > 0 {
					at := int64(fl.Offset*8 + fl.BitOffset)
					return []BTFDiff{{Field: fl.Name, Kind: DiffBitOffset, Want: at, Got: at - 1}}
				}
			}
			return nil
		}},
		{"bitfield lost", func(s *btf.Struct, f *Format) bool {
			for i, fl := range f.Fields {
				if fl.BitSize > 0 {
					s.Members[i].BitfieldSize = 0
					return true
				}
			}
			return false
		}, func(f *Format) []BTFDiff {
			for _, fl := range f.Fields {
				if fl.BitSize > 0 {
					return []BTFDiff{{Field: fl.Name, Kind: DiffBitSize, Want: int64(fl.BitSize), Got: 0}}
				}
			}
			return nil
		}},
	}
	applied := map[string]int{}
	for _, ps := range PageSizes {
		for _, f := range structFormats(ps) {
			for _, m := range mutations {
				bt := newBTFTypes(ps)
				orig := bt.of(t, f.Name)
				s := *orig
				s.Members = append([]btf.Member(nil), orig.Members...)
				if !m.mutate(&s, f) {
					continue
				}
				applied[m.name]++
				spec, _ := specOf(t, &s)
				res, err := CheckBTF(spec, []*Format{f})
				if err != nil {
					t.Fatal(err)
				}
				if len(res) != 1 || res[0].State != BTFDifferent {
					t.Errorf("%v %s %s: %+v", ps, f.Name, m.name, res)
					continue
				}
				if diff := cmp.Diff(m.want(f), res[0].Diffs); diff != "" {
					t.Errorf("%v %s %s (-want +got):\n%s", ps, f.Name, m.name, diff)
				}
			}
		}
	}
	for _, m := range mutations {
		if applied[m.name] == 0 {
			t.Errorf("mutation %q applied to no struct", m.name)
		}
	}
}

func TestBTFAbsent(t *testing.T) {
	spec, _ := specOf(t, &btf.Struct{Name: "unrelated", Size: 8, Members: []btf.Member{{Name: "x", Type: &btf.Int{Name: "u64", Size: 8}}}})
	// A union of the same name is not the struct.
	spec2, _ := specOf(t, &btf.Union{Name: "kho_data", Size: 8, Members: []btf.Member{{Name: "x", Type: &btf.Int{Name: "u64", Size: 8}}}})
	for _, s := range []*btf.Spec{spec, spec2} {
		res, err := CheckBTF(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.State != BTFAbsent || r.Diffs != nil {
				t.Errorf("%s: %v %v", r.Format.Name, r.State, r.Diffs)
			}
		}
	}
	if _, err := CheckBTFFile(filepath.Join(t.TempDir(), "none"), nil); err == nil {
		t.Error("missing file: no error")
	}
}

// TestBTFHostKernel compares the catalogue with the running kernel's BTF. The
// host's kernel has struct kho_data; the LUO structs appear only in kernels
// built with LIVEUPDATE.
func TestBTFHostKernel(t *testing.T) {
	const path = "/sys/kernel/btf/vmlinux"
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		t.Skip(path + " not present")
	}
	res, err := CheckBTFFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range res {
		t.Logf("%-24s %-22s %v %v", r.Format.Name, r.Format.CName, r.State, r.Diffs)
		if r.Format.Name == "kho-data" {
			found = true
			if r.State != BTFEqual {
				t.Errorf("kho_data: %v %v", r.State, r.Diffs)
			}
		}
	}
	if !found {
		t.Error("no result for kho-data")
	}
}

// TestBTFHandBuilt checks the catalogue against structs written by hand from
// abi.md's quick reference (not from the tables), including the packed
// kho_kexec_metadata whose u32 sits at the unaligned offset 69.
func TestBTFHandBuilt(t *testing.T) {
	u32 := &btf.Int{Name: "u32", Size: 4}
	u64 := &btf.Int{Name: "u64", Size: 8}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Char}
	idx := &btf.Int{Name: "__ARRAY_SIZE_TYPE__", Size: 4}
	chars := func(n uint32) *btf.Array { return &btf.Array{Index: idx, Type: char, Nelems: n} }
	fileSet := &btf.Struct{Name: "luo_file_set_ser", Size: 16, Members: []btf.Member{
		{Name: "files", Type: u64}, {Name: "count", Type: u64, Offset: 64}}}
	types := []btf.Type{
		&btf.Struct{Name: "kho_kexec_metadata", Size: 73, Members: []btf.Member{
			{Name: "version", Type: u32}, {Name: "previous_release", Type: chars(65), Offset: 32}, {Name: "kexec_count", Type: u32, Offset: 69 * 8}}},
		&btf.Struct{Name: "luo_flb_ser", Size: 64, Members: []btf.Member{
			{Name: "name", Type: chars(48)}, {Name: "data", Type: u64, Offset: 384}, {Name: "count", Type: u64, Offset: 448}}},
		&btf.Struct{Name: "luo_session_ser", Size: 80, Members: []btf.Member{
			{Name: "name", Type: chars(64)}, {Name: "file_set_ser", Type: fileSet, Offset: 512}}},
		&btf.Struct{Name: "memfd_luo_folio_ser", Size: 16, Members: []btf.Member{
			{Name: "pfn", Type: u64, BitfieldSize: 52}, {Name: "flags", Type: u64, Offset: 52, BitfieldSize: 12}, {Name: "index", Type: u64, Offset: 64}}},
		&btf.Struct{Name: "luo_ser", Size: 32, Members: []btf.Member{
			{Name: "compatible", Type: chars(8)}, {Name: "liveupdate_num", Type: u64, Offset: 64},
			{Name: "sessions_pa", Type: u64, Offset: 128}, {Name: "flbs_pa", Type: u64, Offset: 192}}},
	}
	spec, _ := specOf(t, types...)
	res, err := CheckBTF(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]BTFState{
		"kexec-metadata": BTFEqual, "flb-ser": BTFEqual, "session-ser": BTFEqual, "file-set": BTFEqual,
		"folio": BTFEqual, "luo-ser": BTFEqual,
		// Other variants of the same C names differ from a 7.3 kernel.
		"session-ser-v1": BTFDifferent, "luo-ser-v2": BTFDifferent, "luo-ser-v3": BTFEqual, "luo-ser-v4": BTFEqual,
		"luo-ser-v5-block-v1": BTFDifferent, "luo-ser-v3-kho-block-v1": BTFDifferent, "luo-ser-v4-kho-block-v1": BTFDifferent,
	}
	got := map[string]BTFState{}
	for _, r := range res {
		if r.State != BTFAbsent {
			got[r.Format.Name] = r.State
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, r := range res {
		if r.Format.Name == "session-ser-v1" {
			wantDiffs := []BTFDiff{{Kind: DiffSize, Want: 64, Got: 80}, {Field: "file_set_ser", Kind: DiffExtra, Got: 64}}
			if diff := cmp.Diff(wantDiffs, r.Diffs); diff != "" {
				t.Errorf("session-ser-v1 diffs (-want +got):\n%s", diff)
			}
		}
	}
}
