package main

import (
	"bytes"
	le "encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/cmd/khodump/internal/carve"
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
	var keep []physmem.Range
	for _, s := range b.Scratch {
		keep = append(keep, physmem.Range{Start: s.Addr, Size: s.Size, State: physmem.Present})
	}
	keep = append(keep, physmem.Range{Start: bigRAM, Size: bigRAMSize, State: physmem.Present})
	segs, err := carve.Segments(b.Mem, b.Mem.StoredRanges(), keep, 4096, true)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := image.WriteELFSegments(&buf, b.Mem, segs, &image.ELFOptions{VMCoreInfo: []byte("OSRELEASE=7.3.4\nPAGESIZE=4096\n")}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hostile.elf")
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
