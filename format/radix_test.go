package format

import (
	"errors"
	"math/bits"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRadixGeometry(t *testing.T) {
	type geo struct {
		Order0, KeyWidth, Table, Bitmap uint
		Depth, Early, Entries, LeafBits int
		RootIndices                     uint64
	}
	want := map[PageSize]geo{
		// abi.md §3.2 table (depth 5 at 16 KiB per the correction).
		Page4K:  {52, 53, 9, 15, 6, 6, 512, 32768, 4},
		Page16K: {50, 51, 11, 17, 5, 4, 2048, 131072, 2},
		Page64K: {48, 49, 13, 19, 4, 4, 8192, 524288, 16},
	}
	for _, ps := range PageSizes {
		g, err := RadixFor(ps)
		if err != nil {
			t.Fatal(err)
		}
		got := geo{g.Order0Bit, g.KeyWidth, g.TableLog2, g.BitmapLog2, g.Depth, g.EarlyDepth, g.TableEntries(), g.LeafBits(), g.RootIndices()}
		if diff := cmp.Diff(want[ps], got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", ps, diff)
		}
		// The levels must cover every bit of the widest key exactly once.
		if top := g.Shift(g.RootLevel()) + g.TableLog2; top < g.KeyWidth {
			t.Errorf("%v: levels cover %d bits, keys need %d", ps, top, g.KeyWidth)
		}
	}
	if _, err := RadixFor(8192); !errors.Is(err, ErrPageSize) {
		t.Errorf("RadixFor(8192): %v", err)
	}
}

func TestRadixIndex4K(t *testing.T) {
	g, _ := RadixFor(Page4K)
	// abi.md: leaf bits 0-14; L1 15-23, L2 24-32, L3 33-41, L4 42-50, L5 51-59.
	shifts := []uint{0, 15, 24, 33, 42, 51}
	for level, s := range shifts {
		if g.Shift(level) != s {
			t.Errorf("Shift(%d) = %d, want %d", level, g.Shift(level), s)
		}
	}
	key := uint64(3)<<51 | uint64(0x1ab)<<42 | uint64(7)<<15 | 0x7fff
	want := []uint64{0x7fff, 7, 0, 0, 0x1ab, 3}
	for level, w := range want {
		if got := g.Index(key, level); got != w {
			t.Errorf("Index(level %d) = %#x, want %#x", level, got, w)
		}
	}
}

func TestRadixKeyRoundTrip(t *testing.T) {
	tests := []struct {
		ps    PageSize
		pa    uint64
		order uint
		key   uint64
	}{
		// 4 KiB: key = 1<<(52-o) | pa>>(12+o).
		{Page4K, 0, 0, 1 << 52},
		{Page4K, 0x1000, 0, 1<<52 | 1},
		{Page4K, 0x3f80a000, 0, 1<<52 | 0x3f80a},
		{Page4K, 0x200000, 9, 1<<43 | 1},
		{Page4K, 0x40000000, 10, 1<<42 | 0x40000000>>22},
		{Page4K, 0xfffffffffffff000, 0, 1<<52 | 0xfffffffffffff},
		{Page16K, 0x4000, 0, 1<<50 | 1},
		{Page64K, 0x20000, 1, 1<<47 | 1},
	}
	for _, tt := range tests {
		g, _ := RadixFor(tt.ps)
		key, err := g.Key(tt.pa, tt.order, DefaultMaxPageOrder)
		if err != nil || key != tt.key {
			t.Errorf("%v Key(%#x, %d) = %#x, %v; want %#x", tt.ps, tt.pa, tt.order, key, err, tt.key)
			continue
		}
		pa, order, err := g.Decode(key, DefaultMaxPageOrder)
		if err != nil || pa != tt.pa || order != tt.order {
			t.Errorf("%v Decode(%#x) = %#x, %d, %v", tt.ps, key, pa, order, err)
		}
		if w := uint(bits.Len64(key)); w > g.KeyWidth {
			t.Errorf("key %#x is %d bits, wider than %d", key, w, g.KeyWidth)
		}
	}
}

func TestRadixErrors(t *testing.T) {
	g, _ := RadixFor(Page4K)
	if _, err := g.Key(0x1000, 1, 10); !errors.Is(err, ErrAlign) {
		t.Errorf("misaligned: %v", err)
	}
	if _, err := g.Key(0, 11, 10); !errors.Is(err, ErrOrder) {
		t.Errorf("order 11: %v", err)
	}
	if _, err := g.Key(0, 20, 40); !errors.Is(err, nil) {
		t.Errorf("order 20 with max 40: %v", err)
	}
	if _, _, err := g.Decode(0, 10); !errors.Is(err, ErrKey) {
		t.Errorf("key 0: %v", err)
	}
	if _, _, err := g.Decode(1<<53, 10); !errors.Is(err, ErrKey) {
		t.Errorf("54-bit key: %v", err)
	}
	if _, _, err := g.Decode(^uint64(0), 10); !errors.Is(err, ErrKey) {
		t.Errorf("all ones: %v", err)
	}
	// MSB at bit 41: order 11, above MAX_PAGE_ORDER 10 but decoded anyway.
	pa, order, err := g.Decode(1<<41|1, 10)
	if !errors.Is(err, ErrOrder) || order != 11 || pa != 1<<23 {
		t.Errorf("order 11 key: pa %#x order %d err %v", pa, order, err)
	}
	if _, _, err := g.Decode(1<<41|1, 11); err != nil {
		t.Errorf("order 11 with max 11: %v", err)
	}
	// key 1: order 52, the widest order a 53-bit key space can express.
	if pa, order, err := g.Decode(1, 64); err != nil || order != 52 || pa != 0 {
		t.Errorf("key 1: %#x %d %v", pa, order, err)
	}
}
