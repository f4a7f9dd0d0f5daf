package format

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// BTFState says how a catalogue struct compares with a kernel's BTF.
type BTFState uint8

const (
	BTFEqual     BTFState = iota + 1 // the kernel's struct has exactly the catalogue's layout
	BTFAbsent                        // the kernel's BTF has no struct of that name (not built, or another era)
	BTFDifferent                     // present, but some member or the size differs (see Diffs)
)

// String returns the name of the value.
func (s BTFState) String() string {
	switch s {
	case BTFEqual:
		return "equal"
	case BTFAbsent:
		return "absent"
	case BTFDifferent:
		return "different"
	}
	return fmt.Sprintf("BTFState(%d)", uint8(s))
}

// BTFDiffKind names what differs.
type BTFDiffKind uint8

const (
	DiffSize      BTFDiffKind = iota + 1 // struct size (Field "") or member size, in bytes
	DiffOffset                           // member offset, in bytes
	DiffBitOffset                        // bitfield offset from the struct start, in bits
	DiffBitSize                          // bitfield width in bits (0 = not a bitfield)
	DiffCount                            // array element count
	DiffType                             // nested struct type name (WantType, GotType)
	DiffMissing                          // member in the catalogue, not in the kernel
	DiffExtra                            // member in the kernel, not in the catalogue (Got = its offset)
)

// String returns the name of the value.
func (k BTFDiffKind) String() string {
	switch k {
	case DiffSize:
		return "size"
	case DiffOffset:
		return "offset"
	case DiffBitOffset:
		return "bit-offset"
	case DiffBitSize:
		return "bit-size"
	case DiffCount:
		return "count"
	case DiffType:
		return "type"
	case DiffMissing:
		return "missing"
	case DiffExtra:
		return "extra"
	}
	return fmt.Sprintf("BTFDiffKind(%d)", uint8(k))
}

// BTFDiff is one difference between a catalogue table and a BTF struct.
type BTFDiff struct {
	Field             string // member name, "" for the struct itself
	Kind              BTFDiffKind
	Want, Got         int64  // catalogue and kernel values (unit per Kind)
	WantType, GotType string // for DiffType
}

// String describes the difference.
func (d BTFDiff) String() string {
	name := d.Field
	if name == "" {
		name = "struct"
	}
	switch d.Kind {
	case DiffMissing:
		return fmt.Sprintf("%s: missing in kernel (catalogue offset %d)", name, d.Want)
	case DiffExtra:
		return fmt.Sprintf("%s: not in catalogue (kernel offset %d)", name, d.Got)
	case DiffType:
		return fmt.Sprintf("%s: type %s, kernel has %s", name, d.WantType, d.GotType)
	}
	return fmt.Sprintf("%s: %s %d, kernel has %d", name, d.Kind, d.Want, d.Got)
}

// BTFResult is the comparison of one catalogue struct.
type BTFResult struct {
	Format *Format
	State  BTFState
	Diffs  []BTFDiff
}

// String gives "name (struct cname): state", with the differences.
func (r BTFResult) String() string {
	s := fmt.Sprintf("%s (struct %s): %s", r.Format.Name, r.Format.CName, r.State)
	for i, d := range r.Diffs {
		if i == 0 {
			s += ": "
		} else {
			s += "; "
		}
		s += d.String()
	}
	return s
}

// CheckBTFFile loads BTF from path (raw BTF such as /sys/kernel/btf/vmlinux,
// or an ELF vmlinux with a .BTF section) and runs CheckBTF.
func CheckBTFFile(path string, formats []*Format) ([]BTFResult, error) {
	spec, err := btf.LoadSpec(path)
	if err != nil {
		return nil, fmt.Errorf("format: load BTF %s: %w", path, err)
	}
	return CheckBTF(spec, formats)
}

// CheckBTF compares every struct format in formats (all struct formats of the
// 4 KiB catalogue when formats is nil) with the struct of the same C name in
// spec. BTF has no __packed flag and no macros, so only offsets, sizes, bitfields,
// array counts and nested struct names are compared. Several catalogue
// entries share a C name (luo_ser, memfd_luo_ser, ...): at most one of them can
// equal a given kernel. If spec holds several structs of that name, one equal
// candidate makes the result equal; otherwise the first one's diffs are given.
func CheckBTF(spec *btf.Spec, formats []*Format) ([]BTFResult, error) {
	if formats == nil {
		formats = All()
	}
	var out []BTFResult
	for _, f := range formats {
		if f.Kind != KindStruct || f.CName == "" {
			continue
		}
		cands, err := structsByName(spec, f.CName)
		if err != nil {
			return nil, fmt.Errorf("format: BTF lookup of struct %s: %w", f.CName, err)
		}
		res := BTFResult{Format: f, State: BTFAbsent}
		for i, s := range cands {
			diffs, err := compareStruct(f, s)
			if err != nil {
				return nil, fmt.Errorf("format: BTF struct %s: %w", f.CName, err)
			}
			if len(diffs) == 0 {
				res.State, res.Diffs = BTFEqual, nil
				break
			}
			if i == 0 {
				res.State, res.Diffs = BTFDifferent, diffs
			}
		}
		out = append(out, res)
	}
	return out, nil
}

func structsByName(spec *btf.Spec, name string) ([]*btf.Struct, error) {
	types, err := spec.AnyTypesByName(name)
	if errors.Is(err, btf.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*btf.Struct
	for _, t := range types {
		if s, ok := t.(*btf.Struct); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// compareStruct computes every difference; offsets come from the BTF members
// directly (never from a Go rendering of the type, which pads packed structs).
func compareStruct(f *Format, s *btf.Struct) ([]BTFDiff, error) {
	var diffs []BTFDiff
	if int64(s.Size) != int64(f.Size) {
		diffs = append(diffs, BTFDiff{Kind: DiffSize, Want: int64(f.Size), Got: int64(s.Size)})
	}
	members := make(map[string]btf.Member, len(s.Members))
	for _, m := range s.Members {
		members[m.Name] = m
	}
	known := make(map[string]bool, len(f.Fields))
	for _, fl := range f.Fields {
		known[fl.Name] = true
		m, ok := members[fl.Name]
		if !ok {
			diffs = append(diffs, BTFDiff{Field: fl.Name, Kind: DiffMissing, Want: int64(fl.Offset)})
			continue
		}
		d, err := compareMember(f, fl, m)
		if err != nil {
			return nil, err
		}
		diffs = append(diffs, d...)
	}
	for _, m := range s.Members {
		if !known[m.Name] {
			diffs = append(diffs, BTFDiff{Field: m.Name, Kind: DiffExtra, Got: int64(m.Offset / 8)})
		}
	}
	return diffs, nil
}

func compareMember(f *Format, fl Field, m btf.Member) ([]BTFDiff, error) {
	var diffs []BTFDiff
	if fl.BitSize > 0 || m.BitfieldSize > 0 {
		if int64(m.BitfieldSize) != int64(fl.BitSize) {
			diffs = append(diffs, BTFDiff{Field: fl.Name, Kind: DiffBitSize, Want: int64(fl.BitSize), Got: int64(m.BitfieldSize)})
		}
		if want := int64(fl.Offset*8 + fl.BitOffset); int64(m.Offset) != want {
			diffs = append(diffs, BTFDiff{Field: fl.Name, Kind: DiffBitOffset, Want: want, Got: int64(m.Offset)})
		}
		if fl.BitSize > 0 {
			return diffs, nil
		}
	} else if int64(m.Offset) != int64(fl.Offset)*8 {
		diffs = append(diffs, BTFDiff{Field: fl.Name, Kind: DiffOffset, Want: int64(fl.Offset), Got: int64(m.Offset) / 8})
	}
	size, err := btf.Sizeof(m.Type)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", m.Name, err)
	}
	if int64(size) != int64(fl.Size) {
		diffs = append(diffs, BTFDiff{Field: fl.Name, Kind: DiffSize, Want: int64(fl.Size), Got: int64(size)})
	}
	under := btf.UnderlyingType(m.Type)
	switch fl.Type {
	case FieldStruct:
		want := ""
		if n, err := LookupFor(fl.Struct, pageOf(f)); err == nil {
			want = n.CName
		}
		got := under.TypeName()
		if _, ok := under.(*btf.Struct); !ok {
			got = fmt.Sprintf("%s (not a struct)", under)
		}
		if got != want {
			diffs = append(diffs, BTFDiff{Field: fl.Name, Kind: DiffType, WantType: "struct " + want, GotType: got})
		}
	case FieldArray, FieldChars:
		want := fl.Count
		if fl.Type == FieldChars {
			want = fl.Size
		}
		if a, ok := under.(*btf.Array); ok && int64(a.Nelems) != int64(want) {
			diffs = append(diffs, BTFDiff{Field: fl.Name, Kind: DiffCount, Want: int64(want), Got: int64(a.Nelems)})
		}
	}
	return diffs, nil
}
