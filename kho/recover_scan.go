package kho

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// recoverer carries one RecoverLUO call.
type recoverer struct {
	mem      physmem.Memory
	opts     Options
	ro       RecoverOptions
	geo      geometry
	h        *Handover
	mapOK    bool
	rec      *Recovery
	forced   bool // the pointers decoded; the scan only cross-checks
	sessions bool // the session chain must be recovered
	flbs     bool // the FLB page must be recovered
	scan     recScan
	maxCount uint64 // the largest entry count any recognised page may have

	blocksWalked int            // file and session blocks walked in all candidate chains, against MaxTotalBlocks
	codeCounts   map[string]int // recovery findings per code
	inferredNum  uint64         // liveupdate_num inferred from the outgoing luo_ser; 0 = none
}

// recScan is what the streaming pass kept: pages that passed the in-page
// checks, in ascending address order.
type recScan struct {
	sessionBlocks []recSessionBlock
	flbPages      []recFLBPage
	luoSers       []recLUOSer
	fileBlocks    []uint64
	pages         uint64
	truncated     bool
}

// recSessionBlock is a page that reads as a luo-v5 session block.
type recSessionBlock struct {
	addr, next uint64
	count      int
	tailZero   bool // every byte past the entries is zero
	fileSets   []recFileSet
}

type recFileSet struct{ files, count uint64 }

// recFLBPage is a page that reads as a populated FLB page.
type recFLBPage struct {
	addr  uint64
	count int
}

// recLUOSer is a page holding a luo-v5 luo_ser.
type recLUOSer struct {
	addr                  uint64
	num, sessions, flbsPA uint64
}

// luoSerV5Word is the luo_ser compatible field of luo-v5 as stored:
// "luo-v5" NUL-padded to LUO_ABI_COMPAT_LEN (8), one little-endian word.
var luoSerV5Word = func() uint64 {
	c, err := format.MakeCString("luo-v5", format.LUOCompatLen)
	if err != nil || len(c) != 8 {
		panic("kho: the luo-v5 compatible is not one word")
	}
	return binary.LittleEndian.Uint64(c)
}()

// Offsets the page classifier reads, from the catalogue. The block header
// and the FLB header keep their counts at the same offset, which lets one
// load reject most pages for both.
var (
	luoSerV5    = format.LUORoot("luo-v5")
	recCountOff = func() uint64 {
		off := fieldOffset((format.BlockHeader{}).Format(), "count")
		if off != fieldOffset((format.FLBHeader{}).Format(), "count") {
			panic("kho: block and FLB headers keep their counts at different offsets")
		}
		return off
	}()
	recLUOSerNumOff      = fieldOffset(luoSerV5, "liveupdate_num")
	recLUOSerSessionsOff = fieldOffset(luoSerV5, "sessions_pa")
	recLUOSerFLBsOff     = fieldOffset(luoSerV5, "flbs_pa")
	recFileSetOff        = fieldOffset((format.SessionSer{}).Format(), "file_set_ser")
	recSessionFilesOff   = recFileSetOff + fieldOffset((format.FileSetSer{}).Format(), "files")
	recSessionCountOff   = recFileSetOff + fieldOffset((format.FileSetSer{}).Format(), "count")
	recFLBCountOff       = fieldOffset((format.FLBSer{}).Format(), "count")
)

// scanMemory classifies every whole page of every present range (see
// scanPresent): a structure never straddles a range edge. Memory use is
// one chunk plus the candidates kept.
func (rc *recoverer) scanMemory() {
	ps := rc.geo.pageSize
	scanPresent(rc.mem, ps, rc.ro.ChunkSize, false, func(a uint64, chunk []byte) {
		for off := uint64(0); off < uint64(len(chunk)); off += ps {
			rc.classify(a+off, chunk[off:off+ps])
		}
	}, rc.ro.Progress)
}

// classify looks at one page. The filters are ordered by cost: the u64
// count at recCountOff (session/file block, FLB page) or the luo_ser
// compatible at offset 0 rejects almost every page after two loads.
func (rc *recoverer) classify(pa uint64, page []byte) {
	rc.scan.pages++
	le := binary.LittleEndian
	w0 := le.Uint64(page)
	if w0 == luoSerV5Word {
		if allZero(page[format.LUOSerSize:]) {
			keep(rc, &rc.scan.luoSers, recLUOSer{addr: pa, num: le.Uint64(page[recLUOSerNumOff:]), sessions: le.Uint64(page[recLUOSerSessionsOff:]), flbsPA: le.Uint64(page[recLUOSerFLBsOff:])})
		}
		return
	}
	count := le.Uint64(page[recCountOff:])
	if count-1 >= rc.maxCount {
		return
	}
	if w0 == format.LUOFLBPgCnt {
		if p, ok := rc.flbPage(pa, page, int(count)); ok {
			keep(rc, &rc.scan.flbPages, p)
			return
		}
	}
	if w0%rc.geo.pageSize != 0 || w0 == pa {
		return
	}
	if b, ok := rc.sessionBlock(pa, w0, page, int(count)); ok {
		keep(rc, &rc.scan.sessionBlocks, b)
		return
	}
	if rc.fileBlock(page, count) {
		keep(rc, &rc.scan.fileBlocks, pa)
	}
}

// keep appends v to the scan's candidates of its kind, at most
// MaxCandidates of them; past that the scan is marked truncated.
func keep[T any](rc *recoverer, list *[]T, v T) {
	if appendCapped(list, v, rc.ro.MaxCandidates) {
		rc.scan.truncated = true
	}
}

// sessionBlock applies the in-page checks of a luo-v5 session block:
// 1..51 entries (4 KiB pages), each a non-empty printable name with a NUL
// inside its 64 bytes and only zeros after it (the block page is
// allocated zeroed and names are copied with strscpy), and a file set
// that is {0, 0} or a page-aligned pointer with a count the pointer's
// chain could hold.
func (rc *recoverer) sessionBlock(pa, next uint64, page []byte, count int) (recSessionBlock, bool) {
	if count > rc.geo.caps.SessionsPerBlock {
		return recSessionBlock{}, false
	}
	le := binary.LittleEndian
	ps := rc.geo.pageSize
	maxFiles := uint64(rc.geo.caps.FilesPerBlock) * uint64(rc.opts.MaxBlocks)
	es := sessionSerSize
	// Cheapest reject first: the first name's first byte.
	if c := page[blockHeaderSize]; c < 0x20 || c > 0x7e {
		return recSessionBlock{}, false
	}
	b := recSessionBlock{addr: pa, next: next, count: count}
	for i := 0; i < count; i++ {
		e := page[blockHeaderSize+uint64(i)*es:][:es]
		if !cleanName(e[:format.SessionNameLen]) {
			return recSessionBlock{}, false
		}
		files, n := le.Uint64(e[recSessionFilesOff:]), le.Uint64(e[recSessionCountOff:])
		switch {
		case files == 0 && n == 0:
		case files == 0 || n == 0 || files%ps != 0 || files == pa || n > maxFiles:
			return recSessionBlock{}, false
		}
		b.fileSets = append(b.fileSets, recFileSet{files, n})
	}
	b.tailZero = allZero(page[blockHeaderSize+uint64(count)*es:])
	return b, true
}

// cleanName reports whether a fixed char array holds a non-empty printable
// ASCII string, NUL-terminated inside the array, with only zeros after.
func cleanName(b []byte) bool {
	n := bytes.IndexByte(b, 0)
	if n <= 0 {
		return false
	}
	for _, c := range b[:n] {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return allZero(b[n+1:])
}

// flbPage applies the in-page checks of a populated FLB page: pgcnt 1 (the
// caller checked), 1..63 entries whose names are non-empty, NUL-terminated
// and of the compatible grammar, each count in 1..INT_MAX, and zeros past
// the last entry.
func (rc *recoverer) flbPage(pa uint64, page []byte, count int) (recFLBPage, bool) {
	if count < 1 || count > rc.geo.caps.FLBMax {
		return recFLBPage{}, false
	}
	le := binary.LittleEndian
	p := recFLBPage{addr: pa, count: count}
	for i := 0; i < count; i++ {
		e := page[flbHeaderSize+uint64(i)*flbSerSize:][:flbSerSize]
		n := bytes.IndexByte(e[:format.FLBCompatLen], 0)
		if n <= 0 {
			return recFLBPage{}, false
		}
		if _, err := format.ParseCompat(string(e[:n])); err != nil {
			return recFLBPage{}, false
		}
		if c := le.Uint64(e[recFLBCountOff:]); c == 0 || c > math.MaxInt32 {
			return recFLBPage{}, false
		}
	}
	if !allZero(page[flbHeaderSize+uint64(count)*flbSerSize:]) {
		return recFLBPage{}, false
	}
	return p, true
}

// fileBlock is the in-page check of a file block head: a count the block
// holds and a first entry naming a known handler. It only feeds the
// orphan list; file chains are validated from their sessions.
func (rc *recoverer) fileBlock(page []byte, count uint64) bool {
	if count > uint64(rc.geo.caps.FilesPerBlock) {
		return false
	}
	compat, ok := cString(page[blockHeaderSize : blockHeaderSize+format.HandleCompatLen])
	return ok && memfdVersion(compat) != 0
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
