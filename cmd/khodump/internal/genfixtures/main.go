package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/khokit/khokit/cmd/khodump/internal/carve"
	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
)

func main() {
	dir := "testdata/khodump"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := generate(dir); err != nil {
		fmt.Fprintln(os.Stderr, "genfixtures:", err)
		os.Exit(1)
	}
}

// sampleHandover is a kho-v4 handover as Linux 7.3 writes it: two
// sessions, memfds from empty to several pages (one sealed), tokens 0 and
// 2^64-1, two FLBs and the kexec-metadata.
func sampleHandover() (*kho.Handover, map[kho.FileID][]byte) {
	h := &kho.Handover{
		Compatible: "kho-v4",
		LUO: &kho.LUO{Compatible: "luo-v5", LiveupdateNumber: 1, Sessions: []kho.Session{
			{Name: "vm-guest-0", Files: []kho.File{
				{Compatible: "memfd-v2", Token: 0, Memfd: &kho.Memfd{}},
				{Compatible: "memfd-v2", Token: 0xffffffffffffffff, Memfd: &kho.Memfd{Seals: 0xf}},
				{Compatible: "memfd-v2", Token: 7, Memfd: &kho.Memfd{Seals: 1}},
			}},
			{Name: "cache", Files: []kho.File{
				{Compatible: "memfd-v2", Token: 0x1000, Memfd: &kho.Memfd{Seals: 1}},
			}},
		}, FLBs: []kho.FLB{
			{Name: "iommu-domains", Data: 0xfeedf00dcafe0001, Count: 3},
			{Name: "kvm-vm", Data: 0xfeedf00dcafe0002, Count: 1},
		}},
		KexecMetadata: &kho.KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1},
	}
	pattern := make([]byte, 3*4096+100)
	for i := range pattern {
		pattern[i] = byte(i*7 + i/4096)
	}
	contents := map[kho.FileID][]byte{
		{Session: 0, File: 1}: []byte("hello, world\n"),
		{Session: 0, File: 2}: pattern,
		{Session: 1, File: 0}: bytes.Repeat([]byte("cache line "), 100),
	}
	return h, contents
}

func generate(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, b []byte) error {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o644)
	}

	// The handover named by an x86 setup_data node, in every dump format.
	h, contents := sampleHandover()
	b, err := kho.Build(h, &kho.BuildOptions{SetupData: true, Contents: contents})
	if err != nil {
		return err
	}
	elfBytes, err := writeELF(b.Mem, b.Scratch, 4096)
	if err != nil {
		return err
	}
	if err := write("handover.elf", elfBytes); err != nil {
		return err
	}
	var kd bytes.Buffer
	if err := image.WriteKdump(&kd, b.Mem, withScratch(b.Mem.StoredRanges(), b.Scratch), &image.KdumpOptions{Compression: image.PageZlib, Release: "7.3.4"}); err != nil {
		return err
	}
	if err := write("handover.kdump", kd.Bytes()); err != nil {
		return err
	}
	var flat bytes.Buffer
	if err := image.WriteFlattened(&flat, bytes.NewReader(kd.Bytes()), int64(kd.Len()), 0); err != nil {
		return err
	}
	if err := write("handover.flat", flat.Bytes()); err != nil {
		return err
	}
	// Truncated copies: cut inside the program headers (unreadable), and
	// in the middle of the data (readable, with the lost pages absent).
	if err := write("truncated.elf", elfBytes[:200]); err != nil {
		return err
	}
	if err := write("truncated-data.elf", elfBytes[:len(elfBytes)/2]); err != nil {
		return err
	}

	// Single blobs, as a user would save them from memory.
	blob := func(name string, addr uint64, n int) error {
		p, err := physmem.Read(b.Mem, addr, n, 1<<20)
		if err != nil {
			return err
		}
		return write(name, p)
	}
	if err := blob("blobs/flb-page.bin", b.Layout.FLB, 4096); err != nil {
		return err
	}
	if err := blob("blobs/kexec-metadata.bin", b.Layout.KexecMetadata, int(b.Handover.Subtrees[1].Size)); err != nil {
		return err
	}
	if err := blob("blobs/session-block.bin", b.Layout.SessionBlocks[0], 4096); err != nil {
		return err
	}

	// A raw dump of the same handover without setup_data: one contiguous
	// range from 1 MiB, read with --format raw --base 0x100000.
	raw, err := kho.Build(h, &kho.BuildOptions{Contents: contents})
	if err != nil {
		return err
	}
	rs := raw.Mem.StoredRanges()
	span := physmem.Range{Start: rs[0].Start, Size: rs[len(rs)-1].End() - rs[0].Start, State: physmem.Present}
	if span.Start != 0x100000 {
		return fmt.Errorf("raw fixture starts at %#x, want 0x100000", span.Start)
	}
	var rb bytes.Buffer
	if _, err := image.WriteRaw(&rb, raw.Mem, []physmem.Range{span}); err != nil {
		return err
	}
	if err := write("handover-base-0x100000.raw", rb.Bytes()); err != nil {
		return err
	}

	// The debugfs copy of kho/in: the root FDT and one file per subtree.
	root, err := physmem.Read(raw.Mem, raw.RootAddr, 4096, 4096)
	if err != nil {
		return err
	}
	if n := binary.BigEndian.Uint32(root[4:]); n <= 4096 {
		root = root[:n]
	}
	if err := write("debugfs/kho/in/fdt", root); err != nil {
		return err
	}
	for _, s := range raw.Handover.Subtrees {
		p, err := physmem.Read(raw.Mem, s.Addr, int(s.Size), 1<<20)
		if err != nil {
			return err
		}
		if err := write("debugfs/kho/in/sub_fdts/"+s.Name, p); err != nil {
			return err
		}
	}

	// An FLB page whose count runs past the page: check fails, and the
	// 7.3 model says what the kernel does with it.
	bad, err := kho.Build(h, &kho.BuildOptions{SetupData: true, Contents: contents})
	if err != nil {
		return err
	}
	var cnt [8]byte
	binary.LittleEndian.PutUint64(cnt[:], 1000) // luo_flb_header_ser.count
	if err := bad.Mem.WriteAt(cnt[:], bad.Layout.FLB+8); err != nil {
		return err
	}
	if err := writeMem(write, "bad-flb.elf", bad.Mem, bad.Scratch); err != nil {
		return err
	}
	badPage, err := physmem.Read(bad.Mem, bad.Layout.FLB, 4096, 4096)
	if err != nil {
		return err
	}
	if err := write("blobs/flb-page-bad.bin", badPage); err != nil {
		return err
	}

	// A post-kexec-like image: the incoming handover, the new kernel's
	// outgoing root (kexec count 2, no sessions) and a byte copy of the
	// incoming root.
	pk, err := kho.Build(h, &kho.BuildOptions{SetupData: true, Contents: contents})
	if err != nil {
		return err
	}
	outH := &kho.Handover{Compatible: "kho-v4",
		LUO:           &kho.LUO{Compatible: "luo-v5", LiveupdateNumber: 2},
		KexecMetadata: &kho.KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 2}}
	if _, err := kho.Build(outH, &kho.BuildOptions{Mem: pk.Mem, Base: 64 << 20}); err != nil {
		return err
	}
	rootCopy, err := physmem.Read(pk.Mem, pk.RootAddr, 4096, 4096)
	if err != nil {
		return err
	}
	if err := pk.Mem.WriteAt(rootCopy, 100<<20); err != nil {
		return err
	}
	if err := writeMem(write, "three-roots.elf", pk.Mem, pk.Scratch); err != nil {
		return err
	}

	// Two handovers nothing names: no incoming root to pick.
	a, err := kho.Build(h, &kho.BuildOptions{Contents: contents})
	if err != nil {
		return err
	}
	h2, c2 := sampleHandover()
	h2.LUO.Sessions = h2.LUO.Sessions[:1]
	delete(c2, kho.FileID{Session: 1, File: 0})
	if _, err := kho.Build(h2, &kho.BuildOptions{Mem: a.Mem, Base: 64 << 20, Contents: c2}); err != nil {
		return err
	}
	if err := writeMem(write, "no-incoming.elf", a.Mem, nil); err != nil {
		return err
	}

	// An older generation: kho-v2 with the luo-v1 FDT and a memfd-v1.
	old := &kho.Handover{Compatible: "kho-v2", LUO: &kho.LUO{Compatible: "luo-v1", LiveupdateNumber: 3, Sessions: []kho.Session{
		{Name: "legacy", Files: []kho.File{{Compatible: "memfd-v1", Token: 42, Memfd: &kho.Memfd{}}}},
	}}}
	ob, err := kho.Build(old, &kho.BuildOptions{Contents: map[kho.FileID][]byte{{Session: 0, File: 0}: []byte("from 6.19\n")}})
	if err != nil {
		return err
	}
	if err := writeMem(write, "kho-v2-luo-v1.elf", ob.Mem, nil); err != nil {
		return err
	}

	// The same handover from a kernel with 16 KiB pages (--page-size 16384).
	h16, c16 := sampleHandover()
	b16, err := kho.Build(h16, &kho.BuildOptions{PageSize: 16384, SetupData: true, Contents: c16})
	if err != nil {
		return err
	}
	if err := writeMem(write, "handover-16k.elf", b16.Mem, b16.Scratch); err != nil {
		return err
	}

	// Random bytes: no format at all.
	rnd := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(rnd.Uint32())
	}
	junk[0], junk[1] = 0x5a, 0xa5 // not an ELF, kdump, flattened or FDT magic
	return write("random.bin", junk)
}

// writeELF writes the pages of m the builder wrote, each stored only up
// to its last non-zero byte (the rest reads back as zeros), and keeps the
// scratch regions present as zeros: the locator checks that they are RAM.
// The segments are carve's, as if a decode had read every written page.
func writeELF(m *physmem.Sparse, scratch []kho.ScratchRegion, pageSize int) ([]byte, error) {
	var ram []physmem.Range
	for _, r := range scratch {
		ram = append(ram, physmem.Range{Start: r.Addr, Size: r.Size, State: physmem.Present})
	}
	segs, err := carve.Segments(m, m.StoredRanges(), carve.Keep(m, nil, ram), 4096, true)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = image.WriteELFSegments(&buf, m, segs, &image.ELFOptions{VMCoreInfo: fmt.Appendf(nil, "OSRELEASE=7.3.4\nPAGESIZE=%d\n", pageSize)})
	return buf.Bytes(), err
}

// withScratch adds the scratch regions to ranges as RAM the dump left out
// (the kdump 1st bitmap, not the 2nd): the locator checks that scratch is
// RAM, and its pages hold nothing of the handover.
func withScratch(ranges []physmem.Range, scratch []kho.ScratchRegion) []physmem.Range {
	var out []physmem.Range
	for _, sc := range scratch {
		cur, end := sc.Addr, sc.Addr+sc.Size
		for _, r := range ranges {
			if r.End() <= cur || r.Start >= end {
				continue
			}
			if r.Start > cur {
				out = append(out, physmem.Range{Start: cur, Size: r.Start - cur, State: physmem.Excluded})
			}
			cur = max(cur, r.End())
		}
		if cur < end {
			out = append(out, physmem.Range{Start: cur, Size: end - cur, State: physmem.Excluded})
		}
	}
	out = append(out, ranges...)
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

func writeMem(write func(string, []byte) error, name string, m *physmem.Sparse, scratch []kho.ScratchRegion) error {
	ps := 4096
	if strings.Contains(name, "16k") {
		ps = 16384
	}
	b, err := writeELF(m, scratch, ps)
	if err != nil {
		return err
	}
	return write(name, b)
}
