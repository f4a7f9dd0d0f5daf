package format

import "fmt"

// MemfdSerV1 is the 40-byte memfd-v1 struct memfd_luo_ser.
type MemfdSerV1 struct {
	Pos      uint64
	Size     uint64
	NrFolios uint64
	Folios   Vmalloc
}

// DecodeMemfdSerV1 decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeMemfdSerV1(b []byte) (MemfdSerV1, error) {
	r := newReader(fmtMemfdV1, b)
	v := MemfdSerV1{Pos: r.u64("pos"), Size: r.u64("size"), NrFolios: r.u64("nr_folios")}
	s := r.sub("folios")
	v.Folios = readVmalloc(&s)
	r.end(&s)
	if err := r.done(); err != nil {
		return MemfdSerV1{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the MemfdSerV1 layout.
func (v MemfdSerV1) Format() *Format { return fmtMemfdV1 }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v MemfdSerV1) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtMemfdV1, dst)
	w.u64("pos", v.Pos)
	w.u64("size", v.Size)
	w.u64("nr_folios", v.NrFolios)
	s := w.sub("folios")
	v.Folios.write(&s)
	w.end(&s)
	return w.done()
}

// MemfdSerV2 is the 48-byte memfd-v2 struct memfd_luo_ser (with seals).
type MemfdSerV2 struct {
	Pos      uint64
	Size     uint64
	Seals    uint32
	Flags    uint32
	NrFolios uint64
	Folios   Vmalloc
}

// DecodeMemfdSerV2 decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeMemfdSerV2(b []byte) (MemfdSerV2, error) {
	r := newReader(fmtMemfdV2, b)
	v := MemfdSerV2{Pos: r.u64("pos"), Size: r.u64("size"), Seals: r.u32("seals"), Flags: r.u32("flags"), NrFolios: r.u64("nr_folios")}
	s := r.sub("folios")
	v.Folios = readVmalloc(&s)
	r.end(&s)
	if err := r.done(); err != nil {
		return MemfdSerV2{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the MemfdSerV2 layout.
func (v MemfdSerV2) Format() *Format { return fmtMemfdV2 }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v MemfdSerV2) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtMemfdV2, dst)
	w.u64("pos", v.Pos)
	w.u64("size", v.Size)
	w.u32("seals", v.Seals)
	w.u32("flags", v.Flags)
	w.u64("nr_folios", v.NrFolios)
	s := w.sub("folios")
	v.Folios.write(&s)
	w.end(&s)
	return w.done()
}

// DecodeMemfd decodes the memfd_luo_ser a luo_file_ser with file-handler
// compatible compat points at: memfd-v1, memfd-v2, or the posted
// "memfd-v2;vmalloc-v1" (memfd-v2 layout). Other compatibles fail with
// ErrUnknownVersion.
func DecodeMemfd(compat string, b []byte) (Struct, error) {
	switch compat {
	case "memfd-v1":
		v, err := DecodeMemfdSerV1(b)
		if err != nil {
			return nil, err
		}
		return v, nil
	case "memfd-v2", "memfd-v2;vmalloc-v1":
		v, err := DecodeMemfdSerV2(b)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, &FormatError{Format: "memfd", Field: "compatible", Msg: "unknown memfd handler version", Val: compat, Err: ErrUnknownVersion}
}

// FolioSer is struct memfd_luo_folio_ser: pfn:52 and flags:12 share the first
// little-endian u64, then the page-cache index.
type FolioSer struct {
	PFN   uint64 // 52 bits; 0 = empty slot
	Flags uint16 // 12 bits: FolioDirty, FolioUptodate
	Index uint64
}

// DecodeFolioSer decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeFolioSer(b []byte) (FolioSer, error) {
	r := newReader(fmtFolio, b)
	v := FolioSer{PFN: r.bitfield("pfn"), Flags: uint16(r.bitfield("flags")), Index: r.u64("index")}
	if err := r.done(); err != nil {
		return FolioSer{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the FolioSer layout.
func (v FolioSer) Format() *Format { return fmtFolio }

// Append fails with ErrValue if PFN exceeds 52 bits or Flags 12 bits.
func (v FolioSer) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtFolio, dst)
	w.bitfield("pfn", v.PFN)
	w.bitfield("flags", uint64(v.Flags))
	w.u64("index", v.Index)
	return w.done()
}

// FolioArray is the vmalloc-backed array of memfd_luo_folio_ser.
type FolioArray struct {
	Entries []FolioSer
}

// DecodeFolios decodes n folio entries from b (the concatenated pages of the
// vmalloc area), failing with ErrShort before allocating if b cannot hold them.
func DecodeFolios(b []byte, n uint64) (FolioArray, error) {
	es, err := decodeEntries("folio-array", b, 0, n, 0, fmtFolio.Size, DecodeFolioSer)
	if err != nil {
		return FolioArray{}, err
	}
	return FolioArray{Entries: es}, nil
}

// Format returns the catalogue entry of the FolioArray layout.
func (v FolioArray) Format() *Format { return fmtFolio }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v FolioArray) Append(dst []byte) ([]byte, error) { return appendAll(dst, v.Entries) }

// String gives the flag names, "DIRTY|UPTODATE".
func FolioFlagsString(flags uint16) string {
	return flagString(uint64(flags), []string{"DIRTY", "UPTODATE"})
}

// SealsString gives the F_SEAL_* names of seals, "SEAL|WRITE".
func SealsString(seals uint32) string {
	return flagString(uint64(seals), []string{"SEAL", "SHRINK", "GROW", "WRITE", "FUTURE_WRITE", "EXEC"})
}

// VmallocFlagsString gives the KHO_VMALLOC_* names of flags, "ALLOC|HUGE_VMAP".
func VmallocFlagsString(flags uint16) string {
	return flagString(uint64(flags), []string{"ALLOC", "HUGE_VMAP"})
}

func flagString(v uint64, names []string) string {
	s := ""
	for i, n := range names {
		if v&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
			v &^= 1 << i
		}
	}
	if v != 0 {
		if s != "" {
			s += "|"
		}
		s += fmt.Sprintf("%#x", v)
	}
	if s == "" {
		s = "0"
	}
	return s
}
