package kho

import (
	"fmt"

	"github.com/khokit/khokit/fdt"
)

// Catalogue names of the subtree formats the builder writes, as the
// decoder reports them in Subtree.Format (a raw luo_ser is named by its
// variant: luoRootFormat).
const (
	bldFormatLUOFDT        = "luo-fdt-v1"
	bldFormatMemblock      = "memblock"
	bldFormatKexecMetadata = "kexec-metadata"
	bldFormatUnknown       = "unknown"
)

// bldFDTWriter wraps fdt.Writer with the few property kinds KHO uses; the
// first error sticks in the Writer and comes back from finish.
type bldFDTWriter struct{ w *fdt.Writer }

func newBldFDTWriter() bldFDTWriter { return bldFDTWriter{fdt.NewWriter()} }

func (f bldFDTWriter) begin(name string)         { _ = f.w.BeginNode(name) }
func (f bldFDTWriter) end()                      { _ = f.w.EndNode() }
func (f bldFDTWriter) str(name, v string)        { _ = f.w.Property(name, append([]byte(v), 0)) }
func (f bldFDTWriter) raw(name string, v []byte) { _ = f.w.Property(name, v) }
func (f bldFDTWriter) finish() ([]byte, error)   { return f.w.Finish() }
func (f bldFDTWriter) u64(name string, v uint64) { f.raw(name, bldLE.AppendUint64(nil, v)) } // CPU order, not cells

// EncodeRootFDT encodes the KHO root FDT of h: h.Compatible, the
// preserved-memory-map address h.MemoryMap.Addr, and one node per
// subtree with its address (and, kho-v3 on, its size), laid out as the
// kernel lays them out, so that the root a kernel wrote decodes
// ([DecodeRoot]) and re-encodes to the same bytes. kho-v3+ nodes list
// blob-size before preserved-data, as libfdt's fdt_setprop leaves them
// (abi.md §0 item 9); the strings table is in the kernel's order (see
// rootFDTStrings); the header is version 17, last_comp_version 16, with
// the blocks packed after it.
func EncodeRootFDT(h *Handover) ([]byte, error) {
	rv, ok := parseRootCompatible(h.Compatible)
	ver := rv.version
	if !ok {
		return nil, fmt.Errorf("kho: encode root FDT: compatible %q is not kho-v1..kho-v4", h.Compatible)
	}
	f := newBldFDTWriter()
	_ = f.w.SeedStrings(rootFDTStrings(ver, len(h.Subtrees) > 0)...)
	f.begin("")
	f.str("compatible", h.Compatible)
	f.u64("preserved-memory-map", h.MemoryMap.Addr)
	for _, s := range h.Subtrees {
		f.begin(s.Name)
		switch {
		case ver == 1:
			f.u64("fdt", s.Addr)
		case ver == 2:
			f.u64("preserved-data", s.Addr)
		default:
			f.u64("blob-size", s.Size)
			f.u64("preserved-data", s.Addr)
		}
		f.end()
	}
	f.end()
	blob, err := f.finish()
	if err != nil {
		return nil, fmt.Errorf("kho: encode root FDT: %w", err)
	}
	return blob, nil
}

// rootFDTStrings is the strings table of a kernel-written root. Since
// kho-v2 the kernel creates the root at boot in libfdt's sequential-write
// mode (compatible, then preserved-memory-map: stored in reverse order of
// first use) and adds each subtree later with fdt_setprop in read-write
// mode, which appends preserved-data, then blob-size (seen byte for byte
// in a 7.3.4 kho-v4 root). A kho-v1 root is written whole at finalize in
// sequential-write mode, so its table is the reverse of first use; that
// order follows from libfdt, not from a captured kho-v1 root.
func rootFDTStrings(ver int, subtrees bool) []string {
	switch {
	case ver == 1 && subtrees:
		return []string{"fdt", "preserved-memory-map", "compatible"}
	case ver == 1:
		return []string{"preserved-memory-map", "compatible"}
	case ver == 2:
		return []string{"preserved-memory-map", "compatible", "preserved-data"}
	default:
		return []string{"preserved-memory-map", "compatible", "preserved-data", "blob-size"}
	}
}

// bldLUOv1FDT writes the luo-v1 FDT in the order luo_fdt_setup creates
// it; v6.19 had no luo-flb node.
func bldLUOv1FDT(l *LUO, withFLB bool) ([]byte, error) {
	f := newBldFDTWriter()
	f.begin("")
	f.str("compatible", bldCompatLUOv1)
	f.u64("liveupdate-number", l.LiveupdateNumber)
	f.begin("luo-session")
	f.str("compatible", "luo-session-v2")
	f.u64("luo-session-header", l.SessionsAddr)
	f.end()
	if withFLB {
		f.begin("luo-flb")
		f.str("compatible", "luo-flb-v1")
		f.u64("luo-flb-header", l.FLBsAddr)
		f.end()
	}
	f.end()
	blob, err := f.finish()
	if err != nil {
		return nil, fmt.Errorf("kho: build: LUO FDT: %w", err)
	}
	return blob, nil
}

// bldMemblockFDT writes the memblock sub-FDT with one child per region.
func bldMemblockFDT(m *Memblock) ([]byte, error) {
	f := newBldFDTWriter()
	f.begin("")
	f.str("compatible", m.Compatible)
	for _, r := range m.Regions {
		f.begin(r.Name)
		f.str("compatible", r.Compatible)
		f.u64("start", r.Start)
		f.u64("size", r.Size)
		f.end()
	}
	f.end()
	blob, err := f.finish()
	if err != nil {
		return nil, fmt.Errorf("kho: build: memblock FDT: %w", err)
	}
	return blob, nil
}
