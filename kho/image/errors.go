package image

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by [FormatError], testable with errors.Is.
var (
	// ErrFormat means the bytes break a rule of their format.
	ErrFormat = errors.New("malformed image")
	// ErrTruncated means the file ends before data its headers describe.
	ErrTruncated = errors.New("image truncated")
	// ErrUnsupported means a valid variant this package does not read.
	ErrUnsupported = errors.New("unsupported image variant")
	// ErrLimit means the file claims more than a reader limit allows.
	ErrLimit = errors.New("image exceeds a reader limit")
	// ErrDecompress means a compressed page did not decode to one page.
	ErrDecompress = errors.New("page decompression failed")
	// ErrUnknownFormat means detection recognised none of the formats.
	ErrUnknownFormat = errors.New("unknown image format")
	// ErrWrongFormat means the bytes are not in the format asked for.
	ErrWrongFormat = errors.New("image is not in the requested format")
)

// FormatError is malformed or unusable input at a file offset, in the
// style of debug/elf.FormatError. Findings use the same type.
type FormatError struct {
	Off int64  // file offset of the offending bytes (in the reassembled stream for flattened files)
	Msg string // what is wrong
	Val any    // the offending value, or nil
	Err error  // sentinel (ErrFormat, ErrTruncated, ErrUnsupported, ErrLimit, ErrDecompress ...), or the reader's error when a read failed
}

func (e *FormatError) Error() string {
	msg := e.Msg
	if e.Val != nil {
		msg += fmt.Sprintf(" '%v'", e.Val)
	}
	return fmt.Sprintf("image: offset %#x: %s: %v", e.Off, msg, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(off int64, sentinel error, msg string, val any) *FormatError {
	return &FormatError{Off: off, Msg: msg, Val: val, Err: sentinel}
}
