package kho

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

// failingPage is memory whose reads covering one page fail.
type failingPage struct {
	physmem.Memory
	bad uint64
}

func (f failingPage) ReadAt(p []byte, addr uint64) (int, error) {
	if addr < f.bad+4096 && f.bad < addr+uint64(len(p)) {
		return 0, &physmem.AddrError{Addr: f.bad, Size: 4096, Err: physmem.ErrExcluded}
	}
	return f.Memory.ReadAt(p, addr)
}

// TestScanPresent checks the chunk walk Locate and RecoverLUO share on a
// range that starts and ends mid-page: partial mode zero-fills the cut
// pages, whole mode skips them, an unreadable chunk is visited page by
// page without the failing page, and progress ends at the range size.
func TestScanPresent(t *testing.T) {
	type visit struct{ Addr, Len, Set uint64 }
	var sp physmem.Sparse
	if err := sp.AddRange(0x1800, 0x3000, physmem.Present); err != nil {
		t.Fatal(err)
	}
	fill := make([]byte, 0x3000)
	for i := range fill {
		fill[i] = 0xff
	}
	if err := sp.WriteAt(fill, 0x1800); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		mem     physmem.Memory
		partial bool
		want    []visit
	}{
		{"partial", &sp, true, []visit{{0x1000, 0x2000, 0x1800}, {0x3000, 0x2000, 0x1800}}},
		{"whole", &sp, false, []visit{{0x2000, 0x2000, 0x2000}}},
		{"partial unreadable", failingPage{&sp, 0x3000}, true, []visit{{0x1000, 0x2000, 0x1800}, {0x4000, 0x1000, 0x800}}},
		{"whole unreadable", failingPage{&sp, 0x3000}, false, []visit{{0x2000, 0x1000, 0x1000}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []visit
			var done, total uint64
			scanPresent(tc.mem, 4096, 0x2000, tc.partial, func(a uint64, chunk []byte) {
				v := visit{Addr: a, Len: uint64(len(chunk))}
				for _, c := range chunk {
					if c != 0 {
						v.Set++
					}
				}
				got = append(got, v)
			}, func(d, tot uint64) { done, total = d, tot })
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("visits (-want +got):\n%s", d)
			}
			if done != 0x3000 || total != 0x3000 {
				t.Errorf("progress %#x of %#x, want 0x3000 of 0x3000", done, total)
			}
		})
	}
}

// TestChunkSizeCap checks that both scans cap their one read buffer: a
// caller's huge ChunkSize must not become a huge allocation.
func TestChunkSizeCap(t *testing.T) {
	huge := 1 << 40
	if got := (&LocateOptions{ChunkSize: huge}).resolved().ChunkSize; got != locMaxChunk {
		t.Errorf("Locate chunk %d, want %d", got, locMaxChunk)
	}
	if got := (&RecoverOptions{ChunkSize: huge}).resolved(4096).ChunkSize; got != locMaxChunk {
		t.Errorf("RecoverLUO chunk %d, want %d", got, locMaxChunk)
	}
}

// TestScanBufSize checks the memory scan's buffer: the requested chunk,
// unless the largest range the scan reads is smaller, then that range in
// whole pages.
func TestScanBufSize(t *testing.T) {
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
			if got := scanBufSize(physmem.ScanRanges(tc.mem, 4096), 4096, tc.chunk); got != tc.want {
				t.Errorf("scanBufSize = %d, want %d", got, tc.want)
			}
		})
	}
}
