package physmem

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecorder(t *testing.T) {
	s := sparseWith(t,
		Range{0x1000, 0x5000, Present},
		Range{0x6000, 0x800, Present}, // half a page
		Range{0x10000, 0x1000, Excluded},
	)
	// check compares what rec recorded with want; its Ranges are always
	// the wrapped memory's.
	check := func(name string, rec *Recorder, want []Range) {
		t.Helper()
		if d := cmp.Diff(want, rec.Recorded()); d != "" {
			t.Errorf("%s Recorded (-want +got):\n%s", name, d)
		}
		if d := cmp.Diff(s.Ranges(), rec.Ranges()); d != "" {
			t.Errorf("%s Ranges differ from the wrapped memory's:\n%s", name, d)
		}
	}
	r := NewRecorder(s, 4096)
	buf := make([]byte, 16)
	for _, addr := range []uint64{0x1ff8, 0x1000, 0x4010} { // the first crosses into 0x2000
		if _, err := r.ReadAt(buf, addr); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := r.ReadAt(buf, 0x67f8); err == nil || n != 8 { // 8 bytes present, then absent
		t.Fatalf("read across the end: n=%d err=%v", n, err)
	}
	if _, err := r.ReadAt(buf, 0x10000); err == nil { // excluded: nothing read, nothing recorded
		t.Fatal("excluded read succeeded")
	}
	if _, err := r.ReadAt(buf, 0x20000); err == nil {
		t.Fatal("absent read succeeded")
	}
	r.Add(^uint64(0)-10, 100) // saturates, clipped away: not present
	check("page-grain", r, []Range{
		{Start: 0x1000, Size: 0x2000, State: Present},
		{Start: 0x4000, Size: 0x1000, State: Present},
		{Start: 0x6000, Size: 0x800, State: Present},
	})

	exact := NewRecorder(s, 1)
	for _, addr := range []uint64{0x1ff8, 0x1000, 0x1004, 0x1010, 0x4010} {
		if _, err := exact.ReadAt(buf, addr); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3000; i++ { // enough to compact
		exact.ReadAt(buf[:1], 0x5000+uint64(i%100))
	}
	check("byte-exact", exact, []Range{
		{Start: 0x1000, Size: 0x20, State: Present}, // 0x1000+16, 0x1004+16, 0x1010+16 joined
		{Start: 0x1ff8, Size: 0x10, State: Present},
		{Start: 0x4010, Size: 0x10, State: Present},
		{Start: 0x5000, Size: 100, State: Present},
	})
}

// A grain that is not a power of two records whole 4 KiB pages, as 0 does.
func TestRecorderGrainDefault(t *testing.T) {
	s := sparseWith(t, Range{0x1000, 0x3000, Present})
	for _, grain := range []uint64{0, 3000, 4097} {
		r := NewRecorder(s, grain)
		r.Add(0x1ff8, 16)
		want := []Range{{Start: 0x1000, Size: 0x2000, State: Present}}
		if d := cmp.Diff(want, r.Recorded()); d != "" {
			t.Errorf("grain %d: Recorded (-want +got):\n%s", grain, d)
		}
	}
}
