package kho

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/khokit/khokit/kho/physmem"
)

func TestMapDecoderErrors(t *testing.T) {
	if _, err := NewMapDecoder(&Options{PageSize: 8192}); !errors.Is(err, ErrOptions) {
		t.Errorf("NewMapDecoder with page size 8192: %v, want ErrOptions", err)
	}
	md, err := NewMapDecoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	mem := &physmem.Sparse{}
	for _, kind := range []MapKind{MapNone, MapKind(7)} {
		m, fs, err := md.Decode(mem, kind, 0x1000)
		if !errors.Is(err, ErrOptions) || m != nil || fs != nil {
			t.Errorf("Decode(kind %v) = %v, %v, %v; want ErrOptions", kind, m, fs, err)
		}
	}
}

// TestMapDecoderAllocs checks the point of a MapDecoder: once it has
// decoded a map, decoding it again allocates nothing.
func TestMapDecoderAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 16 GiB map")
	}
	bm := bigMapOnce()
	md, err := NewMapDecoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	decode := func() {
		if m, fs, err := md.Decode(bm.mem, MapRadix, bm.root); err != nil || len(fs) > 0 || len(m.Runs) != bigMapRuns {
			t.Fatalf("Decode: %v, %v", err, fs)
		}
	}
	decode()
	if n := testing.AllocsPerRun(20, decode); n != 0 {
		t.Errorf("%v allocations per decode, want 0", n)
	}
}

// TestMapDecoderReuse decodes maps of different sizes and kinds, with and
// without findings, one after another with one MapDecoder, and checks
// each against a fresh MapDecoder's decode of it: nothing of one map
// (runs, findings, visited nodes, counts) shows in the next.
func TestMapDecoderReuse(t *testing.T) {
	type input struct {
		name string
		mem  physmem.Memory
		kind MapKind
		addr uint64
	}
	big := newHandMap(t, 4096)
	for i := range uint64(300) {
		big.setKey(big.key(0x100_0000+i*0x4_0000, uint(i%2)*3))
	}
	big.setKey(1) // key 0's leaf: radix.order-too-large
	small := newHandMap(t, 4096)
	small.setKey(small.key(0x10_0000, 0))
	// A root seen twice in one walk: a shared node in small, not in big.
	shared := newHandMap(t, 4096)
	shared.setKey(shared.key(0x10_0000, 0))
	l4 := shared.firstChild(shared.root())
	shared.put64(l4+8*511, shared.firstChild(l4))
	v1, err := Build(&Handover{Compatible: "kho-v1", LUO: &LUO{Compatible: "luo-v1", Sessions: []Session{{Name: "vm-1"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v1h, err := Decode(v1.Mem, v1.RootAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []input{
		{"big", big.mem, MapRadix, big.root()},
		{"small", small.mem, MapRadix, small.root()},
		{"shared", shared.mem, MapRadix, shared.root()},
		{"absent", small.mem, MapRadix, 1 << 40},
		{"kho-v1", v1.Mem, MapChunk, v1h.MemoryMap.Addr},
	}
	type result struct {
		Map      MemoryMap
		Findings []Finding
	}
	decode := func(md *MapDecoder, in input) result {
		m, fs, err := md.Decode(in.mem, in.kind, in.addr)
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		c := *m
		c.Runs = slices.Clone(m.Runs)
		return result{c, slices.Clone(fs)}
	}
	// One finding a code: a count left from one decode drops the next's.
	opts := &Options{MaxFindingsPerCode: 1}
	want := map[string]result{}
	for _, in := range inputs {
		md, err := NewMapDecoder(opts)
		if err != nil {
			t.Fatal(err)
		}
		want[in.name] = decode(md, in)
	}
	if r := want["big"]; len(r.Map.Runs) != 300 || len(r.Findings) != 1 {
		t.Fatalf("big: %d runs, findings %v; want 300 runs, 1 finding", len(r.Map.Runs), r.Findings)
	}
	md, err := NewMapDecoder(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []int{0, 1, 2, 0, 3, 1, 4, 0, 4, 2, 1} {
		in := inputs[k]
		if d := cmp.Diff(want[in.name], decode(md, in), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("decode %d (%s) after others differs from a fresh decoder's (-fresh +reused):\n%s", i, in.name, d)
		}
	}
}

// TestMapDecoderChunkAllocs: a second decode of a kho-v1 chunk list
// (three runs, page or 512-byte bitmaps) with one MapDecoder allocates
// nothing but the messages of its findings. Read at a forced bitmap size
// the list has none, so nothing; left to detection, it has one saying
// which size was read (chunk.bitmap-size-assumed: its message, 1
// allocation; chunk.bitmap-512: the evidence text and the message, with
// its arguments boxed, 4).
func TestMapDecoderChunkAllocs(t *testing.T) {
	blocks := []Block{
		{Addr: 0x200_0000, Order: 0}, {Addr: 0x200_1000, Order: 0}, // one run
		{Addr: 0x280_0000, Order: 0},
		{Addr: 0x300_0000, Order: 3},
	}
	for _, tc := range []struct {
		name   string
		small  bool
		opts   Options
		codes  []string
		allocs float64
	}{
		{"page bitmaps, forced", false, Options{KHOv1Bitmap: KHOv1BitmapPage}, nil, 0},
		{"512-byte bitmaps, forced", true, Options{KHOv1Bitmap: KHOv1Bitmap512}, nil, 0},
		{"page bitmaps, assumed", false, Options{}, []string{"chunk.bitmap-size-assumed"}, 1},
		{"512-byte bitmaps, detected", true, Options{}, []string{"chunk.bitmap-512"}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head, pages, err := bldChunks(fuzzPageAlloc(0x10_0000, 0x10_0000), blocks, tc.small)
			if err != nil {
				t.Fatal(err)
			}
			mem := &physmem.Sparse{}
			if err := mem.AddRange(0, 0x400_0000, physmem.Present); err != nil {
				t.Fatal(err)
			}
			for pa, p := range pages {
				if err := mem.WriteAt(p, pa); err != nil {
					t.Fatal(err)
				}
			}
			md, err := NewMapDecoder(&tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var fs []Finding
			decode := func() {
				m, f, err := md.Decode(mem, MapChunk, head)
				if err != nil {
					t.Fatal(err)
				}
				if fs = f; len(m.Runs) != 3 || len(fs) != len(tc.codes) {
					t.Fatalf("Decode: %d runs, findings %v; want 3 runs, findings %v", len(m.Runs), fs, tc.codes)
				}
			}
			decode()
			if d := cmp.Diff(tc.codes, findingCodes(fs)); d != "" {
				t.Fatalf("finding codes (-want +got):\n%s", d)
			}
			if n := testing.AllocsPerRun(20, decode); n != tc.allocs {
				t.Errorf("%v allocations per decode, want %v", n, tc.allocs)
			}
		})
	}
}

// TestChunkScratchRelease: a pooled chunk scratch drops the run lists a
// hostile list grew past maxPooledRuns and keeps the others.
func TestChunkScratchRelease(t *testing.T) {
	sc := newChunkScratch(newGeometry(4096))
	sc.runs = make([]Run, 0, maxPooledRuns+1)
	sc.byOrder[0] = make([]Run, 0, maxPooledRuns+1)
	sc.byOrder[9] = make([]Run, 0, maxPooledRuns)
	sc.release()
	got := []int{cap(sc.runs), cap(sc.byOrder[0]), cap(sc.byOrder[9]), len(sc.chunk), len(sc.bitmap)}
	if d := cmp.Diff([]int{0, 0, maxPooledRuns, 4096, 4096}, got); d != "" {
		t.Errorf("capacities of runs, orders 0 and 9, lengths of chunk and bitmap (-want +got):\n%s", d)
	}
}

// TestChunkScratchReleaseOrders: a hostile list may fill many orders, each
// list under maxPooledRuns; the pooled scratch keeps at most maxPooledRuns
// runs by order in all, dropping the largest lists first.
func TestChunkScratchReleaseOrders(t *testing.T) {
	sc := newChunkScratch(newGeometry(4096))
	for o := range 11 {
		sc.byOrder[o] = make([]Run, 0, maxPooledRuns-o)
	}
	sc.byOrder[20] = make([]Run, 0, 10)
	sc.release()
	var caps []int
	for o := range sc.byOrder {
		if c := cap(sc.byOrder[o]); c > 0 {
			caps = append(caps, o, c)
		}
	}
	if d := cmp.Diff([]int{10, maxPooledRuns - 10, 20, 10}, caps); d != "" {
		t.Errorf("orders and capacities kept (-want +got):\n%s", d)
	}
}
