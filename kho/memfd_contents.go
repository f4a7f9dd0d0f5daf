package kho

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sort"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// DefaultMaxMemfdHoles is the bound on a memfd's holes (bytes no folio
// backs, which read as zeros) that khodump uses: a hostile size or folio
// index must not cost unbounded work, and a real memfd keeps its holes
// small compared with what it holds.
const DefaultMaxMemfdHoles = 64 << 20

// ErrMemfdHoles reports a memfd whose holes exceed the bound passed to
// [OpenMemfd]: reading it would return mostly zeros nobody wrote.
var ErrMemfdHoles = errors.New("too many holes")

// OpenMemfd is [MemfdContents] with the checks hostile state needs before
// reading: pageSize must be 0 (meaning 4096), 4096, 16384 or 65536 (else
// the error wraps [format.ErrPageSize]), and the file's holes, as
// [Memfd.Holes] counts them, must not exceed maxHoles bytes (else the
// error wraps [ErrMemfdHoles]).
func OpenMemfd(mem physmem.Memory, m *Memfd, pageSize, maxHoles uint64) (*io.SectionReader, error) {
	ps, err := memfdPageSize(pageSize)
	if err != nil {
		return nil, err
	}
	if holes := m.Holes(ps); holes > maxHoles {
		return nil, fmt.Errorf("kho: memfd of size %d has %d bytes no folio backs (%d folios, limit %d): %w",
			m.Size, holes, len(m.Folios), maxHoles, ErrMemfdHoles)
	}
	return MemfdContents(mem, m, ps), nil
}

// memfdPageSize checks a producer page size; 0 means 4096.
func memfdPageSize(pageSize uint64) (uint64, error) {
	if pageSize == 0 {
		return 4096, nil
	}
	if _, err := format.PageSizeOf(pageSize); err != nil {
		return 0, fmt.Errorf("kho: memfd: %w", err)
	}
	return pageSize, nil
}

// Holes returns how many of the memfd's Size bytes no folio backs (they
// read as zeros): the bytes past the last folio and those in gaps between
// folios. A folio is 2^Order pages of pageSize bytes (0 means 4096) placed
// as [MemfdContents] reads it, from its Index rounded down to a multiple
// of 2^Order; overlapping folios count once, and parts past Size not at
// all.
func (m *Memfd) Holes(pageSize uint64) uint64 {
	if pageSize == 0 {
		pageSize = 4096
	}
	if m.Size == 0 {
		return 0
	}
	pages := (m.Size-1)/pageSize + 1 // pages the file spans, the last maybe partly
	// byteAt is the file offset of page p, clipped to Size (p <= pages).
	byteAt := func(p uint64) uint64 {
		if p == pages {
			return m.Size
		}
		return p * pageSize
	}
	var covered, cur uint64 // cur: first page not yet counted
	for _, s := range placeFolios(m.Folios) {
		if s.start >= pages {
			break // sorted by start: so are the rest
		}
		start, end := max(s.start, cur), min(s.end, pages)
		if start >= end {
			continue
		}
		covered += byteAt(end) - byteAt(start)
		cur = end
	}
	return m.Size - covered
}

// MemfdContents returns the contents of a decoded memfd, read on demand
// through its folios from mem: Size bytes, holes (indices without a folio)
// reading as zeros. A folio of order o fills 2^o pages from its Index
// rounded down to a multiple of 2^o, where the kernel's page cache puts it
// (a misaligned Index, finding memfd.folio-index-unaligned, does not shift
// its pages). pageSize is the producer's page size (0 means 4096); any
// other than 4096, 16384 or 65536 makes every read fail with an error
// wrapping [format.ErrPageSize]. [OpenMemfd] checks that, and the holes,
// before reading. A page that folios overlap on (a hostile list) is read
// from the one reaching furthest, so that every page [Memfd.Holes] counts
// as backed is read.
func MemfdContents(mem physmem.Memory, m *Memfd, pageSize uint64) *io.SectionReader {
	ps, err := memfdPageSize(pageSize)
	spans := placeFolios(m.Folios)
	reach := make([]int, len(spans))
	for i, s := range spans {
		if i == 0 || s.end > spans[reach[i-1]].end {
			reach[i] = i
		} else {
			reach[i] = reach[i-1]
		}
	}
	size := int64(m.Size)
	if size < 0 {
		size = 1<<63 - 1
	}
	return io.NewSectionReader(&memfdReader{mem: mem, spans: spans, reach: reach, pageSize: ps, size: uint64(size), err: err}, 0, size)
}

// folioPages is a folio placed in the file: page-cache indices
// [start, end) hold the pages from PFN pfn on.
type folioPages struct{ start, end, pfn uint64 }

// placeFolios places each folio where the kernel's page cache puts it
// ([folioSpan]), sorted by start; folios of equal start keep their order.
func placeFolios(folios []Folio) []folioPages {
	spans := make([]folioPages, len(folios))
	for i, f := range folios {
		start, end := folioSpan(f)
		spans[i] = folioPages{start: start, end: end, pfn: f.PFN}
	}
	slices.SortStableFunc(spans, func(a, b folioPages) int { return cmp.Compare(a.start, b.start) })
	return spans
}

type memfdReader struct {
	mem      physmem.Memory
	spans    []folioPages // sorted by start
	reach    []int        // reach[i]: of spans[:i+1], the one reaching furthest
	pageSize uint64
	size     uint64
	err      error // an unusable page size
}

func (r *memfdReader) ReadAt(p []byte, off int64) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if off < 0 {
		return 0, fmt.Errorf("kho: memfd read at negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := uint64(off) + uint64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		page := pos / r.pageSize
		chunk := p[n:min(len(p), n+int(r.pageSize-pos%r.pageSize))]
		if left := r.size - pos; uint64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		i := sort.Search(len(r.spans), func(i int) bool { return r.spans[i].start > page }) - 1
		if i >= 0 && page < r.spans[r.reach[i]].end {
			s := r.spans[r.reach[i]]
			// A hostile PFN must not wrap around to memory it does not name.
			pfn := s.pfn + (page - s.start)
			hi, pa := bits.Mul64(pfn, r.pageSize)
			if pfn < s.pfn || hi != 0 {
				return n, fmt.Errorf("kho: memfd page %d: folio PFN %#x + %d pages is past the top of memory: %w", page, s.pfn, page-s.start, physmem.ErrOverflow)
			}
			if _, err := r.mem.ReadAt(chunk, pa+pos%r.pageSize); err != nil {
				return n, fmt.Errorf("kho: memfd page %d (folio PFN %#x): %w", page, s.pfn, err)
			}
		} else {
			clear(chunk)
		}
		n += len(chunk)
	}
	return n, nil
}
