package kho

import (
	"encoding/binary"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/kho/physmem"
)

// Fuzz input layout: a 2-byte little-endian length n, n bytes of root FDT,
// then page records {u16 page index from fuzzBase, u16 length, bytes}
// written into 16 MiB of RAM at fuzzBase. Trailing zeros of a page are
// not stored, so seeds built by the builder stay a few KiB.
const (
	fuzzBase = 0x100000
	fuzzRAM  = 16 << 20
)

// fuzzInput flattens a built handover into a fuzz input.
func fuzzInput(tb testing.TB, b *Built) []byte {
	hdr := make([]byte, 8)
	if _, err := b.Mem.ReadAt(hdr, b.RootAddr); err != nil {
		tb.Fatal(err)
	}
	root := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
	if _, err := b.Mem.ReadAt(root, b.RootAddr); err != nil {
		tb.Fatal(err)
	}
	in := binary.LittleEndian.AppendUint16(nil, uint16(len(root)))
	in = append(in, root...)
	_ = b.Mem.Pages(func(addr uint64, page []byte) error {
		if addr < fuzzBase || addr >= fuzzBase+fuzzRAM {
			return nil
		}
		n := len(page)
		for n > 0 && page[n-1] == 0 {
			n--
		}
		if n == 0 {
			return nil
		}
		in = binary.LittleEndian.AppendUint16(in, uint16((addr-fuzzBase)/4096))
		in = binary.LittleEndian.AppendUint16(in, uint16(n))
		in = append(in, page[:n]...)
		return nil
	})
	return in
}

// fuzzMemory turns the page records of a fuzz input into memory.
func fuzzMemory(recs []byte) *physmem.Sparse {
	mem := &physmem.Sparse{}
	_ = mem.AddRange(fuzzBase, fuzzRAM, physmem.Present)
	for len(recs) >= 4 {
		pg := uint64(binary.LittleEndian.Uint16(recs))
		n := min(int(binary.LittleEndian.Uint16(recs[2:])), 4096, len(recs)-4)
		_ = mem.WriteAt(recs[4:4+n], fuzzBase+pg*4096)
		recs = recs[4+n:]
	}
	return mem
}

// FuzzDecode decodes a root FDT over memory built from the input. An error
// must come with a nil result; a result must be deterministic, its findings
// documented, and its memfds readable. Seeds are the builder's handovers.
// Run with -fuzzminimizetime of a few seconds: minimizing a 14 KiB seed at
// the default 60s stalls the run.
func FuzzDecode(f *testing.F) {
	for _, tc := range buildCases() {
		if tc.opts != nil && tc.opts.PageSize != 0 {
			continue
		}
		b, err := Build(tc.h, tc.opts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fuzzInput(f, b))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		n := int(binary.LittleEndian.Uint16(in))
		if n > len(in)-2 {
			n = len(in) - 2
		}
		root, img := in[2:2+n], in[2+n:]
		mem := fuzzMemory(img)
		// Caps small enough that the determinism check (a cmp.Diff of the
		// whole model) stays fast; the decoder's own bounds are the same code.
		opts := &Options{Scratch: []ScratchRegion{{Addr: fuzzBase + 0xf0000, Size: 0x1000}}, MaxFolios: 1 << 12}
		h, err := DecodeRoot(mem, root, opts)
		if err != nil {
			if h != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		// Decoding is deterministic.
		h2, err := DecodeRoot(mem, root, opts)
		if err != nil {
			t.Fatalf("second decode failed: %v", err)
		}
		if d := cmp.Diff(h, h2); d != "" {
			t.Fatalf("decode not deterministic:\n%s", d)
		}
		// Every finding is documented and located.
		for _, fd := range h.Findings {
			if _, ok := LookupCode(fd.Code); !ok {
				t.Fatalf("undocumented code %q", fd.Code)
			}
		}
		// Contents of decoded memfds read back without panicking.
		if h.LUO != nil {
			for _, s := range h.LUO.Sessions {
				for _, fl := range s.Files {
					if fl.Memfd != nil {
						_, _ = io.Copy(io.Discard, io.LimitReader(MemfdContents(mem, fl.Memfd, 4096), 1<<16))
					}
				}
			}
		}
	})
}
