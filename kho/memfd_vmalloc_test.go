package kho

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/kho/physmem"
)

// vmArea is a kho_vmalloc area for the tests: one chunk page at chunk
// listing runs, each of 2^order pages.
type vmArea struct {
	path  string
	chunk uint64
	order uint16
	runs  []uint64
}

// put writes a's chunk page into mem.
func (a vmArea) put(t *testing.T, mem *physmem.Sparse) {
	t.Helper()
	page := make([]byte, 4096)
	for i, r := range a.runs {
		binary.LittleEndian.PutUint64(page[vmallocPhysOff+uint64(i)*8:], r) // next (offset 0) stays 0
	}
	if err := mem.WriteAt(page, a.chunk); err != nil {
		t.Fatal(err)
	}
}

// vm is a's header: total_pages for all its runs, which readVmalloc
// accepts for want bytes up to all those pages.
func (a vmArea) vm() Vmalloc {
	return Vmalloc{First: a.chunk, TotalPages: uint32(len(a.runs)) << a.order, Order: a.order}
}

// vmDecoder is a decoder over mem that checks no preservation (its map
// noted as unusable), so that only the vmalloc findings show.
func vmDecoder(t *testing.T, mem physmem.Memory, opts *Options) *decoder {
	t.Helper()
	d, err := newDecoder(mem, opts)
	if err != nil {
		t.Fatal(err)
	}
	d.mapNoted = true
	return d
}

func findingPaths(d *decoder) []string {
	var out []string
	for _, f := range d.h.Findings {
		out = append(out, f.Code+" "+f.Path)
	}
	return out
}

// TestVmallocSharedPages checks that areas whose runs or chunks share any
// page, not only a run's first one, give vmalloc.shared at the chunk or run
// that claims the page again, and that neighbouring blocks do not.
func TestVmallocSharedPages(t *testing.T) {
	tests := []struct {
		name     string
		areas    []vmArea // decoded in this order
		findings []string
	}{{
		name: "order-0 run on the third page of an earlier order-2 run",
		areas: []vmArea{
			{"/a", 0x10000, 2, []uint64{0x100000}},
			{"/b", 0x11000, 0, []uint64{0x102000}},
		},
		findings: []string{"vmalloc.shared /b/chunks[0]/runs[0]"},
	}, {
		name: "order-2 run over an earlier order-0 run on its last page",
		areas: []vmArea{
			{"/a", 0x10000, 0, []uint64{0x103000}},
			{"/b", 0x11000, 2, []uint64{0x100000}},
		},
		findings: []string{"vmalloc.shared /b/chunks[0]/runs[0]"},
	}, {
		name: "order-3 run holding an earlier order-2 run in its upper half",
		areas: []vmArea{
			{"/a", 0x10000, 2, []uint64{0x10c000}},
			{"/b", 0x11000, 3, []uint64{0x108000}},
		},
		findings: []string{"vmalloc.shared /b/chunks[0]/runs[0]"},
	}, {
		name: "second run of an area inside an earlier order-3 run",
		areas: []vmArea{
			{"/a", 0x10000, 3, []uint64{0x100000}},
			{"/b", 0x11000, 1, []uint64{0x200000, 0x106000}},
		},
		findings: []string{"vmalloc.shared /b/chunks[0]/runs[1]"},
	}, {
		name: "chunk on a page of an earlier run",
		areas: []vmArea{
			{"/a", 0x10000, 2, []uint64{0x100000}},
			{"/b", 0x101000, 0, []uint64{0x200000}},
		},
		findings: []string{"vmalloc.shared /b/chunks[0]"},
	}, {
		name: "run over an earlier chunk",
		areas: []vmArea{
			{"/a", 0x102000, 0, []uint64{0x200000}},
			{"/b", 0x11000, 2, []uint64{0x100000}},
		},
		findings: []string{"vmalloc.shared /b/chunks[0]/runs[0]"},
	}, {
		name: "neighbouring runs and chunks",
		areas: []vmArea{
			{"/a", 0x10000, 2, []uint64{0x100000}},
			{"/b", 0x11000, 0, []uint64{0x104000, 0x0ff000}},
			{"/c", 0x12000, 3, []uint64{0x108000}},
			{"/d", 0x13000, 2, []uint64{0x110000, 0x114000}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := presentMemory(t, 4<<20)
			for _, a := range tt.areas {
				a.put(t, mem)
			}
			d := vmDecoder(t, mem, nil)
			for _, a := range tt.areas {
				d.readVmalloc(a.path, a.vm(), uint64(a.vm().TotalPages)*4096)
			}
			if diff := cmp.Diff(tt.findings, findingPaths(d)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVmallocHugeRunClaim checks that a run of 2^20 pages (4 GiB, the
// largest order Options allows) is claimed whole at a cost independent of
// its size: a few claim entries and allocations, not one a page, and
// that an area sharing only its last page is still found.
func TestVmallocHugeRunClaim(t *testing.T) {
	const order = 20
	const run = 1 << 32
	mem := presentMemory(t, 2*run)
	huge := vmArea{"/huge", 0x10000, order, []uint64{run}}
	tail := vmArea{"/tail", 0x11000, 0, []uint64{run + 4096<<order - 4096}}
	huge.put(t, mem)
	tail.put(t, mem)
	opts := &Options{MaxPageOrder: order}

	d := vmDecoder(t, mem, opts)
	if got := d.readVmalloc(huge.path, huge.vm(), 100); len(got) != 100 {
		t.Fatalf("huge area: read %d bytes, want 100 (findings %v)", len(got), findingPaths(d))
	}
	// The chunk's key; the run's key, and the mark the first order-20
	// claim leaves on the order-20 block holding the chunk.
	if got, want := d.vmClaims.len(), 3; got != want {
		t.Errorf("vmalloc claims hold %d entries after a 2^%d-page run, want %d", got, order, want)
	}
	d.readVmalloc(tail.path, tail.vm(), 100)
	if diff := cmp.Diff([]string{"vmalloc.shared /tail/chunks[0]/runs[0]"}, findingPaths(d)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	allocs := testing.AllocsPerRun(10, func() {
		d := vmDecoder(t, mem, opts)
		d.readVmalloc(huge.path, huge.vm(), 100)
	})
	if allocs > 64 {
		t.Errorf("decoding a 2^%d-page run allocates %v times, want at most 64", order, allocs)
	}
}

// TestVmallocClaimOverlapsBrute checks claimVmallocBlock against a direct
// overlap test on random claims of orders 0-6 in 256 pages, in every order
// of arrival the seeds give: a claim is refused exactly when it shares a
// page with a block claimed before, and the findings are the same on a
// second decoder (marks do not depend on map order).
func TestVmallocClaimOverlapsBrute(t *testing.T) {
	type claim struct {
		pa    uint64
		order uint
	}
	run := func(claims []claim) (accepted []bool, findings []string) {
		d := vmDecoder(t, nil, &Options{MaxPageOrder: 6})
		for i, c := range claims {
			path := fmt.Sprintf("/c%d", i)
			accepted = append(accepted, d.claimVmallocBlock(path, func() string { return path }, c.pa, c.order))
		}
		for _, f := range d.h.Findings {
			findings = append(findings, f.Path+": "+f.Message)
		}
		return accepted, findings
	}
	for seed := uint64(0); seed < 2000; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		claims := make([]claim, 12)
		var want []bool
		for i := range claims {
			order := uint(r.IntN(7))
			pages := uint64(1) << order
			pa := r.Uint64N(256) &^ (pages - 1) * 4096
			claims[i] = claim{pa, order}
			ok := true
			for j, c := range claims[:i] {
				if want[j] && pa < c.pa+4096<<c.order && c.pa < pa+pages*4096 {
					ok = false
				}
			}
			want = append(want, ok)
		}
		got, findings := run(claims)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d, claims %v: accepted (-want +got):\n%s", seed, claims, diff)
		}
		if _, again := run(claims); !cmp.Equal(findings, again) {
			t.Fatalf("seed %d: findings differ between two decodes:\n%s", seed, cmp.Diff(findings, again))
		}
	}
}
