package kho

import (
	"bytes"
	"encoding/binary"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/kho/physmem"
)

// locScan is what one streaming pass over memory found: page-aligned FDT
// headers, boot_params pages ("HdrS" at 0x202, 16-byte aligned, as kexec
// and the kernel place them) and 16-byte aligned setup_data headers of
// type SETUP_KEXEC_KHO whose fdt_addr is page-aligned. Each list is
// capped; contents are validated afterwards.
type locScan struct {
	fdts       []uint64
	bootParams []uint64
	nodes      []uint64
}

// hdrSBytes is the boot protocol header magic "HdrS" as stored;
// setupKHOType is SETUP_KEXEC_KHO as a little-endian u32.
var (
	hdrSBytes    = [4]byte{'H', 'd', 'r', 'S'}
	setupKHOType = [4]byte{encSetupKexecKHO, 0, 0, 0}
)

// scan reads every present range in chunks of o.ChunkSize. A chunk that
// cannot be read whole is read page by page, skipping pages that fail
// (excluded from the dump).
func (l *locator) scan() *locScan {
	s := &locScan{}
	ps := l.o.PageSize
	var total, done uint64
	for _, r := range physmem.ScanRanges(l.mem, ps) {
		if r.State == physmem.Present {
			total += r.Size
		}
	}
	buf := make([]byte, l.o.ChunkSize)
	truncated := false
	for _, r := range physmem.ScanRanges(l.mem, ps) {
		if r.State != physmem.Present {
			continue
		}
		// Chunks start page-aligned so page offsets in a chunk are page
		// offsets in memory.
		for a := r.Start &^ (ps - 1); a < r.End(); {
			n := uint64(len(buf))
			if end := r.End(); end-a < n {
				n = bldAlignUp(end-a, ps)
			}
			chunk := buf[:n]
			start := max(a, r.Start)
			if _, err := l.mem.ReadAt(chunk[start-a:min(n, r.End()-a)], start); err != nil {
				l.scanPages(s, chunk, a, r, &truncated)
			} else {
				clear(chunk[:start-a])
				if e := r.End() - a; e < n {
					clear(chunk[e:])
				}
				truncated = l.scanChunk(s, chunk, a) || truncated
			}
			chunkEnd := a + n
			if chunkEnd < a {
				chunkEnd = ^uint64(0)
			}
			done += min(chunkEnd, r.End()) - max(a, r.Start)
			if l.o.Progress != nil {
				l.o.Progress(done, total)
			}
			if a+n < a {
				break
			}
			a += n
		}
	}
	if truncated {
		l.find("locate.scan-truncated", "/", 0, "more than %d hits of one kind; the rest were not examined", l.o.MaxHits)
	}
	return s
}

// scanPages is the slow path for a chunk with unreadable parts.
func (l *locator) scanPages(s *locScan, chunk []byte, a uint64, r physmem.Range, truncated *bool) {
	ps := l.o.PageSize
	for off := uint64(0); off < uint64(len(chunk)); off += ps {
		page := chunk[off : off+ps]
		clear(page)
		pa := a + off
		lo, hi := max(pa, r.Start), min(pa+ps, r.End())
		if lo >= hi {
			continue
		}
		if _, err := l.mem.ReadAt(page[lo-pa:hi-pa], lo); err != nil {
			continue
		}
		if l.scanChunk(s, page, pa) {
			*truncated = true
		}
	}
}

// scanChunk looks at one chunk starting at physical address a; it reports
// whether a list hit its cap.
func (l *locator) scanChunk(s *locScan, chunk []byte, a uint64) bool {
	ps := l.o.PageSize
	capped := false
	add := func(list *[]uint64, v uint64) {
		if len(*list) >= l.o.MaxHits {
			capped = true
			return
		}
		*list = append(*list, v)
	}
	for off := uint64(0); off+4 <= uint64(len(chunk)); off += ps {
		if binary.BigEndian.Uint32(chunk[off:]) == fdt.Magic {
			add(&s.fdts, a+off)
		}
	}
	le := binary.LittleEndian
	// boot_params: "HdrS" at base+0x202 with base 16-byte aligned, that
	// is 2 bytes into a 16-byte slot. bytes.Index is vectorised; the
	// magic is rare.
	for i := 0; i < len(chunk); {
		j := bytes.Index(chunk[i:], hdrSBytes[:])
		if j < 0 {
			break
		}
		off := i + j
		i = off + 1
		pa := a + uint64(off)
		if off%16 != 2 || pa < encBootParamsHeader {
			continue
		}
		base := pa - encBootParamsHeader
		var flag [2]byte
		if _, err := l.mem.ReadAt(flag[:], base+encBootParamsBootFlag); err == nil && le.Uint16(flag[:]) == encBootFlagMagic {
			add(&s.bootParams, base)
		}
	}
	// SETUP_KEXEC_KHO headers: type 10 as a u32 at 8 bytes into a
	// 16-byte slot. bytes.Index finds the candidates (vectorised; most
	// memory holds few 0x0a bytes), the slot checks the rest.
	for i := 0; i < len(chunk); {
		j := bytes.Index(chunk[i:], setupKHOType[:])
		if j < 0 {
			break
		}
		off := i + j
		i = off + 1
		if off%16 != 8 {
			continue
		}
		slot := off - 8
		if off+8 > len(chunk) {
			continue // len lies in the next chunk; a node straddling chunks is page-crossing, not kexec's
		}
		if n := le.Uint32(chunk[off+4:]); n < encKhoDataSize || n > locSetupDataMaxLen {
			continue
		}
		var fdtAddr uint64
		if slot+24 <= len(chunk) {
			fdtAddr = le.Uint64(chunk[slot+16:])
		} else {
			var b [8]byte
			if _, err := l.mem.ReadAt(b[:], a+uint64(slot)+16); err != nil {
				continue
			}
			fdtAddr = le.Uint64(b[:])
		}
		if fdtAddr != 0 && fdtAddr%ps == 0 {
			add(&s.nodes, a+uint64(slot))
		}
	}
	return capped
}
