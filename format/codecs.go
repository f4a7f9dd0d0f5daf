package format

import "fmt"

// Struct is a decoded catalogue struct or container: it knows its format and
// encodes itself back to the bytes it was decoded from.
type Struct interface {
	Format() *Format
	Append(dst []byte) ([]byte, error)
}

// Encode returns the bytes of s.
func Encode(s Struct) ([]byte, error) { return s.Append(nil) }

// Formats used by the codecs (4 KiB catalogue; page-dependent ones are looked
// up per page size).
var (
	fmtSetupData     = mustLookup("setup-data", Page4K)
	fmtKHOData       = mustLookup("kho-data", Page4K)
	fmtScratch       = mustLookup("scratch", Page4K)
	fmtChunkHeader   = mustLookup("kho-v1-chunk-header", Page4K)
	fmtBitmapPtr     = mustLookup("kho-v1-bitmap-ptr", Page4K)
	fmtPhysBits512   = mustLookup("kho-v1-bitmap-512", Page4K)
	fmtVmalloc       = mustLookup("vmalloc", Page4K)
	fmtVmallocHdr    = mustLookup("vmalloc-chunk-header", Page4K)
	fmtBlockHeader   = mustLookup("block-header", Page4K)
	fmtKexecMetadata = mustLookup("kexec-metadata", Page4K)
	fmtSessionHeader = mustLookup("session-header", Page4K)
	fmtSessionSerV1  = mustLookup("session-ser-v1", Page4K)
	fmtSessionSer    = mustLookup("session-ser", Page4K)
	fmtFileSet       = mustLookup("file-set", Page4K)
	fmtFileSer       = mustLookup("file-ser", Page4K)
	fmtFLBHeader     = mustLookup("flb-header", Page4K)
	fmtFLBSer        = mustLookup("flb-ser", Page4K)
	fmtMemfdV1       = mustLookup("memfd-v1", Page4K)
	fmtMemfdV2       = mustLookup("memfd-v2", Page4K)
	fmtFolio         = mustLookup("folio", Page4K)
	fmtLUOSerV2      = mustLookup("luo-ser-v2", Page4K)
)

// formatHolding is the page-sized format name whose array field holds n
// elements, or nil if no supported page size gives that many.
func formatHolding(name, field string, n int) *Format {
	for _, ps := range PageSizes {
		f := mustLookup(name, ps)
		if f.Field(field).Count == n {
			return f
		}
	}
	return nil
}

// ---- boot handoff ----

// SetupData is the header of an x86 struct setup_data node.
type SetupData struct {
	Next uint64
	Type uint32
	Len  uint32
}

// DecodeSetupData decodes the 16-byte header; the payload follows it.
func DecodeSetupData(b []byte) (SetupData, error) {
	r := newReader(fmtSetupData, b)
	v := SetupData{Next: r.phys("next"), Type: r.u32("type"), Len: r.u32("len")}
	r.skip("data", FieldBytes)
	if err := r.done(); err != nil {
		return SetupData{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the SetupData layout.
func (v SetupData) Format() *Format { return fmtSetupData }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v SetupData) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtSetupData, dst)
	w.phys("next", v.Next)
	w.u32("type", v.Type)
	w.u32("len", v.Len)
	w.skip("data", FieldBytes)
	return w.done()
}

// KHOData is the x86 struct kho_data, the SETUP_KEXEC_KHO payload.
type KHOData struct {
	FDTAddr, FDTSize         uint64
	ScratchAddr, ScratchSize uint64
}

// DecodeKHOData decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeKHOData(b []byte) (KHOData, error) {
	r := newReader(fmtKHOData, b)
	v := KHOData{FDTAddr: r.phys("fdt_addr"), FDTSize: r.u64("fdt_size"),
		ScratchAddr: r.phys("scratch_addr"), ScratchSize: r.u64("scratch_size")}
	if err := r.done(); err != nil {
		return KHOData{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the KHOData layout.
func (v KHOData) Format() *Format { return fmtKHOData }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v KHOData) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtKHOData, dst)
	w.phys("fdt_addr", v.FDTAddr)
	w.u64("fdt_size", v.FDTSize)
	w.phys("scratch_addr", v.ScratchAddr)
	w.u64("scratch_size", v.ScratchSize)
	return w.done()
}

// Scratch is struct kho_scratch, one scratch region.
type Scratch struct {
	Addr, Size uint64
}

// DecodeScratch decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeScratch(b []byte) (Scratch, error) {
	r := newReader(fmtScratch, b)
	v := Scratch{Addr: r.phys("addr"), Size: r.u64("size")}
	if err := r.done(); err != nil {
		return Scratch{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the Scratch layout.
func (v Scratch) Format() *Format { return fmtScratch }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v Scratch) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtScratch, dst)
	w.phys("addr", v.Addr)
	w.u64("size", v.Size)
	return w.done()
}

// ScratchArray is the scratch array a kho_data points at.
type ScratchArray struct {
	Entries []Scratch
}

// DecodeScratchArray decodes floor(len(b)/16) entries, as the kernel counts
// them; trailing bytes (len(b) % 16, a finding for the caller) are ignored.
func DecodeScratchArray(b []byte) (ScratchArray, error) {
	n := len(b) / fmtScratch.Size
	a := ScratchArray{Entries: make([]Scratch, n)}
	for i := range a.Entries {
		s, err := DecodeScratch(b[i*fmtScratch.Size:])
		if err != nil {
			return ScratchArray{}, relocate(err, "scratch", fmt.Sprintf("[%d]", i), int64(i*fmtScratch.Size))
		}
		a.Entries[i] = s
	}
	return a, nil
}

// Format returns the catalogue entry of the ScratchArray layout.
func (a ScratchArray) Format() *Format { return fmtScratch }

// Append encodes the entries (trailing bytes of the input are not reproduced).
func (a ScratchArray) Append(dst []byte) ([]byte, error) {
	var err error
	for _, s := range a.Entries {
		if dst, err = s.Append(dst); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// ---- kho-v1 memory map ----

// KhoserChunkHeader is struct khoser_mem_chunk_hdr.
type KhoserChunkHeader struct {
	Next    uint64
	Order   uint32
	NumElms uint32
}

// DecodeKhoserChunkHeader decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeKhoserChunkHeader(b []byte) (KhoserChunkHeader, error) {
	r := newReader(fmtChunkHeader, b)
	v := readChunkHeader(&r)
	if err := r.done(); err != nil {
		return KhoserChunkHeader{}, err
	}
	return v, nil
}

func readChunkHeader(r *reader) KhoserChunkHeader {
	return KhoserChunkHeader{Next: r.phys("next"), Order: r.u32("order"), NumElms: r.u32("num_elms")}
}

func (v KhoserChunkHeader) write(w *writer) {
	w.phys("next", v.Next)
	w.u32("order", v.Order)
	w.u32("num_elms", v.NumElms)
}

// Format returns the catalogue entry of the KhoserChunkHeader layout.
func (v KhoserChunkHeader) Format() *Format { return fmtChunkHeader }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v KhoserChunkHeader) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtChunkHeader, dst)
	v.write(&w)
	return w.done()
}

// BitmapPtr is struct khoser_mem_bitmap_ptr.
type BitmapPtr struct {
	PhysStart uint64
	Bitmap    uint64
}

// DecodeBitmapPtr decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeBitmapPtr(b []byte) (BitmapPtr, error) {
	r := newReader(fmtBitmapPtr, b)
	v := readBitmapPtr(&r)
	if err := r.done(); err != nil {
		return BitmapPtr{}, err
	}
	return v, nil
}

func readBitmapPtr(r *reader) BitmapPtr {
	return BitmapPtr{PhysStart: r.phys("phys_start"), Bitmap: r.phys("bitmap")}
}

func (v BitmapPtr) write(w *writer) {
	w.phys("phys_start", v.PhysStart)
	w.phys("bitmap", v.Bitmap)
}

// Format returns the catalogue entry of the BitmapPtr layout.
func (v BitmapPtr) Format() *Format { return fmtBitmapPtr }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v BitmapPtr) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtBitmapPtr, dst)
	v.write(&w)
	return w.done()
}

// KhoserChunk is struct khoser_mem_chunk: one page holding a header and
// KHOSER_BITMAP_SIZE bitmap pointers (all of them, used or not; see Used).
type KhoserChunk struct {
	Header  KhoserChunkHeader
	Bitmaps []BitmapPtr
}

// DecodeKhoserChunk decodes one chunk page for page size ps.
func DecodeKhoserChunk(b []byte, ps PageSize) (KhoserChunk, error) {
	f, err := LookupFor("kho-v1-chunk", ps)
	if err != nil {
		return KhoserChunk{}, err
	}
	r := newReader(f, b)
	var v KhoserChunk
	h := r.sub("hdr")
	v.Header = readChunkHeader(&h)
	r.end(&h)
	es := r.elems("bitmaps")
	v.Bitmaps = make([]BitmapPtr, len(es))
	for i := range es {
		v.Bitmaps[i] = readBitmapPtr(&es[i])
		r.end(&es[i])
	}
	if err := r.done(); err != nil {
		return KhoserChunk{}, err
	}
	return v, nil
}

// Used returns the first NumElms bitmap pointers (fewer if NumElms exceeds the array).
func (v KhoserChunk) Used() []BitmapPtr {
	return v.Bitmaps[:min(uint64(v.Header.NumElms), uint64(len(v.Bitmaps)))]
}

// Format returns the chunk format for the page size implied by len(Bitmaps), or nil.
func (v KhoserChunk) Format() *Format {
	return formatHolding("kho-v1-chunk", "bitmaps", len(v.Bitmaps))
}

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v KhoserChunk) Append(dst []byte) ([]byte, error) {
	f := v.Format()
	if f == nil {
		return dst, &FormatError{Format: "kho-v1-chunk", Field: "bitmaps", Off: int64(fmtChunkHeader.Size), Msg: "length matches no page size", Val: len(v.Bitmaps), Err: ErrValue}
	}
	w := newWriter(f, dst)
	h := w.sub("hdr")
	v.Header.write(&h)
	w.end(&h)
	es := w.elems("bitmaps", len(v.Bitmaps))
	for i := range es {
		v.Bitmaps[i].write(&es[i])
		w.end(&es[i])
	}
	return w.done()
}

// PhysBits is struct kho_mem_phys_bits, a kho-v1 bitmap page.
type PhysBits struct {
	Preserve []byte
}

// DecodePhysBits decodes a page-sized kho-v1 bitmap (6.18 and later).
func DecodePhysBits(b []byte, ps PageSize) (PhysBits, error) {
	f, err := LookupFor("kho-v1-bitmap", ps)
	if err != nil {
		return PhysBits{}, err
	}
	return decodePhysBitsAs(f, b)
}

// DecodePhysBits512 decodes a 512-byte kho-v1 bitmap (6.16 and 6.17).
func DecodePhysBits512(b []byte) (PhysBits, error) {
	return decodePhysBitsAs(fmtPhysBits512, b)
}

func decodePhysBitsAs(f *Format, b []byte) (PhysBits, error) {
	r := newReader(f, b)
	v := PhysBits{Preserve: r.bitmap("preserve")}
	if err := r.done(); err != nil {
		return PhysBits{}, err
	}
	return v, nil
}

// Format returns the 512-byte or the page-sized bitmap format, by length.
func (v PhysBits) Format() *Format {
	if len(v.Preserve) == fmtPhysBits512.Size {
		return fmtPhysBits512
	}
	f, _ := LookupFor("kho-v1-bitmap", PageSize(len(v.Preserve)))
	return f
}

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v PhysBits) Append(dst []byte) ([]byte, error) {
	f := v.Format()
	if f == nil {
		return dst, &FormatError{Format: "kho-v1-bitmap", Field: "preserve", Msg: "length matches no page size", Val: len(v.Preserve), Err: ErrValue}
	}
	w := newWriter(f, dst)
	w.bitmap("preserve", v.Preserve)
	return w.done()
}

// Test reports whether bit n is set (false beyond the bitmap).
func (v PhysBits) Test(n int) bool { return bitTest(v.Preserve, n) }

func bitTest(b []byte, n int) bool {
	return n >= 0 && n/8 < len(b) && b[n/8]&(1<<(n%8)) != 0
}

// ---- radix tree ----

// RadixNode is struct kho_radix_node: a table of child physical addresses.
type RadixNode struct {
	Table []uint64
}

// DecodeRadixNode decodes one node page of page size ps (ErrShort if b is shorter).
func DecodeRadixNode(b []byte, ps PageSize) (RadixNode, error) {
	f, err := LookupFor("radix-node", ps)
	if err != nil {
		return RadixNode{}, err
	}
	r := newReader(f, b)
	v := RadixNode{Table: r.physArray("table")}
	if err := r.done(); err != nil {
		return RadixNode{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the RadixNode layout.
func (v RadixNode) Format() *Format {
	return formatHolding("radix-node", "table", len(v.Table))
}

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v RadixNode) Append(dst []byte) ([]byte, error) {
	f := v.Format()
	if f == nil {
		return dst, &FormatError{Format: "radix-node", Field: "table", Msg: "length matches no page size", Val: len(v.Table), Err: ErrValue}
	}
	w := newWriter(f, dst)
	w.physArray("table", v.Table)
	return w.done()
}

// RadixLeaf is struct kho_radix_leaf: the level-0 bitmap.
type RadixLeaf struct {
	Bitmap []byte
}

// DecodeRadixLeaf decodes one leaf page of page size ps (ErrShort if b is shorter).
func DecodeRadixLeaf(b []byte, ps PageSize) (RadixLeaf, error) {
	f, err := LookupFor("radix-leaf", ps)
	if err != nil {
		return RadixLeaf{}, err
	}
	r := newReader(f, b)
	v := RadixLeaf{Bitmap: r.bitmap("bitmap")}
	if err := r.done(); err != nil {
		return RadixLeaf{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the RadixLeaf layout.
func (v RadixLeaf) Format() *Format {
	f, _ := LookupFor("radix-leaf", PageSize(len(v.Bitmap)))
	return f
}

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v RadixLeaf) Append(dst []byte) ([]byte, error) {
	f := v.Format()
	if f == nil {
		return dst, &FormatError{Format: "radix-leaf", Field: "bitmap", Msg: "length matches no page size", Val: len(v.Bitmap), Err: ErrValue}
	}
	w := newWriter(f, dst)
	w.bitmap("bitmap", v.Bitmap)
	return w.done()
}

// Test reports whether bit n is set (false beyond the bitmap).
func (v RadixLeaf) Test(n int) bool { return bitTest(v.Bitmap, n) }

// ---- vmalloc ----

// Vmalloc is struct kho_vmalloc.
type Vmalloc struct {
	First      uint64
	TotalPages uint32
	Flags      uint16
	Order      uint16
}

// DecodeVmalloc decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeVmalloc(b []byte) (Vmalloc, error) {
	r := newReader(fmtVmalloc, b)
	v := readVmalloc(&r)
	if err := r.done(); err != nil {
		return Vmalloc{}, err
	}
	return v, nil
}

func readVmalloc(r *reader) Vmalloc {
	return Vmalloc{First: r.phys("first"), TotalPages: r.u32("total_pages"), Flags: r.u16("flags"), Order: r.u16("order")}
}

func (v Vmalloc) write(w *writer) {
	w.phys("first", v.First)
	w.u32("total_pages", v.TotalPages)
	w.u16("flags", v.Flags)
	w.u16("order", v.Order)
}

// Format returns the catalogue entry of the Vmalloc layout.
func (v Vmalloc) Format() *Format { return fmtVmalloc }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v Vmalloc) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtVmalloc, dst)
	v.write(&w)
	return w.done()
}

// VmallocChunkHeader is struct kho_vmalloc_hdr.
type VmallocChunkHeader struct {
	Next uint64
}

// DecodeVmallocChunkHeader decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeVmallocChunkHeader(b []byte) (VmallocChunkHeader, error) {
	r := newReader(fmtVmallocHdr, b)
	v := VmallocChunkHeader{Next: r.phys("next")}
	if err := r.done(); err != nil {
		return VmallocChunkHeader{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the VmallocChunkHeader layout.
func (v VmallocChunkHeader) Format() *Format { return fmtVmallocHdr }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v VmallocChunkHeader) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtVmallocHdr, dst)
	w.phys("next", v.Next)
	return w.done()
}

// VmallocChunk is struct kho_vmalloc_chunk: the next pointer and all
// KHO_VMALLOC_SIZE phys slots (see Runs for the used prefix).
type VmallocChunk struct {
	Next uint64
	Phys []uint64
}

// DecodeVmallocChunk decodes one chunk page of page size ps (ErrShort if b is shorter).
func DecodeVmallocChunk(b []byte, ps PageSize) (VmallocChunk, error) {
	f, err := LookupFor("vmalloc-chunk", ps)
	if err != nil {
		return VmallocChunk{}, err
	}
	r := newReader(f, b)
	h := r.sub("hdr")
	v := VmallocChunk{Next: h.phys("next")}
	r.end(&h)
	v.Phys = r.physArray("phys")
	if err := r.done(); err != nil {
		return VmallocChunk{}, err
	}
	return v, nil
}

// Runs returns the run starts before the first zero slot.
func (v VmallocChunk) Runs() []uint64 {
	for i, p := range v.Phys {
		if p == 0 {
			return v.Phys[:i]
		}
	}
	return v.Phys
}

// Format returns the catalogue entry of the VmallocChunk layout.
func (v VmallocChunk) Format() *Format {
	return formatHolding("vmalloc-chunk", "phys", len(v.Phys))
}

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v VmallocChunk) Append(dst []byte) ([]byte, error) {
	f := v.Format()
	if f == nil {
		return dst, &FormatError{Format: "vmalloc-chunk", Field: "phys", Off: int64(fmtVmallocHdr.Size), Msg: "length matches no page size", Val: len(v.Phys), Err: ErrValue}
	}
	w := newWriter(f, dst)
	h := w.sub("hdr")
	h.phys("next", v.Next)
	w.end(&h)
	w.physArray("phys", v.Phys)
	return w.done()
}

// ---- blocks ----

// BlockHeader is struct kho_block_header_ser.
type BlockHeader struct {
	Next  uint64
	Count uint64
}

// DecodeBlockHeader decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeBlockHeader(b []byte) (BlockHeader, error) {
	r := newReader(fmtBlockHeader, b)
	v := BlockHeader{Next: r.phys("next"), Count: r.u64("count")}
	if err := r.done(); err != nil {
		return BlockHeader{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the BlockHeader layout.
func (v BlockHeader) Format() *Format { return fmtBlockHeader }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v BlockHeader) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtBlockHeader, dst)
	w.phys("next", v.Next)
	w.u64("count", v.Count)
	return w.done()
}

// ---- kexec metadata ----

// KexecMetadata is struct kho_kexec_metadata (version 1).
type KexecMetadata struct {
	Version         uint32
	PreviousRelease CString
	KexecCount      uint32
}

// DecodeKexecMetadata decodes a version-1 blob; another version fails with
// ErrUnknownVersion, since nothing after the version field is known then.
func DecodeKexecMetadata(b []byte) (KexecMetadata, error) {
	if len(b) >= 4 {
		if ver := le.Uint32(b); ver != KexecMetadataVersion {
			return KexecMetadata{}, &FormatError{Format: fmtKexecMetadata.Name, Field: "version", Msg: "unknown version", Val: ver, Err: ErrUnknownVersion}
		}
	}
	r := newReader(fmtKexecMetadata, b)
	v := KexecMetadata{Version: r.u32("version"), PreviousRelease: r.chars("previous_release"), KexecCount: r.u32("kexec_count")}
	if err := r.done(); err != nil {
		return KexecMetadata{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the KexecMetadata layout.
func (v KexecMetadata) Format() *Format { return fmtKexecMetadata }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v KexecMetadata) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtKexecMetadata, dst)
	w.u32("version", v.Version)
	w.chars("previous_release", v.PreviousRelease)
	w.u32("kexec_count", v.KexecCount)
	return w.done()
}
