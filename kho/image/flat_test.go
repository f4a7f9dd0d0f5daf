package image

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func flatten(t testing.TB, data []byte, segSize int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteFlattened(&buf, bytes.NewReader(data), int64(len(data)), segSize); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFlattenedRoundTrip(t *testing.T) {
	src := testMemory(t)
	kd := writeTestKdump(t, src, src.Ranges(), &KdumpOptions{Compression: PageZlib, VMCoreInfo: []byte(testVMCoreInfo)})
	for _, seg := range []int{4096, 1000, 1 << 20} {
		flat := flatten(t, kd, seg)
		f, err := NewFlattened(bytes.NewReader(flat), int64(len(flat)))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Findings) != 0 || f.Size() != int64(len(kd)) {
			t.Fatalf("segment size %d: findings %v, size %d of %d", seg, f.Findings, f.Size(), len(kd))
		}
		got, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
		if err != nil || !bytes.Equal(got, kd) {
			t.Fatalf("segment size %d: rebuilt file differs (%v)", seg, err)
		}
		k, err := NewKdump(f, f.Size())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(kdumpWantRanges, k.Ranges()); d != "" {
			t.Errorf("ranges (-want +got):\n%s", d)
		}
		compareData(t, src, k, presentRanges(src.Ranges()))
	}
}

type flatSeg struct {
	off  int64
	data []byte
}

func buildFlat(segs []flatSeg, end bool) []byte {
	b := make([]byte, flatHeaderSize)
	copy(b, FlatSignature)
	binary.BigEndian.PutUint64(b[16:], 1)
	binary.BigEndian.PutUint64(b[24:], 1)
	for _, s := range segs {
		b = binary.BigEndian.AppendUint64(b, uint64(s.off))
		b = binary.BigEndian.AppendUint64(b, uint64(len(s.data)))
		b = append(b, s.data...)
	}
	if end {
		b = append(b, bytes.Repeat([]byte{0xff}, 16)...)
	}
	return b
}

// replay rebuilds a flattened stream the slow, obvious way.
func replay(segs []flatSeg) []byte {
	var out []byte
	for _, s := range segs {
		if len(s.data) == 0 {
			continue // places nothing, even far away
		}
		if end := int(s.off) + len(s.data); end > len(out) {
			out = append(out, make([]byte, end-len(out))...)
		}
		copy(out[s.off:], s.data)
	}
	return out
}

// TestFlattenedOverlaps checks out-of-order, overlapping and sparse
// segments against a replay of the stream.
func TestFlattenedOverlaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		var segs []flatSeg
		for i := range 1 + rng.IntN(20) {
			d := bytes.Repeat([]byte{byte(i + 1)}, 1+rng.IntN(300))
			segs = append(segs, flatSeg{off: int64(rng.IntN(2000)), data: d})
		}
		flat := buildFlat(segs, true)
		f, err := NewFlattened(bytes.NewReader(flat), int64(len(flat)))
		if err != nil {
			t.Fatal(err)
		}
		want := replay(segs)
		got := make([]byte, f.Size())
		if _, err := f.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Fatalf("trial %d: rebuilt file differs from replay", trial)
		}
		// Unaligned reads across extents, and past the end.
		off := rng.Int64N(int64(len(want)))
		p := make([]byte, 100)
		n, err := f.ReadAt(p, off)
		wn := min(100, len(want)-int(off))
		if n != wn || !bytes.Equal(p[:n], want[off:off+int64(n)]) || (n < 100) != (err == io.EOF) {
			t.Fatalf("trial %d: ReadAt(%d) = %d, %v", trial, off, n, err)
		}
	}
}

func TestFlattenedHostile(t *testing.T) {
	seg := func(off, size int64) []byte {
		b := binary.BigEndian.AppendUint64(nil, uint64(off))
		return binary.BigEndian.AppendUint64(b, uint64(size))
	}
	base := buildFlat([]flatSeg{{0, []byte("hello")}}, false)
	tests := []struct {
		name     string
		data     []byte
		openErr  error
		off      int64
		findings int
	}{
		{"negative offset", append(bytes.Clone(base), seg(-5, 1)...), ErrFormat, int64(len(base)), 0},
		{"negative size", append(bytes.Clone(base), seg(5, -2)...), ErrFormat, int64(len(base)), 0},
		{"huge offset", append(bytes.Clone(base), seg(1<<62, 1)...), ErrLimit, int64(len(base)), 0},
		{"huge size", append(bytes.Clone(base), seg(0, 1<<62)...), ErrLimit, int64(len(base)), 0},
		{"mostly holes", buildFlat([]flatSeg{{0, []byte("a")}, {1 << 40, []byte("b")}}, true), ErrLimit, flatHeaderSize, 0},
		{"missing end marker", base, nil, 0, 1},
		{"segment cut short", append(bytes.Clone(base), append(seg(100, 50), "abc"...)...), nil, 0, 2},
		{"end marker then junk", append(buildFlat(nil, true), "junk"...), nil, 0, 1},
		{"header only", base[:flatHeaderSize], nil, 0, 1},
		{"wrong version", func() []byte { b := bytes.Clone(base); b[31] = 2; return b }(), ErrUnsupported, flatTypeOff, 0},
		{"short header", base[:20], ErrTruncated, 20, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFlattened(bytes.NewReader(tt.data), int64(len(tt.data)))
			if tt.openErr != nil {
				wantFormatErr(t, err, tt.openErr, tt.off)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Findings) != tt.findings {
				t.Errorf("findings %v; want %d", f.Findings, tt.findings)
			}
		})
	}
}

// flattenReversed writes data as a flattened stream of n-byte segments,
// last segment first, leaving out those hole says to, and returns the
// stream and where each rebuilt byte sits in it (-1: in no segment).
func flattenReversed(data []byte, n int, hole func(off int) bool) ([]byte, func(int64) int64) {
	var segs []flatSeg
	for off := (len(data) - 1) / n * n; off >= 0; off -= n {
		if hole == nil || !hole(off) {
			segs = append(segs, flatSeg{int64(off), data[off:min(off+n, len(data))]})
		}
	}
	pos := map[int64]int64{} // segment offset -> input offset of its data
	at := int64(flatHeaderSize)
	for _, s := range segs {
		pos[s.off] = at + flatSegHdrSize
		at += flatSegHdrSize + int64(len(s.data))
	}
	return buildFlat(segs, true), func(off int64) int64 {
		seg := off / int64(n) * int64(n)
		if p, ok := pos[seg]; ok {
			return p + off - seg
		}
		return -1
	}
}

// located is what a test checks of a *FormatError.
type located struct {
	Off, RebuiltOff int64
	Rebuilt         bool
	Sentinel        bool
}

func locatedOf(t *testing.T, err, sentinel error) located {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("%v is not a *FormatError", err)
	}
	return located{Off: fe.Off, RebuiltOff: fe.RebuiltOff, Rebuilt: fe.Rebuilt, Sentinel: errors.Is(err, sentinel)}
}

// TestFlattenedErrorOffsets: errors and findings about the kdump file a
// flattened stream carries name the offset in the flattened file, and the
// offset in the rebuilt file beside it; bytes no segment holds say that
// their offset is in the rebuilt file.
func TestFlattenedErrorOffsets(t *testing.T) {
	le := binary.LittleEndian
	const seg = 1000
	tests := []struct {
		name    string
		enc     func([]byte) ([]byte, PageFlags)
		patch   func(d []byte, desc int) []byte
		hole    func(desc int) func(off int) bool
		rebuilt func(desc int, d []byte) int64 // rebuilt offset of the error
		where   string                         // "open", "finding", "read"
		err     error
	}{
		{name: "header version at open", patch: func(d []byte, _ int) []byte { le.PutUint32(d[8:], 7); return d },
			rebuilt: func(int, []byte) int64 { return 8 }, where: "open", err: ErrUnsupported},
		{name: "bitmap smaller than max_mapnr", patch: func(d []byte, _ int) []byte { le.PutUint64(d[4096+96:], 1<<40); return d },
			rebuilt: func(int, []byte) int64 { return 436 }, where: "finding", err: ErrFormat},
		{name: "page descriptor size 0", patch: func(d []byte, desc int) []byte { le.PutUint32(d[desc+8:], 0); return d },
			rebuilt: func(desc int, _ []byte) int64 { return int64(desc) }, where: "read", err: ErrFormat},
		{name: "zlib garbage", enc: func([]byte) ([]byte, PageFlags) { return []byte{0x78, 0x9c, 0xff, 0xff}, PageZlib },
			rebuilt: func(desc int, d []byte) int64 { return int64(le.Uint64(d[desc:])) }, where: "read", err: ErrDecompress},
		{name: "descriptors in a hole", hole: func(desc int) func(int) bool { return func(off int) bool { return off <= desc && desc < off+seg } },
			rebuilt: func(desc int, _ []byte) int64 { return int64(desc) }, where: "read", err: ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, desc := kdumpFixture(t, tt.enc, tt.patch)
			var hole func(int) bool
			if tt.hole != nil {
				hole = tt.hole(desc)
			}
			flat, in := flattenReversed(data, seg, hole)
			rebuilt := tt.rebuilt(desc, data)
			want := located{Off: in(rebuilt), RebuiltOff: rebuilt, Rebuilt: true, Sentinel: true}
			if want.Off >= 0 && flat[want.Off] != data[rebuilt] {
				t.Fatalf("test mapping wrong: input %#x holds %#x, rebuilt %#x holds %#x", want.Off, flat[want.Off], rebuilt, data[rebuilt])
			}
			im, err := OpenReader(bytes.NewReader(flat), int64(len(flat)), Options{})
			var got error
			switch tt.where {
			case "open":
				got = err
			case "finding":
				if err != nil {
					t.Fatal(err)
				}
				if len(im.Findings) != 1 {
					t.Fatalf("findings %v", im.Findings)
				}
				got = im.Findings[0]
			case "read":
				if err != nil {
					t.Fatal(err)
				}
				_, got = im.Memory.ReadAt(make([]byte, 8), 0x1000)
			}
			if d := cmp.Diff(want, locatedOf(t, got, tt.err)); d != "" {
				t.Errorf("%v: (-want +got):\n%s", got, d)
			}
			msg := fmt.Sprintf("offset %#x (%#x in the rebuilt kdump file)", want.Off, rebuilt)
			if want.Off < 0 {
				msg = fmt.Sprintf("offset %#x of the rebuilt kdump file, which no flattened segment holds", rebuilt)
			}
			if !strings.Contains(got.Error(), msg) {
				t.Errorf("message %q does not say %q", got, msg)
			}
		})
	}
}

// TestFlattenedCutAfterOpen: a flattened file cut short after it was
// opened fails reads, and leaves Ranges short, with the offset in the
// flattened file where its bytes ran out.
func TestFlattenedCutAfterOpen(t *testing.T) {
	data, _ := kdumpFixture(t, nil, nil)
	flat := flatten(t, data, 1000)                                                             // in order: the headers come first
	bitmap2 := int64(3 * 4096)                                                                 // after the header, sub-header, 1st bitmap block
	cut := flatHeaderSize + bitmap2/1000*(flatSegHdrSize+1000) + flatSegHdrSize + bitmap2%1000 // the 2nd bitmap gone
	k, err := NewKdump(mustFlattened(t, flat, cut), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if rs := k.Ranges(); len(rs) != 0 {
		t.Errorf("ranges %v from a missing bitmap", rs)
	}
	if len(k.Findings) != 1 {
		t.Fatalf("findings %v", k.Findings)
	}
	want := located{Off: cut, Sentinel: true}
	if d := cmp.Diff(want, locatedOf(t, k.Findings[0], ErrTruncated)); d != "" {
		t.Errorf("%v (-want +got):\n%s", k.Findings[0], d)
	}
	_, err = k.ReadAt(make([]byte, 8), 0x1000)
	if d := cmp.Diff(want, locatedOf(t, err, ErrTruncated)); d != "" {
		t.Errorf("%v (-want +got):\n%s", err, d)
	}
}

// mustFlattened indexes the flattened file b, then reads it as cut to its
// first n bytes: a file cut short after it was opened.
func mustFlattened(t *testing.T, b []byte, n int64) *Flattened {
	t.Helper()
	f, err := NewFlattened(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	f.r = bytes.NewReader(b[:n])
	return f
}

// TestFlattenedReadErrorSaysWhat: when the flattened file fails under a
// page descriptor, the error names the flattened file's offset of the byte
// not read and what the kdump reader was reading there.
func TestFlattenedReadErrorSaysWhat(t *testing.T) {
	data, desc := kdumpFixture(t, nil, nil)
	flat := flatten(t, data, 4096)
	bad, ok := mustFlattened(t, flat, int64(len(flat))).InputOffset(int64(desc) + 3)
	if !ok {
		t.Fatalf("descriptor byte %#x in no segment", desc+3)
	}
	fl, err := NewFlattened(failingReader{bytes.NewReader(flat), bad}, int64(len(flat)))
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKdump(fl, fl.Size())
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.ReadAt(make([]byte, 8), 0x1000)
	wantFormatErr(t, err, errDisk, bad)
	if !strings.Contains(err.Error(), "a page descriptor") {
		t.Errorf("%v does not say a page descriptor was being read", err)
	}
}
