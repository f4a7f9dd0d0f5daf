package carve

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
)

const top = ^uint64(0) - 0x1fff // a range reaching the last address

// testMemory is 64 KiB of RAM at 0x10000 with a few bytes written, 8 KiB
// excluded after it, and a range reaching the top of the address space.
func testMemory(t *testing.T) *physmem.Sparse {
	var mem physmem.Sparse
	for _, r := range []physmem.Range{
		{Start: 0x10000, Size: 0x10000, State: physmem.Present},
		{Start: 0x20000, Size: 0x2000, State: physmem.Excluded},
		{Start: top, Size: 0x1fff, State: physmem.Present},
	} {
		if err := mem.AddRange(r.Start, r.Size, r.State); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []struct {
		addr uint64
		b    []byte
	}{
		{0x10010, []byte("abc")},
		{0x11000, bytes.Repeat([]byte{0xff}, 0x1000)},
		{0x13ffe, []byte{1}},
		{top + 0x1000, []byte{7}},
	} {
		if err := mem.WriteAt(w.b, w.addr); err != nil {
			t.Fatal(err)
		}
	}
	return &mem
}

func span(start, size uint64) physmem.Range {
	return physmem.Range{Start: start, Size: size, State: physmem.Present}
}

func TestKeep(t *testing.T) {
	mem := testMemory(t)
	tests := []struct {
		name           string
		preserved, ram []physmem.Range
		want           []physmem.Range
	}{
		{"nothing", nil, nil, nil},
		{"preserved present", []physmem.Range{span(0x12000, 0x2000)}, nil, []physmem.Range{span(0x12000, 0x2000)}},
		{"preserved excluded or absent left out", []physmem.Range{span(0x1f000, 0x5000)}, nil, []physmem.Range{span(0x1f000, 0x1000)}},
		{"ram excluded kept, absent left out", nil, []physmem.Range{span(0x1f000, 0x5000)}, []physmem.Range{span(0x1f000, 0x3000)}},
		{"overlaps joined", []physmem.Range{span(0x12000, 0x2000), span(0x13000, 0x2000)}, []physmem.Range{span(0x14000, 0x1000), span(0x11000, 0x1000)},
			[]physmem.Range{span(0x11000, 0x4000)}},
		{"wrapping ram saturates", nil, []physmem.Range{span(top, 1<<63)}, []physmem.Range{span(top, 0x1fff)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Keep(mem, tt.preserved, tt.ram)); diff != "" {
				t.Errorf("Keep (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSegments(t *testing.T) {
	mem := testMemory(t)
	tests := []struct {
		name        string
		spans, keep []physmem.Range
		wholePages  bool
		want        []image.Segment
	}{
		{"nothing", nil, nil, false, nil},
		{"read bytes stored up to the last", []physmem.Range{span(0x10010, 3)}, nil, false,
			[]image.Segment{{Start: 0x10000, MemSize: 0x1000, FileSize: 0x13}}},
		{"zeros read store nothing", []physmem.Range{span(0x10000, 8)}, nil, false,
			[]image.Segment{{Start: 0x10000, MemSize: 0x1000}}},
		{"whole pages store to the last non-zero byte", []physmem.Range{span(0x10000, 8)}, nil, true,
			[]image.Segment{{Start: 0x10000, MemSize: 0x1000, FileSize: 0x13}}},
		{"a stored page after a partly stored one starts a segment", []physmem.Range{span(0x10010, 3), span(0x11000, 0x1000)}, nil, false,
			[]image.Segment{{Start: 0x10000, MemSize: 0x1000, FileSize: 0x13}, {Start: 0x11000, MemSize: 0x1000, FileSize: 0x1000}}},
		{"kept memory around read pages is zeros", []physmem.Range{span(0x13ff0, 0x20)}, []physmem.Range{span(0x12000, 0x3000)}, false,
			[]image.Segment{{Start: 0x12000, MemSize: 0x1000}, {Start: 0x13000, MemSize: 0x2000, FileSize: 0xfff}}},
		{"kept memory where present or excluded", nil, []physmem.Range{span(0x1f000, 0x11000)}, false,
			[]image.Segment{{Start: 0x1f000, MemSize: 0x3000}}},
		{"reads in excluded memory dropped", []physmem.Range{span(0x20000, 0x10)}, nil, false, nil},
		{"the last page of the address space", []physmem.Range{span(top+0x1000, 0xfff)}, nil, true,
			[]image.Segment{{Start: top + 0x1000, MemSize: 0xfff, FileSize: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Segments(mem, tt.spans, tt.keep, 4096, tt.wholePages)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Segments (-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkSegmentsManyRanges carves 1000 read pages out of a filtered
// dump's memory: 200000 ranges, present and excluded pages alternating.
func BenchmarkSegmentsManyRanges(b *testing.B) {
	var mem physmem.Sparse
	for i := uint64(0); i < 200000; i++ {
		st := physmem.Present
		if i%2 == 1 {
			st = physmem.Excluded
		}
		if err := mem.AddRange(i*4096, 4096, st); err != nil {
			b.Fatal(err)
		}
	}
	var spans []physmem.Range
	for i := uint64(0); i < 1000; i++ {
		spans = append(spans, span(i*2*4096*100, 64))
	}
	for b.Loop() {
		if _, err := Segments(&mem, spans, nil, 4096, false); err != nil {
			b.Fatal(err)
		}
	}
}
