package kho

import (
	"math/bits"

	"github.com/khokit/khokit/kho/physmem"
)

// Totals counts the blocks m preserves, Runs and Blocks both, and their
// bytes. The byte total saturates at 2^64-1 rather than wrapping: a hostile
// map can declare more than 64 bits of memory.
func (m *MemoryMap) Totals() (blocks, bytes uint64) {
	add := func(order uint8, count uint64) {
		blocks += count // at most 2^32 per run: len(Runs) bounds the sum
		bs := m.blockSize(order)
		hi, n := bits.Mul64(bs, count)
		if bs == 0 && count != 0 || hi != 0 || bytes+n < bytes {
			bytes = ^uint64(0)
			return
		}
		bytes += n
	}
	for _, r := range m.Runs {
		add(r.Order, uint64(r.Count))
	}
	for _, b := range m.Blocks {
		add(b.Order, 1)
	}
	return blocks, bytes
}

// PreservedRanges returns the memory m preserves as Present ranges, sorted
// by address, overlapping and touching ones joined. A run or block whose
// extent does not fit 64 bits is left out: the decoder reports it, and no
// memory holds it.
func (m *MemoryMap) PreservedRanges() []physmem.Range {
	out := make([]physmem.Range, 0, len(m.Runs)+len(m.Blocks))
	add := func(addr uint64, order uint8, count uint64) {
		bs := m.blockSize(order)
		hi, size := bits.Mul64(bs, count)
		if size == 0 || hi != 0 || addr+size < addr {
			return
		}
		out = append(out, physmem.Range{Start: addr, Size: size, State: physmem.Present})
	}
	for _, r := range m.Runs {
		add(r.Addr, r.Order, uint64(r.Count))
	}
	for _, b := range m.Blocks {
		add(b.Addr, b.Order, 1)
	}
	return physmem.Merge(out) // Runs then Blocks: each sorted, not both
}
