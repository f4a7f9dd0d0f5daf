package format

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (usually inside a *FormatError), so callers can test with errors.Is.
var (
	// ErrShort: the bytes end before the structure or its entries do.
	ErrShort = errors.New("short buffer")
	// ErrUnknownVersion: a version field or compatible string this package does not know.
	ErrUnknownVersion = errors.New("unknown version")
	// ErrCompat: a malformed compatible string (empty part, bad name, unsorted components).
	ErrCompat = errors.New("malformed compatible")
	// ErrValue: a value that does not fit its field when encoding (wrong array length,
	// bitfield overflow).
	ErrValue = errors.New("value does not fit field")
	// ErrUnknownFormat: no catalogue entry with that name or compatible.
	ErrUnknownFormat = errors.New("unknown format")
	// ErrNotStruct: the format is not a fixed struct or container (an FDT format), so
	// it has no byte codec here.
	ErrNotStruct = errors.New("format has no struct codec")
	// ErrKey: a radix key that no writer produces (zero, or wider than KHO_RADIX_KEY_WIDTH).
	ErrKey = errors.New("invalid radix key")
	// ErrOrder: a page order above the maximum page order.
	ErrOrder = errors.New("page order out of range")
	// ErrAlign: an address not aligned to its block size.
	ErrAlign = errors.New("misaligned address")
	// ErrPageSize: a page size other than 4, 16 or 64 KiB.
	ErrPageSize = errors.New("unsupported page size")
	// ErrTable: the catalogue table and a codec disagree (a bug in this package).
	ErrTable = errors.New("catalogue table mismatch")
)

// FormatError locates a decoding or encoding problem: the catalogue format, the
// field (a path such as "entries[2].name"), the byte offset within the blob
// that was handed to the decoder, and the offending value. It wraps a sentinel.
type FormatError struct {
	Format string // catalogue name, e.g. "luo-flb"
	Field  string // field path, "" when the problem is the whole structure
	Off    int64  // byte offset of the field in the decoded blob
	Msg    string
	Val    any // offending value, or nil
	Err    error
}

func (e *FormatError) Error() string {
	s := "format: " + e.Format
	if e.Field != "" {
		s += "." + e.Field
	}
	s += fmt.Sprintf(" at byte %#x: %s", e.Off, e.Msg)
	if e.Val != nil {
		s += fmt.Sprintf(" (%v)", e.Val)
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

// relocate returns err with its offset moved by base and its field prefixed, when
// err is a *FormatError; containers use it to report positions within the whole blob.
func relocate(err error, format, prefix string, base int64) error {
	var fe *FormatError
	if !errors.As(err, &fe) {
		return err
	}
	c := *fe
	c.Off += base
	if prefix != "" {
		if c.Field != "" {
			c.Field = prefix + "." + c.Field
		} else {
			c.Field = prefix
		}
	}
	if format != "" {
		c.Format = format
	}
	return &c
}
