package image

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
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
}

// Segments the caller got wrong are errors wrapping ErrInvalidArgument that
// name the segment, and nothing is written.
func TestWriteELFSegmentsInvalid(t *testing.T) {
	var s physmem.Sparse
	if err := s.AddRange(0x1000, 0x4000, physmem.Present); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		segs []Segment
		want string // in the message
	}{
		{"overlap", []Segment{{0x1000, 0x2000, 0}, {0x2000, 0x1000, 0}}, "segment 1 at 0x2000 overlaps"},
		{"unsorted", []Segment{{0x2000, 0x1000, 0}, {0x1000, 0x1000, 0}}, "segment 1 at 0x1000 overlaps or precedes"},
		{"file size past memory size", []Segment{{0x1000, 0x1000, 0}, {0x2000, 0x10, 0x20}}, "segment 1 at 0x2000 stores 0x20 bytes of 0x10"},
		{"empty", []Segment{{0x1000, 0, 0}}, "segment 0 at 0x1000 is empty"},
		{"wraps", []Segment{{^uint64(0) - 5, 0x10, 0}}, "segment 0 at 0xfffffffffffffffa wraps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteELFSegments(&buf, &s, tc.segs, nil)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("%v: not ErrInvalidArgument", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: want %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes", buf.Len())
			}
		})
	}
}

// So are the kdump writer's options and ranges it cannot write.
func TestWriteKdumpInvalid(t *testing.T) {
	var s physmem.Sparse
	if err := s.AddRange(0x1000, 0x4000, physmem.Present); err != nil {
		t.Fatal(err)
	}
	present := []physmem.Range{{Start: 0x1000, Size: 0x4000, State: physmem.Present}}
	for _, tc := range []struct {
		name   string
		ranges []physmem.Range
		opts   KdumpOptions
		want   string
	}{
		{"block size not a power of two", present, KdumpOptions{BlockSize: 3000}, "block size 3000"},
		{"block size too large", present, KdumpOptions{BlockSize: 2 << 20}, "block size 2097152"},
		{"range not aligned", []physmem.Range{{Start: 0x1800, Size: 0x1000, State: physmem.Present}}, KdumpOptions{}, "not aligned to the 4096-byte block"},
		{"too many page frames", []physmem.Range{{Start: 1 << 50, Size: 0x1000, State: physmem.Excluded}}, KdumpOptions{}, "page frames need bitmaps beyond 512 MiB"},
		{"unknown compression", present, KdumpOptions{Compression: 0x80}, "cannot compress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteKdump(io.Discard, &s, tc.ranges, &tc.opts)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("%v: not ErrInvalidArgument", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: want %q", err, tc.want)
			}
		})
	}
}

// An unknown compression is refused before the bitmaps of the ranges are
// allocated: 2^30 page frames would take two 128 MiB bitmaps.
func TestWriteKdumpInvalidCompressionAllocatesLittle(t *testing.T) {
	ranges := []physmem.Range{{Start: 1<<42 - 0x1000, Size: 0x1000, State: physmem.Excluded}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := WriteKdump(io.Discard, &physmem.Sparse{}, ranges, &KdumpOptions{Compression: 0x80})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("%v: not ErrInvalidArgument", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("allocated %d bytes before refusing the compression, want at most 1 MiB", n)
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
