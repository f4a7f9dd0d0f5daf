package format

import (
	"bytes"
	"fmt"
)

// Value is one decoded leaf field, for printing any catalogue format
// generically (khodump show, posted layouts without a typed codec).
type Value struct {
	Path  string   // "name", "file_set_ser.files", "entries[2].count", "bitmaps[3].bitmap"
	Field *Field   // the table field
	Off   int      // byte offset in the blob
	Uint  uint64   // integer, phys and bitfield values
	Chars CString  // FieldChars
	Bytes []byte   // FieldBitmap and FieldBytes
	Uints []uint64 // arrays of u64 or phys
}

// String renders the value the way it is stored: hex for addresses and raw
// integers, a quoted string for char arrays (with a note when unterminated).
func (v Value) String() string {
	switch v.Field.Type {
	case FieldChars:
		s := fmt.Sprintf("%q", v.Chars.String())
		if !v.Chars.Terminated() {
			s += " (unterminated)"
		} else if !v.Chars.CleanPadding() {
			s += " (stale bytes after NUL)"
		}
		return s
	case FieldBitmap, FieldBytes:
		n := 0
		for _, c := range v.Bytes {
			for ; c != 0; c &= c - 1 {
				n++
			}
		}
		return fmt.Sprintf("%d bytes, %d bits set", len(v.Bytes), n)
	case FieldArray:
		used := 0
		for _, x := range v.Uints {
			if x != 0 {
				used++
			}
		}
		return fmt.Sprintf("%d entries, %d non-zero", len(v.Uints), used)
	case FieldPhys:
		return fmt.Sprintf("%#x", v.Uint)
	}
	return fmt.Sprintf("%d (%#x)", v.Uint, v.Uint)
}

// Values decodes b field by field from the table. Struct formats give every
// leaf field (nested structs and arrays of structs flattened into paths);
// container formats give the header's fields under "header." and then each
// entry under "entries[i].", the entry count coming from the header's count
// field (or, without a header, from len(b)) and bounded by the bytes. FDT
// formats fail with ErrNotStruct.
func (f *Format) Values(b []byte) ([]Value, error) {
	ps := pageOf(f)
	switch f.Kind {
	case KindStruct:
		if len(b) < f.Size {
			return nil, &FormatError{Format: f.Name, Off: int64(len(b)), Msg: fmt.Sprintf("need %d bytes, have %d", f.Size, len(b)), Err: ErrShort}
		}
		return appendValues(nil, f, b, 0, "", ps)
	case KindContainer:
		e, err := LookupFor(f.Entry, ps)
		if err != nil {
			return nil, err
		}
		var out []Value
		off := 0
		var count uint64
		if f.Header != "" {
			h, err := LookupFor(f.Header, ps)
			if err != nil {
				return nil, err
			}
			if len(b) < h.Size {
				return nil, &FormatError{Format: f.Name, Field: "header", Off: int64(len(b)), Msg: fmt.Sprintf("need %d bytes, have %d", h.Size, len(b)), Err: ErrShort}
			}
			if out, err = appendValues(out, h, b, 0, "header.", ps); err != nil {
				return nil, err
			}
			cf := h.Field("count")
			if cf == nil {
				return nil, &FormatError{Format: f.Name, Field: "header", Msg: "header has no count", Err: ErrTable}
			}
			count = le.Uint64(b[cf.Offset:])
			off = h.Size
			if err := entriesFit(f.Name, len(b), off, count, cf.Offset, e.Size); err != nil {
				return nil, err
			}
		} else {
			count = uint64(min(len(b)/e.Size, f.Capacity))
		}
		for i := 0; i < int(count); i++ {
			at := off + i*e.Size
			var err error
			if out, err = appendValues(out, e, b[at:at+e.Size], at, fmt.Sprintf("entries[%d].", i), ps); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("format: %s (%s): %w", f.Name, f.Kind, ErrNotStruct)
}

func appendValues(out []Value, f *Format, b []byte, base int, prefix string, ps PageSize) ([]Value, error) {
	for i := range f.Fields {
		fl := &f.Fields[i]
		v := Value{Path: prefix + fl.Name, Field: fl, Off: base + fl.Offset}
		raw := b[fl.Offset : fl.Offset+fl.Size]
		switch fl.Type {
		case FieldU8:
			v.Uint = uint64(raw[0])
		case FieldU16:
			v.Uint = uint64(le.Uint16(raw))
		case FieldU32:
			v.Uint = uint64(le.Uint32(raw))
		case FieldU64, FieldPhys:
			v.Uint = le.Uint64(raw)
			if fl.BitSize > 0 {
				v.Uint = v.Uint >> fl.BitOffset & (1<<fl.BitSize - 1)
			}
		case FieldChars:
			v.Chars = CString(bytes.Clone(raw))
		case FieldBitmap, FieldBytes:
			v.Bytes = bytes.Clone(raw)
		case FieldStruct, FieldArray:
			if fl.Type == FieldArray && fl.Elem != FieldStruct {
				v.Uints = make([]uint64, fl.Count)
				for j := range v.Uints {
					v.Uints[j] = le.Uint64(raw[8*j:])
				}
				break
			}
			n, err := LookupFor(fl.Struct, ps)
			if err != nil {
				return nil, &FormatError{Format: f.Name, Field: fl.Name, Off: int64(base + fl.Offset), Msg: "nested struct not in the table", Err: ErrTable}
			}
			if fl.Type == FieldStruct {
				if out, err = appendValues(out, n, raw, base+fl.Offset, v.Path+".", ps); err != nil {
					return nil, err
				}
				continue
			}
			for j := 0; j < fl.Count; j++ {
				at := j * n.Size
				if out, err = appendValues(out, n, raw[at:at+n.Size], base+fl.Offset+at, fmt.Sprintf("%s[%d].", v.Path, j), ps); err != nil {
					return nil, err
				}
			}
			continue
		}
		out = append(out, v)
	}
	return out, nil
}
