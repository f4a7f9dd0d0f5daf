package kho

import (
	"fmt"
	"math/bits"
	"sort"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// BuildOptions control how [Build] lays a handover out. The zero value
// builds into a new 256 MiB memory with 4 KiB pages, allocations from
// 1 MiB upward, and no boot-handoff structures.
type BuildOptions struct {
	// PageSize is the kernel page size: 4096 (default), 16384 or 65536.
	PageSize uint64
	// RAM lists the memory to declare present in a new memory; default
	// one range [0, 256 MiB). Ignored when Mem is set.
	RAM []physmem.Range
	// Mem, when set, is an existing memory to build into (to plant a
	// second root beside a first); its RAM must already be declared and
	// Base must put the new allocations clear of what it holds.
	Mem *physmem.Sparse
	// Base is the lowest address allocations may use; default 1 MiB.
	Base uint64
	// Scratch regions are never allocated from; with SetupData they are
	// written as the kho_scratch array. Default with SetupData: the top
	// 16 MiB (at most a quarter) of the last RAM range.
	Scratch []ScratchRegion
	// SetupData writes an x86 boot_params page whose setup_data list
	// holds one SETUP_KEXEC_KHO node (kho_data) pointing at the root and
	// the scratch array, the way kexec_file hands the root over. The three
	// objects are placed in the first scratch region, as kexec segments
	// are.
	SetupData bool
	// Contents holds memfd contents by file: the builder writes one
	// order-0 folio per page and fills in Memfd.Folios and FoliosMap.
	Contents map[FileID][]byte
	// LUOv1WithoutFLB lays a luo-v1 LUO out as v6.19 did, without the
	// luo-flb node (and FLB page) that 7.0 and 7.1 require.
	LUOv1WithoutFLB bool
	// KHOv1Bitmap is the size of the bitmaps a kho-v1 map is written
	// with: KHOv1Bitmap512 packs 512-byte bitmaps into pages as Linux
	// 6.16 and 6.17's kmalloc-512 slab did, the first at offset 512 (so
	// the decoder can tell the layout); the zero value and
	// KHOv1BitmapPage write one page each (6.18 on). Other roots ignore
	// it.
	KHOv1Bitmap KHOv1BitmapSize
}

// FileID names one file of a handover: index of the session in
// LUO.Sessions and of the file in Session.Files.
type FileID struct{ Session, File int }

// ScratchRegion is one kho_scratch entry.
type ScratchRegion struct{ Addr, Size uint64 }

// Built is a laid-out handover.
type Built struct {
	Mem           *physmem.Sparse
	RootAddr      uint64
	SetupDataAddr uint64          // the SETUP_KEXEC_KHO node; 0 without SetupData
	Handover      *Handover       // the input with every address filled in
	Preserved     []Block         // every preserved allocation, sorted by address
	Scratch       []ScratchRegion // the scratch regions used (pass them to the decoder)
	Layout        Layout
}

// Layout says where the builder put each object, for tests that corrupt
// one thing after building (write through Built.Mem).
type Layout struct {
	Root          uint64
	MapPages      []uint64 // radix node and leaf pages, or kho-v1 chunk and bitmap pages (not preserved)
	LUO           uint64   // luo_ser page or LUO FDT page
	SessionBlocks []uint64 // luo-v5 session block chain; luo-v1: the one session array
	FileBlocks    [][]uint64
	MemfdSer      [][]uint64 // per session and file; 0 for non-memfd files
	FolioChunks   [][][]uint64
	FLB           uint64
	KexecMetadata uint64
	Memblock      uint64
	BootParams    uint64
	SetupData     uint64
	ScratchArray  uint64
}

// Node names and compatibles the builder writes (abi.md §3, §4, §6).
const (
	bldNodeLUO           = "LUO"
	bldNodeKexecMetadata = "kexec-metadata"
	bldNodeMemblock      = "memblock"
	bldCompatMemfdV1     = "memfd-v1"
	bldCompatMemfdV2     = "memfd-v2"
	bldCompatLUOv1       = "luo-v1"
	bldCompatLUOv5       = "luo-v5"
)

// builder carries one Build call.
type builder struct {
	opts      BuildOptions
	ps        uint64
	geo       format.Geometry // of ps: every per-page capacity
	ver       int
	mem       *physmem.Sparse
	alloc     *bldPageAlloc
	preserved []Block
	pages     map[uint64][]byte // preserved object contents, written at the end
	built     *Built
}

// Build lays h out into physical memory: every preserved object in its
// own page-aligned allocation recorded in a memory map of the version
// h.Compatible names, the root FDT last. h is not modified; addresses the
// builder chooses (and Memfd folios) are filled in on the copy returned in
// Built.Handover, which is what a decoder must read back.
//
// Pairings follow the kernels: kho-v1 and kho-v2 carry FDT blobs only (LUO
// "luo-v1", memblock); kho-v3 and kho-v4 add raw blobs (kexec-metadata,
// LUO "luo-v5").
func Build(h *Handover, opts *BuildOptions) (*Built, error) {
	b := &builder{}
	if opts != nil {
		b.opts = *opts
	}
	if err := b.setup(h); err != nil {
		return nil, err
	}
	if err := b.run(h); err != nil {
		return nil, err
	}
	return b.built, nil
}

func (b *builder) setup(h *Handover) error {
	if h == nil {
		return fmt.Errorf("kho: build: nil handover")
	}
	rv, ok := parseRootCompatible(h.Compatible)
	if !ok {
		return fmt.Errorf("kho: build: root compatible %q is not kho-v1..kho-v4", h.Compatible)
	}
	b.ver = rv.version
	b.ps = b.opts.PageSize
	if b.ps == 0 {
		b.ps = 4096
	}
	p, err := format.PageSizeOf(b.ps)
	if err != nil {
		return fmt.Errorf("kho: build: page size %d, want 4096, 16384 or 65536: %w", b.ps, format.ErrPageSize)
	}
	if b.geo, err = format.GeometryFor(p); err != nil {
		return fmt.Errorf("kho: build: %w", err)
	}
	if b.opts.KHOv1Bitmap > KHOv1BitmapPage {
		return fmt.Errorf("kho: build: KHOv1Bitmap %v, want KHOv1Bitmap512 or KHOv1BitmapPage", b.opts.KHOv1Bitmap)
	}
	if l := h.LUO; l != nil {
		switch {
		case l.Compatible == bldCompatLUOv1:
		case l.Compatible == bldCompatLUOv5 && b.ver >= 3:
		default:
			return fmt.Errorf("kho: build: LUO %q cannot be carried by a %s root (luo-v1 FDT with any root, luo-v5 raw blob with kho-v3+)", l.Compatible, h.Compatible)
		}
	}
	if h.KexecMetadata != nil && b.ver < 3 {
		return fmt.Errorf("kho: build: kexec-metadata is a raw blob and needs blob-size (kho-v3+), not %s", h.Compatible)
	}
	for _, s := range h.Subtrees {
		if s.Raw == nil {
			return fmt.Errorf("kho: build: subtree %q: the builder lays out LUO, memblock and kexec-metadata itself; extra subtrees need Raw bytes", s.Name)
		}
		if b.ver < 3 {
			return fmt.Errorf("kho: build: raw subtree %q needs blob-size (kho-v3+)", s.Name)
		}
	}

	if err := bldCheckUnique(h); err != nil {
		return err
	}
	for id := range b.opts.Contents {
		if h.LUO == nil || id.Session < 0 || id.Session >= len(h.LUO.Sessions) || id.File < 0 || id.File >= len(h.LUO.Sessions[id.Session].Files) {
			return fmt.Errorf("kho: build: contents for session %d file %d, which the handover does not have", id.Session, id.File)
		}
	}

	b.mem = b.opts.Mem
	if b.mem == nil {
		b.mem = new(physmem.Sparse)
		ram := b.opts.RAM
		if ram == nil {
			ram = []physmem.Range{{Start: 0, Size: 256 << 20, State: physmem.Present}}
		}
		for _, r := range ram {
			st := r.State
			if st == physmem.Absent {
				st = physmem.Present
			}
			if err := b.mem.AddRange(r.Start, r.Size, st); err != nil {
				return fmt.Errorf("kho: build: %w", err)
			}
		}
	}
	var present []physmem.Range
	for _, r := range b.mem.Ranges() {
		if r.State == physmem.Present {
			present = append(present, r)
		}
	}
	if len(present) == 0 {
		return fmt.Errorf("kho: build: memory has no present RAM")
	}
	if b.opts.SetupData && b.opts.Scratch == nil {
		last := present[len(present)-1]
		size := min(uint64(16<<20), last.Size/4) &^ (b.ps - 1)
		b.opts.Scratch = []ScratchRegion{{Addr: (last.End() - size) &^ (b.ps - 1), Size: size}}
	}
	base := b.opts.Base
	if base == 0 {
		base = 1 << 20
	}
	avoid := append([]ScratchRegion(nil), b.opts.Scratch...)
	if h.Memblock != nil {
		// Regions the caller placed must not receive allocations.
		for _, r := range h.Memblock.Regions {
			if r.Start != 0 {
				avoid = append(avoid, ScratchRegion{Addr: r.Start, Size: r.Size})
			}
		}
	}
	b.alloc = &bldPageAlloc{pageSize: b.ps, ram: present, avoid: avoid, next: base}
	b.pages = map[uint64][]byte{}
	b.built = &Built{Mem: b.mem}
	return nil
}

// allocPreserved allocates 2^order pages, records them as preserved, and
// returns their buffer (written to memory at the end).
func (b *builder) allocPreserved(order uint8) (uint64, []byte, error) {
	addr, err := b.alloc.alloc(order)
	if err != nil {
		return 0, nil, err
	}
	buf := make([]byte, b.ps<<order)
	b.pages[addr] = buf
	b.preserved = append(b.preserved, Block{Addr: addr, Order: order})
	return addr, buf, nil
}

func (b *builder) run(h *Handover) error {
	out := bldCloneHandover(h)
	L := &b.built.Layout

	// The root page comes first, as kho_init allocates it; its contents
	// are written last, once every address it names is known.
	root, _, err := b.allocPreserved(0)
	if err != nil {
		return err
	}
	L.Root = root
	var radixRoot uint64
	if b.ver >= 2 {
		// The radix root node exists from init on, even when empty.
		if radixRoot, err = b.alloc.alloc(0); err != nil {
			return err
		}
	}

	var subtrees []Subtree
	if out.KexecMetadata != nil {
		addr, buf, err := b.allocPreserved(0)
		if err != nil {
			return err
		}
		if err := encPutKexecMetadata(buf, out.KexecMetadata); err != nil {
			return err
		}
		L.KexecMetadata = addr
		subtrees = append(subtrees, Subtree{Name: bldNodeKexecMetadata, Addr: addr, Size: format.KexecMetadataSize, Format: bldFormatKexecMetadata})
	}
	if out.LUO != nil {
		st, err := b.layoutLUO(out.LUO)
		if err != nil {
			return err
		}
		subtrees = append(subtrees, st)
	}
	if out.Memblock != nil {
		st, err := b.layoutMemblock(out.Memblock)
		if err != nil {
			return err
		}
		subtrees = append(subtrees, st)
	}
	for _, s := range out.Subtrees {
		addr, buf, err := b.allocBlob(uint64(len(s.Raw)))
		if err != nil {
			return err
		}
		copy(buf, s.Raw)
		s.Addr, s.Size, s.Format = addr, uint64(len(s.Raw)), bldFormatUnknown
		subtrees = append(subtrees, s)
	}
	// libfdt inserts each new subnode before its older siblings, so the
	// kernel's root lists the last-registered subtree first.
	for i, j := 0, len(subtrees)-1; i < j; i, j = i+1, j-1 {
		subtrees[i], subtrees[j] = subtrees[j], subtrees[i]
	}
	out.Subtrees = subtrees

	// Boot handoff objects live in scratch, like kexec segments.
	if b.opts.SetupData {
		if err := b.layoutBoot(root); err != nil {
			return err
		}
	}

	sort.Slice(b.preserved, func(i, j int) bool { return b.preserved[i].Addr < b.preserved[j].Addr })
	var mp bldMapPages
	switch {
	case b.ver == 1:
		var head uint64
		if head, mp, err = bldChunks(b.alloc, b.preserved, b.opts.KHOv1Bitmap == KHOv1Bitmap512); err != nil {
			return err
		}
		out.MemoryMap = MemoryMap{Addr: head, Kind: MapChunk}
	default:
		if mp, err = bldRadix(b.alloc, radixRoot, b.preserved); err != nil {
			return err
		}
		out.MemoryMap = MemoryMap{Addr: radixRoot, Kind: MapRadix}
	}
	// The decoder reports the map as maximal runs; Preserved keeps the
	// blocks one by one.
	out.MemoryMap.Runs = bldRuns(b.preserved, b.ps)
	out.MemoryMap.PageSize = b.ps
	for a := range mp {
		L.MapPages = append(L.MapPages, a)
	}
	sort.Slice(L.MapPages, func(i, j int) bool { return L.MapPages[i] < L.MapPages[j] })

	fdtBytes, err := EncodeRootFDT(out)
	if err != nil {
		return err
	}
	if uint64(len(fdtBytes)) > b.ps {
		return fmt.Errorf("kho: build: root FDT is %d bytes, more than one page", len(fdtBytes))
	}
	copy(b.pages[root], fdtBytes)
	out.RootAddr = root
	out.Findings = nil

	for _, pages := range []map[uint64][]byte{b.pages, mp} {
		for a, p := range pages {
			if err := b.mem.WriteAt(p, a); err != nil {
				return fmt.Errorf("kho: build: %w", err)
			}
		}
	}
	b.built.RootAddr = root
	b.built.Handover = out
	b.built.Preserved = b.preserved
	b.built.Scratch = b.opts.Scratch
	return nil
}

// allocBlob allocates and preserves the smallest naturally aligned run of
// pages holding n bytes (at least one page), as kho_alloc_preserve does.
func (b *builder) allocBlob(n uint64) (uint64, []byte, error) {
	pages := max((n+b.ps-1)/b.ps, 1)
	order := uint8(bits.Len64(pages - 1))
	return b.allocPreserved(order)
}

func (b *builder) layoutLUO(l *LUO) (Subtree, error) {
	if l.Compatible == bldCompatLUOv1 {
		return b.layoutLUOv1(l)
	}
	L := &b.built.Layout
	addr, ser, err := b.allocPreserved(0)
	if err != nil {
		return Subtree{}, err
	}
	L.LUO = addr
	l.Addr = addr
	// The FLB page is allocated with luo_ser at late_initcall.
	if err := b.layoutFLBs(l); err != nil {
		return Subtree{}, err
	}
	l.SessionsAddr = 0
	if len(l.Sessions) > 0 {
		perBlock := b.geo.SessionsPerBlock
		entries := make([][]byte, len(l.Sessions))
		for i := range l.Sessions {
			entries[i] = make([]byte, format.SessionSerSize)
		}
		head, blocks, err := b.allocChain(len(entries), perBlock)
		if err != nil {
			return Subtree{}, err
		}
		l.SessionsAddr = head
		L.SessionBlocks = blocks
		L.FileBlocks = make([][]uint64, len(l.Sessions))
		for i := range l.Sessions {
			s := &l.Sessions[i]
			fileHead, fileBlocks, err := b.layoutFilesV5(i, s)
			if err != nil {
				return Subtree{}, err
			}
			L.FileBlocks[i] = fileBlocks
			s.FilesAddr, s.FileCount = fileHead, uint64(len(s.Files))
			if err := encPutSessionEntry(entries[i], s.Name, fileHead, uint64(len(s.Files))); err != nil {
				return Subtree{}, err
			}
		}
		b.fillChain(blocks, entries, format.SessionSerSize, perBlock)
	}
	if err := encPutLUOSer(ser, l.Compatible, l.LiveupdateNumber, l.SessionsAddr, l.FLBsAddr); err != nil {
		return Subtree{}, err
	}
	return Subtree{Name: bldNodeLUO, Addr: addr, Size: format.LUOSerSize, Format: luoRootFormat(l.Compatible, false)}, nil
}

// allocChain allocates the blocks of a chain of n entries (fillChain
// writes them once the entries are final) and returns its head.
func (b *builder) allocChain(n, perBlock int) (uint64, []uint64, error) {
	if n == 0 {
		return 0, nil, nil
	}
	blocks := make([]uint64, (n+perBlock-1)/perBlock)
	for i := range blocks {
		addr, _, err := b.allocPreserved(0)
		if err != nil {
			return 0, nil, err
		}
		blocks[i] = addr
	}
	return blocks[0], blocks, nil
}

func (b *builder) fillChain(blocks []uint64, entries [][]byte, size, perBlock int) {
	for i, addr := range blocks {
		page := b.pages[addr]
		chunk := entries[i*perBlock : min(len(entries), (i+1)*perBlock)]
		var next uint64
		if i+1 < len(blocks) {
			next = blocks[i+1]
		}
		encPutBlockHeader(page, next, uint64(len(chunk)))
		for j, e := range chunk {
			copy(page[format.BlockHeaderSize+j*size:], e)
		}
	}
}

func (b *builder) layoutFilesV5(si int, s *Session) (uint64, []uint64, error) {
	if len(s.Files) == 0 {
		b.growMemfdLayout(si, 0)
		return 0, nil, nil
	}
	perBlock := b.geo.FilesPerBlock
	entries := make([][]byte, len(s.Files))
	for i := range entries {
		entries[i] = make([]byte, format.FileSerSize)
	}
	head, blocks, err := b.allocChain(len(entries), perBlock)
	if err != nil {
		return 0, nil, err
	}
	if err := b.layoutFiles(si, s, entries); err != nil {
		return 0, nil, err
	}
	b.fillChain(blocks, entries, format.FileSerSize, perBlock)
	return head, blocks, nil
}

func (b *builder) growMemfdLayout(si, n int) {
	L := &b.built.Layout
	for len(L.MemfdSer) <= si {
		L.MemfdSer = append(L.MemfdSer, nil)
		L.FolioChunks = append(L.FolioChunks, nil)
	}
	L.MemfdSer[si] = make([]uint64, n)
	L.FolioChunks[si] = make([][]uint64, n)
}

// layoutFiles lays out each file's handler data (memfds) and encodes the
// luo_file_ser entries.
func (b *builder) layoutFiles(si int, s *Session, entries [][]byte) error {
	b.growMemfdLayout(si, len(s.Files))
	for fi := range s.Files {
		f := &s.Files[fi]
		if f.Compatible == bldCompatMemfdV1 || f.Compatible == bldCompatMemfdV2 {
			if f.Memfd == nil {
				f.Memfd = &Memfd{}
			}
			addr, err := b.layoutMemfd(si, fi, f)
			if err != nil {
				return fmt.Errorf("kho: build: session %d file %d: %w", si, fi, err)
			}
			f.Data = addr
		} else if _, ok := b.opts.Contents[FileID{si, fi}]; ok {
			return fmt.Errorf("kho: build: session %d file %d: contents given for a %q file, not a memfd", si, fi, f.Compatible)
		}
		if err := encPutFileEntry(entries[fi], f.Compatible, f.Data, f.Token); err != nil {
			return fmt.Errorf("kho: build: session %d file %d: %w", si, fi, err)
		}
	}
	return nil
}

// layoutMemfd writes the memfd's folios (one order-0 page per content
// page), the vmalloc'ed folio array with its chunk list, and memfd_luo_ser.
func (b *builder) layoutMemfd(si, fi int, f *File) (uint64, error) {
	m := f.Memfd
	content := b.opts.Contents[FileID{si, fi}]
	if m.Size == 0 {
		m.Size = uint64(len(content))
	}
	shift := b.geo.PageSize.Shift()
	m.Folios = nil
	for off, idx := uint64(0), uint64(0); off < uint64(len(content)); off, idx = off+b.ps, idx+1 {
		addr, page, err := b.allocPreserved(0)
		if err != nil {
			return 0, err
		}
		copy(page, content[off:])
		m.Folios = append(m.Folios, Folio{PFN: addr >> shift, Flags: format.FolioDirty | format.FolioUptodate, Index: idx})
	}
	m.FoliosMap = Vmalloc{}
	if len(m.Folios) > 0 {
		arrayBytes := uint64(len(m.Folios)) * format.FolioSerSize
		total := (arrayBytes + b.ps - 1) / b.ps
		perChunk := b.geo.VmallocSize
		// The chunks are encoded once every run is allocated.
		var chunks []uint64
		var chunkBufs [][]byte
		var runs []format.VmallocChunk
		for i := uint64(0); i < total; i++ {
			if int(i)%perChunk == 0 {
				addr, buf, err := b.allocPreserved(0)
				if err != nil {
					return 0, err
				}
				if n := len(runs); n > 0 {
					runs[n-1].Next = addr
				}
				chunks, chunkBufs = append(chunks, addr), append(chunkBufs, buf)
				runs = append(runs, format.VmallocChunk{Phys: make([]uint64, perChunk)})
			}
			addr, page, err := b.allocPreserved(0)
			if err != nil {
				return 0, err
			}
			runs[len(runs)-1].Phys[int(i)%perChunk] = addr
			for j := i * b.ps / format.FolioSerSize; j < min(uint64(len(m.Folios)), (i+1)*b.ps/format.FolioSerSize); j++ {
				if err := encPutFolio(page[(j*format.FolioSerSize)%b.ps:], m.Folios[j]); err != nil {
					return 0, err
				}
			}
		}
		for k, c := range runs {
			if err := encPut(chunkBufs[k], c); err != nil {
				return 0, err
			}
		}
		m.FoliosMap = Vmalloc{First: chunks[0], TotalPages: uint32(total), Flags: format.VmallocAlloc}
		b.built.Layout.FolioChunks[si][fi] = chunks
	}
	addr, buf, err := b.allocPreserved(0)
	if err != nil {
		return 0, err
	}
	v2 := f.Compatible == bldCompatMemfdV2
	if !v2 && (m.Seals != 0 || m.Flags != 0) {
		return 0, fmt.Errorf("memfd-v1 has no seals or flags fields")
	}
	if err := encPutMemfd(buf, v2, m); err != nil {
		return 0, err
	}
	b.built.Layout.MemfdSer[si][fi] = addr
	return addr, nil
}

// layoutFLBs allocates the preserved FLB page, records it in the layout
// and in l, and writes l's FLBs into it.
func (b *builder) layoutFLBs(l *LUO) error {
	flb, page, err := b.allocPreserved(0)
	if err != nil {
		return err
	}
	b.built.Layout.FLB = flb
	l.FLBsAddr = flb
	flbs := l.FLBs
	if max := b.geo.FLBMax; len(flbs) > max {
		return fmt.Errorf("kho: build: %d FLBs, a page holds %d", len(flbs), max)
	}
	if err := encPutFLBHeader(page, format.LUOFLBPgCnt, uint64(len(flbs))); err != nil {
		return err
	}
	for i, f := range flbs {
		if err := encPutFLBEntry(page[format.FLBHeaderSize+i*format.FLBSerSize:], f.Name, f.Data, f.Count); err != nil {
			return fmt.Errorf("kho: build: FLB %d: %w", i, err)
		}
	}
	return nil
}

// layoutLUOv1 writes the luo-v1 FDT with luo-session-v2 (a 16-page session
// array, 2-page file arrays) and luo-flb-v1 (one page).
func (b *builder) layoutLUOv1(l *LUO) (Subtree, error) {
	L := &b.built.Layout
	addr, fdtBuf, err := b.allocPreserved(0)
	if err != nil {
		return Subtree{}, err
	}
	L.LUO = addr
	l.Addr = addr
	sess, sessBuf, err := b.allocBlob(format.LUOSessionPgCnt * b.ps)
	if err != nil {
		return Subtree{}, err
	}
	L.SessionBlocks = []uint64{sess}
	l.SessionsAddr = sess
	if max := b.geo.SessionMax; len(l.Sessions) > max {
		return Subtree{}, fmt.Errorf("kho: build: %d sessions, luo-v1 holds %d", len(l.Sessions), max)
	}
	if err := encPut(sessBuf, format.SessionHeader{Count: uint64(len(l.Sessions))}); err != nil {
		return Subtree{}, err
	}
	L.FileBlocks = make([][]uint64, len(l.Sessions))
	for si := range l.Sessions {
		s := &l.Sessions[si]
		var files uint64
		if len(s.Files) == 0 {
			b.growMemfdLayout(si, 0)
		} else {
			fa, buf, err := b.allocBlob(format.LUOFilePgCnt * b.ps)
			if err != nil {
				return Subtree{}, err
			}
			if max := b.geo.FileMax; len(s.Files) > max {
				return Subtree{}, fmt.Errorf("kho: build: session %d has %d files, luo-v1 holds %d", si, len(s.Files), max)
			}
			entries := make([][]byte, len(s.Files))
			for i := range entries {
				entries[i] = buf[i*format.FileSerSize : (i+1)*format.FileSerSize]
			}
			if err := b.layoutFiles(si, s, entries); err != nil {
				return Subtree{}, err
			}
			files = fa
			L.FileBlocks[si] = []uint64{fa}
		}
		s.FilesAddr, s.FileCount = files, uint64(len(s.Files))
		if err := encPutSessionEntry(sessBuf[format.SessionHeaderSize+si*format.SessionSerSize:], s.Name, files, uint64(len(s.Files))); err != nil {
			return Subtree{}, err
		}
	}
	if b.opts.LUOv1WithoutFLB {
		if len(l.FLBs) > 0 {
			return Subtree{}, fmt.Errorf("kho: build: a luo-v1 LUO without the luo-flb node cannot carry %d FLBs", len(l.FLBs))
		}
		l.FLBsAddr = 0
	} else if err := b.layoutFLBs(l); err != nil {
		return Subtree{}, err
	}
	blob, err := bldLUOv1FDT(l, !b.opts.LUOv1WithoutFLB)
	if err != nil {
		return Subtree{}, err
	}
	if uint64(len(blob)) > b.ps {
		return Subtree{}, fmt.Errorf("kho: build: LUO FDT is %d bytes, more than a page", len(blob))
	}
	copy(fdtBuf, blob)
	return Subtree{Name: bldNodeLUO, Addr: addr, Size: uint64(len(blob)), Format: bldFormatLUOFDT}, nil
}

func (b *builder) layoutMemblock(m *Memblock) (Subtree, error) {
	if m.Compatible == "" {
		m.Compatible = "memblock-v1"
	}
	for i := range m.Regions {
		r := &m.Regions[i]
		if r.Compatible == "" {
			r.Compatible = "reserve-mem-v1"
		}
		if r.Start == 0 {
			if r.Size == 0 {
				return Subtree{}, fmt.Errorf("kho: build: reserve_mem %q has size 0", r.Name)
			}
			addr, _, err := b.allocBlob(r.Size)
			if err != nil {
				return Subtree{}, err
			}
			r.Start = addr
		} else {
			if r.Start%b.ps != 0 || r.Size%b.ps != 0 || r.Start+r.Size < r.Start {
				return Subtree{}, fmt.Errorf("kho: build: reserve_mem %q [%#x+%#x) is not page-aligned", r.Name, r.Start, r.Size)
			}
			b.preserveRange(r.Start, r.Size)
		}
	}
	blob, err := bldMemblockFDT(m)
	if err != nil {
		return Subtree{}, err
	}
	addr, buf, err := b.allocBlob(uint64(len(blob)))
	if err != nil {
		return Subtree{}, err
	}
	copy(buf, blob)
	b.built.Layout.Memblock = addr
	return Subtree{Name: bldNodeMemblock, Addr: addr, Size: uint64(len(blob)), Format: bldFormatMemblock}, nil
}

// preserveRange records [start, start+size) as preserved in the largest
// naturally aligned blocks, without writing it (its contents are the
// caller's).
func (b *builder) preserveRange(start, size uint64) {
	shift := b.geo.PageSize.Shift()
	for size > 0 {
		order := uint8(min(bits.TrailingZeros64(start>>shift), bits.Len64(size>>shift)-1, format.DefaultMaxPageOrder))
		b.preserved = append(b.preserved, Block{Addr: start, Order: order})
		start += b.ps << order
		size -= b.ps << order
	}
}

// layoutBoot writes the scratch array, a boot_params page and its
// SETUP_KEXEC_KHO node, in the first scratch region.
func (b *builder) layoutBoot(root uint64) error {
	sc := b.opts.Scratch
	if len(sc) == 0 || sc[0].Size < 3*b.ps {
		return fmt.Errorf("kho: build: setup_data needs a scratch region of at least 3 pages")
	}
	bp, sd, arr := sc[0].Addr, sc[0].Addr+b.ps, sc[0].Addr+2*b.ps
	if uint64(len(sc))*format.ScratchSize > b.ps {
		return fmt.Errorf("kho: build: %d scratch regions do not fit a page", len(sc))
	}
	array := make([]byte, len(sc)*format.ScratchSize)
	for i, s := range sc {
		if err := encPut(array[i*format.ScratchSize:], format.Scratch{Addr: s.Addr, Size: s.Size}); err != nil {
			return err
		}
	}
	page := make([]byte, b.ps)
	bldLE.PutUint16(page[encBootParamsBootFlag:], encBootFlagMagic)
	bldLE.PutUint32(page[encBootParamsHeader:], encHdrSMagic)
	bldLE.PutUint64(page[encBootParamsSetupData:], sd)
	node := make([]byte, format.SetupDataHeaderSize+format.KHODataSize)
	if err := encPut(node, format.SetupData{Type: format.SetupKexecKHO, Len: format.KHODataSize}); err != nil {
		return err
	}
	if err := encPut(node[format.SetupDataHeaderSize:], format.KHOData{FDTAddr: root, FDTSize: b.ps, ScratchAddr: arr, ScratchSize: uint64(len(array))}); err != nil {
		return err
	}
	for _, w := range []struct {
		p []byte
		a uint64
	}{{page, bp}, {node, sd}, {array, arr}} {
		if err := b.mem.WriteAt(w.p, w.a); err != nil {
			return fmt.Errorf("kho: build: %w", err)
		}
	}
	L := &b.built.Layout
	L.BootParams, L.SetupData, L.ScratchArray = bp, sd, arr
	b.built.SetupDataAddr = sd
	return nil
}

// bldCheckUnique refuses what a kernel would never write: empty or
// duplicate session names, duplicate tokens within a session, empty or
// duplicate FLB names. Hostile variants are made by writing over a build.
func bldCheckUnique(h *Handover) error {
	if h.LUO == nil {
		return nil
	}
	names := map[string]bool{}
	for i, s := range h.LUO.Sessions {
		if s.Name == "" || names[s.Name] {
			return fmt.Errorf("kho: build: session %d: name %q is empty or used twice", i, s.Name)
		}
		names[s.Name] = true
		tokens := map[uint64]bool{}
		for j, f := range s.Files {
			if tokens[f.Token] {
				return fmt.Errorf("kho: build: session %q file %d: token %#x used twice", s.Name, j, f.Token)
			}
			tokens[f.Token] = true
		}
	}
	flbs := map[string]bool{}
	for i, f := range h.LUO.FLBs {
		if f.Name == "" || flbs[f.Name] {
			return fmt.Errorf("kho: build: FLB %d: name %q is empty or used twice", i, f.Name)
		}
		flbs[f.Name] = true
	}
	return nil
}

// bldCloneHandover deep-copies the parts of h the builder fills in.
func bldCloneHandover(h *Handover) *Handover {
	out := *h
	out.Subtrees = append([]Subtree(nil), h.Subtrees...)
	if h.LUO != nil {
		l := *h.LUO
		l.Sessions = make([]Session, len(h.LUO.Sessions))
		for i, s := range h.LUO.Sessions {
			s.Files = append([]File(nil), s.Files...)
			for j := range s.Files {
				if m := s.Files[j].Memfd; m != nil {
					mc := *m
					mc.Folios = append([]Folio(nil), m.Folios...)
					s.Files[j].Memfd = &mc
				}
			}
			l.Sessions[i] = s
		}
		if h.LUO.Sessions == nil {
			l.Sessions = nil
		}
		l.FLBs = append([]FLB(nil), h.LUO.FLBs...)
		out.LUO = &l
	}
	if h.KexecMetadata != nil {
		k := *h.KexecMetadata
		out.KexecMetadata = &k
	}
	if h.Memblock != nil {
		m := *h.Memblock
		m.Regions = append([]ReserveMem(nil), h.Memblock.Regions...)
		out.Memblock = &m
	}
	return &out
}
