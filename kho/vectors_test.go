package kho

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/kho/physmem"
)

// vectorMemory is a dump of the 7.3.4 second kernel that holds only the
// pages the vectors captured (plus extra), each at its physical address.
// Everything else is absent, as in a dump that kept only those pages.
func vectorMemory(t *testing.T, extra map[uint64][]byte) (*physmem.Sparse, []byte) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("../testdata/vectors/linux-7.3.4-x86_64", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pages := map[uint64][]byte{
		0x3e9000:   read("session_block_0x3e9000.bin"),
		0x3f808000: read("file_block_0x3f808000.bin"),
		0x3b8000:   read("flb_block_0x3b8000.bin"),
		0x1f6000:   read("kexec_metadata_in.bin"), // the kexec-metadata node's preserved-data
	}
	for a, b := range extra {
		pages[a] = b
	}
	mem := &physmem.Sparse{}
	for a, b := range pages {
		if err := mem.AddRange(a, 4096, physmem.Present); err != nil {
			t.Fatal(err)
		}
		if err := mem.WriteAt(b, a); err != nil {
			t.Fatal(err)
		}
	}
	return mem, read("kho_in_fdt_stage2.dtb")
}

type findingAt struct{ Code, Path string }

func findingsAt(h *Handover) []findingAt {
	var out []findingAt
	for _, f := range h.Findings {
		out = append(out, findingAt{f.Code, f.Path})
	}
	return out
}

// TestVectors decodes the real 7.3.4 root (kho/in/fdt) over the captured
// blocks. The luo_ser page was reused by the second kernel and is not in
// the vectors: decoding must say so precisely; with the luo_ser the README
// describes put back, everything else must decode to the README's values.
func TestVectors(t *testing.T) {
	wantKexec := &KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1}
	t.Run("as captured", func(t *testing.T) {
		mem, root := vectorMemory(t, nil)
		h, err := DecodeRoot(mem, root, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := &Handover{
			Compatible: "kho-v4",
			MemoryMap:  MemoryMap{Addr: 0x1ee000, Kind: MapRadix, PageSize: 4096},
			Subtrees: []Subtree{
				{Name: "LUO", Addr: 0x3b3000, Size: 32, Format: "unknown"},
				{Name: "kexec-metadata", Addr: 0x1f6000, Size: 73, Format: "kexec-metadata"},
			},
			KexecMetadata: wantKexec,
		}
		got := *h
		got.Findings = nil
		if d := cmp.Diff(want, &got); d != "" {
			t.Errorf("Decode (-want +got):\n%s", d)
		}
		wantF := []findingAt{
			{"ptr.absent", "/preserved-memory-map"}, // the radix root page was reused
			{"map.unusable", "/preserved-memory-map"},
			{"ptr.absent", "/LUO"}, // so was the luo_ser page
		}
		if d := cmp.Diff(wantF, findingsAt(h)); d != "" {
			t.Errorf("findings (-want +got):\n%s", d)
		}
	})
	t.Run("luo_ser page reused", func(t *testing.T) {
		mem, root := vectorMemory(t, map[uint64][]byte{0x3b3000: []byte("\x48\x89\xe5garbage")})
		h, err := DecodeRoot(mem, root, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantF := []findingAt{
			{"ptr.absent", "/preserved-memory-map"},
			{"map.unusable", "/preserved-memory-map"},
			{"luo.compatible-unknown", "/LUO"},
		}
		if d := cmp.Diff(wantF, findingsAt(h)); d != "" {
			t.Fatalf("findings (-want +got):\n%s", d)
		}
		if msg := h.Findings[2].Message; !strings.Contains(msg, "reused") {
			t.Errorf("no hint at the reused page: %s", msg)
		}
		if h.Subtrees[0].Raw == nil {
			t.Error("the unknown LUO blob's bytes were not kept")
		}
	})
	t.Run("luo_ser restored", func(t *testing.T) {
		luoSer := make([]byte, 32)
		copy(luoSer, "luo-v5")
		le := func(off int, v uint64) {
			for i := 0; i < 8; i++ {
				luoSer[off+i] = byte(v >> (8 * i))
			}
		}
		le(8, 1)         // liveupdate_num ("liveupdate number: 1" in the kernel log)
		le(16, 0x3e9000) // sessions_pa
		le(24, 0x3b8000) // flbs_pa
		mem, root := vectorMemory(t, map[uint64][]byte{0x3b3000: luoSer})
		h, err := DecodeRoot(mem, root, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantLUO := &LUO{
			Compatible: "luo-v5", Addr: 0x3b3000, LiveupdateNumber: 1, SessionsAddr: 0x3e9000, FLBsAddr: 0x3b8000,
			Sessions: []Session{{
				Name: "envcheck-session", FilesAddr: 0x3f808000, FileCount: 1,
				Files: []File{{Compatible: "memfd-v2", Data: 0x3f80a000, Token: 0x1234}},
			}},
			FLBs: []FLB{
				{Name: "liveupdate-test-flb-v0", Data: 0xfeedf00dcafebee0, Count: 1},
				{Name: "liveupdate-test-flb-v1", Data: 0xfeedf00dcafebee1, Count: 1},
				{Name: "liveupdate-test-flb-v2", Data: 0xfeedf00dcafebee2, Count: 1},
			},
		}
		if d := cmp.Diff(wantLUO, h.LUO); d != "" {
			t.Errorf("LUO (-want +got):\n%s", d)
		}
		if d := cmp.Diff(wantKexec, h.KexecMetadata); d != "" {
			t.Errorf("kexec-metadata (-want +got):\n%s", d)
		}
		wantF := []findingAt{
			{"ptr.absent", "/preserved-memory-map"},
			{"map.unusable", "/preserved-memory-map"},
			{"ptr.absent", "/LUO/sessions[0]/files[0]/memfd"}, // memfd_luo_ser not captured
		}
		if d := cmp.Diff(wantF, findingsAt(h)); d != "" {
			t.Errorf("findings (-want +got):\n%s", d)
		}
	})
}

// TestDecodeLUOVectors decodes the captured session chain and FLB page
// without the luo_ser, as a locator that found them by content would.
func TestDecodeLUOVectors(t *testing.T) {
	mem, _ := vectorMemory(t, nil)
	l, findings, err := DecodeLUO(mem, LUO{Compatible: "luo-v5", SessionsAddr: 0x3e9000, FLBsAddr: 0x3b8000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &LUO{
		Compatible: "luo-v5", SessionsAddr: 0x3e9000, FLBsAddr: 0x3b8000,
		Sessions: []Session{{
			Name: "envcheck-session", FilesAddr: 0x3f808000, FileCount: 1,
			Files: []File{{Compatible: "memfd-v2", Data: 0x3f80a000, Token: 0x1234}},
		}},
		FLBs: []FLB{
			{Name: "liveupdate-test-flb-v0", Data: 0xfeedf00dcafebee0, Count: 1},
			{Name: "liveupdate-test-flb-v1", Data: 0xfeedf00dcafebee1, Count: 1},
			{Name: "liveupdate-test-flb-v2", Data: 0xfeedf00dcafebee2, Count: 1},
		},
	}
	if d := cmp.Diff(want, l); d != "" {
		t.Errorf("DecodeLUO (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]findingAt{{"ptr.absent", "/LUO/sessions[0]/files[0]/memfd"}}, findingsAt(&Handover{Findings: findings})); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if _, _, err := DecodeLUO(mem, LUO{Compatible: "luo-v9"}, nil); !errors.Is(err, ErrUnknownLUO) {
		t.Errorf("unknown compatible: err %v", err)
	}
}

// TestVectorsLenient: real FDT quirks are findings under Options.Lenient
// and errors without it; a truncated debugfs copy whose property names
// are lost says why it is not a KHO root.
func TestVectorsLenient(t *testing.T) {
	mem, root := vectorMemory(t, nil)
	i := bytes.Index(root, []byte("kho-v4\x00"))
	if i < 0 {
		t.Fatal("no compatible in the vector")
	}
	padded := append([]byte(nil), root...)
	padded[i+7] = 0xaa // the padding byte after "kho-v4\0"
	if _, err := DecodeRoot(mem, padded, nil); !errors.Is(err, ErrNotFDT) {
		t.Errorf("strict decode of non-zero padding: %v", err)
	}
	h, err := DecodeRoot(mem, padded, &Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if h.Findings[0].Code != "fdt.quirk" || !strings.Contains(h.Findings[0].Message, "fdt.nonzero-padding") {
		t.Errorf("first finding %v, want the padding quirk", h.Findings[0])
	}
	short, err := os.ReadFile("../testdata/fdt/kernel/kho_out_fdt_debugfs_233.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeRoot(mem, short, &Options{Lenient: true})
	if !errors.Is(err, ErrNotKHO) || !strings.Contains(err.Error(), "missing tail") {
		t.Errorf("truncated debugfs copy: %v", err)
	}
}
