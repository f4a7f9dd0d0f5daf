package image

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/golang/snappy"
	"github.com/khokit/khokit/kho/physmem"
	"github.com/klauspost/compress/zstd"
)

// KdumpOptions tunes [WriteKdump]. The zero value writes a little-endian
// x86_64 version 6 dump of 4096-byte pages, uncompressed.
type KdumpOptions struct {
	ByteOrder binary.AppendByteOrder // binary.LittleEndian (default) or binary.BigEndian
	BlockSize uint32                 // page size; default 4096
	// Compression is PageZlib, PageSnappy, PageZstd or 0 for none. As
	// makedumpfile does, a page whose compressed form is not smaller than
	// a block is stored uncompressed.
	Compression PageFlags
	Release     string // utsname release, e.g. "7.3.4"
	Machine     string // utsname machine; default "x86_64"
	VMCoreInfo  []byte // when non-nil, stored in the sub-header blocks
	// ExcludeZero leaves pages that read as all zeros out of the 2nd
	// bitmap, like makedumpfile's dump level 1.
	ExcludeZero bool

	compress func(page []byte) ([]byte, PageFlags) // tests: any other encoder
	layout   KdumpLayout                           // tests: 32-bit headers
}

// WriteKdump writes a makedumpfile kdump-compressed file (header version
// 6) of the ranges of m: every page frame of a Present or Excluded range is
// set in the 1st bitmap, only those of Present ranges (minus zero pages
// with ExcludeZero) in the 2nd, and each dumped page gets a descriptor and
// its data. Ranges must be aligned to the block size. Pages are compressed
// twice (once to size the descriptors), so memory stays one page.
func WriteKdump(w io.Writer, m physmem.Memory, ranges []physmem.Range, opts *KdumpOptions) error {
	var o KdumpOptions
	if opts != nil {
		o = *opts
	}
	if o.ByteOrder == nil {
		o.ByteOrder = binary.LittleEndian
	}
	if o.BlockSize == 0 {
		o.BlockSize = 4096
	}
	if o.Machine == "" {
		o.Machine = "x86_64"
	}
	if !validBlockSize(o.BlockSize) {
		return fmt.Errorf("image: kdump block size %d is not a power of two in [512, 1 MiB]: %w", o.BlockSize, ErrInvalidArgument)
	}
	enc, err := newPageEncoder(o) // an argument check too: before the bitmaps are allocated
	if err != nil {
		return err
	}
	bs := uint64(o.BlockSize)
	var maxPFN uint64
	for _, r := range ranges {
		if r.Size == 0 || r.State != physmem.Present && r.State != physmem.Excluded {
			continue
		}
		if r.Start%bs != 0 || r.Size%bs != 0 {
			return fmt.Errorf("image: range %v is not aligned to the %d-byte block: %w", r, bs, ErrInvalidArgument)
		}
		maxPFN = max(maxPFN, r.End()/bs)
	}
	if maxPFN > 1<<32 {
		return fmt.Errorf("image: %d page frames need bitmaps beyond 512 MiB: %w", maxPFN, ErrInvalidArgument)
	}
	bitmapBlocks := ((maxPFN+7)/8 + bs - 1) / bs // per bitmap
	if bitmapBlocks == 0 {
		bitmapBlocks = 1
	}
	bitmap1 := make([]byte, bitmapBlocks*bs)
	bitmap2 := make([]byte, bitmapBlocks*bs)

	page := make([]byte, bs)
	var dumped []uint64 // page frames in the 2nd bitmap, ascending
	var dataSize uint64
	for _, r := range ranges {
		if r.Size == 0 || r.State != physmem.Present && r.State != physmem.Excluded {
			continue
		}
		for pfn := r.Start / bs; pfn < r.End()/bs; pfn++ {
			bitmap1[pfn/8] |= 1 << (pfn % 8)
			if r.State != physmem.Present {
				continue
			}
			if _, err := m.ReadAt(page, pfn*bs); err != nil {
				return err
			}
			if o.ExcludeZero && allZero(page) {
				continue
			}
			bitmap2[pfn/8] |= 1 << (pfn % 8)
			dumped = append(dumped, pfn)
			data, _ := enc(page)
			dataSize += uint64(len(data))
		}
	}

	bo := o.ByteOrder
	subLen := map[KdumpLayout]int{Kdump64: kdumpSubHeaderSize, Kdump32Packed: 80, Kdump32Padded: 96}[o.layout]
	subBlocks := (uint64(subLen+len(o.VMCoreInfo)) + bs - 1) / bs
	hdr := make([]byte, 0, bs)
	hdr = append(hdr, KdumpSignature...)
	hdr = bo.AppendUint32(hdr, 6)
	for _, s := range []string{"Linux", "khokit", o.Release, "", o.Machine, "(none)"} {
		f := make([]byte, utsLen)
		copy(f[:utsLen-1], s)
		hdr = append(hdr, f...)
	}
	if o.layout == Kdump64 {
		hdr = append(hdr, make([]byte, 6+16)...) // padding, timestamp
	} else {
		hdr = append(hdr, make([]byte, 2+8)...)
	}
	hdr = bo.AppendUint32(hdr, uint32(o.Compression))
	hdr = bo.AppendUint32(hdr, o.BlockSize)
	hdr = bo.AppendUint32(hdr, uint32(subBlocks))
	hdr = bo.AppendUint32(hdr, uint32(2*bitmapBlocks))
	hdr = bo.AppendUint32(hdr, uint32(min(maxPFN, 1<<32-1)))
	hdr = bo.AppendUint32(hdr, 0)
	hdr = bo.AppendUint32(hdr, 0)
	hdr = bo.AppendUint32(hdr, 0)
	hdr = bo.AppendUint32(hdr, 0)
	hdr = bo.AppendUint32(hdr, 1) // nr_cpus
	hdr = hdr[:bs]

	var vmcoreOff uint64
	if o.VMCoreInfo != nil {
		vmcoreOff = bs + uint64(subLen)
	}
	sub := make([]byte, 0, subBlocks*bs)
	ulong := func(v uint64) {
		if o.layout == Kdump64 {
			sub = bo.AppendUint64(sub, v)
		} else {
			sub = bo.AppendUint32(sub, uint32(v))
		}
	}
	offT := func(v uint64) { // an off_t, aligned as the layout's ABI does
		if o.layout == Kdump32Padded && len(sub)%8 != 0 {
			sub = append(sub, 0, 0, 0, 0)
		}
		sub = bo.AppendUint64(sub, v)
	}
	ulong(0)                      // phys_base
	sub = bo.AppendUint32(sub, 1) // dump_level
	sub = bo.AppendUint32(sub, 0) // split
	ulong(0)                      // start_pfn
	ulong(maxPFN)                 // end_pfn
	offT(vmcoreOff)
	ulong(uint64(len(o.VMCoreInfo)))
	offT(0) // notes
	ulong(0)
	offT(0) // eraseinfo
	ulong(0)
	offT(0)
	offT(maxPFN)
	offT(maxPFN)
	if len(sub) != subLen {
		return fmt.Errorf("image: kdump %v sub-header is %d bytes, not %d", o.layout, len(sub), subLen)
	}
	sub = append(sub, o.VMCoreInfo...)
	sub = append(sub, make([]byte, subBlocks*bs-uint64(len(sub)))...)

	bw := bufio.NewWriterSize(w, copyChunk)
	for _, b := range [][]byte{hdr, sub, bitmap1, bitmap2} {
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	descOff := (1 + subBlocks + 2*bitmapBlocks) * bs
	dataOff := descOff + uint64(len(dumped))*kdumpPageDescSize
	off := dataOff
	for _, pfn := range dumped {
		if _, err := m.ReadAt(page, pfn*bs); err != nil {
			return err
		}
		data, flags := enc(page)
		d := make([]byte, 0, kdumpPageDescSize)
		d = bo.AppendUint64(d, off)
		d = bo.AppendUint32(d, uint32(len(data)))
		d = bo.AppendUint32(d, uint32(flags))
		d = bo.AppendUint64(d, 0)
		if _, err := bw.Write(d); err != nil {
			return err
		}
		off += uint64(len(data))
	}
	if off-dataOff != dataSize {
		return errors.New("image: memory changed while the kdump file was written")
	}
	for _, pfn := range dumped {
		if _, err := m.ReadAt(page, pfn*bs); err != nil {
			return err
		}
		data, _ := enc(page)
		if _, err := bw.Write(data); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// newPageEncoder returns a function that compresses one page as o asks,
// falling back to the raw page when compression does not shrink it. The
// returned slice is valid until the next call.
func newPageEncoder(o KdumpOptions) (func([]byte) ([]byte, PageFlags), error) {
	if o.compress != nil {
		return o.compress, nil
	}
	var buf bytes.Buffer
	var out []byte
	pick := func(page, c []byte, f PageFlags) ([]byte, PageFlags) {
		if len(c) >= len(page) {
			return page, 0
		}
		return c, f
	}
	switch o.Compression {
	case 0:
		return func(p []byte) ([]byte, PageFlags) { return p, 0 }, nil
	case PageZlib:
		zw := zlib.NewWriter(&buf)
		return func(p []byte) ([]byte, PageFlags) {
			buf.Reset()
			zw.Reset(&buf)
			zw.Write(p)
			zw.Close()
			return pick(p, buf.Bytes(), PageZlib)
		}, nil
	case PageSnappy:
		return func(p []byte) ([]byte, PageFlags) {
			out = snappy.Encode(out[:cap(out)], p)
			return pick(p, out, PageSnappy)
		}, nil
	case PageZstd:
		ze, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return func(p []byte) ([]byte, PageFlags) {
			out = ze.EncodeAll(p, out[:0])
			return pick(p, out, PageZstd)
		}, nil
	}
	return nil, fmt.Errorf("image: kdump writer cannot compress with %v: %w", o.Compression, ErrInvalidArgument)
}
