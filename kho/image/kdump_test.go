package image

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

func writeTestKdump(t testing.TB, m physmem.Memory, ranges []physmem.Range, opts *KdumpOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteKdump(&buf, m, ranges, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lzoLiteral encodes p as one LZO1X literal run and the end marker: valid
// LZO1X, which no Go package here can produce otherwise.
func lzoLiteral(p []byte) ([]byte, PageFlags) {
	n := len(p) - 18
	out := []byte{0}
	for ; n > 255; n -= 255 {
		out = append(out, 0)
	}
	out = append(out, byte(n))
	out = append(out, p...)
	return append(out, 0x11, 0, 0), PageLZO
}

// lzoRepeat encodes a page that repeats its first 4 bytes as LZO1X (4
// literals, then one match at distance 4), and stores any other page raw.
func lzoRepeat(p []byte) ([]byte, PageFlags) {
	for i := 4; i < len(p); i++ {
		if p[i] != p[i-4] {
			return p, 0
		}
	}
	out := append([]byte{17 + 4}, p[:4]...)
	out = append(out, 0x20) // M3, long length
	n := len(p) - 4 - 33
	for ; n > 255; n -= 255 {
		out = append(out, 0)
	}
	out = append(out, byte(n), 3<<2, 0) // distance 4, no trailing literals
	return append(out, 0x11, 0, 0), PageLZO
}

// kdumpWantRanges is the memory a kdump file of testMemory describes: the
// excluded range is in the 1st bitmap only.
var kdumpWantRanges = []physmem.Range{
	{Start: 0x1000, Size: 0x9f000, State: physmem.Present},
	{Start: 0x100000, Size: 0x200000, State: physmem.Present},
	{Start: 0x300000, Size: 0x4000, State: physmem.Excluded},
	{Start: 0x1000000, Size: 0x10000, State: physmem.Present},
}

func TestKdumpRoundTrip(t *testing.T) {
	src := testMemory(t)
	for _, tt := range []struct {
		name string
		opts KdumpOptions
	}{
		{"uncompressed", KdumpOptions{}},
		{"zlib", KdumpOptions{Compression: PageZlib, VMCoreInfo: []byte(testVMCoreInfo), Release: "7.3.4"}},
		{"snappy", KdumpOptions{Compression: PageSnappy}},
		{"zstd", KdumpOptions{Compression: PageZstd}},
		{"lzo", KdumpOptions{compress: lzoRepeat}},
		{"big-endian", KdumpOptions{ByteOrder: binary.BigEndian, Compression: PageZlib, Machine: "s390x"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := writeTestKdump(t, src, src.Ranges(), &tt.opts)
			k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			if len(k.Findings) != 0 {
				t.Errorf("findings: %v", k.Findings)
			}
			if tt.opts.Compression != 0 || tt.opts.compress != nil {
				if len(data) > 1<<20 { // 2.8 MiB of memory, mostly zero pages
					t.Errorf("%d bytes: pages were not compressed", len(data))
				}
			}
			if k.Header.Version != 6 || k.Header.BlockSize != 4096 || k.Header.MaxMapnr != 0x1010 {
				t.Errorf("header %+v", k.Header)
			}
			if d := cmp.Diff(kdumpWantRanges, k.Ranges()); d != "" {
				t.Errorf("ranges (-want +got):\n%s", d)
			}
			compareData(t, src, k, presentRanges(src.Ranges()))
			wantAddrErr(t, k, 0x303ff0, 0x20, 0, 0x303ff0, physmem.ErrExcluded)
			wantAddrErr(t, k, 0x2ffff0, 0x20, 0x10, 0x300000, physmem.ErrExcluded)
			wantAddrErr(t, k, 0x304000, 1, 0, 0x304000, physmem.ErrAbsent)
			wantAddrErr(t, k, 0x1010000, 1, 0, 0x1010000, physmem.ErrAbsent)
			wantAddrErr(t, k, 0, 1, 0, 0, physmem.ErrAbsent)
			if tt.opts.VMCoreInfo != nil {
				if v, _ := k.VMCoreInfo.Get("OSRELEASE"); v != "7.3.4" || k.Header.Release != "7.3.4" {
					t.Errorf("VMCOREINFO %+v, release %q", k.VMCoreInfo, k.Header.Release)
				}
			}
		})
	}
}

// compareData checks page contents only (kdump Ranges are coarser).
func compareData(t *testing.T, want, got physmem.Memory, ranges []physmem.Range) {
	t.Helper()
	w, g := make([]byte, 4096), make([]byte, 4096)
	for _, r := range ranges {
		for o := uint64(0); o < r.Size; o += 4096 { // by offset: r may end at 2^64
			a, n := r.Start+o, min(4096, r.Size-o)
			if _, err := want.ReadAt(w[:n], a); err != nil {
				t.Fatalf("source read %#x: %v", a, err)
			}
			if _, err := got.ReadAt(g[:n], a); err != nil {
				t.Fatalf("image read %#x: %v", a, err)
			}
			if !bytes.Equal(w[:n], g[:n]) {
				t.Fatalf("page %#x differs", a)
			}
		}
	}
}

func TestKdumpExcludeZero(t *testing.T) {
	src := testMemory(t)
	data := writeTestKdump(t, src, src.Ranges(), &KdumpOptions{Compression: PageZlib, ExcludeZero: true})
	k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var nonZero []physmem.Range
	for _, r := range src.StoredRanges() {
		if r.Start != 0x5000 {
			nonZero = append(nonZero, r)
		}
	}
	compareData(t, src, k, nonZero)
	wantAddrErr(t, k, 0x5000, 8, 0, 0x5000, physmem.ErrExcluded)
	wantAddrErr(t, k, 0x3000, 8, 0, 0x3000, physmem.ErrExcluded) // never written: zeros, excluded
	if len(data) > 64<<10 {
		t.Errorf("%d bytes: zero pages were written", len(data))
	}
}

// kdumpFixture is a little-endian dump of two pages at pfns 1 and 2,
// written with enc, and the offset of its first page descriptor.
//
// A nil enc stores pages uncompressed; patch, when not nil, then edits the
// file, given the page descriptors' offset.
func kdumpFixture(t *testing.T, enc func([]byte) ([]byte, PageFlags), patch func(data []byte, desc int) []byte) ([]byte, int) {
	t.Helper()
	if enc == nil {
		enc = func(p []byte) ([]byte, PageFlags) { return p, 0 }
	}
	var s physmem.Sparse
	if err := s.AddRange(0x1000, 0x2000, physmem.Present); err != nil {
		t.Fatal(err)
	}
	s.WriteAt(bytes.Repeat([]byte{0x5a}, 0x2000), 0x1000)
	data := writeTestKdump(t, &s, s.Ranges(), &KdumpOptions{compress: enc})
	le := binary.LittleEndian
	bs := le.Uint32(data[428:])
	desc := int((1 + le.Uint32(data[432:]) + le.Uint32(data[436:])) * bs)
	if patch != nil {
		data = patch(data, desc)
	}
	return data, desc
}

func zlibOf(n int) func([]byte) ([]byte, PageFlags) {
	return func([]byte) ([]byte, PageFlags) {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write(make([]byte, n))
		w.Close()
		return b.Bytes(), PageZlib
	}
}

func TestKdumpHostile(t *testing.T) {
	le := binary.LittleEndian
	tests := []struct {
		name     string
		enc      func([]byte) ([]byte, PageFlags)
		patch    func(d []byte, desc int) []byte
		openErr  error // fatal at open
		off      int64 // of the open error, or of the read error's FormatError
		finding  error
		readErr  error // reading 0x1000 fails with this (wrapped in AddrError)
		readN    int
		checkOff bool
	}{
		{name: "block_size 0", patch: func(d []byte, _ int) []byte { le.PutUint32(d[428:], 0); return d }, openErr: ErrFormat, off: 428},
		{name: "block_size huge", patch: func(d []byte, _ int) []byte { le.PutUint32(d[428:], 1<<30); return d }, openErr: ErrFormat, off: 428},
		{name: "block_size not a power of two", patch: func(d []byte, _ int) []byte { le.PutUint32(d[428:], 4097); return d }, openErr: ErrFormat, off: 428},
		{name: "header version 7", patch: func(d []byte, _ int) []byte { le.PutUint32(d[8:], 7); return d }, openErr: ErrUnsupported, off: 8},
		{name: "bitmap blocks past the file", patch: func(d []byte, _ int) []byte { le.PutUint32(d[436:], 0xffffffff); return d }, openErr: ErrTruncated, off: 436},
		{name: "sub-header past the file", patch: func(d []byte, _ int) []byte { le.PutUint32(d[432:], 0x7fffffff); return d }, openErr: ErrTruncated, off: 432},
		{name: "short header", patch: func(d []byte, _ int) []byte { return d[:100] }, openErr: ErrTruncated, off: 100},
		{name: "bitmap smaller than max_mapnr", patch: func(d []byte, _ int) []byte {
			le.PutUint64(d[4096+96:], 1<<40)
			return d
		}, finding: ErrFormat},
		{name: "page_desc size 0", patch: func(d []byte, desc int) []byte { le.PutUint32(d[desc+8:], 0); return d }, readErr: ErrFormat},
		{name: "page_desc size above block", patch: func(d []byte, desc int) []byte { le.PutUint32(d[desc+8:], 4097); return d }, readErr: ErrFormat},
		{name: "uncompressed size below block", patch: func(d []byte, desc int) []byte { le.PutUint32(d[desc+8:], 4000); return d }, readErr: ErrFormat},
		{name: "page data past the file", patch: func(d []byte, desc int) []byte { le.PutUint64(d[desc:], 1<<40); return d }, readErr: ErrTruncated},
		{name: "descriptors cut off", patch: func(d []byte, desc int) []byte { return d[:desc+10] }, readErr: ErrTruncated},
		{name: "zlib short page", enc: zlibOf(4095), readErr: ErrDecompress},
		{name: "zlib long page", enc: zlibOf(4097), readErr: ErrDecompress},
		{name: "zlib bomb", enc: zlibOf(1 << 20), patch: func(d []byte, desc int) []byte {
			le.PutUint32(d[desc+8:], min(le.Uint32(d[desc+8:]), 4096)) // 1 MiB of zeros compresses to about 1 KiB
			return d
		}, readErr: ErrDecompress},
		{name: "snappy wrong length", enc: func(p []byte) ([]byte, PageFlags) {
			return []byte{0x10, 0x3c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, PageSnappy
		}, readErr: ErrDecompress},
		{name: "zstd garbage", enc: func(p []byte) ([]byte, PageFlags) { return []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0}, PageZstd }, readErr: ErrDecompress},
		{name: "lzo garbage", enc: func(p []byte) ([]byte, PageFlags) { return []byte{0x20, 0xff, 0xff, 0xff}, PageLZO }, readErr: ErrDecompress},
		{name: "lzo short literal", enc: func(p []byte) ([]byte, PageFlags) { return lzoLiteral(p[:100]) }, readErr: ErrDecompress},
		{name: "incomplete dump lost page", patch: func(d []byte, desc int) []byte {
			le.PutUint32(d[424:], uint32(PageIncomplete))
			le.PutUint64(d[desc:], 0)
			return d
		}, readErr: physmem.ErrExcluded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _ := kdumpFixture(t, tt.enc, tt.patch)
			k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
			if tt.openErr != nil {
				wantFormatErr(t, err, tt.openErr, tt.off)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			if tt.finding != nil {
				if len(k.Findings) != 1 {
					t.Fatalf("findings %v", k.Findings)
				}
				wantFormatErr(t, k.Findings[0], tt.finding, -1)
				wantAddrErr(t, k, 0x3000, 1, 0, 0x3000, physmem.ErrAbsent)
				wantAddrErr(t, k, 1<<44, 1, 0, 1<<44, physmem.ErrAbsent)
			}
			if tt.readErr != nil {
				wantAddrErr(t, k, 0x1000, 8, 0, 0x1000, tt.readErr)
				return
			}
			got := make([]byte, 0x2000)
			if _, err := k.ReadAt(got, 0x1000); err != nil || !bytes.Equal(got, bytes.Repeat([]byte{0x5a}, 0x2000)) {
				t.Errorf("ReadAt: %v", err)
			}
		})
	}
}

// TestKdumpBoundedMemory: a small file whose header claims the largest
// bitmaps and max_mapnr opens and reads within a few pages of memory.
func TestKdumpBoundedMemory(t *testing.T) {
	data, _ := kdumpFixture(t, nil, nil)
	binary.LittleEndian.PutUint64(data[4096+96:], ^uint64(0)) // max_mapnr_64
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		k.ReadAt(make([]byte, 8), 1<<50)
		k.ReadAt(make([]byte, 8), 0x1000)
		k.Ranges()
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 10*64<<10 {
		t.Errorf("10 opens allocated %d bytes", d)
	}
}

func TestKdumpReadAllocs(t *testing.T) {
	src := testMemory(t)
	data := writeTestKdump(t, src, src.Ranges(), &KdumpOptions{Compression: PageZlib})
	k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	addrs := []uint64{0x1000, 0x2ff000}
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		k.ReadAt(buf, addrs[i%2]) // alternate so each read decodes a page
		i++
	})
	if allocs > 2 {
		t.Errorf("%.1f allocations per page read", allocs)
	}
}

// TestKdumpOlderHeaders reads the same file as header versions 1 to 5
// (max_mapnr from the 32-bit header field; VMCOREINFO from version 3) and
// with the older DISKDUMP signature (no kdump sub-header).
func TestKdumpOlderHeaders(t *testing.T) {
	src := testMemory(t)
	orig := writeTestKdump(t, src, src.Ranges(), &KdumpOptions{Compression: PageZlib, VMCoreInfo: []byte(testVMCoreInfo)})
	for v := 1; v <= 6; v++ {
		for _, sig := range []string{KdumpSignature, DiskdumpSignature} {
			data := bytes.Clone(orig)
			binary.LittleEndian.PutUint32(data[8:], uint32(v))
			copy(data, sig)
			k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatalf("v%d %s: %v", v, sig, err)
			}
			if k.Header.MaxMapnr != 0x1010 {
				t.Errorf("v%d %s: max_mapnr %#x", v, sig, k.Header.MaxMapnr)
			}
			if want := v >= 3 && sig == KdumpSignature; (k.VMCoreInfo != nil) != want {
				t.Errorf("v%d %s: VMCOREINFO %v, want present %v", v, sig, k.VMCoreInfo, want)
			}
			compareData(t, src, k, presentRanges(src.Ranges()))
		}
	}
}

// TestKdumpRangesCapped: a 1st bitmap of alternating bits (2^20+ runs)
// yields at most maxKdumpRanges ranges, the last one stretched to the end
// and mixed, since it spans excluded frames and the absent ones between.
func TestKdumpRangesCapped(t *testing.T) {
	const pages = 2*maxKdumpRanges + 64
	var s physmem.Sparse
	if err := s.AddRange(0, pages*4096, physmem.Excluded); err != nil { // bitmap 1 only: nothing to read
		t.Fatal(err)
	}
	data := writeTestKdump(t, &s, s.Ranges(), nil)
	bitmap1 := 2 * 4096 // header block, one sub-header block
	for i := range pages / 8 {
		data[bitmap1+i] = 0x55
	}
	k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rs := k.Ranges()
	if len(rs) != maxKdumpRanges {
		t.Fatalf("%d ranges, want %d", len(rs), maxKdumpRanges)
	}
	if len(k.Findings) != 1 {
		t.Fatalf("findings %v; want one for the merged runs", k.Findings)
	}
	wantFormatErr(t, k.Findings[0], ErrLimit, int64(bitmap1+2*maxKdumpRanges/8)) // the first merged run
	if d := cmp.Diff([]physmem.Range{{Start: 0, Size: 0x1000, State: physmem.Excluded}, {Start: 0x2000, Size: 0x1000, State: physmem.Excluded}}, rs[:2]); d != "" {
		t.Errorf("first ranges (-want +got):\n%s", d)
	}
	last := rs[len(rs)-1]
	if want := (physmem.Range{Start: 2 * (maxKdumpRanges - 1) * 4096, Size: (pages - 1 - 2*(maxKdumpRanges-1)) * 4096, State: physmem.Mixed}); last != want {
		t.Errorf("last range %v, want %v reaching the last run", last, want)
	}
	wantAddrErr(t, k, 0x2000, 1, 0, 0x2000, physmem.ErrExcluded)
	wantAddrErr(t, k, 0x3000, 1, 0, 0x3000, physmem.ErrAbsent)

	// One dumped frame among the merged runs makes the last range present,
	// so that scans still read it (page by page where it is not).
	bitmap2 := bitmap1 + int(binary.LittleEndian.Uint32(data[436:]))/2*4096
	data[bitmap2+pages/8-1] = 0x01 // frame pages-8, also in the 1st bitmap
	k, err = NewKdump(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if rs := k.Ranges(); len(rs) != maxKdumpRanges || rs[len(rs)-1].State != physmem.Present || rs[len(rs)-1].Start != last.Start || rs[len(rs)-1].End() != last.End() {
		t.Errorf("with a dumped frame in the tail: %d ranges, last %v", len(rs), rs[len(rs)-1])
	}
}

// TestKdump32 reads the 32-bit layouts: packed (i386) and padded (ARM,
// PowerPC), told apart by utsname machine, or by which reading of the
// sub-header fits the file when the machine is unknown.
func TestKdump32(t *testing.T) {
	src := testMemory(t)
	tests := []struct {
		machine string
		layout  KdumpLayout
		bo      binary.AppendByteOrder
	}{
		{"i686", Kdump32Packed, binary.LittleEndian},
		{"armv7l", Kdump32Padded, binary.LittleEndian},
		{"ppc", Kdump32Padded, binary.BigEndian},
		{"or1k", Kdump32Packed, binary.BigEndian}, // unknown: packed because it fits
		{"or1k", Kdump32Padded, binary.LittleEndian},
	}
	for _, tt := range tests {
		t.Run(tt.machine+"-"+tt.layout.String(), func(t *testing.T) {
			data := writeTestKdump(t, src, src.Ranges(), &KdumpOptions{Machine: tt.machine, ByteOrder: tt.bo, layout: tt.layout,
				Compression: PageZlib, VMCoreInfo: []byte(testVMCoreInfo)})
			k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if k.Header.Layout != tt.layout || k.Header.ByteOrder != tt.bo.(binary.ByteOrder) || k.Header.MaxMapnr != 0x1010 || k.Header.Machine != tt.machine {
				t.Errorf("header %+v", k.Header)
			}
			if v, _ := k.VMCoreInfo.Get("PAGESIZE"); v != "4096" {
				t.Errorf("VMCOREINFO %+v", k.VMCoreInfo)
			}
			compareData(t, src, k, presentRanges(src.Ranges()))
		})
	}
}

// TestKdumpSplit: a --split part holds page frames [start_pfn, end_pfn)
// only; the rest are absent from this file, not excluded.
func TestKdumpSplit(t *testing.T) {
	src := testMemory(t)
	data := writeTestKdump(t, src, src.Ranges(), nil)
	le := binary.LittleEndian
	le.PutUint32(data[4096+12:], 1)     // split
	le.PutUint64(data[4096+80:], 0x100) // start_pfn_64
	le.PutUint64(data[4096+88:], 0x200) // end_pfn_64
	k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	want := []physmem.Range{{Start: 0x100000, Size: 0x100000, State: physmem.Present}}
	if d := cmp.Diff(want, k.Ranges()); d != "" {
		t.Errorf("ranges (-want +got):\n%s", d)
	}
	compareData(t, src, k, want)
	wantAddrErr(t, k, 0x1ffff8, 16, 8, 0x200000, physmem.ErrAbsent)
	wantAddrErr(t, k, 0x1000, 1, 0, 0x1000, physmem.ErrAbsent)
}

// TestKdumpRankAcrossChunks reads pages whose descriptors lie past several
// 32768-frame chunks of the rank index, in an order that builds the index
// piecewise, and checks each against its source.
func TestKdumpRankAcrossChunks(t *testing.T) {
	var s physmem.Sparse
	const size = 160 << 20 // 40960 frames: two index chunks and a bit
	if err := s.AddRange(0, size, physmem.Present); err != nil {
		t.Fatal(err)
	}
	addrs := []uint64{0x7fff000, 0x8000000, 0x8001000, 0x1000, 0x9ff_f000, 0x5000000, 0x8003000}
	for i, a := range addrs {
		s.WriteAt(bytes.Repeat([]byte{byte(i + 1)}, 4096), a)
	}
	data := writeTestKdump(t, &s, s.Ranges(), &KdumpOptions{ExcludeZero: true})
	for _, order := range [][]int{{0, 1, 2, 3, 4, 5, 6}, {4, 3, 6, 0, 5, 2, 1}} {
		k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range order {
			got := make([]byte, 4096)
			if _, err := k.ReadAt(got, addrs[i]); err != nil || got[0] != byte(i+1) || got[4095] != byte(i+1) {
				t.Fatalf("page %#x: %x, %v", addrs[i], got[0], err)
			}
		}
		wantAddrErr(t, k, 0x8002000, 1, 0, 0x8002000, physmem.ErrExcluded)
	}
	if PageFlags(0x23).String() != "zlib|lzo|zstd" || PageFlags(0x40).String() != "0x40" {
		t.Errorf("PageFlags strings %q %q", PageFlags(0x23), PageFlags(0x40))
	}
}

// countingReader counts the reads that reach the file.
type countingReader struct {
	r     io.ReaderAt
	reads int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return c.r.ReadAt(p, off)
}

// TestKdumpExcludedRanges: frames makedumpfile left out of the 2nd bitmap
// (zero pages here, and a range the writer was told is excluded) are
// Excluded ranges, so a scan of the present ranges reads only dumped pages
// and never fails on a filtered one.
func TestKdumpExcludedRanges(t *testing.T) {
	s := sparseWith(t,
		physmem.Range{Start: 0, Size: 64 << 20, State: physmem.Present},
		physmem.Range{Start: 64 << 20, Size: 1 << 20, State: physmem.Excluded},
		physmem.Range{Start: 80 << 20, Size: 0x3000, State: physmem.Present},
	)
	written := []uint64{0x1000, 0x2000, 0x3000, 0x2000000, 0x3fff000, 80<<20 + 0x1000}
	for i, a := range written {
		s.WriteAt(bytes.Repeat([]byte{byte(i + 1)}, 4096), a)
	}
	data := writeTestKdump(t, s, s.Ranges(), &KdumpOptions{Compression: PageZlib, ExcludeZero: true})
	file := &countingReader{r: bytes.NewReader(data)}
	k, err := NewKdump(file, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	const P, E = physmem.Present, physmem.Excluded
	want := []physmem.Range{
		{Start: 0, Size: 0x1000, State: E},
		{Start: 0x1000, Size: 0x3000, State: P},
		{Start: 0x4000, Size: 0x2000000 - 0x4000, State: E},
		{Start: 0x2000000, Size: 0x1000, State: P},
		{Start: 0x2001000, Size: 0x3fff000 - 0x2001000, State: E},
		{Start: 0x3fff000, Size: 0x1000, State: P},
		{Start: 64 << 20, Size: 1 << 20, State: E},
		{Start: 80 << 20, Size: 0x1000, State: E},
		{Start: 80<<20 + 0x1000, Size: 0x1000, State: P},
		{Start: 80<<20 + 0x2000, Size: 0x1000, State: E},
	}
	if d := cmp.Diff(want, k.Ranges()); d != "" {
		t.Errorf("ranges (-want +got):\n%s", d)
	}
	if st := physmem.StateOf(k, 0x4000, 0x1000000); st != E {
		t.Errorf("state of a zero-page run: %v, want excluded", st)
	}

	// A scan reads the present ranges whole: every read succeeds, and the
	// file sees a bounded number of reads per dumped page, none for the
	// 16 thousand filtered ones.
	file.reads = 0
	var scanned uint64
	buf := make([]byte, 64<<10)
	for _, r := range physmem.ScanRanges(k, 4096) {
		for o := uint64(0); o < r.Size; o += uint64(len(buf)) {
			n := min(uint64(len(buf)), r.Size-o)
			if _, err := k.ReadAt(buf[:n], r.Start+o); err != nil {
				t.Fatalf("scan read %#x: %v", r.Start+o, err)
			}
			scanned += n
		}
	}
	if scanned != uint64(len(written))*4096 {
		t.Errorf("scanned %#x bytes, want the %d dumped pages", scanned, len(written))
	}
	if limit := 4*len(written) + 8; file.reads > limit {
		t.Errorf("scan made %d file reads, want at most %d", file.reads, limit)
	}
	// Reading across a filtered run stops at its first byte, in one call.
	wantAddrErr(t, k, 0x3000, 0x10000, 0x1000, 0x4000, physmem.ErrExcluded)
	compareData(t, s, k, []physmem.Range{{Start: 0x1000, Size: 0x3000}, {Start: 0x2000000, Size: 0x1000}})
}

var errDisk = errors.New("disk read failed")

// failingReader is r with one unreadable byte, at bad: a read that
// covers it stops there with errDisk.
type failingReader struct {
	r   io.ReaderAt
	bad int64
}

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off > f.bad || off+int64(len(p)) <= f.bad {
		return f.r.ReadAt(p, off)
	}
	n, _ := f.r.ReadAt(p[:f.bad-off], off)
	return n, errDisk
}

// TestKdumpRangesBitmapUnreadable: a bitmap that fit the file at open but
// cannot be read when Ranges runs (the file was cut, or the disk failed)
// leaves the frames from that 4 KiB bitmap chunk on out of Ranges and
// becomes a finding naming the file offset of the first byte not read.
func TestKdumpRangesBitmapUnreadable(t *testing.T) {
	data, bitmap1, bitmap2 := twoChunkKdump(t)
	firstChunk := []physmem.Range{
		{Start: 0, Size: 0x10000, State: physmem.Present},
		{Start: 0x10000, Size: 128<<20 - 0x10000, State: physmem.Excluded},
	}
	tests := []struct {
		name  string
		r     io.ReaderAt
		want  []physmem.Range
		err   error
		off   int64
		inMsg string
	}{
		{"cut in the 2nd bitmap's 2nd chunk", bytes.NewReader(data[:bitmap2+4096+10]), firstChunk, ErrTruncated, bitmap2 + 4096 + 10, "2nd bitmap"},
		{"cut in the 1st bitmap's 1st chunk", bytes.NewReader(data[:bitmap1+100]), nil, ErrTruncated, bitmap1 + 100, "1st bitmap"},
		{"read error in the 1st bitmap's 2nd chunk", failingReader{bytes.NewReader(data), bitmap1 + 4096 + 7}, firstChunk, errDisk, bitmap1 + 4096 + 7, "1st bitmap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKdump(tt.r, int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if len(k.Findings) != 0 {
				t.Fatalf("findings at open: %v", k.Findings)
			}
			if d := cmp.Diff(tt.want, k.Ranges()); d != "" {
				t.Errorf("ranges (-want +got):\n%s", d)
			}
			if len(k.Findings) != 1 {
				t.Fatalf("findings %v; want the unreadable bitmap", k.Findings)
			}
			wantFormatErr(t, k.Findings[0], tt.err, tt.off)
			if msg := k.Findings[0].Error(); !strings.Contains(msg, tt.inMsg) {
				t.Errorf("finding %q does not name the %s", msg, tt.inMsg)
			}
			k.Ranges() // cached: no second finding
			if len(k.Findings) != 1 {
				t.Errorf("findings after a second Ranges: %v", k.Findings)
			}
		})
	}
}

// TestImageAllFindings: a finding the kdump reader meets when Ranges first
// runs, after open, is in Image.AllFindings once, while Findings stays as
// open left it.
func TestImageAllFindings(t *testing.T) {
	data, _, bitmap2 := twoChunkKdump(t)
	cut := bitmap2 + 4096 + 10 // in the 2nd bitmap's 2nd chunk
	im, err := OpenReader(bytes.NewReader(data[:cut]), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if got := im.AllFindings(); len(got) != 0 {
		t.Fatalf("findings before Ranges: %v", got)
	}
	im.Memory.Ranges()
	im.Memory.Ranges()
	got := im.AllFindings()
	if len(got) != 1 {
		t.Fatalf("findings after Ranges: %v; want the unreadable bitmap once", got)
	}
	wantFormatErr(t, got[0], ErrTruncated, cut)
	if len(im.Findings) != 0 {
		t.Errorf("Findings changed after open: %v", im.Findings)
	}
}

// TestKdumpReadErrorLocated: a disk error under a page descriptor or page
// data fails the physical read with the file offset of the byte the disk
// could not give, wrapping the disk's error.
func TestKdumpReadErrorLocated(t *testing.T) {
	data, desc := kdumpFixture(t, nil, nil)
	page := int64(binary.LittleEndian.Uint64(data[desc:])) // pfn 1's data
	for _, bad := range []int64{int64(desc) + 3, page + 100} {
		k, err := NewKdump(failingReader{bytes.NewReader(data), bad}, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.ReadAt(make([]byte, 8), 0x1000)
		var ae *physmem.AddrError
		if !errors.As(err, &ae) || ae.Addr != 0x1000 {
			t.Errorf("bad byte %#x: %v, want an AddrError at 0x1000", bad, err)
		}
		wantFormatErr(t, err, errDisk, bad)
	}
}

// twoChunkKdump writes a kdump of 40961 frames, so that each bitmap takes
// two 4 KiB chunks: 64 KiB present, then excluded memory up to 160 MiB,
// then one present page. It returns the file and its two bitmaps' offsets.
func twoChunkKdump(t *testing.T) (data []byte, bitmap1, bitmap2 int64) {
	t.Helper()
	s := sparseWith(t,
		physmem.Range{Start: 0, Size: 0x10000, State: physmem.Present},
		physmem.Range{Start: 0x10000, Size: 160<<20 - 0x10000, State: physmem.Excluded},
		physmem.Range{Start: 160 << 20, Size: 0x1000, State: physmem.Present},
	)
	data = writeTestKdump(t, s, s.Ranges(), nil)
	le := binary.LittleEndian
	bitmap1 = int64(1+le.Uint32(data[432:])) * 4096
	bitmap2 = bitmap1 + int64(le.Uint32(data[436:]))/2*4096
	return data, bitmap1, bitmap2
}
