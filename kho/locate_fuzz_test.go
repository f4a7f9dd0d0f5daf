package kho

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/fdt"
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

// fuzzLocateChosenSeed is fuzzLocateSeed's memory with the x86 handoff
// wiped and a boot FDT at 0xf000 whose /chosen names the root (1+1 cells),
// so the fuzzer starts on the arm64 path.
func fuzzLocateChosenSeed(tb testing.TB) []byte {
	data := fuzzLocateSeed(tb, &Handover{Compatible: "kho-v4"})
	const bootParams, setupData, scratchArray, at = 0xc000, 0xd000, 0xe000, 0xf000 // the built layout
	clear(data[bootParams : setupData+4096])
	be := func(v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.BigEndian.AppendUint32(b, x)
		}
		return b
	}
	copy(data[at:], bootFDT(tb, 1, 1, be(0x1000, 4096), be(scratchArray, 16)))
	return data
}

// FuzzLocate runs the locator over a built memory with one patch of
// fuzz bytes written at a fuzz offset (small inputs keep mutation and
// minimisation fast, and every patch lands near real structures).
// Invariants: no panic; every candidate is a page-aligned root inside
// memory that the decoder also accepts as a KHO root; Incoming never picks
// an outgoing root or a copy; a boot FDT a candidate gives (BootFDT) is an
// FDT of that totalsize inside memory, and only an incoming root has one.
func FuzzLocate(f *testing.F) {
	bases := [][]byte{
		fuzzLocateSeed(f, &Handover{Compatible: "kho-v4", KexecMetadata: &KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1},
			LUO: &LUO{Compatible: "luo-v5", LiveupdateNumber: 1}}),
		fuzzLocateSeed(f, &Handover{Compatible: "kho-v1"}),
		make([]byte, fuzzLocateRAM),
		fuzzLocateChosenSeed(f),
	}
	f.Add(uint8(0), uint16(0), []byte{})
	f.Add(uint8(1), uint16(0x1000), []byte{0xd0, 0x0d, 0xfe, 0xed})
	f.Add(uint8(2), uint16(0x202), []byte("HdrS"))
	f.Add(uint8(0), uint16(0xc008), []byte{10, 0, 0, 0, 8, 0, 0, 0})
	f.Add(uint8(3), uint16(0xf000), []byte{})
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
			checkBootFDTFields(t, m, c)
		}
		if in, ok := Incoming(cs); ok && (in.Role == RoleCopy || in.Role == RoleOutgoing) {
			t.Fatalf("Incoming picked a %v root", in.Role)
		}
	})
}

// checkBootFDTFields fails unless c's boot FDT fields are all 0, or name
// an FDT in m whose totalsize is BootFDTSize on a root /chosen names.
func checkBootFDTFields(t *testing.T, m physmem.Memory, c Candidate) {
	t.Helper()
	if c.BootFDTSize == 0 {
		if c.BootFDT != 0 || c.BootScratch != 0 || c.BootScratchSize != 0 {
			t.Fatalf("root %#x: boot FDT fields without a boot FDT: %#x %#x %#x", c.Addr, c.BootFDT, c.BootScratch, c.BootScratchSize)
		}
		return
	}
	if c.Role != RoleIncoming {
		t.Fatalf("root %#x is %v, yet a boot FDT at %#x names it", c.Addr, c.Role, c.BootFDT)
	}
	var hdr [fdt.SizePrefixLen]byte
	if _, err := m.ReadAt(hdr[:], c.BootFDT); err != nil {
		t.Fatalf("boot FDT at %#x: %v", c.BootFDT, err)
	}
	if magic, total, _ := fdt.SizePrefix(hdr[:]); magic != fdt.Magic || uint64(total) != c.BootFDTSize || c.BootFDTSize > MaxBootFDTSize {
		t.Fatalf("boot FDT at %#x: magic %#x totalsize %d, candidate says %d bytes", c.BootFDT, magic, total, c.BootFDTSize)
	}
}

// TestFuzzLocateSeed checks that the fuzz seed is a memory the locator
// finds a handover in, so the fuzzer starts from the interesting path.
func TestFuzzLocateSeed(t *testing.T) {
	chosen := fuzzLocateChosenSeed(t)
	bootSize := uint64(binary.BigEndian.Uint32(chosen[0xf000+4:])) // the FDT header's totalsize
	tests := []struct {
		name string
		data []byte
		want bootFDTFields
	}{
		{"setup_data", fuzzLocateSeed(t, &Handover{Compatible: "kho-v4"}), bootFDTFields{Role: RoleIncoming}},
		{"/chosen", chosen, bootFDTFields{RoleIncoming, 0xf000, bootSize, 0xe000, 16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := new(physmem.Sparse)
			if err := m.AddRange(0, fuzzLocateRAM, physmem.Present); err != nil {
				t.Fatal(err)
			}
			if err := m.WriteAt(tt.data, 0); err != nil {
				t.Fatal(err)
			}
			cs, fs, err := Locate(m, nil)
			if err != nil || len(fs) != 0 || len(cs) != 1 || cs[0].Role != RoleIncoming {
				t.Fatalf("candidates %+v, findings %v, err %v", cs, fs, err)
			}
			c := cs[0]
			got := bootFDTFields{c.Role, c.BootFDT, c.BootFDTSize, c.BootScratch, c.BootScratchSize}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("boot FDT fields (-want +got):\n%s", diff)
			}
		})
	}
}
