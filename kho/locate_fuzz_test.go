package kho

import (
	"errors"
	"testing"

	"github.com/khokit/khokit/kho/physmem"
)

const fuzzLocateRAM = 64 << 10

// fuzzLocateSeed is a small memory holding a handover named by setup_data,
// as raw bytes from address 0.
func fuzzLocateSeed(tb testing.TB, h *Handover) []byte {
	b, err := Build(h, &BuildOptions{RAM: []physmem.Range{{Start: 0, Size: fuzzLocateRAM}}, Base: 0x1000, SetupData: true})
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, fuzzLocateRAM)
	if _, err := b.Mem.ReadAt(out, 0); err != nil {
		tb.Fatal(err)
	}
	return out
}

// FuzzLocate runs the locator over a built memory with one patch of
// fuzz bytes written at a fuzz offset (small inputs keep mutation and
// minimisation fast, and every patch lands near real structures).
// Invariants: no panic; every candidate is a page-aligned root inside
// memory that the decoder also accepts as a KHO root; Incoming never picks
// an outgoing root or a copy.
func FuzzLocate(f *testing.F) {
	bases := [][]byte{
		fuzzLocateSeed(f, &Handover{Compatible: "kho-v4", KexecMetadata: &KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1},
			LUO: &LUO{Compatible: "luo-v5", LiveupdateNumber: 1}}),
		fuzzLocateSeed(f, &Handover{Compatible: "kho-v1"}),
		make([]byte, fuzzLocateRAM),
	}
	f.Add(uint8(0), uint16(0), []byte{})
	f.Add(uint8(1), uint16(0x1000), []byte{0xd0, 0x0d, 0xfe, 0xed})
	f.Add(uint8(2), uint16(0x202), []byte("HdrS"))
	f.Add(uint8(0), uint16(0xc008), []byte{10, 0, 0, 0, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, which uint8, off uint16, patch []byte) {
		data := append([]byte(nil), bases[int(which)%len(bases)]...)
		copy(data[int(off)%fuzzLocateRAM:], patch)
		m := new(physmem.Sparse)
		if err := m.AddRange(0, fuzzLocateRAM, physmem.Present); err != nil {
			t.Fatal(err)
		}
		if err := m.WriteAt(data, 0); err != nil {
			t.Fatal(err)
		}
		cs, _, err := Locate(m, &LocateOptions{MaxHits: 64, MaxSetupData: 32, ChunkSize: 32 << 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Addr%4096 != 0 || c.Addr >= fuzzLocateRAM {
				t.Fatalf("candidate %#x outside memory or unaligned", c.Addr)
			}
			if _, err := Decode(m, c.Addr, nil); errors.Is(err, ErrNotFDT) || errors.Is(err, ErrNotKHO) {
				t.Fatalf("locator accepted %#x, decoder refuses it: %v", c.Addr, err)
			}
		}
		if in, ok := Incoming(cs); ok && (in.Role == RoleCopy || in.Role == RoleOutgoing) {
			t.Fatalf("Incoming picked a %v root", in.Role)
		}
	})
}

// TestFuzzLocateSeed checks that the fuzz seed is a memory the locator
// finds a handover in, so the fuzzer starts from the interesting path.
func TestFuzzLocateSeed(t *testing.T) {
	data := fuzzLocateSeed(t, &Handover{Compatible: "kho-v4"})
	m := new(physmem.Sparse)
	if err := m.AddRange(0, fuzzLocateRAM, physmem.Present); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	cs, fs, err := Locate(m, nil)
	if err != nil || len(fs) != 0 || len(cs) != 1 || cs[0].Role != RoleIncoming {
		t.Fatalf("candidates %+v, findings %v, err %v", cs, fs, err)
	}
}
