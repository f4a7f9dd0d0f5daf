package format

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

var le = binary.LittleEndian

// CString is a fixed char array exactly as stored, all of its bytes. The kernel
// fills these with strscpy, so they are NUL-terminated, but the bytes after the
// terminator are whatever the page held before: keeping them makes re-encoding
// reproduce the input.
type CString []byte

// MakeCString returns s NUL-padded to size bytes, as strscpy into a zeroed
// buffer would write it. s must leave room for the terminator and contain no NUL.
func MakeCString(s string, size int) (CString, error) {
	if len(s) >= size || bytes.IndexByte([]byte(s), 0) >= 0 {
		return nil, fmt.Errorf("format: string %q does not fit char[%d] with its NUL: %w", s, size, ErrValue)
	}
	c := make(CString, size)
	copy(c, s)
	return c, nil
}

// String returns the bytes before the first NUL, or all bytes if there is none.
func (c CString) String() string {
	if i := bytes.IndexByte(c, 0); i >= 0 {
		return string(c[:i])
	}
	return string(c)
}

// Terminated reports whether the array holds a NUL.
func (c CString) Terminated() bool { return bytes.IndexByte(c, 0) >= 0 }

// CleanPadding reports whether every byte after the first NUL is zero (what a
// freshly zeroed page gives; stale bytes are legal but worth a note).
func (c CString) CleanPadding() bool {
	i := bytes.IndexByte(c, 0)
	if i < 0 {
		return false
	}
	for _, b := range c[i:] {
		if b != 0 {
			return false
		}
	}
	return true
}

// MarshalJSON gives {"string": ..., "terminated": ...}, plus "raw" (hex of all
// bytes) when the array is unterminated or holds stale bytes after the NUL, so
// JSON output is readable and still shows what a string comparison would miss.
func (c CString) MarshalJSON() ([]byte, error) {
	v := struct {
		String     string `json:"string"`
		Terminated bool   `json:"terminated"`
		Raw        string `json:"raw,omitempty"`
	}{String: c.String(), Terminated: c.Terminated()}
	if !c.CleanPadding() {
		v.Raw = hex.EncodeToString(c)
	}
	return json.Marshal(v)
}

// reader decodes one struct by walking its catalogue table in order: every
// accessor names the field it expects, so a codec cannot read an offset the
// table does not give, nor skip a field.
type reader struct {
	f     *Format
	b     []byte // exactly f.Size bytes
	base  int64  // offset of b in the caller's blob
	path  string // field path prefix for nested structs
	index int    // element index within an array of structs, or -1
	i     int
	err   error
}

func newReader(f *Format, b []byte) reader {
	if len(b) < f.Size {
		return reader{f: f, err: &FormatError{Format: f.Name, Off: int64(len(b)),
			Msg: fmt.Sprintf("need %d bytes, have %d", f.Size, len(b)), Err: ErrShort}}
	}
	return reader{f: f, b: b[:f.Size]}
}

func (r *reader) fail(fl *Field, msg string, val any, sentinel error) {
	if r.err != nil {
		return
	}
	name := ""
	off := r.base
	if fl != nil {
		name = fl.Name
		off += int64(fl.Offset)
	}
	if r.path != "" {
		p := r.path
		if r.index >= 0 {
			p = fmt.Sprintf("%s[%d]", p, r.index)
		}
		name = p + "." + name
	}
	r.err = &FormatError{Format: r.f.Name, Field: name, Off: off, Msg: msg, Val: val, Err: sentinel}
}

// next returns the next table field, which must be called name and have type t.
func (r *reader) next(name string, t FieldType) *Field {
	if r.err != nil {
		return nil
	}
	if r.i >= len(r.f.Fields) {
		r.fail(nil, "codec reads "+name+" past the table", nil, ErrTable)
		return nil
	}
	fl := &r.f.Fields[r.i]
	if fl.Name != name || fl.Type != t {
		r.fail(fl, fmt.Sprintf("codec expects %s %s, table has %s %s", t, name, fl.Type, fl.Name), nil, ErrTable)
		return nil
	}
	r.i++
	return fl
}

func (r *reader) done() error {
	if r.err == nil && r.i != len(r.f.Fields) {
		r.fail(&r.f.Fields[r.i], "codec did not decode field", nil, ErrTable)
	}
	return r.err
}

func (r *reader) u16(name string) uint16 {
	if fl := r.next(name, FieldU16); fl != nil {
		return le.Uint16(r.b[fl.Offset:])
	}
	return 0
}

func (r *reader) u32(name string) uint32 {
	if fl := r.next(name, FieldU32); fl != nil {
		return le.Uint32(r.b[fl.Offset:])
	}
	return 0
}

func (r *reader) u64(name string) uint64 {
	if fl := r.next(name, FieldU64); fl != nil && fl.BitSize == 0 {
		return le.Uint64(r.b[fl.Offset:])
	}
	return 0
}

func (r *reader) phys(name string) uint64 {
	if fl := r.next(name, FieldPhys); fl != nil {
		return le.Uint64(r.b[fl.Offset:])
	}
	return 0
}

// bitfield reads a C bitfield of a little-endian u64 storage unit.
func (r *reader) bitfield(name string) uint64 {
	fl := r.next(name, FieldU64)
	if fl == nil {
		return 0
	}
	if fl.BitSize == 0 || fl.Size != 8 {
		r.fail(fl, "not a u64 bitfield", nil, ErrTable)
		return 0
	}
	return le.Uint64(r.b[fl.Offset:]) >> fl.BitOffset & (1<<fl.BitSize - 1)
}

func (r *reader) chars(name string) CString {
	if fl := r.next(name, FieldChars); fl != nil {
		return CString(bytes.Clone(r.b[fl.Offset : fl.Offset+fl.Size]))
	}
	return nil
}

func (r *reader) bitmap(name string) []byte {
	if fl := r.next(name, FieldBitmap); fl != nil {
		return bytes.Clone(r.b[fl.Offset : fl.Offset+fl.Size])
	}
	return nil
}

// skip consumes a field the Go type does not hold (flexible array members).
func (r *reader) skip(name string, t FieldType) { r.next(name, t) }

// physArray reads an array of u64 physical addresses.
func (r *reader) physArray(name string) []uint64 {
	fl := r.next(name, FieldArray)
	if fl == nil {
		return nil
	}
	if fl.Elem != FieldPhys && fl.Elem != FieldU64 {
		r.fail(fl, "not a u64 array", nil, ErrTable)
		return nil
	}
	out := make([]uint64, fl.Count)
	for i := range out {
		out[i] = le.Uint64(r.b[fl.Offset+8*i:])
	}
	return out
}

// sub returns a reader over a nested struct field; finish it with end.
func (r *reader) sub(name string) reader {
	fl := r.next(name, FieldStruct)
	if fl == nil {
		return reader{f: r.f, err: r.err}
	}
	r2 := r.nested(fl, fl.Struct, fl.Offset, fl.Name)
	return r2
}

// elems returns one reader per element of an array of structs; finish each with end.
func (r *reader) elems(name string) []reader {
	fl := r.next(name, FieldArray)
	if fl == nil {
		return nil
	}
	if fl.Elem != FieldStruct || fl.Count == 0 {
		r.fail(fl, "not an array of structs", nil, ErrTable)
		return nil
	}
	size := fl.Size / fl.Count
	out := make([]reader, fl.Count)
	for i := range out {
		out[i] = r.nested(fl, fl.Struct, fl.Offset+i*size, fl.Name)
		out[i].index = i
	}
	return out
}

func (r *reader) nested(fl *Field, of string, off int, name string) reader {
	nf, err := LookupFor(of, pageOf(r.f))
	if err != nil || off+nf.Size > len(r.b) {
		r.fail(fl, "nested struct "+of+" not in the table", nil, ErrTable)
		return reader{f: r.f, err: r.err}
	}
	path := name
	if r.path != "" {
		path = r.path + "." + name
	}
	return reader{f: nf, b: r.b[off : off+nf.Size], base: r.base + int64(off), path: path, index: -1}
}

func (r *reader) end(s *reader) {
	if err := s.done(); err != nil && r.err == nil {
		r.err = err
	}
}

// writer encodes one struct by walking its table, the mirror of reader.
type writer struct {
	f   *Format
	dst []byte // the caller's slice, extended by f.Size zero bytes
	b   []byte // the struct's bytes within dst
	n   int    // len(dst) before the struct
	i   int
	err error
}

func newWriter(f *Format, dst []byte) writer {
	n := len(dst)
	dst = slices.Grow(dst, f.Size)[:n+f.Size]
	clear(dst[n:])
	return writer{f: f, dst: dst, b: dst[n:], n: n}
}

func (w *writer) fail(fl *Field, msg string, val any, sentinel error) {
	if w.err != nil {
		return
	}
	e := &FormatError{Format: w.f.Name, Msg: msg, Val: val, Err: sentinel}
	if fl != nil {
		e.Field, e.Off = fl.Name, int64(fl.Offset)
	}
	w.err = e
}

func (w *writer) next(name string, t FieldType) *Field {
	if w.err != nil {
		return nil
	}
	if w.i >= len(w.f.Fields) {
		w.fail(nil, "codec writes "+name+" past the table", nil, ErrTable)
		return nil
	}
	fl := &w.f.Fields[w.i]
	if fl.Name != name || fl.Type != t {
		w.fail(fl, fmt.Sprintf("codec writes %s %s, table has %s %s", t, name, fl.Type, fl.Name), nil, ErrTable)
		return nil
	}
	w.i++
	return fl
}

// done returns dst with the struct appended, or the original dst and an error.
func (w *writer) done() ([]byte, error) {
	if w.err == nil && w.i != len(w.f.Fields) {
		w.fail(&w.f.Fields[w.i], "codec did not encode field", nil, ErrTable)
	}
	if w.err != nil {
		return w.dst[:w.n], w.err
	}
	return w.dst, nil
}

func (w *writer) u16(name string, v uint16) {
	if fl := w.next(name, FieldU16); fl != nil {
		le.PutUint16(w.b[fl.Offset:], v)
	}
}

func (w *writer) u32(name string, v uint32) {
	if fl := w.next(name, FieldU32); fl != nil {
		le.PutUint32(w.b[fl.Offset:], v)
	}
}

func (w *writer) u64(name string, v uint64) {
	if fl := w.next(name, FieldU64); fl != nil && fl.BitSize == 0 {
		le.PutUint64(w.b[fl.Offset:], v)
	}
}

func (w *writer) phys(name string, v uint64) {
	if fl := w.next(name, FieldPhys); fl != nil {
		le.PutUint64(w.b[fl.Offset:], v)
	}
}

func (w *writer) bitfield(name string, v uint64) {
	fl := w.next(name, FieldU64)
	if fl == nil {
		return
	}
	if fl.BitSize == 0 || fl.Size != 8 {
		w.fail(fl, "not a u64 bitfield", nil, ErrTable)
		return
	}
	if v>>fl.BitSize != 0 {
		w.fail(fl, fmt.Sprintf("value wider than %d bits", fl.BitSize), v, ErrValue)
		return
	}
	u := le.Uint64(w.b[fl.Offset:])
	le.PutUint64(w.b[fl.Offset:], u|v<<fl.BitOffset)
}

func (w *writer) bytesField(name string, t FieldType, v []byte) {
	fl := w.next(name, t)
	if fl == nil {
		return
	}
	if len(v) != fl.Size {
		w.fail(fl, fmt.Sprintf("%d bytes for a %d-byte field", len(v), fl.Size), len(v), ErrValue)
		return
	}
	copy(w.b[fl.Offset:], v)
}

func (w *writer) chars(name string, v CString)  { w.bytesField(name, FieldChars, v) }
func (w *writer) bitmap(name string, v []byte)  { w.bytesField(name, FieldBitmap, v) }
func (w *writer) skip(name string, t FieldType) { w.next(name, t) }

func (w *writer) physArray(name string, v []uint64) {
	fl := w.next(name, FieldArray)
	if fl == nil {
		return
	}
	if len(v) != fl.Count {
		w.fail(fl, fmt.Sprintf("%d elements for a %d-element array", len(v), fl.Count), len(v), ErrValue)
		return
	}
	for i, x := range v {
		le.PutUint64(w.b[fl.Offset+8*i:], x)
	}
}

// sub returns a writer over a nested struct field; finish it with end.
func (w *writer) sub(name string) writer {
	fl := w.next(name, FieldStruct)
	if fl == nil {
		return writer{f: w.f, err: w.err}
	}
	return w.nested(fl, fl.Struct, fl.Offset)
}

// elems returns one writer per element of an array of structs, after checking n.
func (w *writer) elems(name string, n int) []writer {
	fl := w.next(name, FieldArray)
	if fl == nil {
		return nil
	}
	if fl.Elem != FieldStruct || fl.Count == 0 {
		w.fail(fl, "not an array of structs", nil, ErrTable)
		return nil
	}
	if n != fl.Count {
		w.fail(fl, fmt.Sprintf("%d elements for a %d-element array", n, fl.Count), n, ErrValue)
		return nil
	}
	size := fl.Size / fl.Count
	out := make([]writer, n)
	for i := range out {
		out[i] = w.nested(fl, fl.Struct, fl.Offset+i*size)
	}
	return out
}

func (w *writer) nested(fl *Field, of string, off int) writer {
	nf, err := LookupFor(of, pageOf(w.f))
	if err != nil || off+nf.Size > len(w.b) {
		w.fail(fl, "nested struct "+of+" not in the table", nil, ErrTable)
		return writer{f: w.f, err: w.err}
	}
	b := w.b[off : off+nf.Size]
	return writer{f: nf, dst: b, b: b}
}

func (w *writer) end(s *writer) {
	if s.err == nil && s.i != len(s.f.Fields) {
		s.fail(&s.f.Fields[s.i], "codec did not encode field", nil, ErrTable)
	}
	if s.err != nil && w.err == nil {
		w.err = s.err
	}
}
