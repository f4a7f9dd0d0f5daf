package image

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/khokit/khokit/kho/physmem"
)

// fuzzMemory is a tiny machine for seeds, in 512-byte blocks so that the
// seeds stay a few KiB (the fuzzer minimises every new input it keeps):
// three blocks in two banks, one excluded block.
func fuzzMemory(t testing.TB) *physmem.Sparse {
	var s physmem.Sparse
	s.AddRange(0x200, 0x400, physmem.Present)
	s.AddRange(0x600, 0x200, physmem.Excluded)
	s.AddRange(0x2000, 0x200, physmem.Present)
	s.WriteAt(bytes.Repeat([]byte("block one"), 0x30), 0x200)
	s.WriteAt([]byte("the last bank"), 0x2000)
	return &s
}

const fuzzBlock = 512

// exercise reads a bounded sample of m and checks the Memory contract:
// a failed read is an *AddrError inside the request, and reading a span
// whole or in two parts gives the same bytes.
func exercise(t testing.TB, m physmem.Memory) {
	rs := m.Ranges()
	for i, r := range rs {
		if i > 0 && rs[i-1].End() > r.Start {
			t.Fatalf("ranges overlap or are unsorted: %v then %v", rs[i-1], r)
		}
		if i >= 16 {
			break
		}
		for _, a := range []uint64{r.Start, r.End() - min(r.Size, 100)} {
			whole := make([]byte, 100)
			n, err := m.ReadAt(whole, a)
			if err != nil {
				var ae *physmem.AddrError
				if !errors.As(err, &ae) || ae.Addr < a || ae.Addr-a > 100 || ae.Addr-a != uint64(n) {
					t.Fatalf("ReadAt(%#x) = %d, %v: not a located error", a, n, err)
				}
				continue
			}
			part := make([]byte, 100)
			if _, err := m.ReadAt(part[:37], a); err != nil {
				t.Fatalf("whole read worked, first part failed: %v", err)
			}
			if _, err := m.ReadAt(part[37:], a+37); err != nil {
				t.Fatalf("whole read worked, second part failed: %v", err)
			}
			if !bytes.Equal(whole, part) {
				t.Fatalf("ReadAt(%#x): whole and split reads differ", a)
			}
		}
	}
}

func FuzzELF(f *testing.F) {
	m := fuzzMemory(f)
	for _, o := range []*ELFOptions{nil, {ByteOrder: binary.BigEndian}, {TrimZeros: true, VMCoreInfo: []byte(testVMCoreInfo)}} {
		f.Add(writeTestELF(f, m, m.Ranges(), o))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := NewELF(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if e != nil {
				t.Fatal("result alongside an error")
			}
			return
		}
		exercise(t, e)
		// Round trip: what reads cleanly writes back and reads the same.
		var total uint64
		for _, r := range e.Ranges() {
			total += r.Size
		}
		if total > 1<<20 {
			return
		}
		var b bytes.Buffer
		if err := WriteELF(&b, e, e.Ranges(), nil); err != nil {
			return // a truncated segment: not every byte reads
		}
		e2, err := NewELF(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil {
			t.Fatalf("rewritten core does not open: %v", err)
		}
		compareMemory(t, e, e2, e.Ranges())
	})
}

// kdumpSeeds are FuzzKdump's seeds: the fuzz memory written in each
// compression and header layout.
func kdumpSeeds(t testing.TB) [][]byte {
	m := fuzzMemory(t)
	var seeds [][]byte
	for _, o := range []*KdumpOptions{{}, {Compression: PageZlib, VMCoreInfo: []byte(testVMCoreInfo)}, {Compression: PageSnappy, ByteOrder: binary.BigEndian},
		{Compression: PageZstd}, {compress: lzoRepeat}, {ExcludeZero: true},
		{layout: Kdump32Packed, Machine: "i686", VMCoreInfo: []byte("PAGESIZE=512\n")}, {layout: Kdump32Padded, Machine: "ppc", ByteOrder: binary.BigEndian}} {
		o.BlockSize = fuzzBlock
		seeds = append(seeds, writeTestKdump(t, m, m.Ranges(), o))
	}
	return seeds
}

// FuzzKdump fuzzes NewKdump on files in the zero-run encoding
// (expandZeroRuns): a raw kdump file is mostly zero padding, and the
// engine minimises every new input it keeps in time quadratic in its
// length, so raw inputs of a few KiB each held a worker for the whole
// minimisation timeout (60s by default).
func FuzzKdump(f *testing.F) {
	for _, s := range kdumpSeeds(f) {
		f.Add(compressZeroRuns(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkKdumpInput(t, expandZeroRuns(data)) })
}

// maxZeroRunFile caps what expandZeroRuns writes: a fuzz input of 8 KiB
// stands for at most 1 MiB.
const maxZeroRunFile = 1 << 20

// expandZeroRuns decodes a fuzz input into a file: bytes stand for
// themselves, except that a zero byte and the count byte c after it stand
// for c+1 zero bytes (a zero byte at the end for one). Every file up to
// maxZeroRunFile bytes has an encoding (compressZeroRuns), so fuzzing the
// encoding reaches every file fuzzing raw bytes did. Output past
// maxZeroRunFile bytes is cut.
func expandZeroRuns(in []byte) []byte {
	out := make([]byte, 0, min(len(in), maxZeroRunFile))
	for i := 0; i < len(in) && len(out) < maxZeroRunFile; i++ {
		if in[i] != 0 {
			out = append(out, in[i])
			continue
		}
		n := 1
		if i+1 < len(in) {
			i++
			n += int(in[i])
		}
		out = append(out, make([]byte, min(n, maxZeroRunFile-len(out)))...)
	}
	return out
}

// compressZeroRuns encodes file for expandZeroRuns.
func compressZeroRuns(file []byte) []byte {
	var out []byte
	for i := 0; i < len(file); {
		if file[i] != 0 {
			out = append(out, file[i])
			i++
			continue
		}
		n := 1
		for n < 256 && i+n < len(file) && file[i+n] == 0 {
			n++
		}
		out = append(out, 0, byte(n-1))
		i += n
	}
	return out
}

// checkKdumpInput is FuzzKdump's body: open data as a kdump file and read
// it through the Memory contract.
func checkKdumpInput(t testing.TB, data []byte) {
	k, err := NewKdump(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if k != nil {
			t.Fatal("result alongside an error")
		}
		return
	}
	defer k.Close()
	exercise(t, k)
	for _, a := range []uint64{0, 0x200, 0x400, 0x600, 0x2000, 1 << 40} {
		k.ReadAt(make([]byte, 64), a)
	}
}

// BenchmarkFuzzKdump times FuzzKdump's body over its seeds and corpus,
// both in the zero-run encoding.
func BenchmarkFuzzKdump(b *testing.B) {
	benchZeroRunTarget(b, "FuzzKdump", kdumpSeeds(b), checkKdumpInput)
}

// benchZeroRunTarget times body, a zero-run-encoded fuzz target's body,
// over the target's seeds (encoded here) and its testdata corpus, each
// input expanded as the target expands it.
func benchZeroRunTarget(b *testing.B, target string, seeds [][]byte, body func(testing.TB, []byte)) {
	var corpus [][]byte
	for _, s := range seeds {
		corpus = append(corpus, compressZeroRuns(s))
	}
	corpus = append(corpus, fuzzCorpus(b, target)...)
	benchInputs(b, corpus, func(in []byte) { body(b, expandZeroRuns(in)) })
}

// benchInputs runs body on every input per iteration and reports the
// time per input.
func benchInputs(b *testing.B, corpus [][]byte, body func([]byte)) {
	for b.Loop() {
		for _, in := range corpus {
			body(in)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(corpus)), "ns/input")
}

// flattenedSeeds are FuzzFlattened's seeds: a kdump file of the fuzz
// memory flattened in large and small segments, and a stream whose
// segments come out of order and overlap.
func flattenedSeeds(t testing.TB) [][]byte {
	m := fuzzMemory(t)
	kd := writeTestKdump(t, m, m.Ranges(), &KdumpOptions{Compression: PageZlib, BlockSize: fuzzBlock})
	var seeds [][]byte
	for _, seg := range []int{4096, 300} {
		seeds = append(seeds, flatten(t, kd, seg))
	}
	return append(seeds, buildFlat([]flatSeg{{100, []byte("later")}, {0, []byte("first")}, {98, []byte("overlap")}}, true))
}

// FuzzFlattened fuzzes NewFlattened, and NewKdump on what it rebuilds, on
// files in the zero-run encoding (expandZeroRuns), for the reason
// FuzzKdump does: a flattened kdump file is mostly zero padding. Every
// check runs on the expanded file, the bytes the readers see.
func FuzzFlattened(f *testing.F) {
	for _, s := range flattenedSeeds(f) {
		f.Add(compressZeroRuns(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzFlattenedOne(t, expandZeroRuns(data)) })
}

// BenchmarkFuzzFlattened times FuzzFlattened's body over its seeds and
// corpus, both in the zero-run encoding.
func BenchmarkFuzzFlattened(b *testing.B) {
	benchZeroRunTarget(b, "FuzzFlattened", flattenedSeeds(b), fuzzFlattenedOne)
}

// fuzzFlattenedOne is FuzzFlattened's body on a file (already expanded).
func fuzzFlattenedOne(t testing.TB, data []byte) {
	fl, err := NewFlattened(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if fl != nil {
			t.Fatal("result alongside an error")
		}
		return
	}
	if fl.Size() <= 1<<20 {
		// The extent list must rebuild exactly what a replay writes.
		var segs []flatSeg
		for pos := int64(flatHeaderSize); pos+16 <= int64(len(data)); {
			off, n := int64(binary.BigEndian.Uint64(data[pos:])), int64(binary.BigEndian.Uint64(data[pos+8:]))
			if off == -1 && n == -1 {
				break
			}
			n = min(n, int64(len(data))-pos-16)
			segs = append(segs, flatSeg{off, data[pos+16 : pos+16+n]})
			pos += 16 + n
		}
		want := replay(segs)
		got := make([]byte, fl.Size())
		if _, err := fl.ReadAt(got, 0); err != nil || !bytes.Equal(want, got) {
			t.Fatalf("rebuilt stream differs from replay (%v)", err)
		}
	}
	k, err := NewKdump(fl, fl.Size())
	if err != nil {
		checkFlatLocated(t, fl, data, err)
		return
	}
	exercise(t, k)
	for _, a := range []uint64{0, 0x200, 0x400, 0x600, 0x2000} {
		if _, err := k.ReadAt(make([]byte, 64), a); err != nil {
			checkFlatLocated(t, fl, data, err)
		}
	}
	for _, f := range k.Findings {
		checkFlatLocated(t, fl, data, f)
	}
	k.Close()
}

// checkFlatLocated checks that a *FormatError about a flattened file names
// an offset in it: of the stream itself, or of the segment byte that holds
// the rebuilt byte the error is about (-1 when no segment does).
func checkFlatLocated(t testing.TB, fl *Flattened, data []byte, err error) {
	var fe *FormatError
	if !errors.As(err, &fe) {
		return // ErrAbsent, ErrExcluded
	}
	if !fe.Rebuilt {
		if fe.Off < 0 || fe.Off > int64(len(data)) {
			t.Fatalf("%v: offset outside the %d-byte flattened file", err, len(data))
		}
		return
	}
	in, ok := fl.InputOffset(fe.RebuiltOff)
	if !ok {
		in = -1
	}
	if fe.Off != in {
		t.Fatalf("%v: offset %#x, but rebuilt byte %#x is at %#x", err, fe.Off, fe.RebuiltOff, in)
	}
	if in >= 0 {
		var b [1]byte
		if _, err := fl.ReadAt(b[:], fe.RebuiltOff); err != nil || b[0] != data[in] {
			t.Fatalf("rebuilt byte %#x is %#x (%v), input byte %#x is %#x", fe.RebuiltOff, b[0], err, in, data[in])
		}
	}
}

// FuzzDetect runs detection and the matching reader on any file, taken in
// the zero-run encoding (expandZeroRuns) for the reason FuzzKdump is: the
// ELF and kdump seeds are mostly zero padding.
func FuzzDetect(f *testing.F) {
	m := fuzzMemory(f)
	e := writeTestELF(f, m, m.Ranges(), nil)
	k := writeTestKdump(f, m, m.Ranges(), &KdumpOptions{BlockSize: fuzzBlock, Compression: PageZlib})
	for _, s := range [][]byte{e, k, {0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 0x28}, []byte("makedumpfile\x00\x00\x00\x00")} {
		f.Add(compressZeroRuns(s))
	}
	f.Fuzz(func(t *testing.T, enc []byte) {
		data := expandZeroRuns(enc)
		im, err := OpenReader(bytes.NewReader(data), int64(len(data)), Options{})
		if err != nil {
			if im != nil {
				t.Fatal("result alongside an error")
			}
			if bytes.ContainsRune([]byte(err.Error()), '\n') {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if im.Format != Detect(data[:min(len(data), 64)]) {
			t.Fatalf("opened as %v, detected %v", im.Format, Detect(data))
		}
		if im.Memory != nil {
			exercise(t, im.Memory)
		}
		im.Close()
	})
}

func TestZeroRuns(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, file []byte
	}{
		{"empty", nil, []byte{}},
		{"literal", []byte("KDUMP"), []byte("KDUMP")},
		{"one zero", []byte{0, 0}, []byte{0}},
		{"lone zero at the end", []byte{'a', 0}, []byte{'a', 0}},
		{"run", []byte{'a', 0, 2, 'b'}, []byte{'a', 0, 0, 0, 'b'}},
		{"longest run", []byte{0, 255}, make([]byte, 256)},
		{"zero count byte after a run", []byte{0, 1, 0, 0}, []byte{0, 0, 0}},
	} {
		got := expandZeroRuns(tc.in)
		if diff := cmp.Diff(tc.file, got); diff != "" {
			t.Errorf("%s: expandZeroRuns(%q) (-want +got):\n%s", tc.name, tc.in, diff)
		}
	}
	// Every file comes back from its encoding, long runs split at 256.
	files := append(append(kdumpSeeds(t), flattenedSeeds(t)...), nil, []byte{0}, make([]byte, 257), make([]byte, 513), []byte{1, 0, 0, 2, 0})
	for i, f := range files {
		enc := compressZeroRuns(f)
		if diff := cmp.Diff(f, expandZeroRuns(enc), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("file %d: expand(compress(file)) differs (-file +got):\n%s", i, diff)
		}
	}
	// The output is capped: 4096 maximal runs would be 1 MiB and a byte.
	big := append(bytes.Repeat([]byte{0, 255}, maxZeroRunFile/256), 'x')
	if got := expandZeroRuns(big); len(got) != maxZeroRunFile {
		t.Errorf("expandZeroRuns of %d runs of 256 and a byte: %d bytes, want the cap %d", maxZeroRunFile/256, len(got), maxZeroRunFile)
	}
}
