package kho

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/kho/physmem"
)

// builtBitmap is the decode option that names the kho-v1 bitmap size a
// build wrote, so round trips decode without a detection finding.
func builtBitmap(bo *BuildOptions) KHOv1BitmapSize {
	if bo != nil && bo.KHOv1Bitmap == KHOv1Bitmap512 {
		return KHOv1Bitmap512
	}
	return KHOv1BitmapPage
}

// TestKHOv1BitmapRoundTrip builds kho-v1 handovers with both bitmap sizes,
// allocations straddling a 512-byte bitmap's window so that the map has
// several elements, and decodes each with detection and with the size
// named: the memory map and the rest of the model come back equal, and
// detection says what it decided.
func TestKHOv1BitmapRoundTrip(t *testing.T) {
	base := buildCases()[0] // kho-v1+luo-v1
	if base.h.Compatible != "kho-v1" {
		t.Fatalf("build case 0 is %s, want a kho-v1 one", base.h.Compatible)
	}
	for _, ps := range []uint64{4096, 16384} {
		for _, size := range []KHOv1BitmapSize{KHOv1BitmapPage, KHOv1Bitmap512} {
			for _, decodeAs := range []KHOv1BitmapSize{KHOv1BitmapDetect, size} {
				name := fmt.Sprintf("%dK/built %v/decoded %v", ps>>10, size, decodeAs)
				t.Run(name, func(t *testing.T) {
					bo := *base.opts
					bo.PageSize = ps
					bo.KHOv1Bitmap = size
					bo.Base = 4096*ps - 2*ps // the 512-byte window edge at order 0
					b, err := Build(base.h, &bo)
					if err != nil {
						t.Fatal(err)
					}
					got, err := Decode(b.Mem, b.RootAddr, &Options{PageSize: ps, Scratch: b.Scratch, KHOv1Bitmap: decodeAs})
					if err != nil {
						t.Fatal(err)
					}
					var want []string
					if decodeAs == KHOv1BitmapDetect {
						want = []string{"chunk.bitmap-size-assumed"}
						if size == KHOv1Bitmap512 {
							want = []string{"chunk.bitmap-512"}
						}
					}
					if d := cmp.Diff(want, findingCodes(got.Findings)); d != "" {
						t.Errorf("findings (-want +got):\n%s", d)
					}
					if d := cmp.Diff(b.Handover.MemoryMap, got.MemoryMap); d != "" {
						t.Errorf("memory map (-built +decoded):\n%s", d)
					}
					got.Findings = nil
					if d := cmp.Diff(b.Handover, got); d != "" {
						t.Errorf("Decode(Build(h)) (-built +decoded):\n%s", d)
					}
					if n := windows(b.Handover.MemoryMap, ps, size); n < 2 {
						t.Errorf("the map spans %d bitmap windows, want several", n)
					}
				})
			}
		}
	}
}

// windows counts the order-0 bitmap windows a map's runs touch.
func windows(m MemoryMap, ps uint64, size KHOv1BitmapSize) int {
	span := ps * 8 * ps
	if size == KHOv1Bitmap512 {
		span = 512 * 8 * ps
	}
	seen := map[uint64]bool{}
	for b := range m.All() {
		seen[uint64(b.Order)<<56|b.Addr/(span<<b.Order)] = true
	}
	return len(seen)
}

// TestKHOv1BitmapBuildLayout: 512-byte bitmaps are packed into pages and
// the first is not page-aligned, so that detection has something to see;
// page bitmaps take a page each.
func TestKHOv1BitmapBuildLayout(t *testing.T) {
	for _, size := range []KHOv1BitmapSize{KHOv1BitmapPage, KHOv1Bitmap512} {
		blocks := []Block{{Addr: 0x10_0000}, {Addr: 0x100_0000}, {Addr: 0x200_0000}, {Addr: 0x800_0000, Order: 1}}
		a := &bldPageAlloc{pageSize: 4096, ram: []physmem.Range{{Start: 0, Size: 1 << 30, State: physmem.Present}}, next: 0x4000_0000 - 0x10_0000}
		head, pages, err := bldChunks(a, blocks, size == KHOv1Bitmap512)
		if err != nil {
			t.Fatal(err)
		}
		var elems []uint64 // phys_start, bitmap pairs
		for pa := head; pa != 0; {
			p := pages[pa]
			n := binary.LittleEndian.Uint64(p[8:]) >> 32
			for e := uint64(0); e < n; e++ {
				elems = append(elems, binary.LittleEndian.Uint64(p[16+16*e:]), binary.LittleEndian.Uint64(p[24+16*e:]))
			}
			pa = binary.LittleEndian.Uint64(p)
		}
		const c0, s = 0x3ff0_0000, 0x3ff0_1000 // first chunk; bitmaps after it
		want := []uint64{0, s, 0, s + 0x2000}  // one window per order
		if size == KHOv1Bitmap512 {
			// Windows of 16 MiB at order 0: 0x10_0000 in 0, 0x100_0000
			// in 1, 0x200_0000 in 2; the order-1 chunk comes second.
			want = []uint64{0, s + 0x200, 0x100_0000, s + 0x400, 0x200_0000, s + 0x600, 0x800_0000, s + 0x800}
		}
		if d := cmp.Diff(want, elems); d != "" {
			t.Errorf("%v: chunk elements (phys_start, bitmap) (-want +got):\n%s", size, d)
		}
		if head != c0 {
			t.Errorf("%v: head %#x, want %#x", size, head, uint64(c0))
		}
	}
}

// TestChunkMapBitmapSize covers rule 11 with 512-byte bitmaps: detection,
// the explicit option, and what each rejects.
func TestChunkMapBitmapSize(t *testing.T) {
	const w512 = 4096 << 12 // a 512-byte bitmap's window at order 0: 16 MiB
	tests := []struct {
		name     string
		opts     Options
		build    func(m *handMap) uint64
		want     []string
		wantRuns []Run
	}{
		{"detected by pointer", Options{}, func(m *handMap) uint64 {
			c, slab := m.page(), m.page()
			m.put64(slab+512, 0b11)            // window 0: pages 0, 1
			m.put64(slab+1024+8, 1)            // window 1: bit 64
			m.put64(slab+1024+512, ^uint64(0)) // past the 512 bytes: not read
			m.putChunk(c, 0, 0, 2, 0, slab+512, w512, slab+1024)
			return c
		}, []string{"chunk.bitmap-512"}, []Run{{Addr: 0, Order: 0, Count: 2}, {Addr: w512 + 64<<12, Order: 0, Count: 1}}},
		{"detected by window", Options{}, func(m *handMap) uint64 {
			c, bm := m.page(), m.page()
			m.put64(bm, 1)
			m.put64(bm+512, 1) // a page bitmap's bit 4096: not read
			m.putChunk(c, 0, 0, 1, 3*w512, bm)
			return c
		}, []string{"chunk.bitmap-512"}, []Run{{Addr: 3 * w512, Order: 0, Count: 1}}},
		{"detected in a later chunk, order 3", Options{}, func(m *handMap) uint64 {
			c, c2, bm, bm2 := m.page(), m.page(), m.page(), m.page()
			m.put64(bm, 1)
			m.put64(bm2, 1)
			m.putChunk(c, c2, 0, 1, 0, bm)
			m.putChunk(c2, 0, 3, 1, w512<<3, bm2)
			return c
		}, []string{"chunk.bitmap-512"}, []Run{{Addr: 0, Order: 0, Count: 1}, {Addr: w512 << 3, Order: 3, Count: 1}}},
		{"nothing tells: pages assumed", Options{}, func(m *handMap) uint64 {
			c, bm := m.page(), m.page()
			m.put64(bm+512, 1) // bit 4096 of a page bitmap
			m.putChunk(c, 0, 0, 1, 0, bm)
			return c
		}, []string{"chunk.bitmap-size-assumed"}, []Run{{Addr: 4096 << 12, Order: 0, Count: 1}}},
		{"forced 512 on a page-looking map", Options{KHOv1Bitmap: KHOv1Bitmap512}, func(m *handMap) uint64 {
			c, bm := m.page(), m.page()
			m.put64(bm, 1)
			m.put64(bm+512, 1)
			m.putChunk(c, 0, 0, 1, 0, bm)
			return c
		}, nil, []Run{{Addr: 0, Order: 0, Count: 1}}},
		{"forced page", Options{KHOv1Bitmap: KHOv1BitmapPage}, func(m *handMap) uint64 {
			c, bm := m.page(), m.page()
			m.put64(bm+512, 1)
			m.putChunk(c, 0, 0, 1, 0, bm)
			return c
		}, nil, []Run{{Addr: 4096 << 12, Order: 0, Count: 1}}},
		{"mixed evidence, forced page", Options{KHOv1Bitmap: KHOv1BitmapPage}, func(m *handMap) uint64 {
			c, bm, slab := m.page(), m.page(), m.page()
			m.put64(bm, 1)
			m.put64(slab+512, 1)
			m.putChunk(c, 0, 0, 2, 0, bm, w512*8, slab+512)
			return c
		}, []string{"chunk.bitmap-size-conflict", "map.unusable", "ptr.unaligned"}, []Run{{Addr: 0, Order: 0, Count: 1}}},
		{"mixed evidence, detected", Options{}, func(m *handMap) uint64 {
			// One element looks like a page bitmap with bits past 512
			// bytes, another only fits 512: all are read as 512.
			c, bm, slab := m.page(), m.page(), m.page()
			m.put64(bm, 1)
			m.put64(bm+2048, 1)
			m.put64(slab+512, 1)
			m.putChunk(c, 0, 0, 2, 0, bm, w512*8, slab+512)
			return c
		}, []string{"chunk.bitmap-512"}, []Run{{Addr: 0, Order: 0, Count: 1}, {Addr: w512 * 8, Order: 0, Count: 1}}},
		{"512 pointer not 512-aligned", Options{}, func(m *handMap) uint64 {
			c, slab := m.page(), m.page()
			m.put64(slab+512, 1)
			m.putChunk(c, 0, 0, 2, 0, slab+512, w512, slab+1024+256)
			return c
		}, []string{"chunk.bitmap-512", "map.unusable", "ptr.unaligned"}, []Run{{Addr: 0, Order: 0, Count: 1}}},
		{"forced 512, pointer not 512-aligned", Options{KHOv1Bitmap: KHOv1Bitmap512}, func(m *handMap) uint64 {
			c, slab := m.page(), m.page()
			m.putChunk(c, 0, 0, 1, 0, slab+256)
			return c
		}, []string{"map.unusable", "ptr.unaligned"}, nil},
		{"pointer aligned to neither: pages assumed", Options{}, func(m *handMap) uint64 {
			c, slab := m.page(), m.page()
			m.putChunk(c, 0, 0, 1, 0, slab+256)
			return c
		}, []string{"chunk.bitmap-size-assumed", "map.unusable", "ptr.unaligned"}, nil},
		{"512 window misaligned", Options{}, func(m *handMap) uint64 {
			c, slab := m.page(), m.page()
			m.put64(slab+512, 1)
			m.put64(slab+1024, 1)
			m.putChunk(c, 0, 0, 2, 0, slab+512, w512/2, slab+1024)
			return c
		}, []string{"chunk.bitmap-512", "chunk.start-unaligned"}, []Run{{Addr: 0, Order: 0, Count: 1}}},
		{"forced 512, order-2 window misaligned", Options{KHOv1Bitmap: KHOv1Bitmap512}, func(m *handMap) uint64 {
			c, bm := m.page(), m.page()
			m.putChunk(c, 0, 2, 1, w512, bm) // order 2 windows are 64 MiB
			return c
		}, []string{"chunk.start-unaligned"}, nil},
		{"512 bitmap at the end of memory", Options{}, func(m *handMap) uint64 {
			c := m.page()
			m.addRAM(0x8000_0000, 0x400)
			m.put64(0x8000_0200, 1)
			m.putChunk(c, 0, 0, 1, 0, 0x8000_0200)
			return c
		}, []string{"chunk.bitmap-512"}, []Run{{Addr: 0, Order: 0, Count: 1}}},
		{"512 bitmap straddling the end of memory", Options{}, func(m *handMap) uint64 {
			c := m.page()
			m.addRAM(0x8000_0000, 0x300)
			m.putChunk(c, 0, 0, 1, 0, 0x8000_0200)
			return c
		}, []string{"chunk.bitmap-512", "map.unusable", "ptr.absent"}, nil},
		{"512 bitmaps shared", Options{}, func(m *handMap) uint64 {
			c, slab := m.page(), m.page()
			m.put64(slab+512, 1)
			m.putChunk(c, 0, 0, 2, 0, slab+512, w512, slab+512)
			return c
		}, []string{"chunk.bitmap-512", "chunk.cycle"}, []Run{{Addr: 0, Order: 0, Count: 1}}},
		{"512 bitmap is the chunk", Options{KHOv1Bitmap: KHOv1Bitmap512}, func(m *handMap) uint64 {
			c := m.page()
			m.putChunk(c, 0, 0, 1, 0, c)
			return c
		}, []string{"chunk.cycle"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newHandMap(t, 4096)
			head := tt.build(m)
			h := m.decode("kho-v1", head, &tt.opts)
			if d := cmp.Diff(tt.want, handoverCodes(h)); d != "" {
				t.Errorf("codes (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantRuns, h.MemoryMap.Runs); d != "" {
				t.Errorf("runs (-want +got):\n%s", d)
			}
		})
	}
}

// addRAM declares another present range in the hand-made memory.
func (m *handMap) addRAM(start, size uint64) {
	if err := m.mem.AddRange(start, size, physmem.Present); err != nil {
		m.t.Fatal(err)
	}
}

// TestChunkEvidenceBounded: the detection walk keeps the decode's bounds
// on a looping chunk list and on one longer than MaxRadixNodes, and finds
// evidence only where it is.
func TestChunkEvidenceBounded(t *testing.T) {
	m := newHandMap(t, 4096)
	c, c2, c3, slab := m.page(), m.page(), m.page(), m.page()
	m.putChunk(c, c2, 0, 1, 0, m.page())
	m.putChunk(c2, c, 0, 1, 0, m.page()) // loops back to c
	d, err := newDecoder(m.mem, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ev := d.chunkEvidence(c, newChunkScratch(d.geo)); ev.found || ev.elems != 2 {
		t.Errorf("looping list: evidence %+v, want none and 2 elements", ev)
	}
	m.putChunk(c2, c3, 0, 1, 0, m.page())
	m.putChunk(c3, 0, 0, 1, 0, slab+512) // evidence in the third chunk
	for _, tc := range []struct {
		limit int
		found bool
	}{{2, false}, {3, true}} {
		d, err := newDecoder(m.mem, &Options{MaxRadixNodes: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if ev := d.chunkEvidence(c, newChunkScratch(d.geo)); ev.found != tc.found || ev.found && (ev.chunk != c3 || ev.elem != 0) {
			t.Errorf("MaxRadixNodes %d: evidence %+v, want found %v at chunk %#x", tc.limit, ev, tc.found, c3)
		}
	}
}

func TestKHOv1BitmapSizeParse(t *testing.T) {
	for _, v := range []KHOv1BitmapSize{KHOv1BitmapDetect, KHOv1Bitmap512, KHOv1BitmapPage} {
		got, err := ParseKHOv1BitmapSize(v.String())
		if err != nil || got != v {
			t.Errorf("ParseKHOv1BitmapSize(%q) = %v, %v; want %v", v.String(), got, err, v)
		}
	}
	if _, err := ParseKHOv1BitmapSize("4096"); !errors.Is(err, ErrOptions) {
		t.Errorf("ParseKHOv1BitmapSize(4096): %v, want ErrOptions", err)
	}
	if s := KHOv1BitmapSize(7).String(); s != "KHOv1BitmapSize(7)" {
		t.Errorf("String of 7 = %q", s)
	}
	if _, err := Decode(&physmem.Sparse{}, 0x1000, &Options{KHOv1Bitmap: 3}); !errors.Is(err, ErrOptions) {
		t.Errorf("Decode with KHOv1Bitmap 3: %v, want ErrOptions", err)
	}
}
