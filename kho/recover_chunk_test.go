package kho

import (
	"testing"

	"github.com/khokit/khokit/kho/physmem"
)

// TestScanChunk checks the recovery scan's buffer: the requested chunk,
// unless the largest range the scan reads is smaller, then that range in
// whole pages.
func TestScanChunk(t *testing.T) {
	stored := func(spans ...[2]uint64) *physmem.Sparse {
		m := &physmem.Sparse{}
		if err := m.AddRange(0, 1<<30, physmem.Present); err != nil {
			t.Fatal(err)
		}
		for _, s := range spans {
			if err := m.WriteAt(make([]byte, s[1]), s[0]); err != nil {
				t.Fatal(err)
			}
			for a := s[0]; a < s[0]+s[1]; a += 4096 { // stored only when non-zero
				if err := m.WriteAt([]byte{1}, a); err != nil {
					t.Fatal(err)
				}
			}
		}
		return m
	}
	// A Memory that does not say what it stores: its present ranges count.
	reader := func(start, size uint64) physmem.Memory {
		m := &physmem.Sparse{}
		if err := m.AddRange(start, size, physmem.Present); err != nil {
			t.Fatal(err)
		}
		return struct{ physmem.Memory }{m}
	}
	for _, tc := range []struct {
		name  string
		mem   physmem.Memory
		chunk int
		want  int
	}{
		{"nothing stored", stored(), 1 << 20, 4096},
		{"one page", stored([2]uint64{0x5000, 4096}), 1 << 20, 4096},
		{"largest of two", stored([2]uint64{0x5000, 4096}, [2]uint64{0x100000, 3 * 4096}), 1 << 20, 3 * 4096},
		{"larger than the chunk", stored([2]uint64{0, 2 << 20}), 1 << 20, 1 << 20},
		{"a reader's ranges", reader(0x1000, 8192), 1 << 20, 8192},
		{"a large reader", reader(0, 1<<30), 1 << 20, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scanChunk(tc.mem, 4096, tc.chunk); got != tc.want {
				t.Errorf("scanChunk = %d, want %d", got, tc.want)
			}
		})
	}
}
