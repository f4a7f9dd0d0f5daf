package fdt

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// propIn returns a property attached to a node at /soc/x so errors can
// name a path.
func propIn(value string) *Property {
	root := &Node{}
	soc := &Node{Name: "soc", parent: root}
	x := &Node{Name: "x", parent: soc}
	x.Props = []Property{{Name: "p", Value: []byte(value), node: x, off: 0x100 + 1}}
	return &x.Props[0]
}

// wantValueError checks err wraps ErrValue and names the property, its node
// and its offset on one line.
func wantValueError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrValue) {
		t.Fatalf("error %v, want ErrValue", err)
	}
	msg := err.Error()
	for _, want := range []string{"/soc/x", `"p"`, "0x100"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %s", msg, want)
		}
	}
}

func TestAccessorsU32U64(t *testing.T) {
	for _, tc := range []struct {
		value     string
		u32       uint32
		u32ok     bool
		u64, le64 uint64
		u64ok     bool
	}{
		{"", 0, false, 0, 0, false},
		{"\x12\x34\x56\x78", 0x12345678, true, 0, 0, false},
		{"\x00\x00\x00", 0, false, 0, 0, false},
		{"\x00\xa0\x1e\x00\x00\x00\x00\x00", 0, false, 0x00a01e0000000000, 0x1ea000, true},
		{"\xfe\xed\xf0\x0d\xca\xfe\xbe\xe0", 0, false, 0xfeedf00dcafebee0, 0xe0befeca0df0edfe, true},
		{"\x00\x00\x00\x01\x00\x00\x00\x00\x00", 0, false, 0, 0, false},
	} {
		p := propIn(tc.value)
		u32, err := p.U32()
		if tc.u32ok {
			if err != nil || u32 != tc.u32 {
				t.Errorf("U32(% x) = %#x, %v; want %#x", tc.value, u32, err, tc.u32)
			}
		} else {
			wantValueError(t, err)
		}
		u64, err := p.U64()
		le, lerr := p.U64In(binary.LittleEndian)
		be, berr := p.U64In(binary.BigEndian)
		if tc.u64ok {
			if err != nil || u64 != tc.u64 || lerr != nil || le != tc.le64 || berr != nil || be != tc.u64 {
				t.Errorf("U64(% x) = %#x, %v; le %#x, %v; be %#x, %v", tc.value, u64, err, le, lerr, be, berr)
			}
		} else {
			wantValueError(t, err)
			wantValueError(t, lerr)
		}
	}
}

// TestAccessorsStrings includes u-root pkg/dt's string-list edge cases
// (its accessor panics on some valid values).
func TestAccessorsStrings(t *testing.T) {
	for _, tc := range []struct {
		value  string
		str    string
		strOK  bool
		list   []string
		listOK bool
	}{
		{"", "", false, nil, false},
		{"\x00", "", true, []string{""}, true},
		{"kho-v4\x00", "kho-v4", true, []string{"kho-v4"}, true},
		{"kho-v4", "", false, nil, false},
		{"a\x00b\x00", "", false, []string{"a", "b"}, true},
		{"a\x00\x00b\x00", "", false, []string{"a", "", "b"}, true},
		{"\x00\x00", "", false, []string{"", ""}, true},
		{"a\x00b", "", false, nil, false},
		{"\xff\xfe\x00", "\xff\xfe", true, []string{"\xff\xfe"}, true},
	} {
		p := propIn(tc.value)
		s, err := p.String()
		if tc.strOK {
			if err != nil || s != tc.str {
				t.Errorf("String(%q) = %q, %v; want %q", tc.value, s, err, tc.str)
			}
		} else {
			wantValueError(t, err)
		}
		list, err := p.Strings()
		if tc.listOK {
			if err != nil {
				t.Errorf("Strings(%q): %v", tc.value, err)
			} else if d := cmp.Diff(tc.list, list); d != "" {
				t.Errorf("Strings(%q) (-want +got):\n%s", tc.value, d)
			}
		} else {
			wantValueError(t, err)
		}
	}
}

// TestAccessorsCells includes values at 2^32 (libfdt c19a4ba promoted
// UINT32_MAX+1 wrongly).
func TestAccessorsCells(t *testing.T) {
	be := func(cells ...uint32) string {
		var b []byte
		for _, c := range cells {
			b = binary.BigEndian.AppendUint32(b, c)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name       string
		value      string
		addr, size int
		want       []Reg
		ok         bool
	}{
		{"2+1", be(0x1, 0x0, 0xffffffff), 2, 1, []Reg{{0x1_0000_0000, 0xffffffff}}, true},
		{"2+2 at 4G", be(0, 0xffffffff, 0, 1, 1, 0, 1, 0), 2, 2, []Reg{{0xffffffff, 1}, {0x1_0000_0000, 0x1_0000_0000}}, true},
		{"1+0", be(7, 8), 1, 0, []Reg{{7, 0}, {8, 0}}, true},
		{"empty", "", 2, 1, []Reg{}, true},
		{"partial pair", be(1, 2, 3, 4), 2, 1, nil, false},
		{"not cells", "\x00\x01", 1, 1, nil, false},
		{"3 address cells", be(1, 2, 3, 4), 3, 1, nil, false},
		{"0+0", be(1), 0, 0, nil, false},
		{"negative", be(1), -1, 2, nil, false},
	} {
		p := propIn(tc.value)
		regs, err := p.Regs(tc.addr, tc.size)
		if !tc.ok {
			wantValueError(t, err)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, regs); d != "" {
			t.Errorf("%s: Regs (-want +got):\n%s", tc.name, d)
		}
	}
	cells, err := propIn(be(1, 0xffffffff)).Cells()
	if err != nil || !cmp.Equal(cells, []uint32{1, 0xffffffff}) {
		t.Errorf("Cells = %v, %v", cells, err)
	}
	_, err = propIn("\x00\x00\x00\x01\x02").Cells()
	wantValueError(t, err)
}
