package kho

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// Sentinel errors wrapped by [*RootError]: the only failures Decode and
// DecodeRoot return as errors. Everything else is a [Finding].
var (
	ErrRootUnreadable = errors.New("root FDT unreadable")
	ErrNotFDT         = errors.New("not a valid FDT")
	ErrNotKHO         = errors.New("not a KHO root")
)

// RootError says why a root could not be decoded at all.
type RootError struct {
	Addr uint64 // physical address of the root; 0 when decoded from bytes
	Msg  string
	Err  error // one of the sentinels above
}

func (e *RootError) Error() string {
	if e.Addr != 0 {
		return fmt.Sprintf("kho: root at %#x: %s", e.Addr, e.Msg)
	}
	return "kho: root: " + e.Msg
}

func (e *RootError) Unwrap() error { return e.Err }

// fdtMagicTotal is fdt.SizePrefix with totalsize widened for address
// arithmetic (hdr holds at least fdt.SizePrefixLen bytes).
func fdtMagicTotal(hdr []byte) (magic uint32, total uint64) {
	m, t, _ := fdt.SizePrefix(hdr)
	return m, uint64(t)
}

// luoSerV2Size is the size of the series-internal luo-v2 luo_ser (no
// compatible field).
var luoSerV2Size = (format.LUOSer{}).Format().Size

// Decode decodes the handover whose root FDT lies at physical address
// rootAddr in mem. It returns an error only when the root cannot be read,
// is not an FDT, or is not a KHO root; every other problem is a Finding in
// the result, and an Error finding means the object it is about was not
// used further.
func Decode(mem physmem.Memory, rootAddr uint64, opts *Options) (*Handover, error) {
	d, err := newDecoder(mem, opts)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, fdt.HeaderSize)
	if _, err := mem.ReadAt(hdr, rootAddr); err != nil {
		return nil, &RootError{Addr: rootAddr, Msg: err.Error(), Err: ErrRootUnreadable}
	}
	magic, total := fdtMagicTotal(hdr)
	if magic != fdt.Magic {
		return nil, &RootError{Addr: rootAddr, Msg: fmt.Sprintf("magic %#x", magic), Err: ErrNotFDT}
	}
	if total > d.opts.MaxBlobSize {
		return nil, &RootError{Addr: rootAddr, Msg: fmt.Sprintf("totalsize %d above the %d-byte cap", total, d.opts.MaxBlobSize), Err: ErrNotFDT}
	}
	data, err := physmem.Read(mem, rootAddr, int(total), int(d.opts.MaxBlobSize))
	if err != nil {
		return nil, &RootError{Addr: rootAddr, Msg: err.Error(), Err: ErrRootUnreadable}
	}
	return d.decodeRoot(rootAddr, data)
}

// DecodeRoot decodes a handover from the root FDT's bytes (a debugfs copy of
// kho/in/fdt, say) with the rest of the state in mem. The result's RootAddr
// is 0.
func DecodeRoot(mem physmem.Memory, fdtBytes []byte, opts *Options) (*Handover, error) {
	d, err := newDecoder(mem, opts)
	if err != nil {
		return nil, err
	}
	return d.decodeRoot(0, fdtBytes)
}

// rootVersion is a parsed KHO root compatible.
type rootVersion struct {
	version int // 1..4
	compat  format.Compat
}

// parseRootCompatible accepts "kho-vN" (1..4) and the RFC composites of
// kho-v4 with the components the RFC defines, parsed by the format
// catalogue's compatible grammar.
func parseRootCompatible(s string) (rootVersion, bool) {
	c, err := format.ParseCompat(s)
	if err != nil {
		return rootVersion{}, false
	}
	rv := rootVersion{compat: c}
	switch c.Base {
	case "kho-v1":
		rv.version = 1
	case "kho-v2":
		rv.version = 2
	case "kho-v3":
		rv.version = 3
	case "kho-v4":
		rv.version = 4
	default:
		return rv, false
	}
	if len(c.Components) > 0 && rv.version != 4 {
		return rv, false
	}
	for _, comp := range c.Components {
		switch comp {
		case "radix-v1", "vmalloc-v1", "block-v1":
		default:
			return rv, false
		}
	}
	return rv, true
}

func (d *decoder) decodeRoot(rootAddr uint64, data []byte) (*Handover, error) {
	h := d.h
	h.RootAddr = rootAddr
	t, err := d.decodeFDT(data)
	if err != nil {
		return nil, &RootError{Addr: rootAddr, Msg: err.Error(), Err: ErrNotFDT}
	}
	if _, total := fdtMagicTotal(data); total > d.geo.pageSize {
		d.add("root.fdt-too-large", "", "/", rootAddr, "totalsize %d > one page (%d)", total, d.geo.pageSize)
	}
	root := t.Root
	cp := root.Prop("compatible")
	if cp == nil {
		msg := "no compatible property"
		if missingNames(t) {
			msg += " (property names lie in the blob's missing tail: a copy shorter than its totalsize, like a debugfs kho/out/fdt sized before later subtrees were added)"
		}
		return nil, &RootError{Addr: rootAddr, Msg: msg, Err: ErrNotKHO}
	}
	compats, err := cp.Strings()
	if err != nil || len(compats) == 0 || !strings.HasPrefix(compats[0], "kho-") {
		return nil, &RootError{Addr: rootAddr, Msg: fmt.Sprintf("compatible %s", describeCompat(cp)), Err: ErrNotKHO}
	}
	h.Compatible = compats[0]
	d.reportQuirks("/", rootAddr, t)
	if len(compats) > 1 {
		d.add("root.compatible-list", "", "/", rootAddr, "compatible is the list %q; %q used", compats, compats[0])
	}
	rv, known := parseRootCompatible(h.Compatible)
	if !known {
		d.add("root.compatible-unknown", "", "/", rootAddr, "compatible %q is not a known KHO version; subtrees kept raw", h.Compatible)
	}
	for _, p := range root.Props {
		if p.Name != "compatible" && p.Name != "preserved-memory-map" {
			d.add("root.property-unknown", "", "/", rootAddr, "unknown root property %q", p.Name)
		}
	}

	// The memory map first: every later pointer check asks it.
	mapValid := false
	switch p := root.Prop("preserved-memory-map"); {
	case p == nil:
		d.add("root.map-missing", "", mapPath, 0, "no preserved-memory-map property")
	case len(p.Value) != 8:
		d.add("root.map-length", "", mapPath, 0, "preserved-memory-map is %d bytes, want 8", len(p.Value))
	default:
		h.MemoryMap.Addr = binary.LittleEndian.Uint64(p.Value)
		mapValid = true
	}
	if known && mapValid {
		switch {
		case rv.version == 1 && h.MemoryMap.Addr == 0:
			h.MemoryMap.Kind = MapChunk
			d.add("root.map-empty", "", mapPath, 0, "kho-v1 map is 0: no memory preserved")
			d.setMap(nil, true)
		case h.MemoryMap.Addr == 0:
			d.add("root.map-zero", "", mapPath, 0, "preserved-memory-map is 0")
		case rv.version == 1:
			h.MemoryMap.Kind = MapChunk
			d.decodeChunks(h.MemoryMap.Addr)
		default:
			h.MemoryMap.Kind = MapRadix
			d.decodeRadix(h.MemoryMap.Addr)
		}
	}
	if known {
		d.trustMap(rootAddr, len(root.Children))
		if rootAddr != 0 {
			// The root page is preserved since KHO became stateless
			// (kho-v2); kho-v1 built it at finalize.
			n := d.page()
			n.preserved = rv.version >= 2
			d.check("/", "root FDT", rootAddr, d.geo.pageSize, n)
		}
	}

	seen := make(map[string]bool)
	for _, n := range root.Children {
		path := "/" + n.Name
		if seen[n.Name] {
			d.add("root.node-duplicate", "", path, rootAddr, "a second subnode %q; only the first is used", n.Name)
			continue
		}
		seen[n.Name] = true
		if !known {
			h.Subtrees = append(h.Subtrees, d.rawSubtree(n))
			continue
		}
		h.Subtrees = append(h.Subtrees, d.decodeSubtree(path, n, rv))
	}
	d.finish()
	return h, nil
}

// trustMap decides whether a map that decoded cleanly can vouch for
// preservation. Images taken after the kexec keep the root FDT but not the
// radix tree, whose pages were never preserved and are reused: what is
// read there then is empty or stale. A map that preserves nothing while
// subtrees exist, or that misses the root FDT's own page (preserved since
// the tree became stateless in kho-v2), is not used for checks.
func (d *decoder) trustMap(rootAddr uint64, subtrees int) {
	m := &d.h.MemoryMap
	if d.mapNoted {
		return
	}
	if !d.mapOK {
		d.mapNoted, d.mapStale = true, d.mapSet
		d.add("map.unusable", "", mapPath, m.Addr, "the map did not decode; preservation of pointers is not checked")
		return
	}
	reason := ""
	switch _, covered := m.Covers(rootAddr, d.geo.pageSize); {
	case len(m.Runs) == 0 && subtrees > 0:
		reason = "the map preserves nothing, yet the root has subtrees"
	case m.Kind == MapRadix && rootAddr != 0 && !covered:
		reason = fmt.Sprintf("the map does not cover the root FDT page %#x", rootAddr)
	default:
		return
	}
	d.mapOK = false
	d.mapNoted, d.mapStale = true, true
	d.add("map.unusable", "", mapPath, m.Addr, "%s (stale map, as in images taken after the kexec?); preservation of pointers is not checked", reason)
}

// decodeFDT decodes an FDT with the caller's leniency; a strict decode that
// fails only on duplicate node names is retried leniently, since duplicate
// names are reported (and the later node skipped) by the caller.
//
// What the fdt package tolerated or observed is reported as "fdt.quirk"
// findings under path (duplicate names are left to the caller), but only
// once the tree is known to be used: call reportQuirks then.
func (d *decoder) decodeFDT(data []byte) (*fdt.Tree, error) {
	t, err := fdt.Decode(data, &fdt.Options{Lenient: d.opts.Lenient})
	if err != nil && !d.opts.Lenient && errors.Is(err, fdt.ErrDuplicate) {
		t, err = fdt.Decode(data, &fdt.Options{Lenient: true})
	}
	return t, err
}

// reportQuirks turns the fdt package's findings into "fdt.quirk" findings.
func (d *decoder) reportQuirks(path string, addr uint64, t *fdt.Tree) {
	for _, f := range t.Findings {
		switch f.Code {
		case fdt.FindDuplicateNode, fdt.FindTrailingBytes:
			continue // duplicates are reported by name; blob-size may exceed totalsize
		}
		p := path
		if f.Path != "" && f.Path != "/" {
			p = strings.TrimSuffix(path, "/") + f.Path
		}
		d.add("fdt.quirk", "", p, addr, "%s at blob offset %#x: %s", f.Code, f.Offset, f.Message)
	}
}

// missingNames reports whether lenient decoding lost property names to a
// truncated strings block.
func missingNames(t *fdt.Tree) bool {
	for _, f := range t.Findings {
		if f.Code == fdt.FindMissingString {
			return true
		}
	}
	return false
}

// rawSubtree keeps a subnode whose root version is unknown: its address
// properties as found and, when they say how long it is and it can be
// read, the blob's raw bytes. Nothing is interpreted or checked beyond
// readability: the version's rules are unknown.
func (d *decoder) rawSubtree(n *fdt.Node) Subtree {
	st := Subtree{Name: n.Name, Format: "unknown"}
	for _, name := range []string{"preserved-data", "fdt"} {
		if v, err := u64Prop(n, name); err == nil {
			st.Addr = v
			break
		}
	}
	if st.Addr == 0 {
		return st
	}
	if v, err := u64Prop(n, "blob-size"); err == nil {
		st.Size = v
	} else if hdr := make([]byte, fdt.HeaderSize); physmem.StateOf(d.mem, st.Addr, fdt.HeaderSize) == physmem.Present {
		if _, err := d.mem.ReadAt(hdr, st.Addr); err == nil {
			if magic, total := fdtMagicTotal(hdr); magic == fdt.Magic {
				st.Size = total
			}
		}
	}
	if st.Size == 0 || st.Size > d.opts.MaxBlobSize || physmem.StateOf(d.mem, st.Addr, st.Size) != physmem.Present ||
		!d.takeSubtreeBytes("/"+n.Name, st.Addr, st.Size) {
		return st
	}
	raw := make([]byte, st.Size)
	if _, err := d.mem.ReadAt(raw, st.Addr); err == nil {
		st.Raw = raw
	}
	return st
}

// maxSubtreeBlobs is how many times Options.MaxBlobSize the blobs of all
// subtrees together may take: a root FDT can name thousands of subtrees,
// each pointing at MaxBlobSize bytes that overlap the others', and read
// one by one they would take gigabytes from an image of a few megabytes.
const maxSubtreeBlobs = 16

// takeSubtreeBytes counts size more bytes of subtree blobs and reports
// whether they fit the budget; a finding at path when they do not.
func (d *decoder) takeSubtreeBytes(path string, addr, size uint64) bool {
	limit := ^uint64(0)
	if d.opts.MaxBlobSize <= limit/maxSubtreeBlobs {
		limit = d.opts.MaxBlobSize * maxSubtreeBlobs
	}
	if size > limit-d.subtreeBytes {
		d.add("subtree.total-limit", "", path, addr, "%d more blob bytes would exceed %d for all subtrees together; not read", size, limit)
		return false
	}
	d.subtreeBytes += size
	return true
}

// decodeSubtree checks one root subnode (rule 13), reads its blob and
// decodes it by name.
func (d *decoder) decodeSubtree(path string, n *fdt.Node, rv rootVersion) Subtree {
	st := Subtree{Name: n.Name, Format: "unknown"}
	dataProp := "preserved-data"
	allowed := map[string]bool{"preserved-data": true, "blob-size": true}
	if rv.version == 1 {
		dataProp = "fdt"
		allowed = map[string]bool{"fdt": true}
	} else if rv.version == 2 {
		allowed = map[string]bool{"preserved-data": true}
	}
	for _, p := range n.Props {
		if !allowed[p.Name] {
			d.add("subtree.property-unknown", "", path, 0, "unknown property %q", p.Name)
		}
	}
	addr, err := u64Prop(n, dataProp)
	if err != nil {
		d.add("subtree.data-length", n.Name, path, 0, "%v", err)
		return st
	}
	st.Addr = addr
	if addr == 0 {
		d.add("subtree.data-zero", "", path, 0, "%s is 0", dataProp)
		return st
	}
	var size uint64
	if rv.version >= 3 {
		p := n.Prop("blob-size")
		switch {
		case p == nil:
			d.add("subtree.size-missing", n.Name, path, addr, "no blob-size")
			return st
		case len(p.Value) != 8:
			d.add("subtree.size-length", n.Name, path, addr, "blob-size is %d bytes, want 8", len(p.Value))
			return st
		}
		size = binary.LittleEndian.Uint64(p.Value)
		st.Size = size
		if size == 0 {
			d.add("subtree.size-zero", "", path, addr, "blob-size is 0")
			return st
		}
	} else {
		// FDT blobs: the size is the FDT's totalsize.
		if !d.check(path, "sub-FDT header", addr, fdt.HeaderSize, need{align: d.geo.pageSize}) {
			return st
		}
		hdr := d.read(path, "sub-FDT header", addr, fdt.HeaderSize)
		if hdr == nil {
			return st
		}
		magic, total := fdtMagicTotal(hdr)
		if magic != fdt.Magic {
			d.add("subtree.fdt-invalid", "", path, addr, "no FDT magic at %#x", addr)
			return st
		}
		size = total
		st.Size = size
	}
	if size > d.opts.MaxBlobSize {
		d.add("subtree.size-too-large", "", path, addr, "size %d > %d", size, d.opts.MaxBlobSize)
		return st
	}
	if !d.check(path, "blob", addr, size, d.page()) || !d.takeSubtreeBytes(path, addr, size) {
		return st
	}
	blob := d.read(path, "blob", addr, int(size))
	if blob == nil {
		return st
	}
	isFDT := len(blob) >= 4 && binary.BigEndian.Uint32(blob) == fdt.Magic
	switch {
	case n.Name == format.NodeLUO && isFDT:
		l, compat := d.decodeLUOFDT(path, addr, blob)
		st.Format = luoRootFormat(compat, true)
		if l != nil {
			d.h.LUO = l
		} else {
			st.Raw = blob
		}
	case n.Name == format.NodeLUO:
		compat, _ := cString(blob[:min(len(blob), luoCompatWidth)])
		st.Format = luoRootFormat(compat, false)
		if l := d.decodeLUOSer(path, addr, blob); l != nil {
			d.h.LUO = l
		} else {
			st.Raw = blob
		}
	case n.Name == format.NodeKexecMetadata:
		st.Format = "kexec-metadata"
		d.h.KexecMetadata = d.decodeKexecMetadata(path, addr, blob)
	case n.Name == format.NodeMemblock:
		st.Format = "memblock"
		d.h.Memblock = d.decodeMemblock(path, addr, blob)
	default:
		d.add("subtree.format-unknown", "", path, addr, "no decoder for subnode %q; %d raw bytes kept", n.Name, len(blob))
		st.Raw = blob
	}
	return st
}

// decodeLUOFDT decodes a LUO FDT: luo-v1 (session and FLB nodes) or the
// series-internal luo-v2 (a luo-abi-header pointer to a 24-byte luo_ser).
// compat is the FDT's compatible when it has a single string, even when
// the state does not decode (l nil).
func (d *decoder) decodeLUOFDT(path string, addr uint64, blob []byte) (l *LUO, compat string) {
	t, err := d.decodeFDT(blob)
	if err != nil {
		d.add("luo.fdt-invalid", "", path, addr, "%v", err)
		return nil, compat
	}
	d.reportQuirks(path, addr, t)
	root := t.Root
	compat, ok := singleString(root.Prop("compatible"))
	if !ok {
		compat = ""
	}
	if !ok || (compat != "luo-v1" && compat != "luo-v2") {
		d.add("luo.compatible-unknown", "", path, addr, "LUO FDT compatible %s is not luo-v1 or luo-v2", describeCompat(root.Prop("compatible")))
		return nil, compat
	}
	l = &LUO{Compatible: compat, Addr: addr}
	if compat == "luo-v2" {
		for _, p := range root.Props {
			if p.Name != "compatible" && p.Name != "luo-abi-header" {
				d.add("luo.property-unknown", "", path, addr, "unknown property %q", p.Name)
			}
		}
		pa, err := u64Prop(root, "luo-abi-header")
		if err != nil {
			d.add("luo.abi-header", "", path, addr, "%v", err)
			return nil, compat
		}
		size := luoSerV2Size
		if !d.check(path, "luo_ser", pa, uint64(size), d.page()) {
			return nil, compat
		}
		b := d.read(path, "luo_ser", pa, size)
		if b == nil {
			return nil, compat
		}
		v, err := format.DecodeLUOSerV2(b)
		if err != nil {
			d.add("ptr.read-failed", "", path, pa, "%v", err)
			return nil, compat
		}
		l.LiveupdateNumber, l.SessionsAddr, l.FLBsAddr = v.LiveupdateNum, v.SessionsPA, v.FLBsPA
		d.decodeLUOState(path, l, luoLayout{sessionSize: sessionSerSize}, false)
		return l, compat
	}
	for _, p := range root.Props {
		if p.Name != "compatible" && p.Name != "liveupdate-number" {
			d.add("luo.property-unknown", "", path, addr, "unknown property %q", p.Name)
		}
	}
	for _, c := range root.Children {
		if c.Name != "luo-session" && c.Name != "luo-flb" {
			d.add("luo.node-unknown", "", path+"/"+c.Name, addr, "unknown node %q", c.Name)
		}
	}
	num, err := u64Prop(root, "liveupdate-number")
	if err != nil {
		d.add("luo.number-length", "", path, addr, "%v", err)
		return nil, compat
	}
	l.LiveupdateNumber = num
	lay := luoLayout{sessionSize: sessionSerSize}
	sn := root.Child("luo-session")
	if sn == nil {
		d.add("luo.session-missing", "", path, addr, "no luo-session node")
		return nil, compat
	}
	switch c, _ := singleString(sn.Prop("compatible")); c {
	case "luo-session-v2":
	case "luo-session-v1":
		lay.sessionSize = sessionSerV1Size
	default:
		d.add("luo.session-compatible", "", path+"/luo-session", addr, "compatible %s", describeCompat(sn.Prop("compatible")))
		return nil, compat
	}
	if l.SessionsAddr, err = u64Prop(sn, "luo-session-header"); err != nil {
		d.add("luo.session-header", "", path+"/luo-session", addr, "%v", err)
		return nil, compat
	}
	flbV1 := false
	if fn := root.Child("luo-flb"); fn == nil {
		d.add("luo.flb-missing", "", path, addr, "no luo-flb node (v6.19 layout)")
	} else {
		if c, _ := singleString(fn.Prop("compatible")); c != "luo-flb-v1" {
			d.add("luo.flb-compatible", "", path+"/luo-flb", addr, "compatible %s", describeCompat(fn.Prop("compatible")))
		} else if l.FLBsAddr, err = u64Prop(fn, "luo-flb-header"); err != nil {
			d.add("luo.flb-header", "", path+"/luo-flb", addr, "%v", err)
		} else {
			flbV1 = true
		}
	}
	// The luo-v1 kernels always allocate the session array, and read it
	// through phys_to_virt without a zero check.
	if l.SessionsAddr == 0 {
		d.add("ptr.zero", "session-v1", path+"/sessions", 0, "luo-session-header is 0")
	}
	d.decodeLUOState(path, l, lay, flbV1)
	return l, compat
}
