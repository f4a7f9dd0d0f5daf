package image

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
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
