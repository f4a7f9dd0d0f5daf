package fdt

import (
	"encoding/binary"
	"fmt"
)

// Magic is the first word of every blob.
const Magic = 0xd00dfeed

// Header sizes: version 17 adds size_dt_struct to the 36-byte v16 header.
const (
	headerSizeV16 = 36
	headerSizeV17 = 40
)

// maxBlobSize is the largest totalsize a blob can have (readers treat the
// field as signed).
const maxBlobSize = 1<<31 - 1

// HeaderSize is the size of the version 17 header, the longest this package
// reads: HeaderSize bytes are always enough for ReadHeader.
const HeaderSize = headerSizeV17

// SizePrefixLen is the number of leading bytes SizePrefix reads: the magic
// and totalsize words.
const SizePrefixLen = 8

// SizePrefix returns the magic and totalsize words at the start of data
// without checking either, for a caller that must learn how many bytes a
// blob claims before it can read them (ReadHeader also checks the version
// and needs more bytes). ok is false when data is shorter than
// SizePrefixLen.
func SizePrefix(data []byte) (magic, totalSize uint32, ok bool) {
	if len(data) < SizePrefixLen {
		return 0, 0, false
	}
	b := readBuf(data)
	return b.uint32(), b.uint32(), true
}

// Header is the fixed header at the start of a blob, field for field.
type Header struct {
	Magic           uint32
	TotalSize       uint32
	OffDtStruct     uint32
	OffDtStrings    uint32
	OffMemRsvmap    uint32
	Version         uint32
	LastCompVersion uint32
	BootCPUIDPhys   uint32
	SizeDtStrings   uint32
	SizeDtStruct    uint32 // version 17 only; read raw otherwise
}

// Size is the number of header bytes the version defines.
func (h *Header) Size() int {
	if h.Version >= 17 {
		return headerSizeV17
	}
	return headerSizeV16
}

// readBuf is a cursor over big-endian packed fields.
type readBuf []byte

func (b *readBuf) uint32() uint32 {
	v := binary.BigEndian.Uint32(*b)
	*b = (*b)[4:]
	return v
}

func (b *readBuf) uint64() uint64 {
	v := binary.BigEndian.Uint64(*b)
	*b = (*b)[8:]
	return v
}

// parseHeader reads the header fields present in data (at most 40 bytes)
// and checks the magic and the version. It does not check the layout.
func parseHeader(data []byte) (Header, error) {
	var h Header
	if len(data) < 4 {
		return h, errAt(0, ErrTruncated, "%d bytes, too short for the magic", len(data))
	}
	if m := binary.BigEndian.Uint32(data); m != Magic {
		return h, errAt(0, ErrMagic, "magic %#08x, want %#08x", m, uint32(Magic))
	}
	if len(data) < 24 {
		return h, errAt(0, ErrTruncated, "%d bytes, too short for the header", len(data))
	}
	var raw [headerSizeV17]byte
	copy(raw[:], data)
	b := readBuf(raw[:])
	h = Header{
		Magic: b.uint32(), TotalSize: b.uint32(), OffDtStruct: b.uint32(),
		OffDtStrings: b.uint32(), OffMemRsvmap: b.uint32(), Version: b.uint32(),
		LastCompVersion: b.uint32(), BootCPUIDPhys: b.uint32(),
		SizeDtStrings: b.uint32(), SizeDtStruct: b.uint32(),
	}
	if h.Version != 16 && h.Version != 17 {
		return h, errAt(20, ErrVersion, "version %d, want 16 or 17", h.Version)
	}
	if h.LastCompVersion > h.Version {
		return h, errAt(24, ErrVersion, "last_comp_version %d above version %d", h.LastCompVersion, h.Version)
	}
	if len(data) < h.Size() {
		return h, errAt(0, ErrTruncated, "%d bytes, too short for the %d-byte v%d header", len(data), h.Size(), h.Version)
	}
	return h, nil
}

// Reservation is one memory reservation map entry.
type Reservation struct {
	Address uint64
	Size    uint64
}

func (r Reservation) String() string {
	return fmt.Sprintf("%#x+%#x", r.Address, r.Size)
}

// block kinds, in canonical layout order.
const (
	blockMemRsv = iota
	blockStruct
	blockStrings
	numBlocks
)

var blockNames = [numBlocks]string{"memory reservation map", "structure block", "strings block"}

// span is a half-open byte range [start, end) of the blob.
type span struct{ start, end int }

// overlaps reports whether two spans share a byte, or whether an empty span
// lies strictly inside the other (which no layout can reproduce).
func (a span) overlaps(b span) bool { return a.start < b.end && b.start < a.end }

// ReadHeader reads the header at the start of data and checks the magic
// and the version (16 or 17), not the layout: enough to learn TotalSize
// when scanning memory for blobs. Decode and Validate check the rest.
func ReadHeader(data []byte) (Header, error) {
	return parseHeader(data)
}

// checkTotalSize rejects a totalsize below the header, above what the
// format can hold, or above the limit, before anything is sized by it.
func checkTotalSize(h Header, limits Limits) error {
	if h.TotalSize < uint32(h.Size()) {
		return errAt(4, ErrLayout, "totalsize %d smaller than the %d-byte header", h.TotalSize, h.Size())
	}
	if h.TotalSize > maxBlobSize {
		return errAt(4, ErrLayout, "totalsize %#x above 2^31-1", h.TotalSize)
	}
	if int64(h.TotalSize) > int64(limits.MaxSize) {
		return errAt(4, ErrLimit, "totalsize %d above the %d-byte limit", h.TotalSize, limits.MaxSize)
	}
	return nil
}
