package kho

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/kho/physmem"
)

// mutator corrupts a built handover in place.
type mutator struct {
	t      *testing.T
	b      *Built
	o      *Options
	failAt *uint64 // when set, reads of this address fail with an I/O error
}

func (m mutator) put(addr uint64, p []byte) {
	m.t.Helper()
	if err := m.b.Mem.WriteAt(p, addr); err != nil {
		m.t.Fatal(err)
	}
}

func (m mutator) put64(addr, v uint64) { m.put(addr, binary.LittleEndian.AppendUint64(nil, v)) }
func (m mutator) put32(addr uint64, v uint32) {
	m.put(addr, binary.LittleEndian.AppendUint32(nil, v))
}
func (m mutator) put16(addr uint64, v uint16) {
	m.put(addr, binary.LittleEndian.AppendUint16(nil, v))
}

func (m mutator) read(addr uint64, n int) []byte {
	m.t.Helper()
	b := make([]byte, n)
	if _, err := m.b.Mem.ReadAt(b, addr); err != nil {
		m.t.Fatal(err)
	}
	return b
}

// patch replaces the first occurrence of old in [addr, addr+n).
func (m mutator) patch(addr uint64, n int, old, new string) {
	m.t.Helper()
	b := m.read(addr, n)
	i := bytes.Index(b, []byte(old))
	if i < 0 {
		m.t.Fatalf("%q not found at %#x", old, addr)
	}
	m.put(addr+uint64(i), []byte(new))
}

func (m mutator) get64(addr uint64) uint64 {
	m.t.Helper()
	b := make([]byte, 8)
	if _, err := m.b.Mem.ReadAt(b, addr); err != nil {
		m.t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b)
}

// root edits the root FDT and writes it back in its page.
func (m mutator) root(edit func(root *fdt.Node)) {
	m.t.Helper()
	_ = m.fdtAt(m.b.RootAddr, edit)
}

// fdtAt edits the FDT at addr (at most one page) in place.
func (m mutator) fdtAt(addr uint64, edit func(root *fdt.Node)) int {
	m.t.Helper()
	hdr := make([]byte, 8)
	if _, err := m.b.Mem.ReadAt(hdr, addr); err != nil {
		m.t.Fatal(err)
	}
	buf := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
	if _, err := m.b.Mem.ReadAt(buf, addr); err != nil {
		m.t.Fatal(err)
	}
	tr, err := fdt.Decode(buf, nil)
	if err != nil {
		m.t.Fatal(err)
	}
	edit(tr.Root)
	out := rebuildFDT(m.t, tr.Root)
	if len(out) > 8192 {
		m.t.Fatalf("edited FDT is %d bytes", len(out))
	}
	m.put(addr, out)
	return len(out)
}

// subFDT edits the sub-FDT of root subnode node at addr and updates the
// subnode's blob-size to the new totalsize.
func (m mutator) subFDT(node string, addr uint64, edit func(root *fdt.Node)) {
	m.t.Helper()
	size := m.fdtAt(addr, edit)
	m.root(func(r *fdt.Node) {
		if r.Child(node).Prop("blob-size") != nil {
			setProp(r.Child(node), "blob-size", le64(uint64(size)))
		}
	})
}

// rebuildFDT writes a tree with fdt.Writer (edits may add duplicate
// names, which Tree.Encode need not preserve).
func rebuildFDT(t *testing.T, root *fdt.Node) []byte {
	w := fdt.NewWriter()
	var walk func(n *fdt.Node)
	walk = func(n *fdt.Node) {
		_ = w.BeginNode(n.Name)
		for _, p := range n.Props {
			_ = w.Property(p.Name, p.Value)
		}
		for _, c := range n.Children {
			walk(c)
		}
		_ = w.EndNode()
	}
	walk(root)
	b, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func setProp(n *fdt.Node, name string, v []byte) {
	for i := range n.Props {
		if n.Props[i].Name == name {
			n.Props[i].Value = v
			return
		}
	}
	n.Props = append(n.Props, fdt.Property{Name: name, Value: v})
}

func delProp(n *fdt.Node, name string) {
	for i := range n.Props {
		if n.Props[i].Name == name {
			n.Props = append(n.Props[:i], n.Props[i+1:]...)
			return
		}
	}
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// handoverCodes returns the distinct finding codes, sorted.
func handoverCodes(h *Handover) []string {
	set := map[string]bool{}
	for _, f := range h.Findings {
		set[f.Code] = true
	}
	var out []string
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// hostileBase builds the kho-v4 + luo-v5 handover the mutations start
// from: two sessions with memfds (one of four pages), an empty session,
// three FLBs, kexec-metadata, memblock and the boot handoff.
func hostileBase(t *testing.T, compat string) *Built {
	t.Helper()
	for _, tc := range buildCases() {
		if tc.name == compat {
			b, err := Build(tc.h, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no build case %q", compat)
	return nil
}

type hostileCase struct {
	name   string
	base   string // build case; default "kho-v4+luo-v5"
	mutate func(m mutator, L Layout)
	want   []string
}

// Offsets used by the mutations (abi.md quick reference).
const (
	offLUOSessions = 16
	offLUOFLBs     = 24
	blkEntry0      = 16 // first entry of a block
)

func hostileCases() []hostileCase {
	file0 := func(L Layout) uint64 { return L.FileBlocks[0][0] + blkEntry0 }
	memfd0 := func(L Layout) uint64 { return L.MemfdSer[0][1] } // the four-page memfd
	return []hostileCase{
		// Rule 1: pointers.
		{name: "session head unaligned", mutate: func(m mutator, L Layout) { m.put64(L.LUO+offLUOSessions, L.SessionBlocks[0]+8) },
			want: []string{"ptr.unaligned"}},
		{name: "session head absent", mutate: func(m mutator, L Layout) { m.put64(L.LUO+offLUOSessions, 0x7000_0000_0000) },
			want: []string{"ptr.absent"}},
		{name: "memfd data overflows", mutate: func(m mutator, L Layout) { m.put64(file0(L)+48, ^uint64(0)-15) },
			want: []string{"ptr.overflow"}},
		{name: "memfd data zero", mutate: func(m mutator, L Layout) { m.put64(file0(L)+48, 0) },
			want: []string{"ptr.zero"}},
		{name: "memfd data unpreserved", mutate: func(m mutator, L Layout) { m.put64(file0(L)+48, L.MapPages[len(L.MapPages)-1]) },
			want: []string{"ptr.unpreserved"}},
		{name: "FLB page in scratch", mutate: func(m mutator, L Layout) {
			m.o.Scratch = append(m.o.Scratch, ScratchRegion{Addr: L.FLB, Size: 4096})
		}, want: []string{"map.block-in-scratch", "ptr.in-scratch"}},

		// Rules 8 and 10: root.
		{name: "root compatible unknown", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r, "compatible", []byte("kho-v9\x00")) })
		}, want: []string{"root.compatible-unknown"}},
		{name: "root compatible list", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r, "compatible", []byte("kho-v4\x00kho-v1\x00")) })
		}, want: []string{"root.compatible-list"}},
		{name: "root composite compatible", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r, "compatible", []byte("kho-v4;radix-v1;vmalloc-v1\x00")) })
		}, want: nil},
		{name: "root composite out of order", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r, "compatible", []byte("kho-v4;vmalloc-v1;radix-v1\x00")) })
		}, want: []string{"root.compatible-unknown"}},
		{name: "root unknown property", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r, "extra", []byte{1}) })
		}, want: []string{"root.property-unknown"}},
		{name: "root duplicate node", mutate: func(m mutator, L Layout) {
			// The fdt writer refuses duplicates: write "LUP", then rename it.
			m.root(func(r *fdt.Node) {
				c := *r.Child("LUO")
				c.Name = "LUP"
				r.Children = append(r.Children, &c)
			})
			m.patch(m.b.RootAddr, 4096, "LUP\x00", "LUO\x00")
		}, want: []string{"root.node-duplicate"}},
		{name: "map zero", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r, "preserved-memory-map", le64(0)) })
		}, want: []string{"map.unusable", "root.map-zero"}},
		{name: "map short", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r, "preserved-memory-map", []byte{1, 2, 3, 4}) })
		}, want: []string{"map.unusable", "root.map-length"}},
		{name: "map missing", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { delProp(r, "preserved-memory-map") })
		}, want: []string{"map.unusable", "root.map-missing"}},

		// Rule 13: subnodes.
		{name: "preserved-data short", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r.Child("kexec-metadata"), "preserved-data", []byte{1, 2, 3, 4}) })
		}, want: []string{"subtree.data-length"}},
		{name: "preserved-data zero", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r.Child("kexec-metadata"), "preserved-data", le64(0)) })
		}, want: []string{"subtree.data-zero"}},
		{name: "blob-size missing", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { delProp(r.Child("LUO"), "blob-size") })
		}, want: []string{"subtree.size-missing"}},
		{name: "blob-size short", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r.Child("LUO"), "blob-size", []byte{32, 0, 0, 0}) })
		}, want: []string{"subtree.size-length"}},
		{name: "blob-size zero", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r.Child("LUO"), "blob-size", le64(0)) })
		}, want: []string{"subtree.size-zero"}},
		{name: "blob-size huge", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r.Child("LUO"), "blob-size", le64(1<<40)) })
		}, want: []string{"subtree.size-too-large"}},
		{name: "blob beyond its preserved pages", mutate: func(m mutator, L Layout) {
			// Run the blob one byte past the preserved blocks it starts in.
			end := L.KexecMetadata
			for _, blk := range m.b.Preserved {
				if blk.Addr == end {
					end += 4096 << blk.Order
				}
			}
			m.root(func(r *fdt.Node) { setProp(r.Child("kexec-metadata"), "blob-size", le64(end-L.KexecMetadata+1)) })
		}, want: []string{"ptr.unpreserved"}},
		{name: "unknown subnode kept raw", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) {
				n := &fdt.Node{Name: "vendor-thing"}
				setProp(n, "preserved-data", le64(L.KexecMetadata))
				setProp(n, "blob-size", le64(16))
				r.Children = append(r.Children, n)
			})
		}, want: []string{"subtree.format-unknown"}},
		{name: "subnode unknown property", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r.Child("LUO"), "fdt", le64(1)) })
		}, want: []string{"subtree.property-unknown"}},

		// Rule 14: vmalloc (the four-page memfd's folio array).
		{name: "vmalloc flags unknown", mutate: func(m mutator, L Layout) { m.put16(memfd0(L)+44, 0x5) },
			want: []string{"vmalloc.flags-unknown"}},
		{name: "vmalloc order too large", mutate: func(m mutator, L Layout) { m.put16(memfd0(L)+46, 11) },
			want: []string{"vmalloc.order-too-large"}},
		{name: "vmalloc total_pages huge", mutate: func(m mutator, L Layout) { m.put32(memfd0(L)+40, 1<<30) },
			want: []string{"vmalloc.total-pages"}},
		{name: "vmalloc first zero", mutate: func(m mutator, L Layout) { m.put64(memfd0(L)+32, 0) },
			want: []string{"vmalloc.first-zero"}},
		{name: "vmalloc run unaligned", mutate: func(m mutator, L Layout) {
			c := L.FolioChunks[0][1][0]
			m.put64(c+8, m.get64(c+8)+16)
		}, want: []string{"vmalloc.run-unaligned"}},
		{name: "vmalloc runs overflow", mutate: func(m mutator, L Layout) {
			c := L.FolioChunks[0][1][0]
			m.put64(c+16, m.get64(c+8)) // a second run where total_pages is 1
		}, want: []string{"vmalloc.run-overflow"}},
		{name: "vmalloc page count mismatch", mutate: func(m mutator, L Layout) {
			c := L.FolioChunks[0][1][0]
			m.put64(c+8, 0) // no runs at all
		}, want: []string{"vmalloc.page-count-mismatch"}},
		{name: "vmalloc run shared by two memfds", mutate: func(m mutator, L Layout) {
			m.put64(L.FolioChunks[0][0][0]+8, m.get64(L.FolioChunks[0][1][0]+8))
		}, want: []string{"vmalloc.shared"}},
		{name: "vmalloc chunk loops", mutate: func(m mutator, L Layout) {
			c := L.FolioChunks[0][1][0]
			m.put64(c, c)
		}, want: []string{"vmalloc.cycle"}},

		// Rule 16: kexec-metadata.
		{name: "kexec version", mutate: func(m mutator, L Layout) { m.put32(L.KexecMetadata, 2) },
			want: []string{"kexec.version-unknown"}},
		{name: "kexec short", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r.Child("kexec-metadata"), "blob-size", le64(72)) })
		}, want: []string{"kexec.blob-too-small"}},
		{name: "kexec release unterminated", mutate: func(m mutator, L Layout) {
			m.put(L.KexecMetadata+4, []byte("0123456789012345678901234567890123456789012345678901234567890123X"))
		}, want: []string{"kexec.release-unterminated"}},

		// Rule 15: memblock.
		{name: "memblock compatible", mutate: func(m mutator, L Layout) {
			m.subFDT("memblock", L.Memblock, func(r *fdt.Node) { setProp(r, "compatible", []byte("memblock-v2\x00")) })
		}, want: []string{"memblock.compatible"}},
		{name: "reserve_mem compatible", mutate: func(m mutator, L Layout) {
			m.subFDT("memblock", L.Memblock, func(r *fdt.Node) { setProp(r.Children[0], "compatible", []byte("reserve-mem-v1\x00x\x00")) })
		}, want: []string{"memblock.region-compatible"}},
		{name: "reserve_mem start short", mutate: func(m mutator, L Layout) {
			m.subFDT("memblock", L.Memblock, func(r *fdt.Node) { setProp(r.Children[0], "start", []byte{0, 0x10, 0, 0}) })
		}, want: []string{"memblock.region-property"}},
		{name: "reserve_mem start unaligned", mutate: func(m mutator, L Layout) {
			m.subFDT("memblock", L.Memblock, func(r *fdt.Node) {
				v := binary.LittleEndian.Uint64(r.Children[0].Prop("start").Value)
				setProp(r.Children[0], "start", le64(v+512))
			})
		}, want: []string{"memblock.region-unaligned"}},
		{name: "reserve_mem unpreserved", mutate: func(m mutator, L Layout) {
			m.subFDT("memblock", L.Memblock, func(r *fdt.Node) { setProp(r.Children[0], "start", le64(L.MapPages[0])) })
		}, want: []string{"ptr.unpreserved"}},

		// Rule 17: blocks.
		{name: "session block cycle", mutate: func(m mutator, L Layout) { m.put64(L.SessionBlocks[0], L.SessionBlocks[0]) },
			want: []string{"block.cycle"}},
		{name: "session block count zero", mutate: func(m mutator, L Layout) { m.put64(L.SessionBlocks[0]+8, 0) },
			want: []string{"block.count-zero"}},
		{name: "session block count too large", mutate: func(m mutator, L Layout) { m.put64(L.SessionBlocks[0]+8, 52) },
			want: []string{"block.count-exceeds-block"}},
		{name: "file block shared by two sessions", mutate: func(m mutator, L Layout) {
			e1 := L.SessionBlocks[0] + blkEntry0 + 80
			m.put64(e1+64, L.FileBlocks[0][0])
		}, want: []string{"block.shared"}},
		{name: "file chain too long", base: "kho-v4+luo-v5 chains", mutate: func(m mutator, L Layout) { m.o.MaxBlocks = 1 },
			want: []string{"block.too-many"}},
		{name: "block chain unpreserved", mutate: func(m mutator, L Layout) {
			const free = 0x0800_0000 // RAM nothing uses
			m.put64(free+8, 1)
			m.put64(L.LUO+offLUOSessions, free)
		}, want: []string{"ptr.unpreserved"}},

		// Rule 18: LUO.
		{name: "luo_ser compatible unknown", mutate: func(m mutator, L Layout) { m.put(L.LUO, []byte("luo-v6\x00\x00")) },
			want: []string{"luo.compatible-unknown"}},
		{name: "luo_ser compatible suffix", mutate: func(m mutator, L Layout) { m.put(L.LUO, []byte("luo-v5x\x00")) },
			want: []string{"luo.compatible-unknown"}},
		{name: "luo_ser compatible padding", mutate: func(m mutator, L Layout) { m.put(L.LUO, []byte("luo-v5\x00x")) },
			want: []string{"luo.compatible-padding"}},
		{name: "luo_ser blob too small", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r.Child("LUO"), "blob-size", le64(24)) })
		}, want: []string{"luo.blob-too-small"}},
		{name: "luo_ser blob larger", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r.Child("LUO"), "blob-size", le64(40)) })
		}, want: []string{"luo.blob-size-mismatch"}},
		{name: "luo-v1 compatible", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { setProp(r, "compatible", []byte("luo-v9\x00")) })
		}, want: []string{"luo.compatible-unknown"}},
		{name: "luo-v1 number short", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { setProp(r, "liveupdate-number", []byte{1, 0, 0, 0}) })
		}, want: []string{"luo.number-length"}},
		{name: "luo-v1 session node missing", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { r.Children = []*fdt.Node{r.Child("luo-flb")} })
		}, want: []string{"luo.session-missing"}},
		{name: "luo-v1 session compatible", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { setProp(r.Child("luo-session"), "compatible", []byte("luo-session-v3\x00")) })
		}, want: []string{"luo.session-compatible"}},
		{name: "luo-v1 flb node missing", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { r.Children = []*fdt.Node{r.Child("luo-session")} })
		}, want: []string{"luo.flb-missing"}},
		{name: "luo-v1 flb header zero", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { setProp(r.Child("luo-flb"), "luo-flb-header", le64(0)) })
		}, want: []string{"ptr.zero"}},
		{name: "luo-v1 session header zero", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { setProp(r.Child("luo-session"), "luo-session-header", le64(0)) })
		}, want: []string{"ptr.zero"}},
		{name: "luo-v1 unknown node", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { r.Children = append(r.Children, &fdt.Node{Name: "luo-extra"}) })
		}, want: []string{"luo.node-unknown"}},

		{name: "luo-v1 FDT invalid", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) { m.put32(L.LUO+20, 0x63000000) },
			want: []string{"luo.fdt-invalid"}},
		{name: "luo-v1 flb compatible", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { setProp(r.Child("luo-flb"), "compatible", []byte("luo-flb-v2\x00")) })
		}, want: []string{"luo.flb-compatible"}},
		{name: "luo-v1 flb header short", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { setProp(r.Child("luo-flb"), "luo-flb-header", []byte{1, 2, 3, 4}) })
		}, want: []string{"luo.flb-header"}},
		{name: "luo-v1 session header short", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { setProp(r.Child("luo-session"), "luo-session-header", []byte{1, 2, 3, 4}) })
		}, want: []string{"luo.session-header"}},
		{name: "luo-v1 unknown property", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) { setProp(r, "luo-extra", []byte{1}) })
		}, want: []string{"luo.property-unknown"}},
		{name: "luo-v2 without abi header", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.subFDT("LUO", L.LUO, func(r *fdt.Node) {
				setProp(r, "compatible", []byte("luo-v2\x00"))
				delProp(r, "liveupdate-number")
				r.Children = nil
			})
		}, want: []string{"luo.abi-header"}},
		{name: "sub-FDT without magic", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) { m.put32(L.LUO, 0) },
			want: []string{"subtree.fdt-invalid"}},
		{name: "kho-v1 map zero", base: "kho-v1+luo-v1", mutate: func(m mutator, L Layout) {
			m.root(func(r *fdt.Node) { setProp(r, "preserved-memory-map", le64(0)) })
		}, want: []string{"map.unusable", "root.map-empty"}},
		{name: "memfd inside a larger block", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.put64(L.FileBlocks[0][0]+48, L.SessionBlocks[0]+4096) // order-4 session array, second page
		}, want: []string{"ptr.order-mismatch"}},
		{name: "memblock FDT invalid", mutate: func(m mutator, L Layout) { m.put32(L.Memblock+20, 0x63000000) },
			want: []string{"memblock.fdt-invalid"}},
		{name: "reserve_mem name too long", mutate: func(m mutator, L Layout) {
			m.subFDT("memblock", L.Memblock, func(r *fdt.Node) { r.Children[0].Name = "a-very-long-region-name" })
		}, want: []string{"memblock.region-name"}},
		{name: "blocks over the total limit", base: "kho-v4+luo-v5 chains", mutate: func(m mutator, L Layout) { m.o.MaxTotalBlocks = 2 },
			want: []string{"block.total-limit"}},
		{name: "read error", mutate: func(m mutator, L Layout) { *m.failAt = L.FLB },
			want: []string{"ptr.read-failed"}},
		{name: "root FDT over a page", mutate: func(m mutator, L Layout) {
			const free = 0x0800_0000 // two pages nothing uses
			m.put(free, m.read(m.b.RootAddr, 4096))
			m.b.RootAddr = free
			m.root(func(r *fdt.Node) { setProp(r, "padding", make([]byte, 4100)) })
		}, want: []string{"map.unusable", "root.fdt-too-large", "root.property-unknown"}},

		// Rule 19: sessions.
		{name: "session name unterminated", mutate: func(m mutator, L Layout) {
			m.put(L.SessionBlocks[0]+blkEntry0, []byte("0123456789012345678901234567890123456789012345678901234567890123"))
		}, want: []string{"session.name-unterminated"}},
		{name: "session name empty", mutate: func(m mutator, L Layout) { m.put(L.SessionBlocks[0]+blkEntry0, []byte{0}) },
			want: []string{"session.name-empty"}},
		{name: "session name duplicate", mutate: func(m mutator, L Layout) {
			m.put(L.SessionBlocks[0]+blkEntry0+80, []byte("alpha\x00"))
		}, want: []string{"session.name-duplicate"}},
		{name: "luo-v1 session count", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) { m.put64(L.SessionBlocks[0], 820) },
			want: []string{"session.count-too-large"}},

		// Rule 20: files.
		{name: "file count mismatch", mutate: func(m mutator, L Layout) {
			m.put64(L.SessionBlocks[0]+blkEntry0+72, 3)
		}, want: []string{"file.count-mismatch"}},
		{name: "files zero with count", mutate: func(m mutator, L Layout) {
			m.put64(L.SessionBlocks[0]+blkEntry0+64, 0)
		}, want: []string{"file.files-zero"}},
		{name: "file compatible unterminated", mutate: func(m mutator, L Layout) {
			m.put(file0(L), []byte("memfd-v2-memfd-v2-memfd-v2-memfd-v2-memfd-v2-mem"))
		}, want: []string{"file.compatible-unterminated"}},
		{name: "file compatible unknown", mutate: func(m mutator, L Layout) { m.put(file0(L), []byte("vfio-pci-v1\x00")) },
			want: []string{"file.compatible-unknown"}},
		{name: "file token duplicate", mutate: func(m mutator, L Layout) { m.put64(file0(L)+64+56, m.get64(file0(L)+56)) },
			want: []string{"file.token-duplicate"}},
		{name: "file data duplicate", mutate: func(m mutator, L Layout) {
			other := L.FileBlocks[1][0] + blkEntry0
			m.put64(other+48, m.get64(file0(L)+48))
		}, want: []string{"file.data-duplicate"}},
		{name: "luo-v1 file count", base: "kho-v2+luo-v1", mutate: func(m mutator, L Layout) {
			m.put64(L.SessionBlocks[0]+8+72, 129)
		}, want: []string{"file.count-too-large"}},

		// Rule 21: FLB.
		{name: "flb pgcnt", mutate: func(m mutator, L Layout) { m.put64(L.FLB, 2) }, want: []string{"flb.pgcnt-invalid"}},
		{name: "flb count exceeds page", mutate: func(m mutator, L Layout) { m.put64(L.FLB+8, 64) },
			want: []string{"flb.count-exceeds-page"}},
		{name: "flb name unterminated", mutate: func(m mutator, L Layout) {
			m.put(L.FLB+16, []byte("liveupdate-test-flb-v0-liveupdate-test-flb-v0-li"))
		}, want: []string{"flb.name-unterminated"}},
		{name: "flb name empty", mutate: func(m mutator, L Layout) { m.put(L.FLB+16, []byte{0}) },
			want: []string{"flb.name-empty"}},
		{name: "flb name duplicate", mutate: func(m mutator, L Layout) {
			m.put64(L.FLB+8, 2)
			page := make([]byte, 64)
			if _, err := m.b.Mem.ReadAt(page, L.FLB+16); err != nil {
				m.t.Fatal(err)
			}
			m.put(L.FLB+16+64, page)
		}, want: []string{"flb.name-duplicate"}},
		{name: "flb entry count zero", mutate: func(m mutator, L Layout) { m.put64(L.FLB+16+56, 0) },
			want: []string{"flb.entry-count-zero"}},
		{name: "flb entry count above INT_MAX", mutate: func(m mutator, L Layout) { m.put64(L.FLB+16+56, 1<<31) },
			want: []string{"flb.entry-count-too-large"}},
		{name: "flb page unaligned", mutate: func(m mutator, L Layout) { m.put64(L.LUO+offLUOFLBs, L.FLB+16) },
			want: []string{"ptr.unaligned"}},

		// Rule 23: memfd.
		{name: "memfd seals unknown", mutate: func(m mutator, L Layout) { m.put32(memfd0(L)+16, 0x40) },
			want: []string{"memfd.seals-unknown"}},
		{name: "memfd flags", mutate: func(m mutator, L Layout) { m.put32(memfd0(L)+20, 1) },
			want: []string{"memfd.flags-nonzero"}},
		{name: "memfd pos", mutate: func(m mutator, L Layout) { m.put64(memfd0(L), 1<<63) },
			want: []string{"memfd.pos-too-large"}},
		{name: "memfd nr_folios beyond array", mutate: func(m mutator, L Layout) { m.put64(memfd0(L)+24, 257) },
			want: []string{"memfd.nr-folios-too-large"}},
		{name: "memfd nr_folios huge", mutate: func(m mutator, L Layout) { m.put64(memfd0(L)+24, 1<<40) },
			want: []string{"memfd.too-many-folios"}},
		{name: "folio flags unknown", mutate: func(m mutator, L Layout) {
			arr := m.get64(L.FolioChunks[0][1][0] + 8)
			m.put64(arr, m.get64(arr)|1<<60)
		}, want: []string{"memfd.folio-flags-unknown"}},
		{name: "folio index beyond size", mutate: func(m mutator, L Layout) {
			arr := m.get64(L.FolioChunks[0][1][0] + 8)
			m.put64(arr+8, 4)
		}, want: []string{"memfd.folio-index-range"}},
		{name: "folio index duplicate", mutate: func(m mutator, L Layout) {
			arr := m.get64(L.FolioChunks[0][1][0] + 8)
			m.put64(arr+16+8, 0)
		}, want: []string{"memfd.folio-index-duplicate"}},
		{name: "folio shared by two memfds", mutate: func(m mutator, L Layout) {
			a0 := m.get64(L.FolioChunks[0][0][0] + 8) // first memfd's folio array
			a1 := m.get64(L.FolioChunks[0][1][0] + 8)
			m.put64(a1+16, m.get64(a0)) // second memfd's folio 1 = first memfd's folio 0
		}, want: []string{"memfd.folio-shared"}},
		{name: "folio unpreserved", mutate: func(m mutator, L Layout) {
			arr := m.get64(L.FolioChunks[0][1][0] + 8)
			m.put64(arr, 3<<52|L.MapPages[0]>>12)
		}, want: []string{"ptr.unpreserved"}},
	}
}

// TestUnknownRootKeepsRaw: under an unknown root version nothing is
// interpreted, but each subtree's bytes are kept.
func TestUnknownRootKeepsRaw(t *testing.T) {
	b := hostileBase(t, "kho-v4+luo-v5")
	m := mutator{t: t, b: b}
	m.root(func(r *fdt.Node) { setProp(r, "compatible", []byte("kho-v5\x00")) })
	h, err := Decode(b.Mem, b.RootAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.LUO != nil || h.KexecMetadata != nil || h.MemoryMap.Kind != MapNone {
		t.Errorf("unknown version interpreted: %+v", h)
	}
	for _, st := range h.Subtrees {
		if st.Format != "unknown" || uint64(len(st.Raw)) != st.Size || st.Size == 0 {
			t.Errorf("subtree %s: format %s, %d raw bytes of %d", st.Name, st.Format, len(st.Raw), st.Size)
		}
	}
	if len(h.Subtrees) != 3 || string(h.Subtrees[0].Raw[:6]) != "luo-v5" && string(h.Subtrees[1].Raw[:6]) != "luo-v5" {
		t.Errorf("subtrees %+v", h.Subtrees)
	}
}

// TestHostile covers abi.md §10's decoder rules: each case corrupts one
// field of a valid handover and expects exactly the listed finding codes.
func TestHostile(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			if base == "" {
				base = "kho-v4+luo-v5"
			}
			b := hostileBase(t, base)
			opts := &Options{}
			opts.Scratch = append(opts.Scratch, b.Scratch...)
			var failAt uint64
			tc.mutate(mutator{t, b, opts, &failAt}, b.Layout)
			var mem physmem.Memory = b.Mem
			if failAt != 0 {
				mem = failingMemory{b.Mem, failAt}
			}
			h, err := Decode(mem, b.RootAddr, opts)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, handoverCodes(h)); d != "" {
				for _, f := range h.Findings {
					t.Log(f)
				}
				t.Errorf("finding codes (-want +got):\n%s", d)
			}
		})
	}
}

// failingMemory fails every read that touches one address with an I/O
// error, as a damaged dump file would.
type failingMemory struct {
	physmem.Memory
	bad uint64
}

func (f failingMemory) ReadAt(p []byte, addr uint64) (int, error) {
	if addr <= f.bad && f.bad < addr+uint64(len(p)) {
		return 0, &physmem.AddrError{Addr: f.bad, Size: uint64(len(p)), Err: errors.New("input/output error")}
	}
	return f.Memory.ReadAt(p, addr)
}

// TestLUOv2 decodes the series-internal luo-v2 layout: a LUO FDT holding
// only luo-abi-header, pointing at a 24-byte luo_ser whose session pointer
// leads to the luo-v1 session array. The builder does not write luo-v2, so
// the FLB page of a luo-v1 handover is turned into the luo_ser.
func TestLUOv2(t *testing.T) {
	b := hostileBase(t, "kho-v2+luo-v1")
	m := mutator{t: t, b: b}
	L := b.Layout
	m.put(L.FLB, make([]byte, 64))
	m.put64(L.FLB, 42)                   // liveupdate_num
	m.put64(L.FLB+8, L.SessionBlocks[0]) // sessions_pa
	m.put64(L.FLB+16, 0)                 // flbs_pa: none
	m.subFDT("LUO", L.LUO, func(r *fdt.Node) {
		r.Props = nil
		setProp(r, "compatible", []byte("luo-v2\x00"))
		setProp(r, "luo-abi-header", le64(L.FLB))
		r.Children = nil
	})
	h, err := Decode(b.Mem, b.RootAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Findings) != 0 {
		t.Fatalf("findings: %v", h.Findings)
	}
	want := *b.Handover.LUO
	want.Compatible, want.LiveupdateNumber, want.SessionsAddr, want.FLBsAddr, want.FLBs = "luo-v2", 42, L.SessionBlocks[0], 0, nil
	if d := cmp.Diff(&want, h.LUO); d != "" {
		t.Errorf("LUO (-want +got):\n%s", d)
	}
}
