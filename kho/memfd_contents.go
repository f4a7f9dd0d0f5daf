package kho

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"

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
	type span struct{ start, end uint64 }
	spans := make([]span, 0, len(m.Folios))
	for _, f := range m.Folios {
		start, end := folioSpan(f)
		if start >= pages {
			continue
		}
		spans = append(spans, span{start, min(end, pages)})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	// byteAt is the file offset of page p, clipped to Size (p <= pages).
	byteAt := func(p uint64) uint64 {
		if p == pages {
			return m.Size
		}
		return p * pageSize
	}
	var covered, cur uint64 // cur: first page not yet counted
	for _, s := range spans {
		start := max(s.start, cur)
		if start >= s.end {
			continue
		}
		covered += byteAt(s.end) - byteAt(start)
		cur = s.end
	}
	return m.Size - covered
}
