package image

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

func TestWriteELFSegments(t *testing.T) {
	var s physmem.Sparse
	if err := s.AddRange(0x1000, 0x4000, physmem.Present); err != nil {
		t.Fatal(err)
	}
	page := bytes.Repeat([]byte{0xab}, 0x1000)
	if err := s.WriteAt(page, 0x1000); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAt(page, 0x2000); err != nil {
		t.Fatal(err)
	}
	segs := []Segment{{0x1000, 0x1000, 0x10}, {0x2000, 0x1000, 0x1000}, {0x3000, 0x1000, 0}}
	for _, vmci := range [][]byte{nil, []byte("OSRELEASE=7.3.4\n")} {
		var buf bytes.Buffer
		if err := WriteELFSegments(&buf, &s, segs, &ELFOptions{VMCoreInfo: vmci}); err != nil {
			t.Fatal(err)
		}
		e, err := NewELF(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Findings) != 0 {
			t.Errorf("findings: %v", e.Findings)
		}
		wantRanges := []physmem.Range{{Start: 0x1000, Size: 0x3000, State: physmem.Present}}
		if d := cmp.Diff(wantRanges, e.Ranges()); d != "" {
			t.Errorf("ranges (-want +got):\n%s", d)
		}
		got := make([]byte, 0x3000)
		if _, err := e.ReadAt(got, 0x1000); err != nil {
			t.Fatal(err)
		}
		want := make([]byte, 0x3000)
		copy(want, page[:0x10])
		copy(want[0x1000:], page)
		if !bytes.Equal(got, want) {
			t.Error("contents differ: stored prefix, full page and zero page expected")
		}
		if vmci != nil && (e.VMCoreInfo == nil || e.VMCoreInfo.Text != "OSRELEASE=7.3.4\n") {
			t.Errorf("VMCOREINFO = %+v", e.VMCoreInfo)
		}
	}
	for name, bad := range map[string][]Segment{
		"overlap":  {{0x1000, 0x2000, 0}, {0x2000, 0x1000, 0}},
		"unsorted": {{0x2000, 0x1000, 0}, {0x1000, 0x1000, 0}},
		"filesz":   {{0x1000, 0x10, 0x20}},
		"empty":    {{0x1000, 0, 0}},
		"wrap":     {{^uint64(0) - 5, 0x10, 0}},
	} {
		if err := WriteELFSegments(&bytes.Buffer{}, &s, bad, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAppendSegment(t *testing.T) {
	for _, tc := range []struct {
		name string
		segs []Segment
		s    Segment
		want []Segment
	}{
		{"first", nil, Segment{0x1000, 0x1000, 0x10}, []Segment{{0x1000, 0x1000, 0x10}}},
		{"gap", []Segment{{0x1000, 0x1000, 0x1000}}, Segment{0x3000, 0x1000, 0x1000},
			[]Segment{{0x1000, 0x1000, 0x1000}, {0x3000, 0x1000, 0x1000}}},
		{"zeros extend a partly stored segment", []Segment{{0x1000, 0x1000, 0x10}}, Segment{0x2000, 0x1000, 0},
			[]Segment{{0x1000, 0x2000, 0x10}}},
		{"a whole segment takes stored bytes", []Segment{{0x1000, 0x1000, 0x1000}}, Segment{0x2000, 0x1000, 0x20},
			[]Segment{{0x1000, 0x2000, 0x1020}}},
		{"stored bytes after zeros stay apart", []Segment{{0x1000, 0x1000, 0x10}}, Segment{0x2000, 0x1000, 0x20},
			[]Segment{{0x1000, 0x1000, 0x10}, {0x2000, 0x1000, 0x20}}},
	} {
		got := AppendSegment(tc.segs, tc.s)
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}
