package physmem

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newTestMemory(t *testing.T) *Sparse {
	t.Helper()
	return sparseWith(t, Range{0x1000, 0x3000, Present}, Range{0x4000, 0x1000, Excluded}, Range{0x10000, 0x2000, Present})
}

// sparseWith is an empty Sparse describing rs.
func sparseWith(t *testing.T, rs ...Range) *Sparse {
	t.Helper()
	var s Sparse
	for _, r := range rs {
		if err := s.AddRange(r.Start, r.Size, r.State); err != nil {
			t.Fatal(err)
		}
	}
	return &s
}

func TestSparseReadWrite(t *testing.T) {
	s := newTestMemory(t)
	data := bytes.Repeat([]byte{0xab}, 5000) // crosses a page boundary
	if err := s.WriteAt(data, 0x1800); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 6000)
	n, err := s.ReadAt(got, 0x1000)
	if err != nil || n != len(got) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	want := make([]byte, 6000)
	copy(want[0x800:], data)
	// A write running past 2^64 would wrap to page 0 (absent here).
	var top Sparse
	if err := top.AddRange(^uint64(0)-0xfff, 0xfff, Present); err != nil {
		t.Fatal(err)
	}
	if err := top.WriteAt(make([]byte, 8), ^uint64(0)-3); err == nil {
		t.Error("WriteAt wrapping past 2^64 succeeded")
	}
	if !bytes.Equal(got, want) {
		t.Error("read back differs from what was written")
	}
}

func TestSparseReadErrors(t *testing.T) {
	s := newTestMemory(t)
	tests := []struct {
		name    string
		addr    uint64
		size    int
		wantN   int
		wantErr error
		errAddr uint64
	}{
		{"below RAM", 0x0, 8, 0, ErrAbsent, 0},
		{"runs into excluded", 0x3ff8, 16, 8, ErrExcluded, 0x4000},
		{"gap after excluded", 0x5000, 1, 0, ErrAbsent, 0x5000},
		{"runs off the end", 0x11ffc, 8, 4, ErrAbsent, 0x12000},
		{"wraps", ^uint64(0) - 3, 8, 0, ErrOverflow, ^uint64(0) - 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s.ReadAt(make([]byte, tt.size), tt.addr)
			if n != tt.wantN || !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadAt(%#x, %d) = %d, %v; want %d, %v", tt.addr, tt.size, n, err, tt.wantN, tt.wantErr)
			}
			var ae *AddrError
			if !errors.As(err, &ae) || ae.Addr != tt.errAddr {
				t.Errorf("error %v does not locate %#x", err, tt.errAddr)
			}
		})
	}
}

// TestStateOf checks StateOf and Described on the same spans: present and
// excluded memory are both described, and any byte outside every range is
// not.
func TestStateOf(t *testing.T) {
	s := newTestMemory(t)
	tests := []struct {
		addr, size uint64
		want       State
		described  bool
	}{
		{0x1000, 0x3000, Present, true},
		{0x3000, 0x2000, Mixed, true}, // present, then excluded
		{0x4000, 0x10, Excluded, true},
		{0x4800, 0x1000, Mixed, false}, // runs into the gap
		{0x6000, 0x10, Absent, false},
		{0x10000, 0, Present, true},
		{0x6000, 0, Absent, false},
		{^uint64(0), 2, Absent, false},
	}
	for _, tt := range tests {
		if got := StateOf(s, tt.addr, tt.size); got != tt.want {
			t.Errorf("StateOf(%#x, %#x) = %v, want %v", tt.addr, tt.size, got, tt.want)
		}
		if got := Described(s, tt.addr, tt.size); got != tt.described {
			t.Errorf("Described(%#x, %#x) = %v, want %v", tt.addr, tt.size, got, tt.described)
		}
	}
}

func TestAddRangeRejects(t *testing.T) {
	s := newTestMemory(t)
	for _, r := range []Range{{0x3000, 0x2000, Present}, {0xf000, 0x1001, Present}, {^uint64(0), 2, Present}, {0x20000, 1, Mixed}} {
		if err := s.AddRange(r.Start, r.Size, r.State); err == nil {
			t.Errorf("AddRange(%v) succeeded", r)
		}
	}
	want := []Range{{0x1000, 0x3000, Present}, {0x4000, 0x1000, Excluded}, {0x10000, 0x2000, Present}}
	if d := cmp.Diff(want, s.Ranges()); d != "" {
		t.Errorf("ranges changed (-want +got):\n%s", d)
	}
}

func TestReadLimit(t *testing.T) {
	s := newTestMemory(t)
	if _, err := Read(s, 0x1000, 1<<30, 4096); err == nil {
		t.Error("Read over its limit succeeded")
	} else if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Read over its limit: %v, want ErrTooLarge", err)
	}
	if b, err := Read(s, 0x1000, 16, 4096); err != nil || len(b) != 16 {
		t.Errorf("Read = %d bytes, %v", len(b), err)
	}
}

func TestScanRanges(t *testing.T) {
	s := newTestMemory(t)
	for _, addr := range []uint64{0x1ff0, 0x3000, 0x10000} { // the first write spans two pages
		if err := s.WriteAt([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}, addr); err != nil {
			t.Fatal(err)
		}
	}
	want := []Range{{0x1000, 0x3000, Present}, {0x10000, 0x1000, Present}}
	if d := cmp.Diff(want, ScanRanges(s, 4096)); d != "" {
		t.Errorf("Sparse stored ranges (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, ScanRanges(NewRecorder(s, 4096), 4096)); d != "" {
		t.Errorf("Recorder does not pass stored ranges on (-want +got):\n%s", d)
	}
	// A memory that cannot say what it stores is scanned over its present ranges.
	plain := struct{ Memory }{s}
	want = []Range{{0x1000, 0x3000, Present}, {0x10000, 0x2000, Present}}
	if d := cmp.Diff(want, ScanRanges(plain, 4096)); d != "" {
		t.Errorf("present ranges (-want +got):\n%s", d)
	}
}

// Stored bytes are widened to the grain, but never past present memory.
func TestScanRangesGrain(t *testing.T) {
	m := storedMemory{
		present: []Range{{0x1000, 0x3000, Present}, {0x4000, 0x1000, Excluded}, {0x10000, 0x10000, Present}},
		stored:  []Range{{0x1010, 0x10, Present}, {0x1ff0, 0x20, Present}, {0x3ff0, 0x20, Present}, {0x10800, 1, Present}},
	}
	want := []Range{{0x1000, 0x3000, Present}, {0x10000, 0x1000, Present}}
	if d := cmp.Diff(want, ScanRanges(m, 4096)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	want = []Range{{0x1010, 0x10, Present}, {0x1ff0, 0x20, Present}, {0x3ff0, 0x10, Present}, {0x10800, 1, Present}}
	if d := cmp.Diff(want, ScanRanges(m, 1)); d != "" {
		t.Errorf("grain 1 (-want +got):\n%s", d)
	}
}

type storedMemory struct{ present, stored []Range }

func (m storedMemory) ReadAt(p []byte, addr uint64) (int, error) { return 0, ErrAbsent }
func (m storedMemory) Ranges() []Range                           { return m.present }
func (m storedMemory) StoredRanges() []Range                     { return m.stored }

// A written page is stored only where it lies in present memory.
func TestSparseStoredRangesClip(t *testing.T) {
	s := sparseWith(t, Range{0x1000, 0x400, Present}, Range{0x1400, 0x400, Excluded}, Range{0x1800, 0x1000, Present}, Range{0x3000, 0x1000, Present})
	for _, addr := range []uint64{0x1000, 0x2000, 0x3000} {
		if err := s.WriteAt([]byte{1}, addr); err != nil {
			t.Fatal(err)
		}
	}
	want := []Range{{0x1000, 0x400, Present}, {0x1800, 0x1000, Present}, {0x3000, 0x1000, Present}}
	if d := cmp.Diff(want, s.StoredRanges()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// widen is the one rounding of a span to whole grains, used by ScanRanges
// and Recorder.Add.
func TestWiden(t *testing.T) {
	top := ^uint64(0)
	tests := []struct {
		name  string
		in    Range
		grain uint64
		want  Range
	}{
		{"aligned", Range{0x2000, 0x1000, Present}, 0x1000, Range{0x2000, 0x1000, Present}},
		{"inside a grain", Range{0x2010, 0x10, Present}, 0x1000, Range{0x2000, 0x1000, Present}},
		{"across grains", Range{0x2ff0, 0x20, Excluded}, 0x1000, Range{0x2000, 0x2000, Excluded}},
		{"grain 1", Range{0x2ff0, 0x20, Present}, 1, Range{0x2ff0, 0x20, Present}},
		{"rounding up passes 2^64", Range{top - 0x800, 0x10, Present}, 0x1000, Range{top - 0xfff, 0xfff, Present}},
		{"rounding up stays below 2^64", Range{top - 0x1800, 0x10, Present}, 0x1000, Range{top - 0x1fff, 0x1000, Present}},
		{"end passes 2^64", Range{top - 10, 100, Present}, 0x1000, Range{top - 0xfff, 0xfff, Present}},
		{"empty", Range{0x2010, 0, Present}, 0x1000, Range{0x2000, 0x1000, Present}},
	}
	for _, tt := range tests {
		if got := widen(tt.in, tt.grain); got != tt.want {
			t.Errorf("%s: widen(%v, %#x) = %v, want %v", tt.name, tt.in, tt.grain, got, tt.want)
		}
	}
}
