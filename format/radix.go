package format

import (
	"fmt"
	"math/bits"
)

// RadixGeometry describes the kho-v2+ radix tree that tracks preserved memory
// for one page size. Level 0 is the leaf bitmap; levels 1..Depth-1 are tables
// of child physical addresses, Depth-1 being the root that
// preserved-memory-map points at.
//
// A block of 2^order pages at physical address pa has the key
//
//	key = 1<<(Order0Bit-order) | pa>>(PageShift+order)
//
// so the most significant set bit encodes the order and the bits below it the
// address.
type RadixGeometry struct {
	PageSize   PageSize
	PageShift  uint
	Order0Bit  uint // KHO_ORDER_0_LOG2 (<= 7.2): 64 - PAGE_SHIFT, position of the order-0 bit
	KeyWidth   uint // KHO_RADIX_KEY_WIDTH (7.3): Order0Bit + 1, widest valid key in bits
	TableLog2  uint // KHO_TABLE_SIZE_LOG2: log2(entries per node)
	BitmapLog2 uint // KHO_BITMAP_SIZE_LOG2: log2(bits per leaf)
	Depth      int  // KHO_TREE_MAX_DEPTH: table levels + the leaf level
	// EarlyDepth is KHO_TREE_MAX_DEPTH by the formula of the first radix
	// header, DIV_ROUND_UP(Order0Bit-BitmapLog2, TableLog2)+1, before the +1
	// that covers the order-0 bit was added (which release carried it is not
	// verified). It differs from Depth only at 16 KiB pages (4 vs 5), where such
	// a tree cannot hold order-0 keys.
	EarlyDepth int
}

// RadixFor returns the radix geometry for page size p: depth 6 at 4 KiB, 5 at
// 16 KiB and 4 at 64 KiB.
func RadixFor(p PageSize) (RadixGeometry, error) {
	if !p.valid() {
		return RadixGeometry{}, fmt.Errorf("format: radix geometry for page size %d: %w", uint32(p), ErrPageSize)
	}
	shift := p.Shift()
	g := RadixGeometry{
		PageSize:   p,
		PageShift:  shift,
		Order0Bit:  64 - shift,
		KeyWidth:   64 - shift + 1,
		TableLog2:  shift - 3,
		BitmapLog2: shift + 3,
	}
	// ceil((KeyWidth - BitmapLog2) / TableLog2) + 1, the 7.3 formula.
	g.Depth = int((g.KeyWidth-g.BitmapLog2+g.TableLog2-1)/g.TableLog2) + 1
	g.EarlyDepth = int((g.Order0Bit-g.BitmapLog2+g.TableLog2-1)/g.TableLog2) + 1
	return g, nil
}

// TableEntries is the number of child pointers in one radix node.
func (g RadixGeometry) TableEntries() int { return 1 << g.TableLog2 }

// LeafBits is the number of bits in one radix leaf.
func (g RadixGeometry) LeafBits() int { return 1 << g.BitmapLog2 }

// RootLevel is the level of the node preserved-memory-map points at.
func (g RadixGeometry) RootLevel() int { return g.Depth - 1 }

// Shift is the position of level's index within a key (0 for the leaf).
func (g RadixGeometry) Shift(level int) uint {
	if level <= 0 {
		return 0
	}
	return g.BitmapLog2 + g.TableLog2*uint(level-1)
}

// Index extracts level's index from key: the leaf bit for level 0, the table
// slot for levels 1..Depth-1.
func (g RadixGeometry) Index(key uint64, level int) uint64 {
	width := g.TableLog2
	if level <= 0 {
		width = g.BitmapLog2
	}
	s := g.Shift(level)
	if s >= 64 {
		return 0
	}
	return (key >> s) & (1<<width - 1)
}

// RootIndices is the number of root-table slots a valid key can use (4 at
// 4 KiB pages); a non-zero root entry at or above it leads only to keys wider
// than KeyWidth.
func (g RadixGeometry) RootIndices() uint64 {
	s := g.Shift(g.RootLevel())
	if g.KeyWidth <= s {
		return 1
	}
	return 1 << (g.KeyWidth - s)
}

// Key returns the radix key of the block of 2^order pages at pa. pa must be
// aligned to the block size and order at most maxOrder.
func (g RadixGeometry) Key(pa uint64, order, maxOrder uint) (uint64, error) {
	if order > maxOrder || order > g.Order0Bit {
		return 0, fmt.Errorf("format: radix key for pa %#x: order %d above %d: %w", pa, order, maxOrder, ErrOrder)
	}
	s := g.PageShift + order
	if pa&(1<<s-1) != 0 {
		return 0, fmt.Errorf("format: radix key for pa %#x order %d: not aligned to %#x: %w", pa, order, uint64(1)<<s, ErrAlign)
	}
	return 1<<(g.Order0Bit-order) | pa>>s, nil
}

// Decode returns the block a key stands for. It fails with ErrKey for a key no
// writer produces (0, or wider than KeyWidth); for a key whose order exceeds
// maxOrder it returns the decoded pa and order together with ErrOrder, because
// callers want to report what a kernel would reserve.
func (g RadixGeometry) Decode(key uint64, maxOrder uint) (pa uint64, order uint, err error) {
	if key == 0 {
		return 0, 0, fmt.Errorf("format: radix key 0: %w", ErrKey)
	}
	msb := uint(bits.Len64(key) - 1)
	if msb > g.Order0Bit {
		return 0, 0, fmt.Errorf("format: radix key %#x: %d bits wide, limit %d: %w", key, msb+1, g.KeyWidth, ErrKey)
	}
	order = g.Order0Bit - msb
	pa = key << (g.PageShift + order) // the order bit shifts out
	if order > maxOrder {
		return pa, order, fmt.Errorf("format: radix key %#x: order %d above %d: %w", key, order, maxOrder, ErrOrder)
	}
	return pa, order, nil
}
