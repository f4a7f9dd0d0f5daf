package image

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

// coreWithLoads is a little-endian ELF core made of nothing but its
// headers: one PT_LOAD per entry of loads, as {p_offset, p_paddr,
// p_filesz, p_memsz}.
func coreWithLoads(loads [][4]uint64) []byte {
	le := binary.LittleEndian
	d := make([]byte, 64+56*len(loads))
	copy(d, "\x7fELF\x02\x01\x01")
	le.PutUint16(d[16:], 4)  // ET_CORE
	le.PutUint16(d[18:], 62) // EM_X86_64
	le.PutUint32(d[20:], 1)
	le.PutUint64(d[32:], 64)
	le.PutUint16(d[52:], 64)
	le.PutUint16(d[54:], 56)
	le.PutUint16(d[56:], uint16(len(loads)))
	for i, l := range loads {
		p := d[64+56*i:]
		le.PutUint32(p, 1) // PT_LOAD
		le.PutUint64(p[8:], l[0])
		le.PutUint64(p[24:], l[1])
		le.PutUint64(p[32:], l[2])
		le.PutUint64(p[40:], l[3])
	}
	return d
}

func storedBytes(rs []physmem.Range) (n uint64) {
	for _, r := range rs {
		n += r.Size
	}
	return n
}

// A header claiming a terabyte of zero fill describes that much present
// memory, but a scan must only read the bytes the file holds.
func TestELFZeroFillIsNotStored(t *testing.T) {
	data := coreWithLoads([][4]uint64{{0, 0x100000, 64, 1 << 40}})
	f, err := NewELF(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]physmem.Range{{Start: 0x100000, Size: 1 << 40, State: physmem.Present}}, f.Ranges()); d != "" {
		t.Errorf("ranges (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]physmem.Range{{Start: 0x100000, Size: 64, State: physmem.Present}}, physmem.ScanRanges(f, 1)); d != "" {
		t.Errorf("scan ranges (-want +got):\n%s", d)
	}
}

// Many segments naming the same file bytes would make a scan quadratic in
// the file size; past twice the file the rest are dropped with a finding.
func TestELFAliasingBounded(t *testing.T) {
	const n = 600
	size := uint64(64 + 56*n)
	loads := make([][4]uint64, n)
	for i := range loads {
		loads[i] = [4]uint64{0, uint64(i+1) << 20, size, size}
	}
	data := coreWithLoads(loads)
	f, err := NewELF(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got, limit := storedBytes(physmem.ScanRanges(f, 1)), 2*size+1<<20; got > limit {
		t.Errorf("%d stored bytes mapped from a %d-byte file, over the %d limit", got, size, limit)
	}
	var limited int
	for _, e := range f.Findings {
		if errors.Is(e, ErrLimit) {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("findings %v; want one ErrLimit", f.Findings)
	}
}
