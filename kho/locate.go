package kho

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// Role says what a located KHO root is to the image it was found in.
type Role uint8

const (
	// RoleUnknown: a valid KHO root nothing names; when it is the only
	// distinct one it is probably the handover, but no boot handoff says so.
	RoleUnknown Role = iota
	// RoleIncoming: the root the boot handoff names (x86 setup_data
	// SETUP_KEXEC_KHO, /chosen linux,kho-fdt) or the caller gave.
	RoleIncoming
	// RoleOutgoing: a running kernel's own root for its next kexec: its
	// kexec-metadata count is higher than another root's, and its LUO has
	// no sessions serialized yet.
	RoleOutgoing
	// RoleCopy: byte-identical to a root at another address (a program
	// that read kho/in/fdt, say).
	RoleCopy
)

func (r Role) String() string {
	switch r {
	case RoleUnknown:
		return "unknown"
	case RoleIncoming:
		return "incoming"
	case RoleOutgoing:
		return "outgoing"
	case RoleCopy:
		return "copy"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Candidate is one KHO root found in memory.
type Candidate struct {
	Addr       uint64
	Role       Role
	Compatible string // root compatible, e.g. "kho-v4"
	Size       uint64 // FDT totalsize
	Reason     string // one line: why this role
	// Evidence lists what was seen, one fact a line: which setup_data
	// node or /chosen property names it, its kexec count, the root it
	// copies.
	Evidence []string
	// KexecCount is the root's kexec-metadata count, -1 when it has none.
	KexecCount int64
	// LUOSessions is the luo-v5 sessions_pa (0: none serialized); -1 when
	// the root has no luo-v5 LUO blob readable.
	LUOSessions int64
	// Handoff is the x86 kho_data that names this root, when one does.
	Handoff *KHOData
	// Scratch is the scratch array the handoff names (kho_data or
	// /chosen linux,kho-scratch), every entry as the kernel would use it;
	// pass it to the decoder as Options.Scratch. Problems with it are
	// findings.
	Scratch []ScratchRegion
	// BootFDT is the physical address of the boot FDT in memory whose
	// /chosen linux,kho-fdt names this root (the arm64 handoff); when
	// several do, the one at the lowest address (Evidence lists them
	// all). It means something only when BootFDTSize is not 0: a boot
	// FDT may lie at address 0.
	BootFDT uint64
	// BootFDTSize is that boot FDT's totalsize: the bytes the locator read
	// (at most MaxBootFDTSize). It is 0 when no boot FDT the scan found
	// names the root (so always when Locate does not scan), and when only
	// LocateOptions.BootFDT does: the caller's bytes have no address.
	BootFDTSize uint64
	// BootScratch is the scratch array's physical address as that boot
	// FDT's /chosen linux,kho-scratch writes it, like KHOData.ScratchAddr
	// for x86; it is set even when Scratch came from another handoff.
	BootScratch uint64
	// BootScratchSize is the array's size in bytes as linux,kho-scratch
	// writes it, like KHOData.ScratchSize. It and BootScratch are 0 when
	// BootFDTSize is, or when the property is missing or not one
	// <addr size> pair (a finding says which).
	BootScratchSize uint64
}

// KHOData is an x86 SETUP_KEXEC_KHO setup_data node and its payload.
type KHOData struct {
	Node        uint64 // physical address of the setup_data header
	Len         uint32 // the node's len field
	FDTAddr     uint64
	FDTSize     uint64
	ScratchAddr uint64
	ScratchSize uint64
}

// ScanMode says when Locate reads all of memory.
type ScanMode uint8

const (
	// ScanAuto scans unless the root or the boot_params address is given
	// (a boot FDT alone does not stop the scan: copies and outgoing roots
	// are only found by scanning).
	ScanAuto ScanMode = iota
	ScanAlways
	ScanNever
)

// LocateOptions control [Locate]. The zero value scans everything.
type LocateOptions struct {
	// Root is a root address the caller knows; 0 means none.
	Root uint64
	// BootParams is the address of an x86 boot_params page; 0 means
	// search for it (the "HdrS" magic at offset 0x202).
	BootParams uint64
	// BootFDT is a boot devicetree whose /chosen may name the root
	// (linux,kho-fdt); boot FDTs found by the scan are read too.
	BootFDT []byte
	Scan    ScanMode
	// PageSize is the page size roots are aligned to (default 4096).
	PageSize uint64
	// ChunkSize is how much memory one read covers (default 1 MiB, at
	// most 64 MiB: it is one buffer).
	ChunkSize int
	// Progress, when set, is called after every chunk with the bytes
	// scanned and the total to scan.
	Progress func(done, total uint64)
	// MaxSetupData bounds the setup_data chain walk (default 256 nodes).
	MaxSetupData int
	// MaxHits bounds FDT headers, boot_params pages and setup_data-like
	// nodes kept from the scan (default 4096 of each).
	MaxHits int
}

func (o *LocateOptions) resolved() LocateOptions {
	var v LocateOptions
	if o != nil {
		v = *o
	}
	if v.PageSize == 0 {
		v.PageSize = 4096
	}
	v.ChunkSize = resolvedChunkSize(v.ChunkSize, v.PageSize)
	if v.MaxSetupData <= 0 {
		v.MaxSetupData = 256
	}
	if v.MaxHits <= 0 {
		v.MaxHits = 4096
	}
	return v
}

// resolvedChunkSize is a scan's ChunkSize option made usable: 1 MiB when
// unset, at most locMaxChunk, in whole pages of ps.
func resolvedChunkSize(n int, ps uint64) int {
	if n <= 0 {
		n = 1 << 20
	}
	return int(bldAlignUp(uint64(min(n, locMaxChunk)), ps))
}

// x86 boot protocol constants (arch/x86/include/uapi/asm/bootparam.h,
// setup_data.h).
const (
	locBootParamsSize  = 4096
	locMaxRootSize     = 1 << 16 // KHO roots are one page; allow 64 KiB pages
	locSetupDataMaxLen = 1 << 20 // a longer node is not believed
	locKHODataPath     = "/setup_data"
	locChosenPath      = "/chosen"
	locMaxChunk        = 64 << 20 // ChunkSize cap: one read buffer
	locBootFDTBudget   = 64 << 20 // bytes of non-KHO FDTs read whole while looking for /chosen
)

// Locate finds KHO roots in mem and says what each is: the incoming
// handover named by the boot handoff, the new kernel's own outgoing root,
// a copy, or unknown. Sources, in order: opts.Root; the x86 setup_data
// chain (boot_params found by its "HdrS" magic, or SETUP_KEXEC_KHO nodes
// found directly when no boot_params chain names a root); /chosen
// linux,kho-fdt in a boot FDT; and a streaming scan of every page for an
// FDT with a kho-v* root, fully validated. A candidate gives the handoff
// that named it as data: Handoff for an x86 kho_data, BootFDT and
// BootScratch for a boot FDT in memory. The scan reads the present bytes
// mem stores ([physmem.ScanRanges]) in chunks and never holds more than
// one chunk. Problems with the handoff structures (a short or looping
// setup_data chain) are findings. The error is for a given root that is
// not a KHO root.
func Locate(mem physmem.Memory, opts *LocateOptions) ([]Candidate, []Finding, error) {
	o := opts.resolved()
	if _, err := format.PageSizeOf(o.PageSize); err != nil {
		return nil, nil, fmt.Errorf("kho: locate: page size %d, want 4096, 16384 or 65536: %w", o.PageSize, format.ErrPageSize)
	}
	l := &locator{mem: mem, o: o, roots: map[uint64]*locRoot{}}
	if o.Root != 0 {
		r, err := l.root(o.Root)
		if err != nil {
			return nil, nil, fmt.Errorf("kho: locate: given root %#x: %w", o.Root, err)
		}
		l.name(r, "root address given", "given by the caller")
	}
	var scan *locScan
	if o.Scan == ScanAlways || o.Scan == ScanAuto && o.Root == 0 && o.BootParams == 0 {
		scan = l.scan()
	}
	if o.BootParams != 0 {
		l.bootParams(o.BootParams)
	}
	if scan != nil {
		for _, bp := range scan.bootParams {
			l.bootParams(bp)
		}
		if !l.haveHandoff {
			for _, n := range scan.nodes {
				l.setupNode(n, -1, true)
			}
		}
	}
	if o.BootFDT != nil {
		l.chosen(o.BootFDT, 0, true)
	}
	if scan != nil {
		for _, a := range scan.fdts {
			l.scanned(a)
		}
	}
	return l.classify(), l.findings, nil
}

type locator struct {
	mem         physmem.Memory
	o           LocateOptions
	roots       map[uint64]*locRoot
	findings    []Finding
	haveHandoff bool
	seenNodes   map[uint64]bool
	bootFDTRead uint64 // bytes of non-KHO FDTs read, bounded by locBootFDTBudget
}

// locRoot is a validated KHO root and what is known of it.
type locRoot struct {
	Candidate
	sum   [sha256.Size]byte // of its bytes, to find copies without keeping them
	named bool              // named by a handoff or the caller
}

// find records a finding with the severity and kernel impacts codeTable
// gives its code.
func (l *locator) find(code, path string, addr uint64, format string, args ...any) {
	ci := codeInfo(code)
	l.findings = append(l.findings, Finding{Severity: ci.Severity, Code: code, Path: path, Addr: addr, Message: fmt.Sprintf(format, args...), Kernel: ci.Kernel})
}

// root reads and validates the KHO root at addr (cached).
func (l *locator) root(addr uint64) (*locRoot, error) {
	if r, ok := l.roots[addr]; ok {
		return r, nil
	}
	if addr%l.o.PageSize != 0 {
		return nil, fmt.Errorf("%w: %#x is not page-aligned", ErrNotKHO, addr)
	}
	var hdr [fdt.SizePrefixLen]byte
	if _, err := l.mem.ReadAt(hdr[:], addr); err != nil {
		return nil, err
	}
	m, total, _ := fdt.SizePrefix(hdr[:])
	if m != fdt.Magic {
		return nil, fmt.Errorf("%w: magic %#x", ErrNotFDT, m)
	}
	if total > locMaxRootSize {
		return nil, fmt.Errorf("%w: FDT totalsize %d above %d", ErrNotKHO, total, locMaxRootSize)
	}
	blob, err := physmem.Read(l.mem, addr, int(total), locMaxRootSize)
	if err != nil {
		return nil, err
	}
	t, err := fdt.Decode(blob, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFDT, err)
	}
	compat, ok := locRootCompatible(t)
	if !ok {
		return nil, fmt.Errorf("%w: root compatible is not one kho-v* string", ErrNotKHO)
	}
	r := &locRoot{Candidate: Candidate{Addr: addr, Compatible: compat, Size: uint64(total), KexecCount: -1, LUOSessions: -1}, sum: sha256.Sum256(blob)}
	l.describe(r, t)
	l.roots[addr] = r
	return r, nil
}

func locRootCompatible(t *fdt.Tree) (string, bool) {
	p := t.Root.Prop("compatible")
	if p == nil {
		return "", false
	}
	s, err := p.String()
	if _, known := parseRootCompatible(s); err != nil || !known {
		return "", false
	}
	return s, true
}

// describe reads what tells roots apart: the kexec-metadata count and the
// luo-v5 sessions pointer. Failures leave the fields at -1: a root is
// classified on what can be read.
func (l *locator) describe(r *locRoot, t *fdt.Tree) {
	blobAt := func(name string) (uint64, bool) {
		n := t.Root.Child(name)
		if n == nil {
			return 0, false
		}
		p := n.Prop("preserved-data")
		if p == nil {
			return 0, false
		}
		v, err := p.U64In(binary.LittleEndian)
		return v, err == nil && v != 0
	}
	if pa, ok := blobAt(bldNodeKexecMetadata); ok {
		var b [format.KexecMetadataSize]byte
		if _, err := l.mem.ReadAt(b[:], pa); err == nil {
			if km, err := format.DecodeKexecMetadata(b[:]); err == nil {
				r.KexecCount = int64(km.KexecCount)
			}
		}
	}
	if pa, ok := blobAt(bldNodeLUO); ok {
		var b [format.LUOSerSize]byte
		if _, err := l.mem.ReadAt(b[:], pa); err == nil {
			if ls, err := format.DecodeLUOSer(b[:]); err == nil && ls.Compatible.String() == bldCompatLUOv5 {
				r.LUOSessions = int64(ls.SessionsPA)
			}
		}
	}
}

// name marks r as named by a handoff (or the caller).
func (l *locator) name(r *locRoot, reason, evidence string) {
	if !r.named {
		r.named = true
		r.Reason = reason
	}
	r.Evidence = append(r.Evidence, evidence)
}

// bootParams walks the setup_data list of the boot_params page at base.
func (l *locator) bootParams(base uint64) {
	var hdr [8]byte
	if _, err := l.mem.ReadAt(hdr[:], base+encBootParamsSetupData); err != nil {
		return
	}
	if l.seenNodes == nil {
		l.seenNodes = map[uint64]bool{}
	}
	visited := map[uint64]bool{}
	pa := bldLE.Uint64(hdr[:])
	for i := 0; pa != 0; i++ {
		path := fmt.Sprintf("%s[%d]", locKHODataPath, i)
		if i >= l.o.MaxSetupData {
			l.find("setup_data.too-long", path, pa,
				"boot_params %#x: setup_data chain longer than %d nodes; not followed further", base, l.o.MaxSetupData)
			return
		}
		if visited[pa] {
			l.find("setup_data.cycle", path, pa,
				"boot_params %#x: setup_data node %#x is visited again: the chain loops", base, pa)
			return
		}
		visited[pa] = true
		var node [format.SetupDataHeaderSize]byte
		if _, err := l.mem.ReadAt(node[:], pa); err != nil {
			l.find("setup_data.unreadable", path, pa, "boot_params %#x: setup_data node: %v", base, err)
			return
		}
		sd, err := format.DecodeSetupData(node[:])
		if err != nil {
			return
		}
		if sd.Type == format.SetupKexecKHO && !l.seenNodes[pa] {
			l.seenNodes[pa] = true
			l.setupNode(pa, i, false)
		}
		pa = sd.Next
	}
}

// setupNode reads the SETUP_KEXEC_KHO node at pa (index i in its chain,
// -1 when found by the scan) and names the root its kho_data points to.
func (l *locator) setupNode(pa uint64, i int, scanned bool) {
	path := locKHODataPath
	if i >= 0 {
		path = fmt.Sprintf("%s[%d]", locKHODataPath, i)
	}
	var node [format.SetupDataHeaderSize + format.KHODataSize]byte
	if _, err := l.mem.ReadAt(node[:format.SetupDataHeaderSize], pa); err != nil {
		return
	}
	sd, err := format.DecodeSetupData(node[:format.SetupDataHeaderSize])
	if err != nil {
		return
	}
	n := sd.Len
	if n < format.KHODataSize {
		if scanned {
			return // not believed without a chain that leads to it
		}
		l.find("setup_data.kho-short", path, pa,
			"SETUP_KEXEC_KHO node has len %d, kho_data needs %d", n, format.KHODataSize)
		// Read what the kernel would: 32 bytes after the header.
	}
	if _, err := l.mem.ReadAt(node[format.SetupDataHeaderSize:], pa+format.SetupDataHeaderSize); err != nil {
		if !scanned {
			l.find("setup_data.kho-unreadable", path, pa, "kho_data: %v", err)
		}
		return
	}
	d, err := format.DecodeKHOData(node[format.SetupDataHeaderSize:])
	if err != nil {
		return
	}
	kd := &KHOData{Node: pa, Len: n, FDTAddr: d.FDTAddr, FDTSize: d.FDTSize, ScratchAddr: d.ScratchAddr, ScratchSize: d.ScratchSize}
	r, err := l.root(kd.FDTAddr)
	if err != nil {
		if !scanned {
			l.find("setup_data.kho-fdt-invalid", path, pa,
				"kho_data.fdt_addr %#x is not a valid KHO root: %v", kd.FDTAddr, err)
		}
		return
	}
	if kd.FDTSize < r.Size {
		l.find("setup_data.kho-fdt-size", path, pa,
			"kho_data.fdt_size %d is below the root's totalsize %d", kd.FDTSize, r.Size)
	}
	l.haveHandoff = true
	how := "setup_data SETUP_KEXEC_KHO node"
	if scanned {
		how = "SETUP_KEXEC_KHO node found by scanning (no setup_data chain from a boot_params page leads to one)"
	}
	l.name(r, "named by x86 "+how, fmt.Sprintf("%s at %#x (len %d): fdt_addr %#x fdt_size %#x scratch %#x+%#x",
		how, pa, n, kd.FDTAddr, kd.FDTSize, kd.ScratchAddr, kd.ScratchSize))
	if r.Handoff == nil {
		r.Handoff = kd
		r.Scratch = l.scratch(kd.ScratchAddr, kd.ScratchSize, r)
	}
}

// chosen reads /chosen linux,kho-fdt from a boot FDT: the caller's
// (given) or one found at addr by the scan.
func (l *locator) chosen(blob []byte, addr uint64, given bool) {
	t, err := fdt.Decode(blob, &fdt.Options{Lenient: true})
	if err != nil {
		if given {
			l.find("chosen.fdt-invalid", locChosenPath, 0, "boot FDT: %v", err)
		}
		return
	}
	ch := t.Lookup(locChosenPath)
	if ch == nil {
		return
	}
	p := ch.Prop("linux,kho-fdt")
	if p == nil {
		return
	}
	ac, sc := 2, 1 // devicetree defaults
	if v := t.Root.Prop("#address-cells"); v != nil {
		if c, err := v.U32(); err == nil {
			ac = int(c)
		}
	}
	if v := t.Root.Prop("#size-cells"); v != nil {
		if c, err := v.U32(); err == nil {
			sc = int(c)
		}
	}
	if want := (ac + sc) * 4; len(p.Value) != want || ac < 1 || ac > 2 || sc < 0 || sc > 2 {
		l.find("chosen.kho-fdt-length", locChosenPath, addr,
			"linux,kho-fdt is %d bytes, want one <addr size> pair of %d+%d cells", len(p.Value), ac, sc)
		return
	}
	regs, err := p.Regs(ac, sc)
	if err != nil || len(regs) != 1 {
		return
	}
	where := "given boot FDT"
	if !given {
		where = fmt.Sprintf("boot FDT at %#x", addr)
	}
	var scratch []fdt.Reg
	if sp := ch.Prop("linux,kho-scratch"); sp == nil {
		l.find("chosen.kho-scratch-missing", locChosenPath, addr,
			"%s: linux,kho-fdt without linux,kho-scratch", where)
	} else if len(sp.Value) != (ac+sc)*4 {
		l.find("chosen.kho-scratch-length", locChosenPath, addr,
			"linux,kho-scratch is %d bytes, want one <addr size> pair of %d+%d cells", len(sp.Value), ac, sc)
	} else {
		scratch, _ = sp.Regs(ac, sc)
	}
	r, err := l.root(regs[0].Address)
	if err != nil {
		l.find("chosen.kho-fdt-invalid", locChosenPath, addr, "%s: linux,kho-fdt %#x is not a valid KHO root: %v", where, regs[0].Address, err)
		return
	}
	l.haveHandoff = true
	l.name(r, "named by /chosen linux,kho-fdt", fmt.Sprintf("%s: /chosen linux,kho-fdt = <%#x %#x>", where, regs[0].Address, regs[0].Size))
	if !given && r.BootFDTSize == 0 {
		r.BootFDT, r.BootFDTSize = addr, uint64(len(blob))
		if len(scratch) == 1 {
			r.BootScratch, r.BootScratchSize = scratch[0].Address, scratch[0].Size
		}
	}
	if len(scratch) == 1 && r.Scratch == nil {
		r.Scratch = l.scratch(scratch[0].Address, scratch[0].Size, r)
	}
}

// MaxBootFDTSize bounds the boot FDTs the scan reads whole while looking
// for /chosen linux,kho-fdt: a larger FDT is not read, so a
// Candidate.BootFDTSize is never more.
const MaxBootFDTSize = 1 << 20

// MaxScratchEntries bounds the scratch array the locator reads: two
// entries plus one per NUMA node with memory, so a few thousand at most.
// Past it the array is a scratch.too-many finding and is not read.
const MaxScratchEntries = 4096

// scratch reads the kho_scratch array at addr (size bytes) and checks it
// as abi.md §10 rule 9 says; it returns every entry the kernel would add
// as scratch, good or bad, so that a decoder treats all of it as scratch.
func (l *locator) scratch(addr, size uint64, r *locRoot) []ScratchRegion {
	const path = "/scratch"
	if size%format.ScratchSize != 0 {
		l.find("scratch.size-unaligned", path, addr,
			"scratch_size %d is not a multiple of %d", size, format.ScratchSize)
	}
	n := size / format.ScratchSize
	switch {
	case n == 0:
		l.find("scratch.empty", path, addr, "the scratch array has no entry")
		return nil
	case n > MaxScratchEntries:
		l.find("scratch.too-many", path, addr, "%d scratch entries, more than %d", n, MaxScratchEntries)
		return nil
	}
	buf, err := physmem.Read(l.mem, addr, int(n*format.ScratchSize), MaxScratchEntries*format.ScratchSize)
	if err != nil {
		l.find("scratch.unreadable", path, addr, "scratch array: %v", err)
		return nil
	}
	if allZero(buf) {
		// Before the kexec's final copy, kexec segments sit in staging
		// pages and their destinations hold stale bytes.
		l.find("scratch.all-zero", path, addr,
			"the %d-entry scratch array at %#x is all zero (an image taken before the kexec copied its segments?)", n, addr)
		return nil
	}
	ps := l.o.PageSize
	out := make([]ScratchRegion, n)
	for i := range out {
		v, err := format.DecodeScratch(buf[i*format.ScratchSize:][:format.ScratchSize])
		if err != nil {
			return nil
		}
		out[i] = ScratchRegion{Addr: v.Addr, Size: v.Size}
		ep := fmt.Sprintf("%s[%d]", path, i)
		ea := addr + uint64(i)*format.ScratchSize
		end := v.Addr + v.Size
		switch {
		case v.Size == 0:
			// The kernel writes these itself (an empty global region).
			l.find("scratch.entry-empty", ep, ea, "scratch region at %#x has size 0", v.Addr)
			continue
		case end < v.Addr:
			l.find("scratch.entry-overflow", ep, ea, "scratch region %#x + %#x wraps", v.Addr, v.Size)
			continue
		case v.Addr%ps != 0 || v.Size%ps != 0:
			l.find("scratch.entry-unaligned", ep, ea, "scratch region [%#x+%#x) is not page-aligned", v.Addr, v.Size)
		}
		// Excluded is RAM the dump left out: a kdump's scratch is mostly that.
		if !physmem.Described(l.mem, v.Addr, v.Size) {
			l.find("scratch.entry-not-ram", ep, ea, "scratch region [%#x+%#x) is %v in this memory", v.Addr, v.Size, physmem.StateOf(l.mem, v.Addr, v.Size))
		}
		if r.Addr < end && v.Addr < r.Addr+ps {
			l.find("scratch.covers-root", ep, ea, "scratch region [%#x+%#x) covers the root FDT at %#x", v.Addr, v.Size, r.Addr)
		}
		for j := 0; j < i; j++ {
			o := out[j]
			if o.Size != 0 && o.Addr+o.Size >= o.Addr && v.Addr < o.Addr+o.Size && o.Addr < end {
				l.find("scratch.entry-overlap", ep, ea, "scratch region [%#x+%#x) overlaps entry %d", v.Addr, v.Size, j)
				break
			}
		}
	}
	return out
}

// scanned considers an FDT header found by the scan: a KHO root, or a boot
// FDT with /chosen linux,kho-fdt.
func (l *locator) scanned(addr uint64) {
	if _, err := l.root(addr); err == nil {
		return
	}
	var hdr [fdt.SizePrefixLen]byte
	if _, err := l.mem.ReadAt(hdr[:], addr); err != nil {
		return
	}
	_, total, _ := fdt.SizePrefix(hdr[:])
	if total > MaxBootFDTSize {
		return
	}
	if l.bootFDTRead+uint64(total) > locBootFDTBudget {
		if l.bootFDTRead <= locBootFDTBudget {
			l.find("locate.fdt-budget", "/", addr, "more than %d bytes of non-KHO FDTs; FDTs from %#x on are not searched for /chosen", locBootFDTBudget, addr)
			l.bootFDTRead = locBootFDTBudget + 1
		}
		return
	}
	l.bootFDTRead += uint64(total)
	blob, err := physmem.Read(l.mem, addr, int(total), MaxBootFDTSize)
	if err != nil || !bytes.Contains(blob, []byte("linux,kho-fdt")) {
		return
	}
	l.chosen(blob, addr, false)
}

// classify gives every root its role.
func (l *locator) classify() []Candidate {
	rs := make([]*locRoot, 0, len(l.roots))
	for _, r := range l.roots {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Addr < rs[j].Addr })
	var named []*locRoot
	for _, r := range rs {
		if r.named {
			r.Role = RoleIncoming
			named = append(named, r)
		}
	}
	// Copies: byte-identical to a named root, or else to the lowest
	// address with the same bytes. Roots are keyed by the SHA-256 of
	// their bytes so that thousands of near-identical roots cost one
	// pass, not a comparison of every pair.
	first := map[[sha256.Size]byte]*locRoot{}
	for _, r := range append(named[:len(named):len(named)], rs...) {
		if first[r.sum] == nil {
			first[r.sum] = r
		}
	}
	for _, r := range rs {
		if orig := first[r.sum]; !r.named && orig != r {
			r.Role = RoleCopy
			r.Reason = fmt.Sprintf("byte-identical copy of the root at %#x", orig.Addr)
			r.Evidence = append(r.Evidence, fmt.Sprintf("its %d bytes equal those at %#x", r.Size, orig.Addr))
		}
	}
	// Outgoing: a higher kexec count than another distinct root, and no
	// sessions serialized.
	for _, r := range rs {
		if r.Role != RoleUnknown || r.KexecCount < 0 {
			continue
		}
		for _, o := range rs {
			if o == r || o.Role == RoleCopy || o.Role == RoleOutgoing || o.KexecCount < 0 || r.KexecCount <= o.KexecCount {
				continue
			}
			if r.LUOSessions > 0 {
				continue
			}
			r.Role = RoleOutgoing
			r.Reason = fmt.Sprintf("a later kernel's own root: kexec count %d above %d of the root at %#x", r.KexecCount, o.KexecCount, o.Addr)
			r.Evidence = append(r.Evidence, fmt.Sprintf("kexec-metadata count %d > %d at %#x", r.KexecCount, o.KexecCount, o.Addr))
			if r.LUOSessions == 0 {
				r.Evidence = append(r.Evidence, "LUO luo_ser sessions_pa is 0: nothing serialized yet")
			}
			break
		}
	}
	unknown := 0
	for _, r := range rs {
		if r.Role == RoleUnknown {
			unknown++
		}
	}
	for _, r := range rs {
		if r.Role != RoleUnknown {
			continue
		}
		switch {
		case len(named) > 0:
			r.Reason = "a KHO root the boot handoff does not name"
		case unknown == 1:
			r.Reason = "the only distinct KHO root found by scanning; no boot handoff names it"
		default:
			r.Reason = fmt.Sprintf("one of %d distinct KHO roots found by scanning; no boot handoff names any", unknown)
		}
		r.Evidence = append(r.Evidence, fmt.Sprintf("valid %s FDT of %d bytes at %#x", r.Compatible, r.Size, r.Addr))
	}
	rank := map[Role]int{RoleIncoming: 0, RoleUnknown: 1, RoleOutgoing: 2, RoleCopy: 3}
	sort.SliceStable(rs, func(i, j int) bool { return rank[rs[i].Role] < rank[rs[j].Role] })
	out := make([]Candidate, len(rs))
	for i, r := range rs {
		out[i] = r.Candidate
	}
	return out
}

// Incoming returns the incoming handover among cs: the one candidate with
// RoleIncoming, or, when no handoff names any, the only RoleUnknown one.
// It never returns an outgoing root or a copy.
func Incoming(cs []Candidate) (Candidate, bool) {
	var in, unk []Candidate
	for _, c := range cs {
		switch c.Role {
		case RoleIncoming:
			in = append(in, c)
		case RoleUnknown:
			unk = append(unk, c)
		}
	}
	switch {
	case len(in) == 1:
		return in[0], true
	case len(in) == 0 && len(unk) == 1:
		return unk[0], true
	}
	return Candidate{}, false
}
