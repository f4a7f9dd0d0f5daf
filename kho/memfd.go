package kho

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/khokit/khokit/format"
)

// memfd and vmalloc limits (abi.md §8.1, §4.1); layouts come from the
// format catalogue.
var (
	memfdSerV1Size = uint64((format.MemfdSerV1{}).Format().Size)
	memfdSerV2Size = uint64((format.MemfdSerV2{}).Format().Size)
	folioSerSize   = uint64((format.FolioSer{}).Format().Size)
)

const maxLFSFileSize = math.MaxInt64 // MAX_LFS_FILESIZE on 64-bit

// vmallocPhysOff is where kho_vmalloc_chunk's phys[] starts.
var vmallocPhysOff = func() uint64 {
	f, err := format.Lookup("vmalloc-chunk")
	if err != nil {
		panic(fmt.Sprintf("kho: format catalogue: %v", err))
	}
	return fieldOffset(f, "phys")
}()

// claimVmallocBlock records that the 2^order pages at pa (aligned to
// their size), a vmalloc chunk (order 0) or run, belong to the chunk at
// cpath. A block overlapping one claimed before (two areas sharing pages
// of a run, or a chunk that is also a run's page) is a vmalloc.shared
// finding at path(), the chunk or run claiming again: a kernel would
// restore those pages twice, and hostile input would cost reads out of
// proportion to its bytes. A claim costs a few map operations per order
// in use, however many pages it covers (see blockClaims).
func (d *decoder) claimVmallocBlock(cpath string, path func() string, pa uint64, order uint) bool {
	shift := d.geo.pageShift
	c, ok := d.vmClaims.claim(pa>>shift, order, cpath)
	if ok {
		return true
	}
	last := pa + (d.geo.pageSize<<order - 1) // pa is aligned to the block: no wrap
	if c.holds {
		d.add("vmalloc.shared", "", path(), pa, "memory [%#x, %#x] lies in the order-%d block at %#x that %s claims", pa, last, c.order, c.start<<shift, c.value)
	} else {
		d.add("vmalloc.shared", "", path(), pa, "memory [%#x, %#x] holds pages that %s claims", pa, last, c.value)
	}
	return false
}

// memfdVersion maps a file-handler compatible to the memfd layout it
// uses: 1, 2, or 0 when it is not a memfd.
func memfdVersion(compat string) int {
	switch compat {
	case "memfd-v1":
		return 1
	case "memfd-v2", "memfd-v2;vmalloc-v1":
		return 2
	}
	return 0
}

// decodeMemfd reads a memfd_luo_ser and its folio array (rules 14, 23).
func (d *decoder) decodeMemfd(path string, pa uint64, version int) *Memfd {
	size := memfdSerV2Size
	if version == 1 {
		size = memfdSerV1Size
	}
	if !d.check(path, "memfd_luo_ser", pa, size, need{align: d.geo.pageSize, preserved: true, order: 0, ctx: "memfd"}) {
		return nil
	}
	b := d.read(path, "memfd_luo_ser", pa, int(size))
	if b == nil {
		return nil
	}
	m := &Memfd{}
	var nrFolios uint64
	var vm format.Vmalloc
	if version == 1 {
		v, err := format.DecodeMemfdSerV1(b)
		if err != nil {
			d.add("ptr.read-failed", "", path, pa, "%v", err)
			return nil
		}
		m.Pos, m.Size, nrFolios, vm = v.Pos, v.Size, v.NrFolios, v.Folios
	} else {
		v, err := format.DecodeMemfdSerV2(b)
		if err != nil {
			d.add("ptr.read-failed", "", path, pa, "%v", err)
			return nil
		}
		m.Pos, m.Size, m.Seals, m.Flags, nrFolios, vm = v.Pos, v.Size, v.Seals, v.Flags, v.NrFolios, v.Folios
		if m.Seals&^format.MemfdAllSeals != 0 {
			d.add("memfd.seals-unknown", "", path, pa, "seals %#x outside %#x", m.Seals, format.MemfdAllSeals)
		}
		if m.Flags != 0 {
			d.add("memfd.flags-nonzero", "", path, pa, "flags %#x", m.Flags)
		}
	}
	m.FoliosMap = Vmalloc{First: vm.First, TotalPages: vm.TotalPages, Flags: vm.Flags, Order: vm.Order}
	if m.Pos > maxLFSFileSize {
		d.add("memfd.pos-too-large", "", path, pa, "pos %#x", m.Pos)
	}
	if nrFolios == 0 {
		return m
	}
	if nrFolios > d.opts.MaxFolios || d.totalFolios+nrFolios > 4*d.opts.MaxFolios {
		d.add("memfd.too-many-folios", "", path, pa, "nr_folios %d above %d per memfd or %d in all", nrFolios, d.opts.MaxFolios, 4*d.opts.MaxFolios)
		return m
	}
	if capacity := uint64(vm.TotalPages) * d.geo.pageSize; nrFolios*folioSerSize > capacity {
		d.add("memfd.nr-folios-too-large", "", path, pa, "nr_folios %d needs %d bytes, the array has %d pages", nrFolios, nrFolios*folioSerSize, vm.TotalPages)
		return m
	}
	d.totalFolios += nrFolios // only what will be read counts against the total
	array := d.readVmalloc(path+"/folios", m.FoliosMap, nrFolios*folioSerSize)
	if array == nil {
		return m
	}
	m.Folios = d.decodeFolios(path+"/folios", m.Size, array)
	return m
}

// readVmalloc validates a kho_vmalloc area that must hold want bytes and
// returns its first want bytes, or nil when it is not usable.
func (d *decoder) readVmalloc(path string, vm Vmalloc, want uint64) []byte {
	ps := d.geo.pageSize
	switch {
	case vm.Flags&^format.VmallocAllFlags != 0:
		d.add("vmalloc.flags-unknown", "", path, vm.First, "flags %#x outside %#x", vm.Flags, format.VmallocAllFlags)
		return nil
	case vm.Order > uint16(d.opts.MaxPageOrder):
		d.add("vmalloc.order-too-large", "", path, vm.First, "order %d > %d", vm.Order, d.opts.MaxPageOrder)
		return nil
	}
	runPages := uint64(1) << vm.Order
	// The writer allocates want bytes, rounded to pages and, for huge
	// mappings, to whole runs.
	needPages := (want + ps - 1) / ps
	maxPages := (needPages + runPages - 1) / runPages * runPages
	if uint64(vm.TotalPages) > maxPages {
		d.add("vmalloc.total-pages", "", path, vm.First, "total_pages %d, but %d bytes need at most %d", vm.TotalPages, want, maxPages)
		return nil
	}
	if vm.First == 0 {
		d.add("vmalloc.first-zero", "", path, 0, "total_pages %d but no chunk", vm.TotalPages)
		return nil
	}
	slots := uint64(d.geo.caps.VmallocSize)
	out := make([]byte, 0, min(want, 1<<20))
	var pages uint64
	var visited map[uint64]bool
	chunk := d.scratchPage(&d.vmBuf)
	for pa, n := vm.First, 0; pa != 0; n++ {
		cpath := fmt.Sprintf("%s/chunks[%d]", path, n)
		if n > 0 {
			if visited == nil {
				visited = map[uint64]bool{vm.First: true}
			}
			if visited[pa] || uint64(n) > uint64(vm.TotalPages) {
				d.add("vmalloc.cycle", "", cpath, pa, "chunk %#x repeats or the chain is longer than total_pages", pa)
				return nil
			}
			visited[pa] = true
		}
		if !d.check(cpath, "vmalloc chunk", pa, ps, need{align: ps, preserved: true, order: 0}) || !d.claimVmallocBlock(cpath, func() string { return cpath }, pa, 0) {
			return nil
		}
		// Read the header and only the slots the remaining pages can use,
		// plus the terminating 0: usually a few bytes of the page.
		used := min(slots, (uint64(vm.TotalPages)-pages)/runPages+1)
		buf := chunk[:vmallocPhysOff+used*8]
		if !d.readInto(cpath, "vmalloc chunk", pa, buf) {
			return nil
		}
		hdr, err := format.DecodeVmallocChunkHeader(buf)
		if err != nil {
			d.add("ptr.read-failed", "", cpath, pa, "%v", err)
			return nil
		}
		for i := uint64(0); i < used; i++ {
			run := binary.LittleEndian.Uint64(buf[vmallocPhysOff+i*8:])
			if run == 0 {
				break
			}
			rpath := func() string { return fmt.Sprintf("%s/runs[%d]", cpath, i) }
			if run%(runPages*ps) != 0 {
				d.add("vmalloc.run-unaligned", "", rpath(), run, "run %#x not aligned to %d pages", run, runPages)
				return nil
			}
			if pages+runPages > uint64(vm.TotalPages) {
				d.add("vmalloc.run-overflow", "", rpath(), run, "runs exceed total_pages %d", vm.TotalPages)
				return nil
			}
			pages += runPages
			runBytes := runPages * ps
			if !d.claimVmallocBlock(cpath, rpath, run, uint(vm.Order)) {
				return nil
			}
			runNeed := need{align: ps, preserved: true, order: int(vm.Order)}
			if !d.fine(run, runBytes, runNeed) && !d.check(rpath(), "vmalloc run", run, runBytes, runNeed) {
				return nil
			}
			if left := want - uint64(len(out)); left > 0 {
				k := min(left, runBytes)
				n := len(out)
				out = append(out, make([]byte, k)...)
				if _, err := d.mem.ReadAt(out[n:], run); err != nil && !d.readInto(rpath(), "vmalloc run", run, out[n:]) {
					return nil
				}
			}
		}
		pa = hdr.Next
	}
	if pages != uint64(vm.TotalPages) {
		d.add("vmalloc.page-count-mismatch", "", path, vm.First, "runs hold %d pages, total_pages is %d", pages, vm.TotalPages)
		return nil
	}
	return out
}

// decodeFolios checks and converts memfd_luo_folio_ser entries.
func (d *decoder) decodeFolios(path string, size uint64, array []byte) []Folio {
	ps := d.geo.pageSize
	pages := size / ps
	if size%ps != 0 {
		pages++
	}
	// At most one folio an entry: bounded by the bytes already read.
	out := make([]Folio, 0, uint64(len(array))/folioSerSize)
	// out[k] is entry entries[k] of the array, for the paths of findings.
	// entries and taken (below) share one allocation: a large handover
	// has a folio array per memfd.
	lists := make([]uint64, 0, 2*cap(out))
	entries := lists[:0:cap(out)]
	large := false
	// Writers emit ascending indices; a set of the indices seen is only
	// built once they stop ascending. Until then taken lists them in
	// order, those of folios refused later included: the kernel inserts
	// such a folio all the same, and its index is taken.
	var seen map[uint64]bool
	taken := lists[cap(out):cap(out)]
	for i := uint64(0); i+folioSerSize <= uint64(len(array)); i += folioSerSize {
		v, err := format.DecodeFolioSer(array[i:])
		if err != nil {
			d.add("ptr.read-failed", "", path, 0, "%v", err)
			return out
		}
		f := Folio{PFN: v.PFN, Flags: v.Flags, Index: v.Index}
		if f.PFN == 0 {
			continue
		}
		fpath := func() string { return fmt.Sprintf("%s[%d]", path, i/folioSerSize) }
		if f.PFN > ^uint64(0)>>d.geo.pageShift {
			// The address would wrap onto a page the folio does not name.
			d.add("ptr.overflow", "", fpath(), 0, "folio PFN %#x is past the top of a 64-bit address space", f.PFN)
			continue
		}
		pa := f.PFN << d.geo.pageShift
		if f.Flags&^format.FolioAllFlags != 0 {
			d.add("memfd.folio-flags-unknown", "", fpath(), pa, "flags %#x", f.Flags)
		}
		if seen == nil && len(taken) > 0 && f.Index <= taken[len(taken)-1] {
			seen = make(map[uint64]bool, len(taken))
			for _, idx := range taken {
				seen[idx] = true
			}
			taken = nil
		}
		if seen == nil {
			taken = append(taken, f.Index)
		} else {
			if seen[f.Index] {
				d.add("memfd.folio-index-duplicate", "", fpath(), pa, "index %d is used by an earlier folio", f.Index)
				continue
			}
			seen[f.Index] = true
		}
		folioNeed := need{align: ps, preserved: true, order: -1}
		if !d.fine(pa, ps, folioNeed) && !d.check(fpath(), "folio", pa, ps, folioNeed) {
			continue
		}
		if d.mapOK {
			if b, ok := d.h.MemoryMap.Covers(pa, ps); ok {
				if b.Addr == pa {
					f.Order = b.Order
				} else {
					d.add("ptr.order-mismatch", "", fpath(), pa, "folio at %#x lies inside the order-%d block at %#x", pa, b.Order, b.Addr)
				}
			}
		}
		start, _ := folioSpan(f)
		if start != f.Index {
			d.add("memfd.folio-index-unaligned", "", fpath(), pa, "order-%d folio at index %d, not a multiple of %d", f.Order, f.Index, uint64(1)<<f.Order)
		}
		// The kernel checks no index against the size: it inserts the
		// folio at its span even past i_size. One that fills no index of
		// the file is refused; a large one whose Index is past the end
		// but whose span starts inside it is kept, as the kernel reads it.
		if start >= pages {
			if f.Order == 0 {
				d.add("memfd.folio-index-range", "", fpath(), pa, "index %d >= %d pages of a %d-byte file; the kernel inserts it past i_size all the same", f.Index, pages, size)
			} else {
				d.add("memfd.folio-index-range", "", fpath(), pa, "order-%d folio at index %d fills indices from %d, none below the %d pages of a %d-byte file; the kernel inserts it past i_size all the same", f.Order, f.Index, start, pages, size)
			}
			continue
		}
		large = large || f.Order > 0
		out = append(out, f)
		entries = append(entries, i/folioSerSize)
	}
	if large {
		out = d.dropIndexOverlaps(path, out, entries)
	}
	return out
}

// dropIndexOverlaps drops a folio whose page-cache indices overlap those of
// an earlier one when either is large: the kernel inserts each folio at its
// [folioSpan] in array order, and the insert of the later one fails as a
// duplicate index's does (-EEXIST). entries[k] is out[k]'s entry in the
// folio array, for the paths.
func (d *decoder) dropIndexOverlaps(path string, out []Folio, entries []uint64) []Folio {
	var claims blockClaims[int] // page-cache blocks → index in out
	drop := make([]bool, len(out))
	for k, f := range out {
		start, end := folioSpan(f)
		c, ok := claims.claim(start, uint(f.Order), k)
		if ok {
			continue
		}
		drop[k] = true
		o := out[c.value]
		oStart, oEnd := folioSpan(o)
		d.add("memfd.folio-index-duplicate", "", fmt.Sprintf("%s[%d]", path, entries[k]), f.PFN<<d.geo.pageShift,
			"order-%d folio at index %d fills indices [%d, %d), which overlap the order-%d folio at index %d (%s[%d]) filling [%d, %d)",
			f.Order, f.Index, start, end, o.Order, o.Index, path, entries[c.value], oStart, oEnd)
	}
	kept := out[:0]
	for k, f := range out {
		if !drop[k] {
			kept = append(kept, f)
		}
	}
	return kept
}

// dropSharedFolios finds folios that overlap (two memfds, or one twice,
// claiming a page): the kernel would restore the page twice and hand it to
// two files. Of overlapping folios the first by address (then in decode
// order) is kept; the others are reported and dropped. Sorting one small
// record per folio keeps the cost in proportion to the model.
func (d *decoder) dropSharedFolios(path string, sessions []Session) {
	type ref struct {
		start, end uint64 // pages [start, end)
		s, f, i    int32
	}
	n := 0
	for si := range sessions {
		for _, f := range sessions[si].Files {
			if f.Memfd != nil {
				n += len(f.Memfd.Folios)
			}
		}
	}
	if n < 2 {
		return
	}
	refs := make([]ref, 0, n) // a large handover has tens of thousands
	for si := range sessions {
		for fi := range sessions[si].Files {
			m := sessions[si].Files[fi].Memfd
			if m == nil {
				continue
			}
			for i, fo := range m.Folios {
				refs = append(refs, ref{fo.PFN, fo.PFN + 1<<(fo.Order&63), int32(si), int32(fi), int32(i)})
			}
		}
	}
	slices.SortStableFunc(refs, func(a, b ref) int { return cmp.Compare(a.start, b.start) })
	drop := map[[3]int32]bool{}
	var end uint64
	var owner ref
	for k, r := range refs {
		if k > 0 && r.start < end {
			drop[[3]int32{r.s, r.f, r.i}] = true
			d.add("memfd.folio-shared", "", fmt.Sprintf("%s[%d]/files[%d]/memfd/folios[%d]", path, r.s, r.f, r.i), r.start<<d.geo.pageShift,
				"folio at pfn %#x overlaps folio %d of %s[%d]/files[%d]", r.start, owner.i, path, owner.s, owner.f)
			continue
		}
		end, owner = r.end, r
	}
	if len(drop) == 0 {
		return
	}
	for si := range sessions {
		for fi := range sessions[si].Files {
			m := sessions[si].Files[fi].Memfd
			if m == nil {
				continue
			}
			kept := m.Folios[:0]
			for i, fo := range m.Folios {
				if !drop[[3]int32{int32(si), int32(fi), int32(i)}] {
					kept = append(kept, fo)
				}
			}
			m.Folios = kept
		}
	}
}

// folioSpan returns the page-cache indices [start, end) that f fills once
// the kernel inserts it: a folio of order o is one multi-index xarray entry
// over the 2^o indices from f.Index rounded down to a multiple of 2^o,
// whatever f.Index's low bits say, with its page j at index start+j. An
// order of 64 or more fills every index. end saturates at 2^64-1; no file
// reaches that index (MAX_LFS_FILESIZE is 2^63-1 bytes).
func folioSpan(f Folio) (start, end uint64) {
	if f.Order >= 64 {
		return 0, ^uint64(0)
	}
	n := uint64(1) << f.Order
	start = f.Index &^ (n - 1)
	return start, start + min(n, ^uint64(0)-start)
}
