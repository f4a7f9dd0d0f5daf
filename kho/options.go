package kho

import (
	"errors"
	"fmt"

	"github.com/khokit/khokit/format"
)

// Options bound and parameterise a decode. The zero value (or nil) means
// the defaults documented on each field.
type Options struct {
	// PageSize is the producing kernel's page size: 4096 (default), 16384
	// or 65536. The radix-tree geometry and every per-page capacity
	// (entries per block, FLB entries, vmalloc chunk slots) follow it.
	PageSize uint64
	// MaxPageOrder is the largest folio order the producer could
	// preserve (MAX_PAGE_ORDER; default 10).
	MaxPageOrder uint8
	// MaxBlocks caps the blocks of one linked-block chain (default
	// 10000, KHO_MAX_BLOCKS).
	MaxBlocks int
	// MaxTotalBlocks caps the blocks of all chains together (default
	// 100000, 400 MiB of block pages at 4 KiB).
	MaxTotalBlocks int
	// MaxRadixNodes caps the radix-tree pages (or kho-v1 chunk pages and
	// bitmaps) read while decoding the memory map (default 65536).
	MaxRadixNodes int
	// MaxRuns caps the preserved runs a memory map may decode to (default
	// 1<<22, 64 MiB of 16-byte runs). A map of alternating bits makes a run per two
	// bits: without a cap, 256 MiB of hostile leaves would decode to about
	// a billion runs.
	MaxRuns int
	// MaxBlobSize caps blob-size and sub-FDT sizes (default 1 MiB); the
	// blobs of all subtrees together are read up to 16 times it.
	MaxBlobSize uint64
	// MaxFolios caps the folio entries read for one memfd (default 1<<24,
	// a 64 GiB memfd of order-0 folios at 4 KiB); all memfds together may
	// hold four times as many.
	MaxFolios uint64
	// MaxFindingsPerCode caps how many findings of one code are kept;
	// the rest are counted in one "decode.findings-truncated" finding
	// (default 32).
	MaxFindingsPerCode int
	// Scratch lists the scratch regions, when known (from kho_data and the
	// scratch array): preserved state must not lie in them.
	Scratch []ScratchRegion
	// Lenient decodes FDTs in the fdt package's lenient mode.
	Lenient bool
	// KHOv1Bitmap is the size of the bitmaps (struct kho_mem_phys_bits)
	// a kho-v1 memory map points to: 512 bytes in Linux 6.16 and 6.17,
	// one page from 6.18 on. The zero value detects it from the chunk
	// elements and assumes pages (with an info finding) when they do not
	// tell.
	KHOv1Bitmap KHOv1BitmapSize
}

// KHOv1BitmapSize says how large a kho-v1 map's bitmaps are, which sets
// how many blocks each chunk element covers (its window).
type KHOv1BitmapSize uint8

const (
	// KHOv1BitmapDetect reads the size off the chunk elements: a bitmap
	// pointer that is 512-aligned but not page-aligned, or a phys_start
	// aligned to a 512-byte bitmap's window but not to a page bitmap's,
	// means 512 bytes; otherwise pages are assumed.
	KHOv1BitmapDetect KHOv1BitmapSize = iota
	// KHOv1Bitmap512 reads 512-byte bitmaps (PRESERVE_BITS = 4096,
	// Linux 6.16 and 6.17): slab objects, 512-aligned.
	KHOv1Bitmap512
	// KHOv1BitmapPage reads one-page bitmaps (PRESERVE_BITS =
	// PAGE_SIZE*8, Linux 6.18 on): page-aligned.
	KHOv1BitmapPage
)

func (s KHOv1BitmapSize) String() string {
	switch s {
	case KHOv1BitmapDetect:
		return "detect"
	case KHOv1Bitmap512:
		return "512"
	case KHOv1BitmapPage:
		return "page"
	}
	return fmt.Sprintf("KHOv1BitmapSize(%d)", uint8(s))
}

// ParseKHOv1BitmapSize reads "detect", "512" or "page", the spellings
// String returns.
func ParseKHOv1BitmapSize(s string) (KHOv1BitmapSize, error) {
	if v, ok := valueNamed(s, KHOv1BitmapDetect, KHOv1BitmapPage); ok {
		return v, nil
	}
	return 0, fmt.Errorf("%w: kho-v1 bitmap size %q (want detect, 512 or page)", ErrOptions, s)
}

// valueNamed returns the value in [first, last] whose String is s: the
// parser of an enum that spells its values with String.
func valueNamed[T interface {
	~uint8
	String() string
}](s string, first, last T) (T, bool) {
	for v := first; ; v++ {
		if v.String() == s {
			return v, true
		}
		if v == last {
			return 0, false
		}
	}
}

// ErrOptions is wrapped by the error for [Options] a decode cannot use,
// and for a release [Mainline] has no model of.
var ErrOptions = errors.New("kho: invalid options")

// regionEnd returns the first address past a scratch region, saturating
// at 2^64-1.
func regionEnd(r ScratchRegion) uint64 {
	if e := r.Addr + r.Size; e >= r.Addr {
		return e
	}
	return ^uint64(0)
}

func (o *Options) withDefaults() (Options, error) {
	var v Options
	if o != nil {
		v = *o
	}
	if v.PageSize == 0 {
		v.PageSize = 4096
	}
	if _, err := format.GeometryFor(format.PageSize(v.PageSize)); err != nil || v.PageSize > 1<<31 {
		return v, fmt.Errorf("%w: page size %d (want 4096, 16384 or 65536): %w", ErrOptions, v.PageSize, format.ErrPageSize)
	}
	if v.MaxPageOrder == 0 {
		v.MaxPageOrder = format.DefaultMaxPageOrder
	}
	if v.MaxPageOrder > 20 {
		return v, fmt.Errorf("%w: MaxPageOrder %d is above 20", ErrOptions, v.MaxPageOrder)
	}
	if v.MaxBlocks <= 0 {
		v.MaxBlocks = format.KHOMaxBlocks
	}
	if v.MaxTotalBlocks <= 0 {
		v.MaxTotalBlocks = 100000
	}
	if v.MaxRadixNodes <= 0 {
		v.MaxRadixNodes = 65536
	}
	if v.MaxRuns <= 0 {
		v.MaxRuns = 1 << 22
	}
	if v.MaxBlobSize == 0 {
		v.MaxBlobSize = 1 << 20
	}
	if v.MaxFolios == 0 {
		v.MaxFolios = 1 << 24
	}
	v.MaxFolios = min(v.MaxFolios, 1<<40) // keeps nr_folios*16 far from overflow
	if v.KHOv1Bitmap > KHOv1BitmapPage {
		return v, fmt.Errorf("%w: %v", ErrOptions, v.KHOv1Bitmap)
	}
	if v.MaxFindingsPerCode <= 0 {
		v.MaxFindingsPerCode = 32
	}
	return v, nil
}

// geometry is what depends on the page size, taken from the format
// catalogue (one source of truth) and flattened for the hot loops.
type geometry struct {
	pageSize   uint64
	pageShift  uint
	keyWidth   uint            // KHO_RADIX_KEY_WIDTH: widest valid radix key in bits
	tableLog2  uint            // KHO_TABLE_SIZE_LOG2: index bits per table level
	bitmapLog2 uint            // KHO_BITMAP_SIZE_LOG2: index bits of a leaf
	depth      int             // KHO_TREE_MAX_DEPTH: table levels + the leaf level
	caps       format.Geometry // per-page capacities and the radix geometry
}

// newGeometry is called with a page size withDefaults accepted.
func newGeometry(pageSize uint64) geometry {
	ps := format.PageSize(pageSize)
	caps, err := format.GeometryFor(ps)
	if err != nil {
		panic(err) // unreachable: page sizes are checked first
	}
	r := caps.Radix
	return geometry{
		pageSize:   pageSize,
		pageShift:  r.PageShift,
		keyWidth:   r.KeyWidth,
		tableLog2:  r.TableLog2,
		bitmapLog2: r.BitmapLog2,
		depth:      r.Depth,
		caps:       caps,
	}
}

// levelShift is the key bit where the table index of level (1..depth-1)
// starts.
func (g geometry) levelShift(level int) uint { return g.caps.Radix.Shift(level) }
