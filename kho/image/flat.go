package image

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// makedumpfile's flattened format: a 4096-byte header, then big-endian
// {int64 offset, int64 size} segment headers each followed by size bytes
// that belong at offset of the rebuilt file, ended by {-1, -1}.
const (
	FlatSignature  = "makedumpfile"
	flatHeaderSize = 4096
	flatSegHdrSize = 16
	flatTypeOff    = 16
	// maxFlatOffset bounds the rebuilt file: 1 PiB is past any dump.
	maxFlatOffset = 1 << 50
	maxFlatHoles  = 1 << 20
)

// Flattened is a makedumpfile flattened stream (what `makedumpfile -F`
// and QEMU's kdump-* formats write) rebuilt as a virtual file: an
// io.ReaderAt over the kdump-compressed file it carries. Opening reads
// every segment header once, skipping the data; reads map through a sorted
// extent list. Where segments overlap, the later one wins, as replaying the
// stream would; bytes no segment wrote read as zeros.
type Flattened struct {
	Segments int     // data segments in the stream
	Findings []error // a missing end marker, a truncated last segment ...

	r    io.ReaderAt
	ext  []flatExtent // sorted by off, not overlapping
	size int64
}

type flatExtent struct{ off, size, pos int64 }

// NewFlattened indexes the flattened stream r of size bytes.
func NewFlattened(r io.ReaderAt, size int64) (*Flattened, error) {
	var hb [32]byte
	if err := readAtFull(r, hb[:], 0, "the flattened header"); err != nil {
		return nil, err
	}
	if cstring(hb[:16]) != FlatSignature {
		return nil, formatErr(0, ErrWrongFormat, "no makedumpfile signature", nil)
	}
	typ, ver := int64(binary.BigEndian.Uint64(hb[16:])), int64(binary.BigEndian.Uint64(hb[24:]))
	if typ != 1 || ver != 1 {
		return nil, formatErr(flatTypeOff, ErrUnsupported, fmt.Sprintf("flattened header type %d version %d (want 1, 1)", typ, ver), nil)
	}
	f := &Flattened{r: r}
	var segs []flatExtent
	var sh [flatSegHdrSize]byte
	pos := int64(flatHeaderSize)
	for {
		if size-pos < flatSegHdrSize {
			f.Findings = append(f.Findings, formatErr(pos, ErrTruncated, "flattened stream ends without its end marker", nil))
			break
		}
		if err := readAtFull(r, sh[:], pos, "a flattened segment header"); err != nil {
			return nil, err
		}
		off, n := int64(binary.BigEndian.Uint64(sh[:])), int64(binary.BigEndian.Uint64(sh[8:]))
		if off == -1 && n == -1 {
			if end := pos + flatSegHdrSize; end != size {
				f.Findings = append(f.Findings, formatErr(end, ErrFormat, fmt.Sprintf("%d bytes after the end marker ignored", size-end), nil))
			}
			break
		}
		if off < 0 || n < 0 {
			return nil, formatErr(pos, ErrFormat, fmt.Sprintf("flattened segment with offset %d and size %d", off, n), nil)
		}
		if off > maxFlatOffset || n > maxFlatOffset-off {
			return nil, formatErr(pos, ErrLimit, fmt.Sprintf("flattened segment at offset %#x of %#x bytes lies beyond 1 PiB", off, n), nil)
		}
		data := pos + flatSegHdrSize
		if n > size-data {
			f.Findings = append(f.Findings, formatErr(pos, ErrTruncated, fmt.Sprintf("flattened segment of %#x bytes cut short at %#x bytes by the end of the file", n, size-data), nil))
			n = size - data
		}
		if n > 0 {
			if len(segs) >= MaxSegments {
				return nil, formatErr(pos, ErrLimit, fmt.Sprintf("more than %d flattened segments", MaxSegments), nil)
			}
			segs = append(segs, flatExtent{off: off, size: n, pos: data})
			f.size = max(f.size, off+n)
		}
		pos = data + n
		if pos == size {
			f.Findings = append(f.Findings, formatErr(pos, ErrTruncated, "flattened stream ends without its end marker", nil))
			break
		}
	}
	f.Segments = len(segs)
	f.ext = resolveSegments(segs)
	// Holes read as zeros for free, so a few tiny segments far apart could
	// make a reader above scan petabytes of nothing. Real streams write
	// every byte; allow holes up to the bytes actually written plus 1 MiB.
	var covered int64
	for _, e := range f.ext {
		covered += e.size
	}
	if holes := f.size - covered; holes > covered+maxFlatHoles {
		return nil, formatErr(flatHeaderSize, ErrLimit, fmt.Sprintf("segments write %#x bytes of a %#x-byte file: the rest would be holes", covered, f.size), nil)
	}
	return f, nil
}

// resolveSegments lays segments written in stream order onto the rebuilt
// file, later ones over earlier ones, in O(n log n).
func resolveSegments(segs []flatExtent) []flatExtent {
	sorted := sort.SliceIsSorted(segs, func(i, j int) bool { return segs[i].off < segs[j].off })
	overlap := false
	if sorted {
		for i := 1; i < len(segs); i++ {
			if segs[i].off < segs[i-1].off+segs[i-1].size {
				overlap = true
				break
			}
		}
	}
	if sorted && !overlap {
		return segs
	}
	// Sweep the boundaries; the active segment written last wins.
	order := make([]int, len(segs))
	bounds := make([]int64, 0, 2*len(segs))
	for i, s := range segs {
		order[i] = i
		bounds = append(bounds, s.off, s.off+s.size)
	}
	sort.Slice(order, func(a, b int) bool { return segs[order[a]].off < segs[order[b]].off })
	sort.Slice(bounds, func(a, b int) bool { return bounds[a] < bounds[b] })
	var out []flatExtent
	active := &segHeap{}
	next := 0
	for bi := 0; bi+1 < len(bounds); bi++ {
		lo, hi := bounds[bi], bounds[bi+1]
		if lo == hi {
			continue
		}
		for next < len(order) && segs[order[next]].off <= lo {
			heap.Push(active, order[next])
			next++
		}
		for active.Len() > 0 && segs[(*active)[0]].off+segs[(*active)[0]].size <= lo {
			heap.Pop(active)
		}
		if active.Len() == 0 {
			continue
		}
		w := segs[(*active)[0]]
		e := flatExtent{off: lo, size: hi - lo, pos: w.pos + (lo - w.off)}
		if n := len(out); n > 0 && out[n-1].off+out[n-1].size == e.off && out[n-1].pos+out[n-1].size == e.pos {
			out[n-1].size += e.size
			continue
		}
		out = append(out, e)
	}
	return out
}

// segHeap is a max-heap of segment indices: the later segment on top.
type segHeap []int

func (h segHeap) Len() int           { return len(h) }
func (h segHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h segHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *segHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *segHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Size is the size of the rebuilt file.
func (f *Flattened) Size() int64 { return f.size }

// InputOffset returns the offset in the flattened file of byte off of the
// rebuilt file, and false when no segment holds that byte (a hole, which
// reads as zero, or past Size).
func (f *Flattened) InputOffset(off int64) (int64, bool) {
	i := f.extentFrom(off)
	if i == len(f.ext) || off < f.ext[i].off {
		return 0, false
	}
	return f.ext[i].pos + (off - f.ext[i].off), true
}

// extentFrom returns the index of the first extent that ends past off,
// len(f.ext) when none does.
func (f *Flattened) extentFrom(off int64) int {
	return sort.Search(len(f.ext), func(i int) bool { return f.ext[i].off+f.ext[i].size > off })
}

// locate makes the *FormatError in err, located in the rebuilt file, name
// the flattened file's offset too. Errors of the stream itself are already
// located there. A nil f leaves err as it is.
func (f *Flattened) locate(err error) error {
	var fe *FormatError
	if f == nil || !errors.As(err, &fe) || fe.Rebuilt || fe.inFlat {
		return err
	}
	fe.Rebuilt, fe.RebuiltOff, fe.Off = true, fe.Off, -1
	if in, ok := f.InputOffset(fe.RebuiltOff); ok {
		fe.Off = in
	}
	return err
}

// ReadAt reads the rebuilt file. Bytes no segment wrote read as zeros;
// reading past Size returns io.EOF.
func (f *Flattened) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("image: negative offset %d", off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > f.size-off {
		p = p[:f.size-off]
	}
	n := 0
	i := f.extentFrom(off)
	for n < len(p) {
		cur := off + int64(n)
		if i == len(f.ext) {
			clear(p[n:])
			n = len(p)
			break
		}
		e := f.ext[i]
		if e.off > cur {
			gap := min(int64(len(p)-n), e.off-cur)
			clear(p[n : n+int(gap)])
			n += int(gap)
			continue
		}
		chunk := p[n:min(int64(len(p)), int64(n)+e.off+e.size-cur)]
		at := e.pos + (cur - e.off)
		k, err := f.r.ReadAt(chunk, at)
		n += k
		if k < len(chunk) {
			// The segment fit the file when NewFlattened indexed it.
			fe := &FormatError{Off: at + int64(k), Msg: "reading a flattened segment failed", Err: err, inFlat: true}
			if err == nil || errors.Is(err, io.EOF) {
				fe.Msg, fe.Err = "the file ends inside a flattened segment that fit when it was opened", ErrTruncated
			}
			return n, fe
		}
		i++
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// WriteFlattened writes the file r of size bytes as a makedumpfile
// flattened stream of segments of at most segSize bytes (default 4096).
func WriteFlattened(w io.Writer, r io.ReaderAt, size int64, segSize int) error {
	if segSize <= 0 {
		segSize = 4096
	}
	hdr := make([]byte, flatHeaderSize)
	copy(hdr, FlatSignature)
	binary.BigEndian.PutUint64(hdr[16:], 1)
	binary.BigEndian.PutUint64(hdr[24:], 1)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	buf := make([]byte, flatSegHdrSize+segSize)
	for off := int64(0); off < size; off += int64(segSize) {
		n := min(int64(segSize), size-off)
		binary.BigEndian.PutUint64(buf, uint64(off))
		binary.BigEndian.PutUint64(buf[8:], uint64(n))
		if err := readAtFull(r, buf[flatSegHdrSize:flatSegHdrSize+n], off, "the file to flatten"); err != nil {
			return err
		}
		if _, err := w.Write(buf[:flatSegHdrSize+n]); err != nil {
			return err
		}
	}
	var end [flatSegHdrSize]byte
	for i := range end {
		end[i] = 0xff
	}
	_, err := w.Write(end[:])
	return err
}
