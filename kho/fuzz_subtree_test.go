package kho

import (
	"testing"

	"github.com/khokit/khokit/kho/physmem"
)

// subtreeFuzz is a valid handover built once, in which one subtree's blob
// is replaced by fuzz input before each decode, so that mutation reaches
// the subtree's parser through the decoder's own subtree decoding
// (blob-size, preservation checks, dispatch by name).
type subtreeFuzz struct {
	mem      *physmem.Sparse
	h        *Handover // the built handover: root compatible, map, subtrees
	idx      int       // the fuzzed subtree in h.Subtrees
	capacity uint64    // bytes preserved for its blob
	opts     *Options
}

// subtreeFuzzHandover carries memblock and kexec-metadata subtrees, kho-v4
// (blob-size present), no LUO so that a decode is quick.
func subtreeFuzzHandover() *Handover {
	return &Handover{Compatible: "kho-v4",
		KexecMetadata: &KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 2},
		Memblock:      &Memblock{Regions: []ReserveMem{{Name: "trace", Size: 3 * 4096}, {Name: "oops", Size: 4096}}},
	}
}

func newSubtreeFuzz(tb testing.TB, name string) *subtreeFuzz {
	b, err := Build(subtreeFuzzHandover(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	s := &subtreeFuzz{mem: b.Mem, h: b.Handover, idx: -1, opts: &Options{Scratch: b.Scratch}}
	for i, st := range b.Handover.Subtrees {
		if st.Name == name {
			s.idx = i
		}
	}
	if s.idx < 0 {
		tb.Fatalf("built handover has no %q subtree", name)
	}
	addr := s.h.Subtrees[s.idx].Addr
	blk, ok := s.h.MemoryMap.Covers(addr, 1)
	if !ok || blk.Addr != addr {
		tb.Fatalf("%s blob at %#x is not at the start of a preserved block", name, addr)
	}
	s.capacity = s.h.MemoryMap.blockSize(blk.Order)
	return s
}

// blob returns the fuzzed subtree's current bytes.
func (s *subtreeFuzz) blob(tb testing.TB) []byte {
	st := s.h.Subtrees[s.idx]
	b := make([]byte, st.Size)
	if _, err := s.mem.ReadAt(b, st.Addr); err != nil {
		tb.Fatal(err)
	}
	return b
}

// decode writes blob (cut to the preserved capacity) over the subtree's
// blob, sets its blob-size to match, and decodes the whole handover.
func (s *subtreeFuzz) decode(t *testing.T, blob []byte) *Handover {
	t.Helper()
	if uint64(len(blob)) > s.capacity {
		blob = blob[:s.capacity]
	}
	addr := s.h.Subtrees[s.idx].Addr
	if err := s.mem.WriteAt(make([]byte, s.capacity), addr); err != nil {
		t.Fatal(err)
	}
	if err := s.mem.WriteAt(blob, addr); err != nil {
		t.Fatal(err)
	}
	h := *s.h
	h.Subtrees = append([]Subtree(nil), s.h.Subtrees...)
	h.Subtrees[s.idx].Size = uint64(len(blob))
	root, err := EncodeRootFDT(&h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRoot(s.mem, root, s.opts)
	if err != nil {
		t.Fatalf("decoding a valid root: %v", err)
	}
	checkFindingsDocumented(t, got.Findings)
	return got
}

// findingsUnder returns the codes of the findings under path.
func findingsUnder(fs []Finding, path string) []string {
	var codes []string
	for _, f := range fs {
		if f.Path == path || len(f.Path) > len(path) && f.Path[:len(path)+1] == path+"/" {
			codes = append(codes, f.Code)
		}
	}
	return codes
}
