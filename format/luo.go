package format

import (
	"bytes"
	"fmt"
)

// ---- luo_ser ----

// LUOSer is struct luo_ser, the root of the LUO state. Compatible is nil for
// the series-internal luo-v2 layout, which had no compatible field; otherwise
// its length is the layout's LUO_ABI_COMPAT_LEN (8 for "luo-v5").
type LUOSer struct {
	Compatible    CString
	LiveupdateNum uint64
	SessionsPA    uint64
	FLBsPA        uint64
}

// luoSerVariants are the raw-blob layouts, selected by their compatible.
var luoSerVariants = func() []*Format {
	var out []*Format
	for _, f := range All() {
		if f.CName == "luo_ser" && f.Compatible != "luo-v2" {
			out = append(out, f)
		}
	}
	return out
}()

// luoSerVariant is the raw-blob layout whose compatible is compat, or nil.
func luoSerVariant(compat string) *Format {
	for _, f := range luoSerVariants {
		if f.Compatible == compat {
			return f
		}
	}
	return nil
}

// DecodeLUOSer decodes a raw luo_ser blob (luo-v3 and later, and the posted
// 40- and 48-byte variants). The NUL-terminated compatible at offset 0 selects
// the layout; an unknown one fails with ErrUnknownVersion.
func DecodeLUOSer(b []byte) (LUOSer, error) {
	width := 0
	for _, f := range luoSerVariants {
		width = max(width, f.Fields[0].Size)
	}
	head := b[:min(len(b), width)]
	i := bytes.IndexByte(head, 0)
	if i < 0 {
		if len(b) < width {
			return LUOSer{}, &FormatError{Format: "luo-ser", Field: "compatible", Off: int64(len(b)), Msg: "compatible not terminated before the end", Err: ErrShort}
		}
		return LUOSer{}, &FormatError{Format: "luo-ser", Field: "compatible", Msg: "compatible not terminated", Val: string(head), Err: ErrUnknownVersion}
	}
	compat := string(head[:i])
	if f := luoSerVariant(compat); f != nil {
		return decodeLUOSerAs(f, b)
	}
	return LUOSer{}, &FormatError{Format: "luo-ser", Field: "compatible", Msg: "unknown LUO ABI", Val: compat, Err: ErrUnknownVersion}
}

// DecodeLUOSerV2 decodes the 24-byte luo-v2 layout a luo-abi-header property points at.
func DecodeLUOSerV2(b []byte) (LUOSer, error) { return decodeLUOSerAs(fmtLUOSerV2, b) }

func decodeLUOSerAs(f *Format, b []byte) (LUOSer, error) {
	r := newReader(f, b)
	var v LUOSer
	if f.Fields[0].Name == "compatible" {
		v.Compatible = r.chars("compatible")
	}
	v.LiveupdateNum = r.u64("liveupdate_num")
	v.SessionsPA = r.phys("sessions_pa")
	v.FLBsPA = r.phys("flbs_pa")
	if err := r.done(); err != nil {
		return LUOSer{}, err
	}
	return v, nil
}

// Format returns the layout Compatible selects, or nil for an unknown one.
func (v LUOSer) Format() *Format {
	if v.Compatible == nil {
		return fmtLUOSerV2
	}
	return luoSerVariant(v.Compatible.String())
}

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v LUOSer) Append(dst []byte) ([]byte, error) {
	f := v.Format()
	if f == nil {
		return dst, &FormatError{Format: "luo-ser", Field: "compatible", Msg: "unknown LUO ABI", Val: v.Compatible.String(), Err: ErrUnknownVersion}
	}
	w := newWriter(f, dst)
	if v.Compatible != nil {
		w.chars("compatible", v.Compatible)
	}
	w.u64("liveupdate_num", v.LiveupdateNum)
	w.phys("sessions_pa", v.SessionsPA)
	w.phys("flbs_pa", v.FLBsPA)
	return w.done()
}

// ---- sessions and files ----

// SessionHeader is struct luo_session_header_ser (luo-v1 session array).
type SessionHeader struct {
	Count uint64
}

// DecodeSessionHeader decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeSessionHeader(b []byte) (SessionHeader, error) {
	r := newReader(fmtSessionHeader, b)
	v := SessionHeader{Count: r.u64("count")}
	if err := r.done(); err != nil {
		return SessionHeader{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the SessionHeader layout.
func (v SessionHeader) Format() *Format { return fmtSessionHeader }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v SessionHeader) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtSessionHeader, dst)
	w.u64("count", v.Count)
	return w.done()
}

// SessionSerV1 is the 64-byte luo-session-v1 struct luo_session_ser.
type SessionSerV1 struct {
	Name CString
}

// DecodeSessionSerV1 decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeSessionSerV1(b []byte) (SessionSerV1, error) {
	r := newReader(fmtSessionSerV1, b)
	v := SessionSerV1{Name: r.chars("name")}
	if err := r.done(); err != nil {
		return SessionSerV1{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the SessionSerV1 layout.
func (v SessionSerV1) Format() *Format { return fmtSessionSerV1 }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v SessionSerV1) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtSessionSerV1, dst)
	w.chars("name", v.Name)
	return w.done()
}

// FileSetSer is struct luo_file_set_ser.
type FileSetSer struct {
	Files uint64
	Count uint64
}

func readFileSet(r *reader) FileSetSer {
	return FileSetSer{Files: r.phys("files"), Count: r.u64("count")}
}

func (v FileSetSer) write(w *writer) {
	w.phys("files", v.Files)
	w.u64("count", v.Count)
}

// DecodeFileSetSer decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeFileSetSer(b []byte) (FileSetSer, error) {
	r := newReader(fmtFileSet, b)
	v := readFileSet(&r)
	if err := r.done(); err != nil {
		return FileSetSer{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the FileSetSer layout.
func (v FileSetSer) Format() *Format { return fmtFileSet }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v FileSetSer) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtFileSet, dst)
	v.write(&w)
	return w.done()
}

// SessionSer is the 80-byte struct luo_session_ser (luo-session-v2 and later).
type SessionSer struct {
	Name    CString
	FileSet FileSetSer
}

// DecodeSessionSer decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeSessionSer(b []byte) (SessionSer, error) {
	r := newReader(fmtSessionSer, b)
	v := SessionSer{Name: r.chars("name")}
	s := r.sub("file_set_ser")
	v.FileSet = readFileSet(&s)
	r.end(&s)
	if err := r.done(); err != nil {
		return SessionSer{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the SessionSer layout.
func (v SessionSer) Format() *Format { return fmtSessionSer }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v SessionSer) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtSessionSer, dst)
	w.chars("name", v.Name)
	s := w.sub("file_set_ser")
	v.FileSet.write(&s)
	w.end(&s)
	return w.done()
}

// FileSer is struct luo_file_ser.
type FileSer struct {
	Compatible CString
	Data       uint64
	Token      uint64
}

// DecodeFileSer decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeFileSer(b []byte) (FileSer, error) {
	r := newReader(fmtFileSer, b)
	v := FileSer{Compatible: r.chars("compatible"), Data: r.u64("data"), Token: r.u64("token")}
	if err := r.done(); err != nil {
		return FileSer{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the FileSer layout.
func (v FileSer) Format() *Format { return fmtFileSer }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v FileSer) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtFileSer, dst)
	w.chars("compatible", v.Compatible)
	w.u64("data", v.Data)
	w.u64("token", v.Token)
	return w.done()
}

// ---- FLB ----

// FLBHeader is struct luo_flb_header_ser.
type FLBHeader struct {
	PgCnt uint64
	Count uint64
}

// DecodeFLBHeader decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeFLBHeader(b []byte) (FLBHeader, error) {
	r := newReader(fmtFLBHeader, b)
	v := FLBHeader{PgCnt: r.u64("pgcnt"), Count: r.u64("count")}
	if err := r.done(); err != nil {
		return FLBHeader{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the FLBHeader layout.
func (v FLBHeader) Format() *Format { return fmtFLBHeader }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v FLBHeader) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtFLBHeader, dst)
	w.u64("pgcnt", v.PgCnt)
	w.u64("count", v.Count)
	return w.done()
}

// FLBSer is struct luo_flb_ser.
type FLBSer struct {
	Name  CString
	Data  uint64
	Count uint64
}

// DecodeFLBSer decodes the struct at the start of b; a short b fails with ErrShort.
func DecodeFLBSer(b []byte) (FLBSer, error) {
	r := newReader(fmtFLBSer, b)
	v := FLBSer{Name: r.chars("name"), Data: r.u64("data"), Count: r.u64("count")}
	if err := r.done(); err != nil {
		return FLBSer{}, err
	}
	return v, nil
}

// Format returns the catalogue entry of the FLBSer layout.
func (v FLBSer) Format() *Format { return fmtFLBSer }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v FLBSer) Append(dst []byte) ([]byte, error) {
	w := newWriter(fmtFLBSer, dst)
	w.chars("name", v.Name)
	w.u64("data", v.Data)
	w.u64("count", v.Count)
	return w.done()
}

// ---- containers ----

// decodeEntries decodes count entries of size bytes starting at off, after
// checking that the bytes hold them: count is bounded before any allocation.
func decodeEntries[E any](container string, b []byte, off int, count uint64, countOff int, size int, dec func([]byte) (E, error)) ([]E, error) {
	if err := entriesFit(container, len(b), off, count, countOff, size); err != nil {
		return nil, err
	}
	out := make([]E, count)
	for i := range out {
		at := off + i*size
		e, err := dec(b[at : at+size])
		if err != nil {
			return nil, relocate(err, container, fmt.Sprintf("entries[%d]", i), int64(at))
		}
		out[i] = e
	}
	return out, nil
}

// entriesFit fails with ErrShort, blaming the count field at countOff, unless
// count entries of size bytes fit the n bytes of a container after off.
func entriesFit(container string, n, off int, count uint64, countOff, size int) error {
	room := uint64(0)
	if n > off {
		room = uint64(n-off) / uint64(size)
	}
	if count <= room {
		return nil
	}
	return &FormatError{Format: container, Field: "count", Off: int64(countOff),
		Msg: fmt.Sprintf("%d entries of %d bytes do not fit the %d bytes after offset %d", count, size, max(n-off, 0), off),
		Val: count, Err: ErrShort}
}

func appendAll[E interface{ Append([]byte) ([]byte, error) }](dst []byte, es []E) ([]byte, error) {
	var err error
	for _, e := range es {
		if dst, err = e.Append(dst); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

var (
	fmtLUOFLB         = mustLookup("luo-flb", Page4K)
	fmtSessionBlock   = mustLookup("session-block", Page4K)
	fmtFileBlock      = mustLookup("file-block", Page4K)
	fmtSessionArrayV1 = mustLookup("session-array-v1", Page4K)
	fmtFileArrayV1    = mustLookup("file-array-v1", Page4K)

	// Where each container header keeps its count, for errors that blame it.
	flbCountOff           = fmtFLBHeader.Field("count").Offset
	blockCountOff         = fmtBlockHeader.Field("count").Offset
	sessionHeaderCountOff = fmtSessionHeader.Field("count").Offset
)

// FLBPage is the FLB region: a luo_flb_header_ser and Header.Count entries.
type FLBPage struct {
	Header  FLBHeader
	Entries []FLBSer
}

// DecodeFLBPage decodes the header and its entries. A count the bytes cannot
// hold fails with ErrShort before anything is allocated; limits such as
// LUO_FLB_MAX are the caller's to judge.
func DecodeFLBPage(b []byte) (FLBPage, error) {
	h, err := DecodeFLBHeader(b)
	if err != nil {
		return FLBPage{}, relocate(err, fmtLUOFLB.Name, "header", 0)
	}
	es, err := decodeEntries(fmtLUOFLB.Name, b, fmtFLBHeader.Size, h.Count, flbCountOff, fmtFLBSer.Size, DecodeFLBSer)
	if err != nil {
		return FLBPage{}, err
	}
	return FLBPage{Header: h, Entries: es}, nil
}

// Format returns the catalogue entry of the FLBPage layout.
func (v FLBPage) Format() *Format { return fmtLUOFLB }

// Append writes the header as given and then every entry (the used prefix of the page).
func (v FLBPage) Append(dst []byte) ([]byte, error) {
	dst, err := v.Header.Append(dst)
	if err != nil {
		return dst, err
	}
	return appendAll(dst, v.Entries)
}

// SessionBlock is one block of a luo-v5 session chain.
type SessionBlock struct {
	Header  BlockHeader
	Entries []SessionSer
}

// DecodeSessionBlock decodes a block header and its Count session entries;
// a count the bytes cannot hold fails with ErrShort before any allocation.
func DecodeSessionBlock(b []byte) (SessionBlock, error) {
	h, err := DecodeBlockHeader(b)
	if err != nil {
		return SessionBlock{}, relocate(err, fmtSessionBlock.Name, "header", 0)
	}
	es, err := decodeEntries(fmtSessionBlock.Name, b, fmtBlockHeader.Size, h.Count, blockCountOff, fmtSessionSer.Size, DecodeSessionSer)
	if err != nil {
		return SessionBlock{}, err
	}
	return SessionBlock{Header: h, Entries: es}, nil
}

// Format returns the catalogue entry of the SessionBlock layout.
func (v SessionBlock) Format() *Format { return fmtSessionBlock }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v SessionBlock) Append(dst []byte) ([]byte, error) {
	dst, err := v.Header.Append(dst)
	if err != nil {
		return dst, err
	}
	return appendAll(dst, v.Entries)
}

// FileBlock is one block of a luo-v5 file chain.
type FileBlock struct {
	Header  BlockHeader
	Entries []FileSer
}

// DecodeFileBlock decodes a block header and its Count file entries; a count
// the bytes cannot hold fails with ErrShort before any allocation.
func DecodeFileBlock(b []byte) (FileBlock, error) {
	h, err := DecodeBlockHeader(b)
	if err != nil {
		return FileBlock{}, relocate(err, fmtFileBlock.Name, "header", 0)
	}
	es, err := decodeEntries(fmtFileBlock.Name, b, fmtBlockHeader.Size, h.Count, blockCountOff, fmtFileSer.Size, DecodeFileSer)
	if err != nil {
		return FileBlock{}, err
	}
	return FileBlock{Header: h, Entries: es}, nil
}

// Format returns the catalogue entry of the FileBlock layout.
func (v FileBlock) Format() *Format { return fmtFileBlock }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v FileBlock) Append(dst []byte) ([]byte, error) {
	dst, err := v.Header.Append(dst)
	if err != nil {
		return dst, err
	}
	return appendAll(dst, v.Entries)
}

// SessionArrayV1 is the luo-v1 session array: a luo_session_header_ser and
// Header.Count 80-byte entries.
type SessionArrayV1 struct {
	Header  SessionHeader
	Entries []SessionSer
}

// DecodeSessionArrayV1 decodes the luo-v1 session header and its Count
// entries; a count the bytes cannot hold fails with ErrShort.
func DecodeSessionArrayV1(b []byte) (SessionArrayV1, error) {
	h, err := DecodeSessionHeader(b)
	if err != nil {
		return SessionArrayV1{}, relocate(err, fmtSessionArrayV1.Name, "header", 0)
	}
	es, err := decodeEntries(fmtSessionArrayV1.Name, b, fmtSessionHeader.Size, h.Count, sessionHeaderCountOff, fmtSessionSer.Size, DecodeSessionSer)
	if err != nil {
		return SessionArrayV1{}, err
	}
	return SessionArrayV1{Header: h, Entries: es}, nil
}

// Format returns the catalogue entry of the SessionArrayV1 layout.
func (v SessionArrayV1) Format() *Format { return fmtSessionArrayV1 }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v SessionArrayV1) Append(dst []byte) ([]byte, error) {
	dst, err := v.Header.Append(dst)
	if err != nil {
		return dst, err
	}
	return appendAll(dst, v.Entries)
}

// FileArrayV1 is the luo-v1 file array, which has no header: the count comes
// from the session's file_set_ser.
type FileArrayV1 struct {
	Entries []FileSer
}

// DecodeFileArrayV1 decodes count entries, failing with ErrShort if b cannot hold them.
func DecodeFileArrayV1(b []byte, count uint64) (FileArrayV1, error) {
	es, err := decodeEntries(fmtFileArrayV1.Name, b, 0, count, 0, fmtFileSer.Size, DecodeFileSer)
	if err != nil {
		return FileArrayV1{}, err
	}
	return FileArrayV1{Entries: es}, nil
}

// Format returns the catalogue entry of the FileArrayV1 layout.
func (v FileArrayV1) Format() *Format { return fmtFileArrayV1 }

// Append appends the encoding of v to dst; on error it returns dst unchanged.
func (v FileArrayV1) Append(dst []byte) ([]byte, error) { return appendAll(dst, v.Entries) }
