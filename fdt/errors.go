package fdt

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers can test the class of a problem with errors.Is.
var (
	ErrTruncated    = errors.New("truncated input")
	ErrMagic        = errors.New("bad magic")
	ErrVersion      = errors.New("unsupported version")
	ErrLayout       = errors.New("bad block layout")
	ErrReservations = errors.New("bad memory reservation map")
	ErrStructure    = errors.New("bad structure block")
	ErrName         = errors.New("bad name")
	ErrStrings      = errors.New("bad strings block reference")
	ErrDuplicate    = errors.New("duplicate node name")
	ErrPadding      = errors.New("non-zero padding")
	ErrLimit        = errors.New("limit exceeded")
	ErrValue        = errors.New("bad property value")
	ErrWriter       = errors.New("invalid writer call")
)

// Error describes a problem found in a blob or a property value: where it is
// (file offset, node path, property name) and what it is. It wraps one of
// the sentinel errors above.
type Error struct {
	Offset   int64  // byte offset in the blob, -1 when unknown
	Path     string // path of the node involved, "" when none
	Property string // property involved, "" when none
	Msg      string // what is wrong, one line
	Err      error  // sentinel
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fdt: ")
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "offset %#x: ", e.Offset)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		if e.Property != "" {
			fmt.Fprintf(&b, " property %q", e.Property)
		}
		b.WriteString(": ")
	} else if e.Property != "" {
		fmt.Fprintf(&b, "property %q: ", e.Property)
	}
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	b.WriteString(msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func errAt(off int, sentinel error, format string, args ...any) *Error {
	return &Error{Offset: int64(off), Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// Finding codes: stable identifiers of the non-fatal problems Decode reports.
const (
	FindTruncatedTail   = "fdt.truncated-tail"      // buffer shorter than totalsize, missing bytes not needed
	FindMissingString   = "fdt.missing-string"      // property name lies in the missing tail; Name is ""
	FindStructSizeShort = "fdt.struct-size-short"   // size_dt_struct ends before FDT_END
	FindNonzeroPadding  = "fdt.nonzero-padding"     // padding or gap bytes not zero
	FindDuplicateNode   = "fdt.duplicate-node"      // two siblings with the same name
	FindUnitCollision   = "fdt.unit-collision"      // "foo" beside "foo@unit": a lookup by "foo" is ambiguous
	FindTrailingBytes   = "fdt.trailing-bytes"      // buffer longer than totalsize
	FindSuppressed      = "fdt.findings-suppressed" // more findings than are kept (256)
)

// Finding is a non-fatal problem: a quirk lenient mode tolerated, or an
// observation (trailing bytes) that does not make the blob invalid.
type Finding struct {
	Offset  int64  // byte offset in the blob
	Path    string // node path, "" when none
	Code    string // one of the Find* constants
	Message string // one line
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s at %#x", f.Code, f.Offset)
	if f.Path != "" {
		s += " " + f.Path
	}
	return s + ": " + f.Message
}
