package kho

import "github.com/khokit/khokit/kho/physmem"

// scanPresent streams every present range of mem through one buffer of
// at most chunkSize bytes (a multiple of ps), the memory scan Locate and
// RecoverLUO share. Chunks start page-aligned, so page offsets in a chunk
// are page offsets in memory. With partial, pages cut by a range edge are
// visited with the bytes outside the range zeroed; without, only whole
// pages inside a range are. A chunk that cannot be read whole is read page
// by page and visited one page at a time, skipping pages that fail
// (excluded from the dump). progress, when set, gets the range bytes
// covered so far and the total after every chunk.
func scanPresent(mem physmem.Memory, ps uint64, chunkSize int, partial bool, visit func(a uint64, chunk []byte), progress func(done, total uint64)) {
	ranges := physmem.ScanRanges(mem, ps)
	buf := make([]byte, scanBufSize(ranges, ps, chunkSize))
	var total, done uint64
	for _, r := range ranges {
		if r.State == physmem.Present {
			total += r.Size
		}
	}
	for _, r := range ranges {
		if r.State != physmem.Present {
			continue
		}
		lo, hi := r.Start&^(ps-1), r.End()
		if !partial {
			lo, hi = bldAlignUp(r.Start, ps), r.End()&^(ps-1)
			if lo < r.Start || lo >= hi { // wrapped, or no whole page
				done += r.Size
				continue
			}
		}
		for a := lo; a < hi; {
			n := uint64(len(buf))
			if hi-a < n {
				n = bldAlignUp(hi-a, ps)
			}
			chunk := buf[:n]
			start := max(a, r.Start)
			if _, err := mem.ReadAt(chunk[start-a:min(n, r.End()-a)], start); err != nil {
				readPages(mem, ps, chunk, a, r, visit)
			} else {
				clear(chunk[:start-a])
				if e := r.End() - a; e < n {
					clear(chunk[e:])
				}
				visit(a, chunk)
			}
			// Progress counts range bytes: the first and last chunks
			// also cover the range's edges.
			spanStart, spanEnd := a, a+n
			if a == lo {
				spanStart = r.Start
			}
			if spanEnd < a || spanEnd >= hi {
				spanEnd = r.End()
			}
			done += spanEnd - spanStart
			if progress != nil {
				progress(done, total)
			}
			if a+n < a {
				break
			}
			a += n
		}
	}
}

// appendCapped appends v to *list unless it already holds max entries; it
// reports whether v was dropped. The scans keep at most max candidates of
// each kind and report the rest as truncated.
func appendCapped[T any](list *[]T, v T, max int) (dropped bool) {
	if len(*list) >= max {
		return true
	}
	*list = append(*list, v)
	return false
}

// scanBufSize is the size of scanPresent's buffer: chunk, or the largest
// present range in whole pages when that is smaller, so that a small
// memory (a test's, a debugfs copy's) does not cost a megabyte buffer, and
// the garbage collections it brings, per scan.
func scanBufSize(ranges []physmem.Range, ps uint64, chunk int) int {
	var largest uint64
	for _, r := range ranges {
		if r.State == physmem.Present {
			largest = max(largest, r.Size)
		}
	}
	if up := bldAlignUp(largest, ps); up >= largest && up < uint64(chunk) {
		return int(max(up, ps))
	}
	return chunk
}

// readPages is scanPresent's slow path for a chunk with unreadable parts.
func readPages(mem physmem.Memory, ps uint64, chunk []byte, a uint64, r physmem.Range, visit func(a uint64, page []byte)) {
	for off := uint64(0); off < uint64(len(chunk)); off += ps {
		page := chunk[off : off+ps]
		clear(page)
		pa := a + off
		lo, hi := max(pa, r.Start), min(pa+ps, r.End())
		if lo >= hi {
			continue
		}
		if _, err := mem.ReadAt(page[lo-pa:hi-pa], lo); err != nil {
			continue
		}
		visit(pa, page)
	}
}
