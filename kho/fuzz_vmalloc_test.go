package kho

import (
	"encoding/binary"
	"testing"

	"github.com/khokit/khokit/format"
)

// vmallocSeed is a fuzz input for FuzzVmalloc: the kho_vmalloc descriptor,
// the u32 byte count wanted, then page records with the chunk list and
// its runs laid out the way the builder lays out a memfd's folio array.
func vmallocSeed(tb testing.TB, want uint32, order uint16, chunkSlots int) []byte {
	a := fuzzPageAlloc(pageFuzzBase, pageFuzzRAM)
	runBytes := uint64(4096) << order
	runs := (uint64(want) + runBytes - 1) / runBytes
	pages := map[uint64][]byte{}
	var first, chunk uint64
	for i := uint64(0); i < runs; i++ {
		if int(i)%chunkSlots == 0 {
			next, err := a.alloc(0)
			if err != nil {
				tb.Fatal(err)
			}
			pages[next] = make([]byte, 4096)
			if chunk != 0 {
				binary.LittleEndian.PutUint64(pages[chunk], next)
			} else {
				first = next
			}
			chunk = next
		}
		run, err := a.alloc(uint8(order))
		if err != nil {
			tb.Fatal(err)
		}
		pages[run] = []byte{byte(i), 0xaa, byte(i >> 8)}
		binary.LittleEndian.PutUint64(pages[chunk][vmallocPhysOff+8*(i%uint64(chunkSlots)):], run)
	}
	vm := format.Vmalloc{First: first, TotalPages: uint32(runs << order), Flags: format.VmallocAlloc, Order: order}
	in, err := vm.Append(nil)
	if err != nil {
		tb.Fatal(err)
	}
	in = binary.LittleEndian.AppendUint32(in, want)
	return append(in, pageRecords(pages, first)...)
}

// vmallocDescSize is the size of struct kho_vmalloc.
var vmallocDescSize = (format.Vmalloc{}).Format().Size

// FuzzVmalloc reads a kho_vmalloc area (descriptor and byte count from the
// input's head, chunk and run pages from its page records) with the
// decoder's vmalloc walk, under a map that preserves the whole RAM. The
// walk must end and document its findings; a result is exactly the bytes
// wanted and comes with no Error finding; an Error finding means no result.
// As its callers do, the target asks only for bytes total_pages can hold.
func FuzzVmalloc(f *testing.F) {
	f.Add(vmallocSeed(f, 24, 0, 511))
	f.Add(vmallocSeed(f, 3*4096+17, 0, 511))
	f.Add(vmallocSeed(f, 5*4096, 0, 2)) // a chunk chain
	f.Add(vmallocSeed(f, 9000, 2, 511)) // order-2 runs
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < vmallocDescSize+4 {
			return
		}
		desc, err := format.DecodeVmalloc(in)
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(binary.LittleEndian.Uint32(in[vmallocDescSize:])) % (pageFuzzRAM + 1)
		mem, _ := pageMemory(in[vmallocDescSize+4:])
		d := fuzzDecoder(t, mem)
		trustAllRAM(d)
		vm := Vmalloc{First: desc.First, TotalPages: desc.TotalPages, Flags: desc.Flags, Order: desc.Order}
		if uint64(vm.TotalPages)*4096 < want {
			return // the callers check the capacity first (memfd.nr-folios-too-large)
		}
		out := d.readVmalloc("/fuzz", vm, want)
		checkFindingsDocumented(t, d.h.Findings)
		if out == nil {
			if !hasError(d.h.Findings) && want > 0 {
				t.Fatalf("no result and no Error finding: %v", d.h.Findings)
			}
			return
		}
		if hasError(d.h.Findings) {
			t.Fatalf("result with Error findings: %v", d.h.Findings)
		}
		if uint64(len(out)) != want {
			t.Fatalf("read %d bytes, want %d", len(out), want)
		}
	})
}
