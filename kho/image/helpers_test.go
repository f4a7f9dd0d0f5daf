package image

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

// testMemory is a small sparse machine: two RAM banks, one excluded
// range, a few written pages (one of them all zeros, one half written).
func testMemory(t testing.TB) *physmem.Sparse {
	t.Helper()
	s := sparseWith(t,
		physmem.Range{Start: 0x1000, Size: 0x9f000, State: physmem.Present},
		physmem.Range{Start: 0x100000, Size: 0x200000, State: physmem.Present},
		physmem.Range{Start: 0x300000, Size: 0x4000, State: physmem.Excluded},
		physmem.Range{Start: 0x1000000, Size: 0x10000, State: physmem.Present},
	)
	rng := rand.New(rand.NewPCG(1, 2))
	page := func() []byte {
		b := make([]byte, 4096)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	for _, addr := range []uint64{0x1000, 0x2000, 0x9f000, 0x100000, 0x1fe000, 0x2ff000, 0x1003000} {
		if err := s.WriteAt(page(), addr); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WriteAt(make([]byte, 4096), 0x5000); err != nil { // written, all zero
		t.Fatal(err)
	}
	if err := s.WriteAt(bytes.Repeat([]byte("KHO!"), 512), 0x1004000); err != nil { // half a page
		t.Fatal(err)
	}
	return s
}

// sparseWith is an empty Sparse describing rs.
func sparseWith(t testing.TB, rs ...physmem.Range) *physmem.Sparse {
	t.Helper()
	var s physmem.Sparse
	for _, r := range rs {
		if err := s.AddRange(r.Start, r.Size, r.State); err != nil {
			t.Fatal(err)
		}
	}
	return &s
}

// presentRanges is the present part of ranges, joined.
func presentRanges(rs []physmem.Range) []physmem.Range { return mergeRuns(rs) }

// compareMemory checks that got reads like want over every present range
// of want, page by page, and that got declares the same present ranges.
func compareMemory(t *testing.T, want, got physmem.Memory, ranges []physmem.Range) {
	t.Helper()
	if d := cmp.Diff(presentRanges(ranges), presentRanges(got.Ranges())); d != "" {
		t.Errorf("ranges differ (-want +got):\n%s", d)
	}
	compareData(t, want, got, presentRanges(ranges))
}

// wantAddrErr checks that reading size bytes at addr fails at errAddr with
// sentinel after n bytes.
func wantAddrErr(t *testing.T, m physmem.Memory, addr uint64, size int, n int, errAddr uint64, sentinel error) {
	t.Helper()
	got, err := m.ReadAt(make([]byte, size), addr)
	var ae *physmem.AddrError
	if got != n || !errors.Is(err, sentinel) || !errors.As(err, &ae) || ae.Addr != errAddr {
		t.Errorf("ReadAt(%#x, %d) = %d, %v; want %d and %v at %#x", addr, size, got, err, n, sentinel, errAddr)
	}
}

// wantFormatErr checks that err is a *FormatError at off wrapping sentinel.
func wantFormatErr(t *testing.T, err error, sentinel error, off int64) {
	t.Helper()
	var fe *FormatError
	if !errors.Is(err, sentinel) || !errors.As(err, &fe) || (off >= 0 && fe.Off != off) {
		t.Errorf("error %v; want %v at offset %#x", err, sentinel, off)
	}
}
