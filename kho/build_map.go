package kho

import (
	"fmt"
	"sort"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// bldPageAlloc hands out naturally aligned runs of 2^order pages from RAM,
// bottom up from a base address, skipping scratch regions: the order of
// allocation is the order of addresses, which keeps built memories easy to
// read in a hex dump.
type bldPageAlloc struct {
	pageSize uint64
	ram      []physmem.Range // present ranges, sorted
	avoid    []ScratchRegion
	next     uint64
}

func (a *bldPageAlloc) alloc(order uint8) (uint64, error) {
	size := a.pageSize << order
	addr := bldAlignUp(a.next, size)
	for addr >= a.next { // stops when bldAlignUp wraps
		end := addr + size
		if end < addr {
			break
		}
		moved := false
		for _, s := range a.avoid {
			if addr < s.Addr+s.Size && s.Addr < end {
				addr = bldAlignUp(s.Addr+s.Size, size)
				moved = true
				break
			}
		}
		if moved {
			continue
		}
		i := sort.Search(len(a.ram), func(i int) bool { return a.ram[i].End() > addr })
		if i == len(a.ram) {
			break
		}
		r := a.ram[i]
		if r.Start > addr {
			addr = bldAlignUp(r.Start, size)
			continue
		}
		if end > r.End() {
			addr = bldAlignUp(r.End(), size)
			continue
		}
		a.next = end
		return addr, nil
	}
	return 0, fmt.Errorf("kho: build: no free RAM for %d pages above %#x", uint64(1)<<order, a.next)
}

func bldAlignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }

// bldMapPages is a memory map under construction: page contents keyed by
// physical address, written to memory once complete.
type bldMapPages map[uint64][]byte

// bldRadix lays out the radix tree recording blocks; root is the
// already allocated root node page (the kernel allocates it at init, so it
// exists even when nothing is preserved).
func bldRadix(a *bldPageAlloc, root uint64, blocks []Block) (bldMapPages, error) {
	g, err := format.RadixFor(format.PageSize(a.pageSize))
	if err != nil {
		return nil, fmt.Errorf("kho: build: %w", err)
	}
	pages := bldMapPages{root: make([]byte, a.pageSize)}
	for _, b := range blocks {
		key, err := g.Key(b.Addr, uint(b.Order), g.Order0Bit)
		if err != nil {
			return nil, fmt.Errorf("kho: build: %w", err)
		}
		node := root
		for level := g.RootLevel(); level >= 1; level-- {
			off := g.Index(key, level) * 8
			child := bldLE.Uint64(pages[node][off:])
			if child == 0 {
				if child, err = a.alloc(0); err != nil {
					return nil, err
				}
				pages[child] = make([]byte, a.pageSize)
				bldLE.PutUint64(pages[node][off:], child)
			}
			node = child
		}
		bit := g.Index(key, 0)
		pages[node][bit/8] |= 1 << (bit % 8)
	}
	return pages, nil
}

// bldChunks lays out the kho-v1 khoser_mem_chunk list: one run of chunks
// per order, ascending, each element a bitmap covering PRESERVE_BITS
// blocks of that order. Bitmaps are pages, or with small 512-byte slab
// objects (6.16/6.17) packed into pages. It returns the head (0 when
// nothing is preserved).
func bldChunks(a *bldPageAlloc, blocks []Block, small bool) (uint64, bldMapPages, error) {
	ps := a.pageSize
	g, err := format.GeometryFor(format.PageSize(ps))
	if err != nil {
		return 0, nil, fmt.Errorf("kho: build: %w", err)
	}
	shift := g.PageSize.Shift()
	preserveBits := uint64(g.PreserveBits)
	if small {
		preserveBits = format.PreserveBits616
	}
	bitmapSize := preserveBits / 8
	byOrder := map[uint8]map[uint64][]byte{}
	for _, b := range blocks {
		n := b.Addr >> (shift + uint(b.Order))
		m := byOrder[b.Order]
		if m == nil {
			m = map[uint64][]byte{}
			byOrder[b.Order] = m
		}
		bm := m[n/preserveBits]
		if bm == nil {
			bm = make([]byte, bitmapSize)
			m[n/preserveBits] = bm
		}
		bit := n % preserveBits
		bm[bit/8] |= 1 << (bit % 8)
	}
	orders := make([]int, 0, len(byOrder))
	for o := range byOrder {
		orders = append(orders, int(o))
	}
	sort.Ints(orders)
	pages := bldMapPages{}
	// A busy kmalloc-512 cache hands out objects anywhere in its pages:
	// the first slot of the first page is left to another user, so the
	// map shows its 512-byte bitmaps (a pointer not page-aligned).
	var slab uint64
	next, skipFirst := ps, small // next free offset in slab; ps: none
	allocBitmap := func(bits []byte) (uint64, error) {
		if next == ps {
			p, err := a.alloc(0)
			if err != nil {
				return 0, err
			}
			slab, next = p, 0
			pages[p] = make([]byte, ps)
			if skipFirst {
				next, skipFirst = bitmapSize, false
			}
		}
		at := slab + next
		copy(pages[slab][next:], bits)
		next += bitmapSize
		return at, nil
	}
	// The chunks are encoded once the list is laid out, when each one's
	// next pointer is known.
	type chunkAt struct {
		addr  uint64
		chunk format.KhoserChunk
	}
	var chunks []chunkAt
	for _, o := range orders {
		m := byOrder[uint8(o)]
		idxs := make([]uint64, 0, len(m))
		for i := range m {
			idxs = append(idxs, i)
		}
		sort.Slice(idxs, func(i, j int) bool { return idxs[i] < idxs[j] })
		for len(idxs) > 0 {
			n := min(len(idxs), g.KhoserBitmapSize)
			addr, err := a.alloc(0)
			if err != nil {
				return 0, nil, err
			}
			c := format.KhoserChunk{
				Header:  format.KhoserChunkHeader{Order: uint32(o), NumElms: uint32(n)},
				Bitmaps: make([]format.BitmapPtr, g.KhoserBitmapSize),
			}
			for e, idx := range idxs[:n] {
				bm, err := allocBitmap(m[idx])
				if err != nil {
					return 0, nil, err
				}
				c.Bitmaps[e] = format.BitmapPtr{PhysStart: (idx * preserveBits) << (uint(o) + shift), Bitmap: bm}
			}
			chunks = append(chunks, chunkAt{addr, c})
			idxs = idxs[n:]
		}
	}
	for i := range chunks {
		if i+1 < len(chunks) {
			chunks[i].chunk.Header.Next = chunks[i+1].addr
		}
		page, err := chunks[i].chunk.Append(nil)
		if err != nil {
			return 0, nil, fmt.Errorf("kho: build: %w", err)
		}
		pages[chunks[i].addr] = page
	}
	if len(chunks) == 0 {
		return 0, pages, nil
	}
	return chunks[0].addr, pages, nil
}

// bldRuns collapses sorted blocks into maximal runs of one order.
func bldRuns(blocks []Block, pageSize uint64) []Run {
	var runs []Run
	for _, b := range blocks {
		if n := len(runs); n > 0 {
			r := &runs[n-1]
			if r.Order == b.Order && r.Count < maxRunCount && r.Addr+uint64(r.Count)*(pageSize<<r.Order) == b.Addr {
				r.Count++
				continue
			}
		}
		runs = append(runs, Run{Addr: b.Addr, Order: b.Order, Count: 1})
	}
	return runs
}
