package kho

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Sizes of the LUO structures (abi.md §6.2).
const (
	sessionNameLen   = 64 // LIVEUPDATE_SESSION_NAME_LENGTH
	sessionSerSize   = 80 // luo_session_ser with file_set_ser (luo-session-v2 and later)
	sessionSerV1Size = 64 // luo-session-v1: name only
	fileCompatLen    = 48 // LIVEUPDATE_HNDL_COMPAT_LENGTH
	fileSerSize      = 64
	flbNameLen       = 48 // LIVEUPDATE_FLB_COMPAT_LENGTH
	flbHeaderSize    = 16
	flbSerSize       = 64
	sessionArrayPgs  = 16 // LUO_SESSION_PGCNT (luo-v1 … luo-v3)
	fileArrayPgs     = 2  // LUO_FILE_PGCNT (luo-v1 … luo-v4)
)

// luoLayout says how one LUO generation stores sessions and files.
type luoLayout struct {
	sessionBlocks bool   // sessions in a block chain (luo-v4+), else a 16-page array with a count header
	fileBlocks    bool   // files in block chains (luo-v5), else 2-page arrays
	sessionSize   uint64 // 80, or 64 for luo-session-v1
}

// luoSerVariant is one raw luo_ser layout: the compatible, the length of
// its aligned field, and the layout of what it points to.
type luoSerVariant struct {
	compat    string
	compatLen int
	layout    luoLayout
}

// The raw luo_ser variants (abi.md §6.2, §6.4). The posted
// "-kho-block-v1" variants are taken to be the block-based end state of
// their series (sessions and files in blocks).
var luoSerVariants = []luoSerVariant{
	{"luo-v3", 8, luoLayout{false, false, sessionSerSize}},
	{"luo-v4", 8, luoLayout{true, false, sessionSerSize}},
	{"luo-v5", 8, luoLayout{true, true, sessionSerSize}},
	{"luo-v5;block-v1", 16, luoLayout{true, true, sessionSerSize}},
	{"luo-v3-kho-block-v1", 24, luoLayout{true, true, sessionSerSize}},
	{"luo-v4-kho-block-v1", 24, luoLayout{true, true, sessionSerSize}},
}

// cString returns the NUL-terminated string at the start of b and whether
// a NUL was found within b.
func cString(b []byte) (string, bool) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i]), true
	}
	return string(b), false
}

// decodeLUOSer decodes a raw luo_ser blob (luo-v3 and later). blob holds
// blob-size bytes (bounded by the caller).
func (d *decoder) decodeLUOSer(path string, addr uint64, blob []byte) *LUO {
	name, _ := cString(blob[:min(len(blob), 32)])
	var v *luoSerVariant
	for i := range luoSerVariants {
		if luoSerVariants[i].compat == name {
			v = &luoSerVariants[i]
			break
		}
	}
	if v == nil {
		d.add("luo.compatible-unknown", "", path, addr, "luo_ser compatible %q is not known", name)
		return nil
	}
	size := v.compatLen + 24
	if len(blob) < size {
		d.add("luo.blob-too-small", "", path, addr, "blob-size %d < %d bytes of a %s luo_ser", len(blob), size, v.compat)
		return nil
	}
	if len(blob) > size {
		d.add("luo.blob-size-mismatch", "", path, addr, "blob-size %d > %d bytes of a %s luo_ser", len(blob), size, v.compat)
	}
	if pad := blob[len(name):v.compatLen]; bytes.Count(pad, []byte{0}) != len(pad) {
		d.add("luo.compatible-padding", "", path, addr, "compatible field % x has bytes after the NUL", blob[:v.compatLen])
	}
	r := readBuf(blob[v.compatLen:size])
	l := &LUO{Compatible: v.compat, Addr: addr, LiveupdateNumber: r.uint64(), SessionsAddr: r.uint64(), FLBsAddr: r.uint64()}
	d.decodeLUOState(path, l, v.layout, false)
	return l
}

// decodeLUOState follows a LUO header's session and FLB pointers. flbV1
// says the FLB pointer came from a luo-v1 FDT, where 0 is not "none" to
// the kernel.
func (d *decoder) decodeLUOState(path string, l *LUO, lay luoLayout, flbV1 bool) {
	if l.SessionsAddr != 0 {
		l.Sessions = d.decodeSessions(path+"/sessions", l.SessionsAddr, lay)
	}
	switch {
	case l.FLBsAddr != 0:
		l.FLBs = d.decodeFLBs(path+"/flbs", l.FLBsAddr)
	case flbV1:
		d.add("ptr.zero", "flb-v1", path+"/flbs", 0, "luo-flb-header is 0")
	}
}

// decodeSessions reads the session set at pa.
func (d *decoder) decodeSessions(path string, pa uint64, lay luoLayout) []Session {
	var entries []byte
	if lay.sessionBlocks {
		e, ok := d.walkBlocks(path, "sessions", pa, lay.sessionSize)
		if !ok {
			return nil
		}
		entries = e
	} else {
		arr := sessionArrayPgs * d.geo.pageSize
		if !d.check(path, "session array", pa, arr, need{align: d.geo.pageSize, preserved: true, order: 4}) {
			return nil
		}
		hdr := d.read(path, "session array header", pa, 8)
		if hdr == nil {
			return nil
		}
		count := binary.LittleEndian.Uint64(hdr)
		if max := (arr - 8) / lay.sessionSize; count > max {
			d.add("session.count-too-large", "", path, pa, "session count %d > %d", count, max)
			return nil
		}
		if entries = d.read(path, "session array", pa+8, int(count*lay.sessionSize)); entries == nil {
			return nil
		}
	}
	var out []Session
	seen := make(map[string]bool)
	tokens := make(map[uint64]string) // file data pointers across sessions
	for i := 0; i < len(entries)/int(lay.sessionSize); i++ {
		e := entries[uint64(i)*lay.sessionSize:][:lay.sessionSize]
		spath := fmt.Sprintf("%s[%d]", path, i)
		name, ok := cString(e[:sessionNameLen])
		switch {
		case !ok:
			d.add("session.name-unterminated", "", spath, 0, "session name %q has no NUL within %d bytes", name, sessionNameLen)
			continue
		case name == "":
			d.add("session.name-empty", "", spath, 0, "session name is empty")
			continue
		case seen[name]:
			d.add("session.name-duplicate", "", spath, 0, "session name %q is used by an earlier session", name)
			continue
		}
		seen[name] = true
		s := Session{Name: name}
		if lay.sessionSize >= sessionSerSize {
			r := readBuf(e[sessionNameLen:])
			s.FilesAddr, s.FileCount = r.uint64(), r.uint64()
			s.Files = d.decodeFiles(spath+"/files", s.FilesAddr, s.FileCount, lay, tokens)
		}
		out = append(out, s)
	}
	return out
}

// decodeFiles reads one session's file set. data maps handler data
// pointers to the file that first used them, across all sessions.
func (d *decoder) decodeFiles(path string, pa, count uint64, lay luoLayout, data map[uint64]string) []File {
	if pa == 0 {
		if count != 0 {
			d.add("file.files-zero", "", path, 0, "files pointer is 0 but count is %d", count)
		}
		return nil
	}
	var entries []byte
	if lay.fileBlocks {
		e, ok := d.walkBlocks(path, "files", pa, fileSerSize)
		if !ok {
			return nil
		}
		if n := uint64(len(e)) / fileSerSize; n != count {
			d.add("file.count-mismatch", "", path, pa, "the chain holds %d files, file_set_ser.count says %d", n, count)
			return nil
		}
		entries = e
	} else {
		arr := fileArrayPgs * d.geo.pageSize
		if max := arr / fileSerSize; count > max {
			d.add("file.count-too-large", "", path, pa, "file count %d > %d", count, max)
			return nil
		}
		if !d.check(path, "file array", pa, arr, need{align: d.geo.pageSize, preserved: true, order: 1}) {
			return nil
		}
		if entries = d.read(path, "file array", pa, int(count*fileSerSize)); entries == nil {
			return nil
		}
	}
	var out []File
	tokens := make(map[uint64]bool)
	for i := 0; i < len(entries)/fileSerSize; i++ {
		e := entries[i*fileSerSize:][:fileSerSize]
		fpath := fmt.Sprintf("%s[%d]", path, i)
		compat, ok := cString(e[:fileCompatLen])
		if !ok {
			d.add("file.compatible-unterminated", "", fpath, 0, "compatible %q has no NUL within %d bytes", compat, fileCompatLen)
			continue
		}
		r := readBuf(e[fileCompatLen:])
		f := File{Compatible: compat, Data: r.uint64(), Token: r.uint64()}
		if tokens[f.Token] {
			d.add("file.token-duplicate", "", fpath, 0, "token %#x is used by an earlier file of the session", f.Token)
			continue
		}
		tokens[f.Token] = true
		if f.Data != 0 {
			if first, dup := data[f.Data]; dup {
				d.add("file.data-duplicate", "", fpath, f.Data, "data %#x is also the data of %s", f.Data, first)
				continue
			}
			data[f.Data] = fpath
		}
		switch memfdVersion(compat) {
		case 0:
			d.add("file.compatible-unknown", "", fpath, 0, "no known handler for %q", compat)
		default:
			f.Memfd = d.decodeMemfd(fpath+"/memfd", f.Data, memfdVersion(compat))
		}
		out = append(out, f)
	}
	return out
}

// decodeFLBs reads the FLB page (abi.md §7, rule 21).
func (d *decoder) decodeFLBs(path string, pa uint64) []FLB {
	if !d.check(path, "FLB page", pa, d.geo.pageSize, need{align: d.geo.pageSize, preserved: true, order: 0, ctx: "flb"}) {
		return nil
	}
	page := d.read(path, "FLB page", pa, int(d.geo.pageSize))
	if page == nil {
		return nil
	}
	r := readBuf(page)
	pgcnt, count := r.uint64(), r.uint64()
	if pgcnt != 1 {
		d.add("flb.pgcnt-invalid", "", path, pa, "pgcnt is %d, want 1", pgcnt)
	}
	if max := (d.geo.pageSize - flbHeaderSize) / flbSerSize; count > max {
		d.add("flb.count-exceeds-page", "", path, pa, "count %d > %d entries a page holds", count, max)
		return nil
	}
	var out []FLB
	seen := make(map[string]bool)
	for i := uint64(0); i < count; i++ {
		e := page[flbHeaderSize+i*flbSerSize:][:flbSerSize]
		epath := fmt.Sprintf("%s[%d]", path, i)
		addr := pa + flbHeaderSize + i*flbSerSize
		name, ok := cString(e[:flbNameLen])
		switch {
		case !ok:
			d.add("flb.name-unterminated", "", epath, addr, "name %q has no NUL within %d bytes", name, flbNameLen)
			continue
		case name == "":
			d.add("flb.name-empty", "", epath, addr, "name is empty")
			continue
		case seen[name]:
			d.add("flb.name-duplicate", "", epath, addr, "name %q is used by an earlier entry", name)
			continue
		}
		seen[name] = true
		r := readBuf(e[flbNameLen:])
		f := FLB{Name: name, Data: r.uint64(), Count: r.uint64()}
		switch {
		case f.Count == 0:
			d.add("flb.entry-count-zero", "", epath, addr, "%s: count is 0", name)
			continue
		case f.Count > 1<<31-1:
			d.add("flb.entry-count-too-large", "", epath, addr, "%s: count %d > INT_MAX", name, f.Count)
			continue
		}
		out = append(out, f)
	}
	return out
}

// readBuf is a little-endian cursor over a checked slice (as in
// archive/zip): the caller sizes the slice before reading.
type readBuf []byte

func (b *readBuf) uint16() uint16 {
	v := binary.LittleEndian.Uint16(*b)
	*b = (*b)[2:]
	return v
}

func (b *readBuf) uint32() uint32 {
	v := binary.LittleEndian.Uint32(*b)
	*b = (*b)[4:]
	return v
}

func (b *readBuf) uint64() uint64 {
	v := binary.LittleEndian.Uint64(*b)
	*b = (*b)[8:]
	return v
}
