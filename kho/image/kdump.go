package image

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"
	"sync"

	lzo "github.com/anchore/go-lzo"
	"github.com/golang/snappy"
	"github.com/khokit/khokit/kho/physmem"
	"github.com/klauspost/compress/zstd"
)

// Signatures of kdump-compressed files (makedumpfile's disk_dump_header).
const (
	KdumpSignature    = "KDUMP   "
	DiskdumpSignature = "DISKDUMP"
)

// PageFlags are the flags of a kdump page descriptor: how its data is
// compressed.
type PageFlags uint32

// Page descriptor flags (makedumpfile diskdump_mod.h).
const (
	PageZlib       PageFlags = 0x1
	PageLZO        PageFlags = 0x2
	PageSnappy     PageFlags = 0x4
	PageIncomplete PageFlags = 0x8 // in the header status: the dump ran out of space
	PageVmemmap    PageFlags = 0x10
	PageZstd       PageFlags = 0x20
)

func (f PageFlags) String() string {
	var names []string
	for _, n := range []struct {
		f    PageFlags
		name string
	}{{PageZlib, "zlib"}, {PageLZO, "lzo"}, {PageSnappy, "snappy"}, {PageIncomplete, "incomplete"}, {PageVmemmap, "vmemmap"}, {PageZstd, "zstd"}} {
		if f&n.f != 0 {
			names = append(names, n.name)
			f &^= n.f
		}
	}
	if f != 0 || len(names) == 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(f)))
	}
	return strings.Join(names, "|")
}

// KdumpLayout is the shape of the headers, which follows the dumped
// machine's C types: 64-bit, or 32-bit where the 8-byte file offsets in the
// sub-header are packed (i386 aligns them to 4) or padded to 8 (ARM, PPC,
// MIPS).
type KdumpLayout uint8

const (
	Kdump64       KdumpLayout = iota
	Kdump32Packed             // i386
	Kdump32Padded             // 32-bit ARM, PowerPC, MIPS ...
)

func (l KdumpLayout) String() string {
	switch l {
	case Kdump64:
		return "64-bit"
	case Kdump32Packed:
		return "32-bit packed"
	case Kdump32Padded:
		return "32-bit padded"
	}
	return fmt.Sprintf("KdumpLayout(%d)", uint8(l))
}

// Layout of the disk_dump_header and kdump_sub_header.
const (
	kdumpHeaderSize     = 464
	kdumpSubHeaderSize  = 104 // the largest layout, 64-bit
	kdumpBlockSizeOff   = 428 // int32 block_size, 64-bit layout
	kdumpBlockSizeOff32 = 416 // the same field in the 32-bit layouts
	kdumpMachineOff     = 12 + 4*65
	kdumpPageDescSize   = 24
	utsLen              = 65
	minBlockSize        = 512
	maxBlockSize        = 1 << 20 // 64 KiB pages are the largest in use; leave room
	bitmapChunk         = 4096    // bytes of bitmap per rank-index entry
	maxKdumpRanges      = 1 << 20 // Ranges beyond this are merged into the last one
)

// KdumpHeader is what a kdump-compressed file says about itself.
type KdumpHeader struct {
	Signature     string
	Version       int32 // header_version, 1..6
	Layout        KdumpLayout
	ByteOrder     binary.ByteOrder
	Sysname       string
	Nodename      string
	Release       string
	KernelVersion string // utsname version
	Machine       string
	Domainname    string
	Status        uint32
	BlockSize     uint32 // page size
	SubHdrSize    uint32 // blocks
	BitmapBlocks  uint32
	MaxMapnr      uint64 // max_mapnr_64 from version 6, else max_mapnr
	NrCPUs        int32
	// kdump_sub_header
	PhysBase         uint64
	DumpLevel        int32
	Split            int32
	StartPFN, EndPFN uint64 // *_64 from version 6
}

// Kdump is a makedumpfile kdump-compressed file read as physical memory.
// Page frames set in the 2nd bitmap are read through their page
// descriptors; frames set only in the 1st bitmap fail with
// physmem.ErrExcluded; the rest are absent. Ranges reports the three
// states as Present, Excluded and no range (and Mixed for runs merged past
// its cap of 2^20). A Kdump is safe for concurrent use.
type Kdump struct {
	Header     KdumpHeader
	Notes      []Note
	VMCoreInfo *VMCoreInfo
	// Findings lists problems worked around, as *FormatError values:
	// those NewKdump met, then those the first Ranges call meets (a bitmap
	// it cannot read, more runs than it lists). Read it after Ranges, and
	// not while another goroutine may be making that first call.
	Findings []error

	r           io.ReaderAt
	flat        *Flattened // r, when it is one: errors name its offsets
	size        int64
	bo          binary.ByteOrder
	bs          uint64
	bitmap1     int64  // file offset of the 1st bitmap
	bitmap2     int64  // file offset of the 2nd bitmap
	bitmapBytes uint64 // bytes in each bitmap
	nbits       uint64 // page frames the bitmaps describe
	descOff     int64
	splitLo     uint64
	splitHi     uint64

	mu       sync.Mutex
	cum      []uint64 // cum[i]: bits set in the 2nd bitmap before chunk i
	chunk    []byte   // cached 2nd-bitmap chunk
	chunkIdx uint64
	chunkOK  bool
	page     []byte // last decoded page
	pagePFN  uint64
	pageOK   bool
	comp     []byte
	zr       io.ReadCloser
	zsrc     bytes.Reader
	zd       *zstd.Decoder
	ranges   []physmem.Range
	rangesOK bool
}

// NewKdump reads the headers of the kdump-compressed file r of size bytes.
// Bitmaps, descriptors and pages are read on demand. When r is a
// [*Flattened], errors and findings name offsets in the flattened file (see
// [FormatError]).
func NewKdump(r io.ReaderAt, size int64) (*Kdump, error) {
	fl, _ := r.(*Flattened)
	k, err := newKdump(r, size)
	if err != nil {
		return nil, fl.locate(err)
	}
	k.flat = fl
	for _, f := range k.Findings {
		fl.locate(f)
	}
	return k, nil
}

func newKdump(r io.ReaderAt, size int64) (*Kdump, error) {
	var hb [kdumpHeaderSize]byte
	if err := readAtFull(r, hb[:], 0, "the kdump header"); err != nil {
		return nil, err
	}
	sig := string(hb[:8])
	if sig != KdumpSignature && sig != DiskdumpSignature {
		return nil, formatErr(0, ErrWrongFormat, "no KDUMP or DISKDUMP signature", nil)
	}
	k := &Kdump{r: r, size: size}
	h := &k.Header
	h.Signature = sig
	machine := cstring(hb[kdumpMachineOff : kdumpMachineOff+utsLen])
	// The byte order is the dumped machine's, the layout its word size:
	// take the first pair under which block_size and header_version are
	// sane and the blocks fit in the file, else block_size alone. A 32-bit
	// utsname machine has the 32-bit layout tried first.
	plausible := func(bo binary.ByteOrder, bsOff int, strict bool) bool {
		bs := uint64(bo.Uint32(hb[bsOff:]))
		if !validBlockSize(uint32(bs)) {
			return false
		}
		if !strict {
			return true
		}
		v := int32(bo.Uint32(hb[8:]))
		sub, bitmaps := uint64(bo.Uint32(hb[bsOff+4:])), uint64(bo.Uint32(hb[bsOff+8:]))
		return v >= 1 && v <= 6 && (sub >= 1 || sig != KdumpSignature) && bitmaps >= 1 && (1+sub+bitmaps)*bs <= uint64(size)
	}
	bsOff := kdumpBlockSizeOff
	found := false
	for _, strict := range []bool{true, false} {
		offs := []int{kdumpBlockSizeOff, kdumpBlockSizeOff32}
		if is32BitMachine(machine) {
			offs = []int{kdumpBlockSizeOff32, kdumpBlockSizeOff}
		}
		for _, off := range offs {
			for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
				if !found && plausible(bo, off, strict) {
					k.bo, bsOff, found = bo, off, true
				}
			}
		}
	}
	if !found {
		return nil, formatErr(kdumpBlockSizeOff, ErrFormat, "block_size is not a power of two between 512 and 1 MiB", binary.LittleEndian.Uint32(hb[kdumpBlockSizeOff:]))
	}
	if bsOff == kdumpBlockSizeOff32 {
		h.Layout = Kdump32Padded
		if len(machine) == 4 && machine[0] == 'i' && machine[2:] == "86" {
			h.Layout = Kdump32Packed
		}
	}
	h.ByteOrder = k.bo
	b := readBuf{hb[8:], k.bo}
	h.Version = int32(b.uint32())
	uts := make([]string, 6)
	for i := range uts {
		uts[i] = cstring(b.bytes(utsLen))
	}
	h.Sysname, h.Nodename, h.Release, h.KernelVersion, h.Machine, h.Domainname = uts[0], uts[1], uts[2], uts[3], uts[4], uts[5]
	if h.Layout == Kdump64 {
		b.skip(6 + 16) // padding to 8, struct timeval of two longs
	} else {
		b.skip(2 + 8) // padding to 4, struct timeval of two longs
	}
	h.Status = b.uint32()
	h.BlockSize = b.uint32()
	h.SubHdrSize = b.uint32()
	h.BitmapBlocks = b.uint32()
	h.MaxMapnr = uint64(b.uint32())
	b.skip(4 * 4) // total_ram_blocks, device_blocks, written_blocks, current_cpu
	h.NrCPUs = int32(b.uint32())
	if h.Version < 1 || h.Version > 6 {
		return nil, formatErr(8, ErrUnsupported, "kdump header_version outside 1..6", h.Version)
	}
	k.bs = uint64(h.BlockSize)
	if int32(h.SubHdrSize) < 0 {
		return nil, formatErr(int64(bsOff)+4, ErrFormat, "negative sub_hdr_size", int32(h.SubHdrSize))
	}
	// Block offsets: header, sub-header, bitmaps, descriptors. Each is
	// checked against the file before it is used; the sums cannot wrap
	// since both counts are below 2^32 and the block size below 2^21.
	subOff := k.bs
	bitmapOff := (1 + uint64(h.SubHdrSize)) * k.bs
	descOff := bitmapOff + uint64(h.BitmapBlocks)*k.bs
	if bitmapOff > uint64(size) {
		return nil, formatErr(int64(bsOff)+4, ErrTruncated, fmt.Sprintf("sub-header of %d blocks runs past the end of the %#x-byte file", h.SubHdrSize, size), nil)
	}
	if descOff > uint64(size) {
		return nil, formatErr(int64(bsOff)+8, ErrTruncated, fmt.Sprintf("bitmaps of %d blocks run past the end of the %#x-byte file", h.BitmapBlocks, size), nil)
	}
	k.bitmapBytes = uint64(h.BitmapBlocks) * k.bs / 2
	k.bitmap1, k.bitmap2 = int64(bitmapOff), int64(bitmapOff+k.bitmapBytes)
	k.descOff = int64(descOff)

	nr := noteReader{r: r, fileSize: size, bo: k.bo}
	var vmcoreOff, vmcoreSize uint64
	vmcoreField := int64(subOff) // of offset_vmcoreinfo, for findings
	if sig == KdumpSignature && h.SubHdrSize > 0 {
		var sb [kdumpSubHeaderSize]byte
		sub := sb[:min(kdumpSubHeaderSize, uint64(h.SubHdrSize)*k.bs)]
		if err := readAtFull(r, sub, int64(subOff), "the kdump sub-header"); err != nil {
			return nil, err
		}
		sf := readSubHeader(sb[:], k.bo, h.Layout) // fields past a short sub-header read as zero
		if h.Layout == Kdump32Padded && !is32BitMachine(machine) {
			// An unknown 32-bit machine: packed if only that reading makes
			// the VMCOREINFO and note offsets land inside the file.
			if p := readSubHeader(sb[:], k.bo, Kdump32Packed); !sf.fits(size) && p.fits(size) {
				sf, h.Layout = p, Kdump32Packed
			}
		}
		h.PhysBase, h.DumpLevel, h.Split, h.StartPFN, h.EndPFN = sf.physBase, sf.dumpLevel, sf.split, sf.startPFN, sf.endPFN
		vmcoreOff, vmcoreSize = sf.vmcoreOff, sf.vmcoreSize
		noteOff, noteSize := sf.noteOff, sf.noteSize
		start64, end64, max64 := sf.startPFN64, sf.endPFN64, sf.maxMapnr64
		noteField := int64(subOff) + int64(sf.noteFieldOff)
		vmcoreField += int64(sf.vmcoreFieldOff)
		if h.Version < 2 { // split and the pfn range arrived in version 2
			h.Split, h.StartPFN, h.EndPFN = 0, 0, 0
		}
		if h.Version < 3 {
			vmcoreOff, vmcoreSize = 0, 0
		}
		if h.Version >= 4 && noteSize > 0 {
			if noteOff > 1<<62 {
				k.Findings = append(k.Findings, formatErr(noteField, ErrTruncated, "note offset past the end of the file", noteOff))
			} else {
				nr.walk(int64(noteOff), noteSize)
			}
		}
		if h.Version >= 6 {
			h.StartPFN, h.EndPFN, h.MaxMapnr = start64, end64, max64
		}
	}
	k.Notes, k.VMCoreInfo = nr.notes, nr.vmcore
	k.Findings = append(k.Findings, nr.findings...)
	if vmcoreSize > 0 && k.VMCoreInfo == nil {
		switch {
		case vmcoreSize > maxVMCoreInfo:
			k.Findings = append(k.Findings, formatErr(vmcoreField, ErrLimit, "VMCOREINFO larger than 1 MiB not read", vmcoreSize))
		case vmcoreOff > uint64(size) || vmcoreSize > uint64(size)-vmcoreOff:
			k.Findings = append(k.Findings, formatErr(vmcoreField, ErrTruncated, "VMCOREINFO lies past the end of the file", vmcoreOff))
		default:
			text := make([]byte, vmcoreSize)
			if err := readAtFull(r, text, int64(vmcoreOff), "VMCOREINFO"); err != nil {
				return nil, err
			}
			k.VMCoreInfo = ParseVMCoreInfo(text)
		}
	}

	k.nbits = h.MaxMapnr
	if have := k.bitmapBytes * 8; have < k.nbits {
		k.Findings = append(k.Findings, formatErr(int64(bsOff)+8, ErrFormat, fmt.Sprintf("bitmaps cover %d page frames but max_mapnr is %d; the rest are absent", have, h.MaxMapnr), nil))
		k.nbits = have
	}
	if top := ^uint64(0) / k.bs; k.nbits > top {
		k.nbits = top
	}
	k.splitLo, k.splitHi = 0, k.nbits
	if h.Split != 0 {
		k.splitLo, k.splitHi = h.StartPFN, min(h.EndPFN, k.nbits)
	}
	k.cum = []uint64{0}
	return k, nil
}

// subHeader is kdump_sub_header, whatever its layout.
type subHeader struct {
	physBase, startPFN, endPFN               uint64
	dumpLevel, split                         int32
	vmcoreOff, vmcoreSize, noteOff, noteSize uint64
	startPFN64, endPFN64, maxMapnr64         uint64
	vmcoreFieldOff, noteFieldOff             int
}

// fits reports whether the VMCOREINFO and note regions lie in the file.
func (s subHeader) fits(size int64) bool {
	in := func(off, n uint64) bool { return off <= uint64(size) && n <= uint64(size)-off }
	return in(s.vmcoreOff, s.vmcoreSize) && in(s.noteOff, s.noteSize)
}

// readSubHeader decodes kdump_sub_header: unsigned longs are 4 bytes on
// 32-bit machines, file offsets always 8, aligned to 8 except on i386.
func readSubHeader(b []byte, bo binary.ByteOrder, l KdumpLayout) subHeader {
	r := readBuf{b, bo}
	var s subHeader
	ulong := r.uint64
	if l != Kdump64 {
		ulong = func() uint64 { return uint64(r.uint32()) }
	}
	off := func() uint64 { // an off_t, after padding when the ABI aligns it
		if l == Kdump32Padded && (len(b)-len(r.b))%8 != 0 {
			r.skip(4)
		}
		return r.uint64()
	}
	s.physBase = ulong()
	s.dumpLevel, s.split = int32(r.uint32()), int32(r.uint32())
	s.startPFN, s.endPFN = ulong(), ulong()
	s.vmcoreOff = off()
	s.vmcoreFieldOff = len(b) - len(r.b) - 8
	s.vmcoreSize = ulong()
	s.noteOff = off()
	s.noteFieldOff = len(b) - len(r.b) - 8
	s.noteSize = ulong()
	off() // offset_eraseinfo
	ulong()
	s.startPFN64, s.endPFN64, s.maxMapnr64 = off(), off(), off()
	return s
}

func validBlockSize(v uint32) bool {
	return v >= minBlockSize && v <= maxBlockSize && v&(v-1) == 0
}

// is32BitMachine reports utsname machines whose kdump headers use the
// 32-bit layout (4-byte timestamps and sub-header fields).
func is32BitMachine(m string) bool {
	switch {
	case len(m) == 4 && m[0] == 'i' && m[2:] == "86":
		return true
	case strings.HasPrefix(m, "arm") && m != "arm64":
		return true
	case m == "ppc", m == "mips", m == "s390", m == "sh4", m == "m68k":
		return true
	}
	return false
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Close releases the decompressors.
func (k *Kdump) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.zd != nil {
		k.zd.Close()
		k.zd = nil
	}
	return nil
}

// ReadAt implements [physmem.Memory].
func (k *Kdump) ReadAt(p []byte, addr uint64) (int, error) {
	size := uint64(len(p))
	if addr+size < addr {
		return 0, &physmem.AddrError{Addr: addr, Size: size, Err: physmem.ErrOverflow}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for n < len(p) {
		cur := addr + uint64(n)
		pfn, off := cur/k.bs, cur%k.bs
		page, err := k.readPage(pfn)
		if err != nil {
			return n, &physmem.AddrError{Addr: cur, Size: size, Err: k.flat.locate(err)}
		}
		n += copy(p[n:], page[off:])
	}
	return n, nil
}

// readPage returns page frame pfn, decoded into k.page.
func (k *Kdump) readPage(pfn uint64) ([]byte, error) {
	if k.pageOK && k.pagePFN == pfn {
		return k.page, nil
	}
	if pfn >= k.nbits || pfn < k.splitLo || pfn >= k.splitHi {
		return nil, physmem.ErrAbsent
	}
	dumped, err := k.bit2(pfn)
	if err != nil {
		return nil, err
	}
	if !dumped {
		var b [1]byte
		if err := readAtFull(k.r, b[:], k.bitmap1+int64(pfn/8), "the 1st bitmap"); err != nil {
			return nil, err
		}
		if b[0]&(1<<(pfn%8)) != 0 {
			return nil, physmem.ErrExcluded
		}
		return nil, physmem.ErrAbsent
	}
	rank, err := k.rank(pfn)
	if err != nil {
		return nil, err
	}
	descAt := uint64(k.descOff) + rank*kdumpPageDescSize // rank < 2^61: no wrap
	if descAt > uint64(k.size) || uint64(k.size)-descAt < kdumpPageDescSize {
		return nil, formatErr(int64(min(descAt, 1<<62)), ErrTruncated, fmt.Sprintf("page descriptor %d (pfn %#x) lies past the end of the file", rank, pfn), nil)
	}
	var db [kdumpPageDescSize]byte
	if err := readAtFull(k.r, db[:], int64(descAt), "a page descriptor"); err != nil {
		return nil, err
	}
	d := readBuf{db[:], k.bo}
	off, dsize, flags := d.uint64(), uint64(d.uint32()), PageFlags(d.uint32())
	at := int64(descAt)
	if off == 0 && k.Header.Status&uint32(PageIncomplete) != 0 {
		return nil, physmem.ErrExcluded // lost when makedumpfile ran out of space
	}
	compressed := flags&(PageZlib|PageLZO|PageSnappy|PageZstd) != 0
	switch {
	case dsize == 0:
		return nil, formatErr(at, ErrFormat, fmt.Sprintf("page descriptor for pfn %#x has size 0", pfn), nil)
	case dsize > k.bs:
		return nil, formatErr(at, ErrFormat, fmt.Sprintf("page descriptor for pfn %#x: %d bytes of data exceed the %d-byte block", pfn, dsize, k.bs), nil)
	case !compressed && dsize != k.bs:
		return nil, formatErr(at, ErrFormat, fmt.Sprintf("uncompressed page for pfn %#x has %d bytes, not the block size %d", pfn, dsize, k.bs), nil)
	case off > uint64(k.size) || dsize > uint64(k.size)-off:
		return nil, formatErr(at, ErrTruncated, fmt.Sprintf("data of pfn %#x at %#x+%#x lies past the end of the file", pfn, off, dsize), nil)
	}
	k.pageOK = false
	if k.page == nil {
		k.page, k.comp = make([]byte, k.bs), make([]byte, k.bs)
	}
	if !compressed {
		if err := readAtFull(k.r, k.page, int64(off), "page data"); err != nil {
			return nil, err
		}
	} else {
		src := k.comp[:dsize]
		if err := readAtFull(k.r, src, int64(off), "page data"); err != nil {
			return nil, err
		}
		if err := k.decompress(src, flags); err != nil {
			return nil, &FormatError{Off: int64(off), Msg: fmt.Sprintf("%v page for pfn %#x: %v", flags&(PageZlib|PageLZO|PageSnappy|PageZstd), pfn, err), Err: ErrDecompress}
		}
	}
	k.pagePFN, k.pageOK = pfn, true
	return k.page, nil
}

var errPageSize = errors.New("output is not one block")

// decompress fills k.page from src; output of any other length than one
// block is an error, and no decoder may produce more than a block plus one.
func (k *Kdump) decompress(src []byte, flags PageFlags) error {
	dst := k.page
	switch {
	case flags&PageZlib != 0:
		var err error
		k.zsrc.Reset(src)
		if k.zr == nil {
			k.zr, err = zlib.NewReader(&k.zsrc)
		} else {
			err = k.zr.(zlib.Resetter).Reset(&k.zsrc, nil)
		}
		if err != nil {
			return err
		}
		if _, err := io.ReadFull(k.zr, dst); err != nil {
			return fmt.Errorf("%w (%v)", errPageSize, err)
		}
		var extra [1]byte
		switch n, err := k.zr.Read(extra[:]); {
		case n > 0:
			return errPageSize
		case err != io.EOF:
			return err // checksum or stream error after a full page
		}
	case flags&PageLZO != 0:
		n, err := lzo.Decompress(src, dst)
		if err != nil {
			return err
		}
		if n != len(dst) {
			return errPageSize
		}
	case flags&PageSnappy != 0:
		if n, err := snappy.DecodedLen(src); err != nil {
			return err
		} else if n != len(dst) {
			return errPageSize
		}
		out, err := snappy.Decode(dst, src)
		if err != nil {
			return err
		}
		if len(out) != len(dst) || &out[0] != &dst[0] {
			return errPageSize
		}
	case flags&PageZstd != 0:
		if k.zd == nil {
			var err error
			k.zd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(k.bs+1), zstd.WithDecoderLowmem(true))
			if err != nil {
				return err
			}
		}
		out, err := k.zd.DecodeAll(src, dst[:0])
		if err != nil {
			return err
		}
		if len(out) != len(dst) || &out[0] != &dst[0] {
			return errPageSize
		}
	}
	return nil
}

// bit2 reports whether pfn is set in the 2nd bitmap (the page is dumped).
func (k *Kdump) bit2(pfn uint64) (bool, error) {
	c, err := k.loadChunk(pfn / (bitmapChunk * 8))
	if err != nil {
		return false, err
	}
	i := pfn % (bitmapChunk * 8)
	return c[i/8]&(1<<(i%8)) != 0, nil
}

// loadChunk reads chunk i of the 2nd bitmap into the cache. The last chunk
// may be short; its missing bytes read as zero.
func (k *Kdump) loadChunk(i uint64) ([]byte, error) {
	if k.chunkOK && k.chunkIdx == i {
		return k.chunk, nil
	}
	k.chunkOK = false
	if k.chunk == nil {
		k.chunk = make([]byte, bitmapChunk)
	}
	start := i * bitmapChunk
	n := min(bitmapChunk, k.bitmapBytes-start)
	clear(k.chunk[n:])
	if err := readAtFull(k.r, k.chunk[:n], k.bitmap2+int64(start), "the 2nd bitmap"); err != nil {
		return nil, err
	}
	k.chunkIdx, k.chunkOK = i, true
	return k.chunk, nil
}

// rank returns the number of dumped page frames below pfn: the index of
// pfn's page descriptor. The per-chunk index grows on demand, so a read
// costs one bitmap chunk once the index reaches it.
func (k *Kdump) rank(pfn uint64) (uint64, error) {
	ci := pfn / (bitmapChunk * 8)
	for uint64(len(k.cum)) <= ci {
		c, err := k.loadChunk(uint64(len(k.cum)) - 1)
		if err != nil {
			return 0, err
		}
		k.cum = append(k.cum, k.cum[len(k.cum)-1]+popcount(c))
	}
	c, err := k.loadChunk(ci)
	if err != nil {
		return 0, err
	}
	i := pfn % (bitmapChunk * 8)
	r := k.cum[ci] + popcount(c[:i/8])
	if rem := i % 8; rem != 0 {
		r += uint64(bits.OnesCount8(c[i/8] & (1<<rem - 1)))
	}
	return r, nil
}

func popcount(b []byte) uint64 {
	var n int
	for len(b) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	for _, x := range b {
		n += bits.OnesCount8(x)
	}
	return uint64(n)
}

// findingsFrom returns Findings[n:], taken under the lock Ranges holds
// while it adds to them.
func (k *Kdump) findingsFrom(n int) []error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if n >= len(k.Findings) {
		return nil
	}
	return slices.Clone(k.Findings[n:])
}

// Ranges implements [physmem.Memory]: page frames set in the 2nd bitmap
// are present; those set only in the 1st are excluded (memory the dump
// filtered out, which ReadAt fails with ErrExcluded); the rest are absent.
// Past 2^20 separate runs, later runs are merged into the last range,
// which is then present if any of them is (reads inside it may fail with
// ErrExcluded or ErrAbsent), else mixed.
// When a bitmap cannot be read (an I/O error, or a file cut shorter than
// it was at open), the frames from there on are left out. Both are added
// to Findings with the file offset.
func (k *Kdump) Ranges() []physmem.Range {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rangesOK {
		return k.ranges
	}
	b1, b2 := make([]byte, bitmapChunk), make([]byte, bitmapChunk)
	var rs []physmem.Range
	var runStart uint64
	runState := physmem.Absent
	capped := false
	flush := func(end uint64) {
		if runState == physmem.Absent || end <= k.splitLo || runStart >= k.splitHi {
			return
		}
		lo, hi := max(runStart, k.splitLo), min(end, k.splitHi)
		r := physmem.Range{Start: lo * k.bs, Size: (hi - lo) * k.bs, State: runState}
		if len(rs) >= maxKdumpRanges {
			if !capped {
				capped = true
				k.Findings = append(k.Findings, k.flat.locate(formatErr(k.bitmap1+int64(runStart/8), ErrLimit,
					fmt.Sprintf("the bitmaps hold more than %d runs; those from page frame %#x on are merged into one range", maxKdumpRanges, runStart), nil)))
			}
			last := &rs[len(rs)-1]
			if last.State == physmem.Present || r.State == physmem.Present {
				last.State = physmem.Present
			} else { // two excluded runs never touch: an absent one lies between
				last.State = physmem.Mixed
			}
			last.Size = r.End() - last.Start
			return
		}
		rs = append(rs, r)
	}
	// uniform is the state a bitmap byte pair gives all 8 of its frames,
	// or Mixed when they differ.
	uniform := func(x1, x2 byte) physmem.State {
		switch {
		case x2 == 0xff:
			return physmem.Present
		case x2 != 0:
			return physmem.Mixed
		case x1 == 0xff:
			return physmem.Excluded
		case x1 == 0:
			return physmem.Absent
		}
		return physmem.Mixed
	}
	nbytes := (k.nbits + 7) / 8
scan:
	for start := uint64(0); start < nbytes; start += bitmapChunk {
		n := min(bitmapChunk, nbytes-start)
		if err := k.readBitmaps(b1[:n], b2[:n], start); err != nil {
			k.Findings = append(k.Findings, k.flat.locate(err))
			flush(min(start*8, k.nbits))
			runState = physmem.Absent
			break
		}
		for j := range n {
			if uniform(b1[j], b2[j]) == runState {
				continue
			}
			base := (start + j) * 8
			for bit := range uint64(8) {
				pfn := base + bit
				if pfn >= k.nbits {
					break scan
				}
				st := physmem.Absent
				switch {
				case b2[j]&(1<<bit) != 0:
					st = physmem.Present
				case b1[j]&(1<<bit) != 0:
					st = physmem.Excluded
				}
				if st != runState {
					flush(pfn)
					runStart, runState = pfn, st
				}
			}
		}
	}
	flush(k.nbits)
	k.ranges, k.rangesOK = rs, true
	return rs
}

// readBitmaps reads len(b1) bytes at byte start of each bitmap. A failure
// names the offset of the first byte not read: the file is shorter than
// when NewKdump checked that the bitmaps fit, or the reader failed.
func (k *Kdump) readBitmaps(b1, b2 []byte, start uint64) error {
	err := readAtFull(k.r, b1, k.bitmap1+int64(start), "the 1st bitmap")
	if err == nil {
		err = readAtFull(k.r, b2, k.bitmap2+int64(start), "the 2nd bitmap")
	}
	var fe *FormatError // readAtFull's errors all are one, naming the bitmap
	if !errors.As(err, &fe) {
		return err
	}
	says := *fe // a copy: a reader's own error is not changed under it
	says.Msg += fmt.Sprintf("; page frames from %#x on are left out of the ranges", start*8)
	return &says
}
