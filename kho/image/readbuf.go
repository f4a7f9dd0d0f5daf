package image

import "encoding/binary"

// readBuf is a cursor over a packed on-disk struct, as in archive/zip.
// Callers size the slice first; reading past its end panics, so every
// caller reads only structs whose length it has checked.
type readBuf struct {
	b  []byte
	bo binary.ByteOrder
}

func (r *readBuf) uint16() uint16 {
	v := r.bo.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *readBuf) uint32() uint32 {
	v := r.bo.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *readBuf) uint64() uint64 {
	v := r.bo.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *readBuf) skip(n int) { r.b = r.b[n:] }

func (r *readBuf) bytes(n int) []byte {
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
