package kho

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

const vectorDir = "../testdata/vectors/linux-7.3.4-x86_64"

func readVector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Skipf("vector %s: %v", name, err)
	}
	return b
}

func readPhys(t *testing.T, m physmem.Memory, addr uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := m.ReadAt(b, addr); err != nil {
		t.Fatalf("read %#x+%d: %v", addr, n, err)
	}
	return b
}

// vectorHandover describes the captured 7.3.4 handover of the vectors.
func vectorHandover() *Handover {
	return &Handover{
		Compatible: "kho-v4",
		LUO: &LUO{
			Compatible:       "luo-v5",
			LiveupdateNumber: 1,
			Sessions: []Session{{
				Name:  "envcheck-session",
				Files: []File{{Compatible: "memfd-v2", Token: 0x1234, Memfd: &Memfd{Seals: 1}}},
			}},
			FLBs: []FLB{
				{Name: "liveupdate-test-flb-v0", Data: 0xfeedf00dcafebee0, Count: 1},
				{Name: "liveupdate-test-flb-v1", Data: 0xfeedf00dcafebee1, Count: 1},
				{Name: "liveupdate-test-flb-v2", Data: 0xfeedf00dcafebee2, Count: 1},
			},
		},
		KexecMetadata: &KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1},
	}
}

// TestBuildMatchesVectors checks that the pages the builder writes for
// the vectors' values are the kernel's bytes, address fields aside.
func TestBuildMatchesVectors(t *testing.T) {
	b, err := Build(vectorHandover(), &BuildOptions{Contents: map[FileID][]byte{{0, 0}: []byte("hello")}})
	if err != nil {
		t.Fatal(err)
	}
	L := b.Layout

	flb := readVector(t, "flb_block_0x3b8000.bin")
	if diff := cmp.Diff(flb, readPhys(t, b.Mem, L.FLB, len(flb))); diff != "" {
		t.Errorf("FLB page (-kernel +built):\n%s", diff)
	}

	sess := readVector(t, "session_block_0x3e9000.bin")
	want := bytes.Clone(sess)
	bldLE.PutUint64(want[16+64:], L.FileBlocks[0][0]) // the kernel's file block was at 0x3f808000
	if diff := cmp.Diff(want, readPhys(t, b.Mem, L.SessionBlocks[0], len(sess))); diff != "" {
		t.Errorf("session block (-kernel +built):\n%s", diff)
	}

	file := readVector(t, "file_block_0x3f808000.bin")
	want = bytes.Clone(file)
	bldLE.PutUint64(want[16+48:], L.MemfdSer[0][0])
	if diff := cmp.Diff(want, readPhys(t, b.Mem, L.FileBlocks[0][0], len(file))); diff != "" {
		t.Errorf("file block (-kernel +built):\n%s", diff)
	}

	km := readVector(t, "kexec_metadata_in.bin")
	if diff := cmp.Diff(km, readPhys(t, b.Mem, L.KexecMetadata, len(km))); diff != "" {
		t.Errorf("kexec-metadata (-kernel +built):\n%s", diff)
	}
}

// TestBuildRootFDTShape compares the built root with the captured one
// property by property: same nodes, same properties in the same order,
// same lengths; values that are addresses differ.
func TestBuildRootFDTShape(t *testing.T) {
	b, err := Build(vectorHandover(), nil)
	if err != nil {
		t.Fatal(err)
	}
	kernel, err := fdt.Decode(readVector(t, "kho_in_fdt_stage2.dtb"), nil)
	if err != nil {
		t.Fatal(err)
	}
	built, err := fdt.Decode(readPhys(t, b.Mem, b.RootAddr, 4096), &fdt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type prop struct {
		Node, Name string
		Len        int
	}
	shape := func(t *fdt.Tree) []prop {
		var out []prop
		var walk func(n *fdt.Node, path string)
		walk = func(n *fdt.Node, path string) {
			for _, p := range n.Props {
				out = append(out, prop{path, p.Name, len(p.Value)})
			}
			for _, c := range n.Children {
				walk(c, path+"/"+c.Name)
			}
		}
		walk(t.Root, "")
		return out
	}
	if diff := cmp.Diff(shape(kernel), shape(built)); diff != "" {
		t.Errorf("root FDT shape (-kernel +built):\n%s", diff)
	}
	if got, _ := built.Lookup("/kexec-metadata").Prop("blob-size").U64In(bldLE); got != kexecMetadataBlobSize {
		t.Errorf("kexec-metadata blob-size = %d, want %d", got, kexecMetadataBlobSize)
	}
}

const kexecMetadataBlobSize = 73

// TestBuildLayoutInvariants checks what every build must satisfy: preserved
// blocks page-aligned, naturally aligned to their order, inside RAM, not
// overlapping each other, the map pages or scratch.
func TestBuildLayoutInvariants(t *testing.T) {
	for _, tc := range buildCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(tc.h, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			ps := uint64(4096)
			if tc.opts != nil && tc.opts.PageSize != 0 {
				ps = tc.opts.PageSize
			}
			scratch := b.Scratch
			if b.SetupDataAddr != 0 && len(scratch) == 0 {
				t.Errorf("setup_data without scratch regions")
			}
			var prevEnd uint64
			for i, blk := range b.Preserved {
				size := ps << blk.Order
				if blk.Addr%size != 0 {
					t.Errorf("block %d %#x order %d not naturally aligned", i, blk.Addr, blk.Order)
				}
				if i > 0 && blk.Addr < prevEnd {
					t.Errorf("block %d %#x overlaps the previous one ending %#x", i, blk.Addr, prevEnd)
				}
				prevEnd = blk.Addr + size
				if physmem.StateOf(b.Mem, blk.Addr, size) != physmem.Present {
					t.Errorf("block %d %#x not in RAM", i, blk.Addr)
				}
				for _, s := range scratch {
					if blk.Addr < s.Addr+s.Size && s.Addr < blk.Addr+size {
						t.Errorf("block %d %#x overlaps scratch %#x", i, blk.Addr, s.Addr)
					}
				}
				for _, mp := range b.Layout.MapPages {
					if mp >= blk.Addr && mp < blk.Addr+size {
						t.Errorf("map page %#x inside preserved block %#x", mp, blk.Addr)
					}
				}
			}
			if b.Handover.RootAddr != b.RootAddr || b.RootAddr == 0 {
				t.Errorf("root %#x, handover says %#x", b.RootAddr, b.Handover.RootAddr)
			}
		})
	}
}

type buildCase struct {
	name string
	h    *Handover
	opts *BuildOptions
}

// manyFiles returns n memfd files of the given handler, tokens i*7.
func manyFiles(n int, compat string) []File {
	fs := make([]File, n)
	for i := range fs {
		fs[i] = File{Compatible: compat, Token: uint64(i) * 7, Memfd: &Memfd{}}
	}
	return fs
}

func manySessions(n int) []Session {
	s := make([]Session, n)
	for i := range s {
		s[i] = Session{Name: "s-" + string(rune('a'+i%26)) + string(rune('a'+i/26))}
	}
	return s
}

// buildCases are the handovers every round-trip and invariant test uses:
// each root version with its LUO generation, chains past one block,
// contents of several sizes, and the boot handoff.
func buildCases() []buildCase {
	big := make([]byte, 3*4096+17)
	for i := range big {
		big[i] = byte(i * 31)
	}
	contents := map[FileID][]byte{{0, 0}: []byte("a few bytes"), {0, 1}: big, {1, 0}: nil}
	v1Sessions := []Session{
		{Name: "alpha", Files: []File{
			{Compatible: "memfd-v1", Token: 0, Memfd: &Memfd{Pos: 3}},
			{Compatible: "memfd-v1", Token: ^uint64(0), Memfd: &Memfd{}},
		}},
		{Name: "beta", Files: []File{{Compatible: "memfd-v1", Token: 1, Memfd: &Memfd{}}}},
		{Name: "empty"},
	}
	v2Sessions := []Session{
		{Name: "alpha", Files: []File{
			{Compatible: "memfd-v2", Token: 0, Memfd: &Memfd{Seals: 0xf}},
			{Compatible: "memfd-v2", Token: ^uint64(0), Memfd: &Memfd{Seals: 1, Pos: 5}},
		}},
		{Name: "beta", Files: []File{{Compatible: "memfd-v2", Token: 1, Memfd: &Memfd{}}}},
		{Name: "empty"},
	}
	longName := "n123456789012345678901234567890123456789012345678901234567890ab" // 63 bytes
	flbs := []FLB{{Name: "liveupdate-test-flb-v0", Data: 0xfeed, Count: 3}}
	chain := manySessions(60) // 51 per block: two session blocks
	chain[0].Files = manyFiles(70, "memfd-v2")
	chain[0].Name = longName
	return []buildCase{
		{"kho-v1+luo-v1", &Handover{Compatible: "kho-v1", LUO: &LUO{Compatible: "luo-v1", LiveupdateNumber: 2, Sessions: v1Sessions, FLBs: flbs},
			Memblock: &Memblock{Regions: []ReserveMem{{Name: "trace", Size: 3 * 4096}}}}, &BuildOptions{Contents: contents}},
		{"kho-v2+luo-v1", &Handover{Compatible: "kho-v2", LUO: &LUO{Compatible: "luo-v1", LiveupdateNumber: 7, Sessions: v2Sessions, FLBs: flbs}}, &BuildOptions{Contents: contents}},
		{"kho-v3+luo-v1", &Handover{Compatible: "kho-v3", LUO: &LUO{Compatible: "luo-v1", LiveupdateNumber: 1, Sessions: v2Sessions},
			KexecMetadata: &KexecMetadata{Version: 1, PreviousRelease: "7.1.0", KexecCount: 4}}, &BuildOptions{Contents: contents}},
		{"kho-v4+luo-v5", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", LiveupdateNumber: 1, Sessions: v2Sessions, FLBs: flbs},
			KexecMetadata: &KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1},
			Memblock:      &Memblock{Regions: []ReserveMem{{Name: "trace", Size: 5 * 4096}, {Name: "oops", Size: 4096}}}}, &BuildOptions{Contents: contents, SetupData: true}},
		{"kho-v3 memblock at a given address", &Handover{Compatible: "kho-v3",
			Memblock: &Memblock{Regions: []ReserveMem{{Name: "fixed", Start: 0x100000, Size: 0x200000}, {Name: "odd", Start: 0x311000, Size: 0x3000}}}}, nil},
		{"kho-v4+luo-v5 chains", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", LiveupdateNumber: 9, Sessions: chain}}, nil},
		{"kho-v4 empty LUO", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", LiveupdateNumber: 1}}, nil},
		{"kho-v1 nothing", &Handover{Compatible: "kho-v1"}, nil},
		{"kho-v4 16K pages", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", LiveupdateNumber: 1, Sessions: v2Sessions[:1]}},
			&BuildOptions{PageSize: 16384, Contents: map[FileID][]byte{{0, 1}: big}}},
	}
}

// rejectReasons is what each TestBuildRejects error must say.
var rejectReasons = map[string]string{
	"unknown root":                "kho-v1..kho-v4",
	"luo-v5 under kho-v2":         "cannot be carried",
	"kexec-metadata under kho-v1": "needs blob-size",
	"session name too long":       "holds at most 63",
	"duplicate session names":     "used twice",
	"empty session name":          "empty",
	"duplicate tokens":            "token 0x1 used twice",
	"duplicate FLB names":         "used twice",
	"64 FLBs":                     "64 FLBs, a page holds 63",
	"page size":                   "page size 8192",
	"no RAM":                      "no free RAM",
	"contents for a missing file": "does not have",
	"contents for a non-memfd":    "not a memfd",
	"kho-v1 bitmap size 9":        "KHOv1Bitmap KHOv1BitmapSize(9)",
}

func TestBuildRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    *Handover
		opts *BuildOptions
	}{
		{"unknown root", &Handover{Compatible: "kho-v9"}, nil},
		{"luo-v5 under kho-v2", &Handover{Compatible: "kho-v2", LUO: &LUO{Compatible: "luo-v5"}}, nil},
		{"kexec-metadata under kho-v1", &Handover{Compatible: "kho-v1", KexecMetadata: &KexecMetadata{Version: 1}}, nil},
		{"session name too long", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", Sessions: []Session{{Name: string(make([]byte, 64))}}}}, nil},
		{"duplicate session names", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", Sessions: []Session{{Name: "a"}, {Name: "a"}}}}, nil},
		{"empty session name", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", Sessions: []Session{{Name: ""}}}}, nil},
		{"duplicate tokens", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", Sessions: []Session{{Name: "a",
			Files: []File{{Compatible: "memfd-v2", Token: 1}, {Compatible: "memfd-v2", Token: 1}}}}}}, nil},
		{"duplicate FLB names", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", FLBs: []FLB{{Name: "x", Count: 1}, {Name: "x", Count: 1}}}}, nil},
		{"64 FLBs", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", FLBs: func() []FLB {
			fs := make([]FLB, 64)
			for i := range fs {
				fs[i] = FLB{Name: fmt.Sprintf("flb-%d", i), Count: 1}
			}
			return fs
		}()}}, nil},
		{"page size", &Handover{Compatible: "kho-v4"}, &BuildOptions{PageSize: 8192}},
		{"no RAM", &Handover{Compatible: "kho-v4"}, &BuildOptions{RAM: []physmem.Range{{Start: 0, Size: 1 << 20}}}},
		{"kho-v1 bitmap size 9", &Handover{Compatible: "kho-v1"}, &BuildOptions{KHOv1Bitmap: 9}},
		{"contents for a missing file", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", Sessions: []Session{{Name: "s"}}}},
			&BuildOptions{Contents: map[FileID][]byte{{0, 0}: []byte("x")}}},
		{"contents for a non-memfd", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", Sessions: []Session{{Name: "s", Files: []File{{Compatible: "other-v1"}}}}}},
			&BuildOptions{Contents: map[FileID][]byte{{0, 0}: []byte("x")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(tc.h, tc.opts)
			if err == nil {
				t.Fatalf("Build succeeded, root at %#x", b.RootAddr)
			}
			if want := rejectReasons[tc.name]; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if got, want := errors.Is(err, format.ErrPageSize), tc.name == "page size"; got != want {
				t.Errorf("errors.Is(%v, format.ErrPageSize) = %v, want %v", err, got, want)
			}
		})
	}
}

// TestBuildDecodeRoundTrip is the builder's contract: decoding what it
// built gives back the filled-in model, with no findings, and every
// memfd's contents read back equal.
func TestBuildDecodeRoundTrip(t *testing.T) {
	for _, tc := range buildCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(tc.h, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			opts := &Options{}
			if tc.opts != nil {
				opts.PageSize = tc.opts.PageSize
			}
			opts.Scratch = b.Scratch
			opts.KHOv1Bitmap = builtBitmap(tc.opts)
			got, err := Decode(b.Mem, b.RootAddr, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(b.Handover, got); diff != "" {
				t.Errorf("Decode(Build(h)) (-built +decoded):\n%s", diff)
			}
			if tc.opts == nil || got.LUO == nil {
				return
			}
			for id, want := range tc.opts.Contents {
				if id.Session >= len(got.LUO.Sessions) || id.File >= len(got.LUO.Sessions[id.Session].Files) {
					continue
				}
				f := got.LUO.Sessions[id.Session].Files[id.File]
				if f.Memfd == nil {
					t.Errorf("file %v: no memfd decoded", id)
					continue
				}
				r := MemfdContents(b.Mem, f.Memfd, b.Handover.MemoryMap.PageSize)
				data := make([]byte, r.Size())
				if _, err := r.ReadAt(data, 0); err != nil && len(data) > 0 {
					t.Errorf("file %v: reading contents: %v", id, err)
				}
				if !bytes.Equal(data, want) {
					t.Errorf("file %v: contents %d bytes %q..., want %d bytes", id, len(data), data[:min(len(data), 16)], len(want))
				}
			}
		})
	}
}

// TestBuildRawSubtree: a subtree the decoder has no format for comes back
// with its bytes kept and one warning.
func TestBuildRawSubtree(t *testing.T) {
	raw := []byte("opaque bytes\x00\x01")
	b, got := buildAndDecode(t, &Handover{Compatible: "kho-v4", Subtrees: []Subtree{{Name: "vendor-blob", Raw: raw}}}, nil)
	want := []Subtree{{Name: "vendor-blob", Addr: b.Handover.Subtrees[0].Addr, Size: uint64(len(raw)), Format: "unknown", Raw: raw}}
	if diff := cmp.Diff(want, got.Subtrees); diff != "" {
		t.Errorf("subtrees (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"subtree.format-unknown"}, findingCodes(got.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// largeBuildCase is the builder's largest case: a kho-v4 handover with
// 200 sessions (4 session blocks), 63 files in the first 20 (one full
// file block each) and 64 KiB of memfd contents per file, 63 FLBs.
func largeBuildCase() (*Handover, *BuildOptions) {
	h := &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", LiveupdateNumber: 3},
		KexecMetadata: &KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 3}}
	contents := map[FileID][]byte{}
	for s := 0; s < 200; s++ {
		sess := Session{Name: fmt.Sprintf("session-%03d", s)}
		if s < 20 {
			sess.Files = manyFiles(63, "memfd-v2")
			for f := range sess.Files {
				contents[FileID{s, f}] = bytes.Repeat([]byte{byte(s), byte(f)}, 32<<10)
			}
		}
		h.LUO.Sessions = append(h.LUO.Sessions, sess)
	}
	for i := 0; i < 63; i++ {
		h.LUO.FLBs = append(h.LUO.FLBs, FLB{Name: fmt.Sprintf("flb-%02d", i), Data: uint64(i), Count: 20})
	}
	return h, &BuildOptions{RAM: []physmem.Range{{Start: 0, Size: 1 << 30}}, Contents: contents}
}

func TestBuildLargeCase(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	h, opts := largeBuildCase()
	b, got := buildAndDecode(t, h, opts)
	if diff := cmp.Diff(b.Handover, got); diff != "" {
		t.Errorf("Decode(Build(large)) (-built +decoded):\n%s", diff)
	}
	if n := len(b.Layout.SessionBlocks); n != 4 {
		t.Errorf("%d session blocks, want 4", n)
	}
}

func BenchmarkBuildLarge(b *testing.B) {
	h, opts := largeBuildCase()
	b.SetBytes(int64(20 * 63 * 64 << 10))
	for i := 0; i < b.N; i++ {
		if _, err := Build(h, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBuildLUOv1WithoutFLB: a v6.19-style LUO (no luo-flb node) decodes
// with the compat-trap warning and nothing else.
func TestBuildLUOv1WithoutFLB(t *testing.T) {
	h := &Handover{Compatible: "kho-v1", LUO: &LUO{Compatible: "luo-v1", LiveupdateNumber: 1,
		Sessions: []Session{{Name: "s", Files: []File{{Compatible: "memfd-v1", Token: 5, Memfd: &Memfd{}}}}}}}
	b, got := buildAndDecode(t, h, &BuildOptions{LUOv1WithoutFLB: true, Contents: map[FileID][]byte{{0, 0}: []byte("x")}})
	if diff := cmp.Diff([]string{"luo.flb-missing"}, findingCodes(got.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	got.Findings = nil
	if diff := cmp.Diff(b.Handover, got); diff != "" {
		t.Errorf("Decode(Build(h)) (-built +decoded):\n%s", diff)
	}
	if b.Layout.FLB != 0 || b.Handover.LUO.FLBsAddr != 0 {
		t.Errorf("FLB page laid out: %#x", b.Layout.FLB)
	}
	if _, err := Build(&Handover{Compatible: "kho-v1", LUO: &LUO{Compatible: "luo-v1", FLBs: []FLB{{Name: "a", Count: 1}}}},
		&BuildOptions{LUOv1WithoutFLB: true}); err == nil {
		t.Error("FLBs without an FLB node were accepted")
	}
}

// TestBuildCompositeRoot: the RFC composite root compatible lays out as
// kho-v4 and decodes back with its string intact.
func TestBuildCompositeRoot(t *testing.T) {
	h := vectorHandover()
	h.Compatible = "kho-v4;radix-v1;vmalloc-v1"
	b, got := buildAndDecode(t, h, nil)
	if diff := cmp.Diff(b.Handover, got); diff != "" {
		t.Errorf("(-built +decoded):\n%s", diff)
	}
	// The decoder's grammar decides: components alphabetical, no repeats.
	for _, bad := range []string{"kho-v3;radix-v1", "kho-v4;", "kho-v4;nope-v1", "kho-v4;vmalloc-v1;radix-v1", "kho-v4;radix-v1;radix-v1"} {
		if _, err := Build(&Handover{Compatible: bad}, nil); err == nil {
			t.Errorf("root %q accepted", bad)
		}
	}
}

// buildAndDecode builds h and decodes the result from its root, failing
// the test on either error.
func buildAndDecode(t *testing.T, h *Handover, opts *BuildOptions) (*Built, *Handover) {
	t.Helper()
	b, err := Build(h, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b.Mem, b.RootAddr, &Options{KHOv1Bitmap: builtBitmap(opts)})
	if err != nil {
		t.Fatal(err)
	}
	return b, got
}
