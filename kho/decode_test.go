package kho

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// TestDecodeRoundTrip decodes what the builder laid out, for every root
// version with its LUO generation, and expects the builder's model back
// with no findings, and every memfd's contents readable through its folios.
func TestDecodeRoundTrip(t *testing.T) {
	cases := buildCases()
	cases = append(cases, buildCase{"kho-v4 64K pages", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", LiveupdateNumber: 3,
		Sessions: []Session{{Name: "s", Files: []File{{Compatible: "memfd-v2", Token: 9, Memfd: &Memfd{}}}}}}},
		&BuildOptions{PageSize: 65536, Contents: map[FileID][]byte{{0, 0}: bytes.Repeat([]byte("64k"), 50000)}}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(tc.h, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var opts Options
			if tc.opts != nil {
				opts.PageSize = tc.opts.PageSize
			}
			opts.Scratch = append(opts.Scratch, b.Scratch...)
			opts.KHOv1Bitmap = builtBitmap(tc.opts)
			h, err := Decode(b.Mem, b.RootAddr, &opts)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(b.Handover, h); d != "" {
				t.Errorf("Decode mismatch (-built +decoded):\n%s", d)
			}
			if tc.opts == nil {
				return
			}
			for id, want := range tc.opts.Contents {
				f := h.LUO.Sessions[id.Session].Files[id.File]
				if f.Memfd == nil {
					t.Fatalf("file %v: no memfd decoded", id)
				}
				got, err := io.ReadAll(MemfdContents(b.Mem, f.Memfd, opts.PageSize))
				if err != nil {
					t.Fatalf("file %v: %v", id, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("file %v: contents differ: got %d bytes, want %d", id, len(got), len(want))
				}
			}
		})
	}
}

// TestDecodeErrors: a Go error only when there is nothing to decode, with
// a nil result and the sentinel that says why.
func TestDecodeErrors(t *testing.T) {
	b, err := Build(&Handover{Compatible: "kho-v4"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	notKHO := func() []byte {
		w := fdt.NewWriter()
		_ = w.BeginNode("")
		_ = w.Property("compatible", []byte("acme,board\x00"))
		_ = w.EndNode()
		out, _ := w.Finish()
		return out
	}()
	for _, tc := range []struct {
		name string
		run  func() (*Handover, error)
		want error
	}{
		{"root absent", func() (*Handover, error) { return Decode(b.Mem, 1<<40, nil) }, ErrRootUnreadable},
		{"root not an FDT", func() (*Handover, error) { return Decode(b.Mem, b.Layout.MapPages[0], nil) }, ErrNotFDT},
		{"bytes not an FDT", func() (*Handover, error) { return DecodeRoot(b.Mem, []byte("hello"), nil) }, ErrNotFDT},
		{"not a KHO root", func() (*Handover, error) { return DecodeRoot(b.Mem, notKHO, nil) }, ErrNotKHO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := tc.run()
			if h != nil || !errors.Is(err, tc.want) {
				t.Errorf("got %v, %v; want nil, %v", h, err, tc.want)
			}
			var re *RootError
			if !errors.As(err, &re) {
				t.Errorf("%v is not a *RootError", err)
			}
		})
	}
	if _, err := Decode(b.Mem, b.RootAddr, &Options{PageSize: 8192}); err == nil {
		t.Error("page size 8192 accepted")
	}
}

// TestSubtreeFormatNames: Subtree.Format is a name format.Lookup knows, or
// "unknown", for every build case, and the decoder names a subtree as the
// builder does; a LUO blob whose compatible is not known is "unknown".
func TestSubtreeFormatNames(t *testing.T) {
	want := map[string]map[string]string{ // build case → subtree → format
		"kho-v1+luo-v1": {"LUO": "luo-fdt-v1"},
		"kho-v2+luo-v1": {"LUO": "luo-fdt-v1"},
		"kho-v4+luo-v5": {"LUO": "luo-ser", "kexec-metadata": "kexec-metadata"},
	}
	for _, tc := range buildCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(tc.h, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			h, err := Decode(b.Mem, b.RootAddr, &Options{Scratch: b.Scratch, PageSize: b.Handover.MemoryMap.PageSize})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			built := map[string]string{}
			for _, s := range h.Subtrees {
				got[s.Name] = s.Format
				if _, err := format.Lookup(s.Format); err != nil && s.Format != "unknown" {
					t.Errorf("subtree %q: format %q is not in the catalogue", s.Name, s.Format)
				}
			}
			for _, s := range b.Handover.Subtrees {
				built[s.Name] = s.Format
			}
			if d := cmp.Diff(built, got); d != "" {
				t.Errorf("formats (-built +decoded):\n%s", d)
			}
			for name, f := range want[tc.name] {
				if got[name] != f {
					t.Errorf("subtree %q: format %q, want %q", name, got[name], f)
				}
			}
		})
	}
	t.Run("unknown luo_ser", func(t *testing.T) {
		b := hostileBase(t, "kho-v4+luo-v5")
		if err := b.Mem.WriteAt([]byte("luo-v9\x00\x00"), b.Layout.LUO); err != nil {
			t.Fatal(err)
		}
		h, err := Decode(b.Mem, b.RootAddr, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range h.Subtrees {
			if s.Name == "LUO" && (s.Format != "unknown" || s.Raw == nil) {
				t.Errorf("LUO subtree: format %q, raw %d bytes; want unknown with its bytes", s.Format, len(s.Raw))
			}
		}
	})
}

// TestDecodeBadOptions: options a decode cannot use fail before any memory
// is read, with an error that says which option and wraps ErrOptions.
func TestDecodeBadOptions(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		pageSize bool // also wraps format.ErrPageSize
	}{
		{"page size 8192", Options{PageSize: 8192}, true},
		{"page size 2^32+4096", Options{PageSize: 1<<32 + 4096}, true},
		{"max page order 21", Options{MaxPageOrder: 21}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(&physmem.Sparse{}, 0x1000, &tt.opts)
			if !errors.Is(err, ErrOptions) {
				t.Fatalf("Decode error %v, want ErrOptions", err)
			}
			if got := errors.Is(err, format.ErrPageSize); got != tt.pageSize {
				t.Errorf("errors.Is(%v, format.ErrPageSize) = %v, want %v", err, got, tt.pageSize)
			}
		})
	}
}

// TestSubtreeBlobBudget decodes roots naming 40 subtrees whose 1 MiB
// blobs overlap in a 1.2 MiB image: only the first 16 (16 MiB, the
// budget at the default MaxBlobSize) are read, the rest are findings,
// whether the root version is known or not.
func TestSubtreeBlobBudget(t *testing.T) {
	const base, n, size = 0x100000, 40, 1 << 20
	for _, compat := range []string{"kho-v3", "kho-v9"} {
		mem := &physmem.Sparse{}
		if err := mem.AddRange(base, size+n*4096, physmem.Present); err != nil {
			t.Fatal(err)
		}
		w := fdt.NewWriter()
		_ = w.BeginNode("")
		_ = w.Property("compatible", append([]byte(compat), 0))
		_ = w.Property("preserved-memory-map", make([]byte, 8))
		for i := range n {
			_ = w.BeginNode("blob" + strconv.Itoa(i))
			_ = w.Property("preserved-data", binary.LittleEndian.AppendUint64(nil, base+uint64(i)*4096))
			_ = w.Property("blob-size", binary.LittleEndian.AppendUint64(nil, size))
			_ = w.EndNode()
		}
		_ = w.EndNode()
		blob, err := w.Finish()
		if err != nil {
			t.Fatal(err)
		}
		h, err := DecodeRoot(mem, blob, nil)
		if err != nil {
			t.Fatalf("%s: %v", compat, err)
		}
		var kept []int
		for i, st := range h.Subtrees {
			if len(st.Raw) > 0 {
				kept = append(kept, i)
			}
		}
		var refused []string
		for _, f := range h.Findings {
			if f.Code == "subtree.total-limit" {
				refused = append(refused, f.Path)
			}
		}
		var wantKept []int
		var wantRefused []string
		for i := range n {
			if i < maxSubtreeBlobs {
				wantKept = append(wantKept, i)
			} else {
				wantRefused = append(wantRefused, "/blob"+strconv.Itoa(i))
			}
		}
		if diff := cmp.Diff(wantKept, kept); diff != "" {
			t.Errorf("%s: subtrees with raw bytes (-want +got):\n%s", compat, diff)
		}
		if diff := cmp.Diff(wantRefused, refused); diff != "" {
			t.Errorf("%s: subtree.total-limit findings (-want +got):\n%s", compat, diff)
		}
	}
}

// TestScratchSetMatchesScan checks inScratch's binary search against a
// scan of every region, over regions that overlap, nest, are empty or end
// at the top of the address space: a hit exactly when some region
// overlaps, and then the overlapping region that starts lowest.
func TestScratchSetMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var regions []ScratchRegion
		for range rng.IntN(12) {
			r := ScratchRegion{Addr: rng.Uint64N(64) * 0x1000, Size: rng.Uint64N(8) * 0x1000}
			if rng.IntN(8) == 0 {
				r.Addr = ^uint64(0) - rng.Uint64N(4)*0x1000
			}
			regions = append(regions, r)
		}
		d := &decoder{scr: newScratchSet(regions)}
		for range 100 {
			pa, size := rng.Uint64N(72)*0x800, 1+rng.Uint64N(6)*0x800
			var want ScratchRegion
			wantHit := false
			for _, r := range regions {
				if r.Size != 0 && pa < regionEnd(r) && r.Addr < pa+size && (!wantHit || r.Addr < want.Addr) {
					want, wantHit = r, true
				}
			}
			got, hit := d.inScratch(pa, size)
			if hit != wantHit || hit && got.Addr != want.Addr {
				t.Fatalf("round %d, regions %v: inScratch(%#x, %#x) = %v, %v; want %v, %v", round, regions, pa, size, got, hit, want, wantHit)
			}
		}
	}
}
