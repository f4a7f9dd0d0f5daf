package main

import (
	"bytes"
	le "encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/khokit/khokit/cmd/khodump/internal/carve"
	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
)

// hostileHandoffImage writes an ELF core of a built handover whose x86
// kho_data is patched by patch, with 8 GiB of RAM at 4 GiB that holds
// nothing (present, stored nowhere): memory a hostile size would reach.
func hostileHandoffImage(t *testing.T, patch func(mem *physmem.Sparse, node uint64)) string {
	t.Helper()
	h := &kho.Handover{Compatible: "kho-v4",
		KexecMetadata: &kho.KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1}}
	b, err := kho.Build(h, &kho.BuildOptions{SetupData: true})
	if err != nil {
		t.Fatal(err)
	}
	const bigRAM, bigRAMSize = 4 << 30, 8 << 30
	if err := b.Mem.AddRange(bigRAM, bigRAMSize, physmem.Present); err != nil {
		t.Fatal(err)
	}
	patch(b.Mem, b.SetupDataAddr)
	return writeBuiltELF(t, b, "hostile.elf", physmem.Range{Start: bigRAM, Size: bigRAMSize, State: physmem.Present})
}

// writeBuiltELF writes an ELF core of b's stored memory, its scratch and
// the extra ranges (present, stored or not) to a file named name in a
// test directory, and returns its path. The kept ranges go through
// carve.Keep, as genfixtures' do: Segments wants them sorted and joined.
func writeBuiltELF(t *testing.T, b *kho.Built, name string, extra ...physmem.Range) string {
	t.Helper()
	var keep []physmem.Range
	for _, s := range b.Scratch {
		keep = append(keep, physmem.Range{Start: s.Addr, Size: s.Size, State: physmem.Present})
	}
	keep = append(keep, extra...)
	segs, err := carve.Segments(b.Mem, b.Mem.StoredRanges(), carve.Keep(b.Mem, nil, keep), 4096, true)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := image.WriteELFSegments(&buf, b.Mem, segs, &image.ELFOptions{VMCoreInfo: []byte("OSRELEASE=7.3.4\nPAGESIZE=4096\n")}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// putU64 and putU32 patch little-endian fields of the setup_data node:
// its header's len at +12, kho_data's scratch_size at +16+24.
func putU64(t *testing.T, mem *physmem.Sparse, addr, v uint64) {
	t.Helper()
	if err := mem.WriteAt(le.LittleEndian.AppendUint64(nil, v), addr); err != nil {
		t.Fatal(err)
	}
}

func putU32(t *testing.T, mem *physmem.Sparse, addr uint64, v uint32) {
	t.Helper()
	if err := mem.WriteAt(le.LittleEndian.AppendUint32(nil, v), addr); err != nil {
		t.Fatal(err)
	}
}

// A hostile kho_data (scratch_size, or the setup_data node's len) makes
// carve keep what the locator read, not all memory the size reaches.
func TestCarveHostileHandoff(t *testing.T) {
	tests := []struct {
		name     string
		patch    func(t *testing.T, mem *physmem.Sparse, node uint64)
		wantNote string
		// sameDecode: the carved core decodes as the source. Not so for
		// a node len past what the locator's scan believes: carve keeps
		// the node, not the boot_params page that chains to it, so the
		// carved core's root has no handoff naming it.
		sameDecode bool
	}{
		{"clean", func(*testing.T, *physmem.Sparse, uint64) {}, "", true},
		{"scratch_size 2^60", func(t *testing.T, mem *physmem.Sparse, node uint64) { putU64(t, mem, node+16+24, 1<<60) },
			"scratch_size 1152921504606846976", true},
		{"scratch_size 2^64-16", func(t *testing.T, mem *physmem.Sparse, node uint64) { putU64(t, mem, node+16+24, 1<<64-16) },
			"scratch_size 18446744073709551600", true},
		{"setup_data len 2^32-1", func(t *testing.T, mem *physmem.Sparse, node uint64) { putU32(t, mem, node+12, 1<<32-1) }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := hostileHandoffImage(t, func(mem *physmem.Sparse, node uint64) { tt.patch(t, mem, node) })
			carved := filepath.Join(t.TempDir(), "carved.elf")
			_, errOut := run1(t, 0, "carve", "--out", carved, src)
			if tt.wantNote != "" && !strings.Contains(errOut, tt.wantNote) {
				t.Errorf("stderr %q does not mention %q", errOut, tt.wantNote)
			}
			// The carved core decodes as the source does, findings and
			// incoming role included.
			wantOut, _, wantCode := khodump(t, "-o", "json", src)
			gotOut, _, gotCode := khodump(t, "-o", "json", carved)
			want, got := decodeDoc(t, wantOut), decodeDoc(t, gotOut)
			got.Source = want.Source
			if diff := cmp.Diff(want, got); tt.sameDecode && (diff != "" || gotCode != wantCode) {
				t.Errorf("carved core decodes differently, exit %d, want %d (-want +got):\n%s", gotCode, wantCode, diff)
			}
			im, err := image.Open(carved, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var present uint64
			for _, r := range im.Memory.Ranges() {
				if r.State != physmem.Present {
					continue
				}
				present += r.Size
				if r.End() > 4<<30 {
					t.Errorf("carved core keeps %v, in the RAM nothing of the handover lies in", r)
				}
			}
			if present > 64<<20 {
				t.Errorf("carved core keeps %d bytes of memory", present)
			}
		})
	}
}

// chosenImage writes an ELF core of a built handover named only by
// /chosen linux,kho-fdt in a boot FDT at bootAddr (the arm64 handoff): the
// x86 boot_params page and setup_data node are wiped, the scratch array
// stays. The boot FDT has addrCells and sizeCells, and linux,kho-scratch
// only with scratchProp; a byte copy of it is written at each of copies.
func chosenImage(t *testing.T, bootAddr uint64, addrCells, sizeCells uint32, scratchProp bool, copies ...uint64) (string, *kho.Built) {
	t.Helper()
	h := &kho.Handover{Compatible: "kho-v4",
		KexecMetadata: &kho.KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1},
		Memblock:      &kho.Memblock{Regions: []kho.ReserveMem{{Name: "trace", Size: 2 * 4096}}}}
	b, err := kho.Build(h, &kho.BuildOptions{SetupData: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		addr uint64
		n    int
	}{{b.Layout.BootParams, 4096}, {b.SetupDataAddr, 48}} {
		if err := b.Mem.WriteAt(make([]byte, w.n), w.addr); err != nil {
			t.Fatal(err)
		}
	}
	cells := func(n uint32, v uint64) []byte {
		if n == 1 {
			return be32(uint32(v))
		}
		return append(be32(uint32(v>>32)), be32(uint32(v))...)
	}
	fw := fdt.NewWriter()
	fw.BeginNode("")
	fw.Property("#address-cells", be32(addrCells))
	fw.Property("#size-cells", be32(sizeCells))
	fw.Property("compatible", []byte("linux,dummy-virt\x00"))
	fw.BeginNode("chosen")
	fw.Property("bootargs", []byte("console=ttyAMA0\x00"))
	fw.Property("linux,kho-fdt", append(cells(addrCells, b.RootAddr), cells(sizeCells, 4096)...))
	if scratchProp {
		fw.Property("linux,kho-scratch", append(cells(addrCells, b.Layout.ScratchArray), cells(sizeCells, uint64(16*len(b.Scratch)))...))
	}
	fw.EndNode()
	fw.EndNode()
	boot, err := fw.Finish()
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range append([]uint64{bootAddr}, copies...) {
		if err := b.Mem.WriteAt(boot, at); err != nil { // in the built RAM
			t.Fatal(err)
		}
	}
	return writeBuiltELF(t, b, "chosen.elf"), b
}

func be32(v uint32) []byte { return le.BigEndian.AppendUint32(nil, v) }

// A root named by /chosen in a boot FDT in memory stays named in the
// carved core: carve keeps the boot FDT the locator gives
// (Candidate.BootFDT) and the scratch array its linux,kho-scratch names,
// so the carved core decodes as the source, incoming role and scratch
// included.
func TestCarveKeepsChosen(t *testing.T) {
	const bootAddr = 200 << 20
	tests := []struct {
		name                 string
		addrCells, sizeCells uint32
		scratchProp          bool
		copyAt               uint64 // a byte copy of the boot FDT, not kept; 0: none
	}{
		{"2+2 cells", 2, 2, true, 0},
		{"2+1 cells", 2, 1, true, 0},
		{"1+1 cells", 1, 1, true, 0},
		{"no linux,kho-scratch", 2, 2, false, 0},
		// The locator gives the lowest-addressed boot FDT; the copy only
		// repeats it, so the carved core decodes the same without it.
		{"a copy above", 2, 2, true, bootAddr + 1<<20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var copies []uint64
			if tt.copyAt != 0 {
				copies = append(copies, tt.copyAt)
			}
			src, b := chosenImage(t, bootAddr, tt.addrCells, tt.sizeCells, tt.scratchProp, copies...)
			wantOut, _, wantCode := khodump(t, "-o", "json", src)
			want := decodeDoc(t, wantOut)
			if len(want.Handovers) != 1 || want.Handovers[0].Role != "incoming" {
				t.Fatalf("source: want one incoming handover:\n%s", wantOut)
			}
			carved := filepath.Join(t.TempDir(), "carved.elf")
			run1(t, 0, "carve", "--out", carved, src)
			gotOut, _, gotCode := khodump(t, "-o", "json", carved)
			got := decodeDoc(t, gotOut)
			got.Source = want.Source
			if diff := cmp.Diff(want, got); diff != "" || gotCode != wantCode {
				t.Errorf("carved core decodes differently, exit %d, want %d (-want +got):\n%s", gotCode, wantCode, diff)
			}
			if len(got.Handovers) != 1 || got.Handovers[0].Role != "incoming" {
				t.Errorf("carved core: want one incoming handover:\n%s", gotOut)
			}
			// The boot FDT's bytes are in the carved core, at its address.
			im, err := image.Open(carved, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			wantFDT := make([]byte, 64)
			if _, err := b.Mem.ReadAt(wantFDT, bootAddr); err != nil {
				t.Fatal(err)
			}
			gotFDT := make([]byte, len(wantFDT))
			if _, err := im.Memory.ReadAt(gotFDT, bootAddr); err != nil {
				t.Errorf("boot FDT at %#x: %v", uint64(bootAddr), err)
			} else if !bytes.Equal(wantFDT, gotFDT) {
				t.Errorf("boot FDT at %#x: carved bytes differ", uint64(bootAddr))
			}
			if tt.copyAt != 0 {
				if _, err := im.Memory.ReadAt(gotFDT, tt.copyAt); err == nil && bytes.Equal(wantFDT, gotFDT) {
					t.Errorf("the copy of the boot FDT at %#x is kept too", tt.copyAt)
				}
				// What the copy changes: the evidence -v lists.
				copyLine := fmt.Sprintf("boot FDT at %#x:", tt.copyAt)
				if !strings.Contains(out(t, 0, "scan", "-v", src), copyLine) || strings.Contains(out(t, 0, "scan", "-v", carved), copyLine) {
					t.Errorf("scan -v: want %q in the source's evidence and not in the carved core's", copyLine)
				}
			}
		})
	}
}

// keepChosen keeps the boot FDT and the scratch array a Candidate's
// BootFDT and BootScratch fields give, bounded as the locator reads them,
// and nothing when no boot FDT in memory names the root. The first case
// takes the Candidate from kho.Locate over an arm64-style image.
func TestKeepChosen(t *testing.T) {
	const bootAddr = 200 << 20 // below the built scratch array
	_, b := chosenImage(t, bootAddr, 2, 2, true)
	cands, _, err := kho.Locate(b.Mem, &kho.LocateOptions{Scan: kho.ScanAlways})
	if err != nil {
		t.Fatal(err)
	}
	located, ok := kho.Incoming(cands)
	if !ok || located.Role != kho.RoleIncoming {
		t.Fatalf("no incoming root among %+v", cands)
	}
	// totalsize, the FDT header's second word.
	hdr := make([]byte, 8)
	if _, err := b.Mem.ReadAt(hdr, bootAddr); err != nil {
		t.Fatal(err)
	}
	bootSize := uint64(le.BigEndian.Uint32(hdr[4:]))
	arraySize := uint64(format.ScratchSize * len(b.Scratch))
	boot := func(scratch, scratchSize uint64) *kho.Candidate {
		return &kho.Candidate{Addr: b.RootAddr, Role: kho.RoleIncoming, BootFDT: bootAddr, BootFDTSize: bootSize, BootScratch: scratch, BootScratchSize: scratchSize}
	}
	tests := []struct {
		name     string
		cand     *kho.Candidate
		want     []physmem.Range // recorded
		wantNote string
	}{
		{"as located", &located, []physmem.Range{
			{Start: bootAddr, Size: bootSize, State: physmem.Present},
			{Start: b.Layout.ScratchArray, Size: arraySize, State: physmem.Present},
		}, ""},
		{"no boot FDT names the root", &kho.Candidate{Addr: b.RootAddr, Role: kho.RoleIncoming, Evidence: []string{"boot FDT at 0xc800000: /chosen linux,kho-fdt = <0x100000 0x1000>"}}, nil, ""},
		{"no linux,kho-scratch", boot(0, 0), []physmem.Range{{Start: bootAddr, Size: bootSize, State: physmem.Present}}, ""},
		{"scratch size in part entries", boot(b.Layout.ScratchArray, 2*format.ScratchSize+7), []physmem.Range{
			{Start: bootAddr, Size: bootSize, State: physmem.Present},
			{Start: b.Layout.ScratchArray, Size: 2 * format.ScratchSize, State: physmem.Present},
		}, ""},
		{"scratch size 2^60", boot(b.Layout.ScratchArray, 1<<60), []physmem.Range{{Start: bootAddr, Size: bootSize, State: physmem.Present}},
			"linux,kho-scratch in the boot FDT at 0xc800000: scratch_size 1152921504606846976 is past"},
		{"scratch size 2^64-16", boot(b.Layout.ScratchArray, 1<<64-16), []physmem.Range{{Start: bootAddr, Size: bootSize, State: physmem.Present}},
			"scratch_size 18446744073709551600 is past"},
		{"boot FDT past 1 MiB", &kho.Candidate{Addr: b.RootAddr, BootFDT: bootAddr, BootFDTSize: 1<<20 + 1, BootScratch: b.Layout.ScratchArray, BootScratchSize: 16}, nil,
			"boot FDT at 0xc800000: 1048577 bytes, more than the 1048576 the locator reads: not kept"},
		{"boot FDT at address 0", &kho.Candidate{Addr: b.RootAddr, BootFDTSize: 64}, []physmem.Range{{Start: 0, Size: 64, State: physmem.Present}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var notes strings.Builder
			rec := physmem.NewRecorder(b.Mem, 1)
			keepChosen(&options{stderr: &notes}, rec, tt.cand)
			if diff := cmp.Diff(tt.want, rec.Recorded(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("recorded (-want +got):\n%s", diff)
			}
			if tt.wantNote == "" && notes.Len() != 0 || !strings.Contains(notes.String(), tt.wantNote) {
				t.Errorf("notes %q, want %q", notes.String(), tt.wantNote)
			}
		})
	}
}
