package image

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by [FormatError], testable with errors.Is.
var (
	// ErrFormat means the bytes break a rule of their format.
	ErrFormat = errors.New("malformed image")
	// ErrTruncated means the file ends before data its headers describe,
	// or a debugfs listing stops before its end.
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

// ErrInvalidArgument is wrapped by the writers' errors about what the
// caller asked for (segments unsorted, overlapping, empty, wrapping the
// address space or storing more than they hold, more segments than
// MaxSegments; a kdump block size, range alignment, page frame count or
// compression the format cannot hold), as opposed to errors of the memory
// read or the io.Writer.
var ErrInvalidArgument = errors.New("invalid argument")

// FormatError is malformed or unusable input at a file offset, in the
// style of debug/elf.FormatError. Findings use the same type.
//
// For the kdump file a flattened stream carries, the offset that matters to
// a user is where the bytes sit in the flattened file they hold, not in the
// file the segments rebuild: Off is then that input offset, and Rebuilt and
// RebuiltOff say where the bytes are in the rebuilt kdump file.
type FormatError struct {
	Off int64  // offset in the input file of the offending bytes; -1 for rebuilt bytes no flattened segment holds
	Msg string // what is wrong
	Val any    // the offending value, or nil
	Err error  // sentinel (ErrFormat, ErrTruncated, ErrUnsupported, ErrLimit, ErrDecompress ...), or the reader's error when a read failed

	Rebuilt    bool  // the error is about the kdump file a flattened stream rebuilds
	RebuiltOff int64 // offset in that rebuilt file, when Rebuilt

	inFlat bool // Off is already in the flattened file: an error of the stream itself
}

func (e *FormatError) Error() string {
	msg := e.Msg
	if e.Val != nil {
		msg += fmt.Sprintf(" '%v'", e.Val)
	}
	switch {
	case !e.Rebuilt:
		return fmt.Sprintf("image: offset %#x: %s: %v", e.Off, msg, e.Err)
	case e.Off < 0:
		return fmt.Sprintf("image: offset %#x of the rebuilt kdump file, which no flattened segment holds: %s: %v", e.RebuiltOff, msg, e.Err)
	}
	return fmt.Sprintf("image: offset %#x (%#x in the rebuilt kdump file): %s: %v", e.Off, e.RebuiltOff, msg, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(off int64, sentinel error, msg string, val any) *FormatError {
	return &FormatError{Off: off, Msg: msg, Val: val, Err: sentinel}
}
