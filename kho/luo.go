package kho

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// Sizes of the LUO structures, from the format catalogue.
var (
	sessionSerSize   = uint64((format.SessionSer{}).Format().Size)   // luo-session-v2 and later
	sessionSerV1Size = uint64((format.SessionSerV1{}).Format().Size) // luo-session-v1: name only
	sessionHdrSize   = uint64((format.SessionHeader{}).Format().Size)
	fileSerSize      = uint64((format.FileSer{}).Format().Size)
	flbHeaderSize    = uint64((format.FLBHeader{}).Format().Size)
	flbSerSize       = uint64((format.FLBSer{}).Format().Size)
)

// fieldOffset is the byte offset of field name in the catalogue layout f.
// The names are this package's constants, so a missing one is a programming
// error caught by any test that loads the package.
func fieldOffset(f *format.Format, name string) uint64 {
	fl := f.Field(name)
	if fl == nil {
		panic(fmt.Sprintf("kho: catalogue format %s has no field %q", f.Name, name))
	}
	return uint64(fl.Offset)
}

// Allocation sizes of the luo-v1 … luo-v4 arrays (format.LUOSessionPgCnt,
// format.LUOFilePgCnt): the kernel preserves each as one folio, of the order
// its page count gives.
const (
	sessionArrayPgs = format.LUOSessionPgCnt
	fileArrayPgs    = format.LUOFilePgCnt
)

var (
	sessionArrayOrder = bits.Len(sessionArrayPgs) - 1
	fileArrayOrder    = bits.Len(fileArrayPgs) - 1
)

// luoLayout says how one LUO generation stores sessions and files.
type luoLayout struct {
	sessionBlocks bool   // sessions in a block chain (luo-v4+), else a 16-page array with a count header
	fileBlocks    bool   // files in block chains (luo-v5), else 2-page arrays
	sessionSize   uint64 // 80, or 64 for luo-session-v1
}

// luoLayouts maps a raw luo_ser compatible (luo-v3 and later, and the
// posted variants) to what its pointers lead to, from the catalogue's
// format.LUOStorageOf: one source of truth.
var luoLayouts = func() map[string]luoLayout {
	m := make(map[string]luoLayout)
	for _, f := range format.All() {
		if f.CName != "luo_ser" || f.Compatible == "luo-v2" { // luo-v2 hangs off a LUO FDT
			continue
		}
		if lay, ok := luoLayoutOf(f); ok {
			m[f.Compatible] = lay
		}
	}
	return m
}()

// luoCompatWidth is the widest compatible field of the raw luo_ser
// layouts: how far a blob is searched for the NUL ending its compatible.
var luoCompatWidth = func() int {
	w := 0
	for _, f := range format.All() {
		if f.CName == "luo_ser" && len(f.Fields) > 0 && f.Fields[0].Name == "compatible" {
			w = max(w, f.Fields[0].Size)
		}
	}
	return w
}()

// luoLayoutOf is how the LUO root layout f (a LUO FDT or a luo_ser
// variant) stores sessions and files.
func luoLayoutOf(f *format.Format) (luoLayout, bool) {
	st, ok := format.LUOStorageOf(f.Name)
	return luoLayout{sessionBlocks: st.SessionBlocks, fileBlocks: st.FileBlocks, sessionSize: sessionSerSize}, ok
}

// luoRootFormat is the catalogue name of a LUO root with compatible
// compat, when it is of the kind the blob is (an FDT or a raw luo_ser),
// else "unknown".
func luoRootFormat(compat string, isFDT bool) string {
	f := format.LUORoot(compat)
	if f == nil || (f.Kind == format.KindFDT) != isFDT {
		return "unknown"
	}
	return f.Name
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
	name, _ := cString(blob[:min(len(blob), luoCompatWidth)])
	v, err := format.DecodeLUOSer(blob)
	lay, known := luoLayouts[name]
	switch {
	case err != nil && known && errors.Is(err, format.ErrShort):
		d.add("luo.blob-too-small", "", path, addr, "blob-size %d is too small for a %s luo_ser: %v", len(blob), name, err)
		return nil
	case err != nil || !known:
		hint := ""
		if d.mapStale {
			hint = " (the memory map looks reused too: in an image taken after the kexec the new kernel has freed and reused the luo_ser page)"
		}
		d.add("luo.compatible-unknown", "", path, addr, "luo_ser compatible %q is not known%s", name, hint)
		return nil
	}
	if size := v.Format().Size; len(blob) > size {
		d.add("luo.blob-size-mismatch", "", path, addr, "blob-size %d > %d bytes of a %s luo_ser", len(blob), size, name)
	}
	if !v.Compatible.CleanPadding() {
		d.add("luo.compatible-padding", "", path, addr, "compatible field % x has bytes after the NUL", []byte(v.Compatible))
	}
	l := &LUO{Compatible: name, Addr: addr, LiveupdateNumber: v.LiveupdateNum, SessionsAddr: v.SessionsPA, FLBsAddr: v.FLBsPA}
	d.decodeLUOState(path, l, lay, false)
	return l
}

// decodeLUOState follows a LUO header's session and FLB pointers. flbV1
// says the FLB pointer came from a luo-v1 FDT, where 0 is not "none" to
// the kernel.
func (d *decoder) decodeLUOState(path string, l *LUO, lay luoLayout, flbV1 bool) {
	if l.SessionsAddr != 0 {
		l.Sessions = d.decodeSessions(path+"/sessions", l.SessionsAddr, lay)
		d.dropSharedFolios(path+"/sessions", l.Sessions)
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
	var addrs []uint64
	if lay.sessionBlocks {
		e, a, ok := d.walkBlocks(path, "sessions", pa, lay.sessionSize, uint64(d.geo.caps.SessionsPerBlock))
		if !ok {
			return nil
		}
		entries, addrs = e, a
	} else {
		arr := sessionArrayPgs * d.geo.pageSize
		if !d.check(path, "session array", pa, arr, need{align: d.geo.pageSize, preserved: true, order: sessionArrayOrder}) {
			return nil
		}
		hdr := d.read(path, "session array header", pa, int(sessionHdrSize))
		if hdr == nil {
			return nil
		}
		h, err := format.DecodeSessionHeader(hdr)
		if err != nil {
			d.add("ptr.read-failed", "", path, pa, "%v", err)
			return nil
		}
		if limit := (arr - sessionHdrSize) / lay.sessionSize; h.Count > limit {
			d.add("session.count-too-large", "", path, pa, "session count %d > %d", h.Count, limit)
			return nil
		}
		if entries = d.read(path, "session array", pa+sessionHdrSize, int(h.Count*lay.sessionSize)); entries == nil {
			return nil
		}
		for i := uint64(0); i < h.Count; i++ {
			addrs = append(addrs, pa+sessionHdrSize+i*lay.sessionSize)
		}
	}
	var out []Session
	seen := make(map[string]bool)
	data := make(map[uint64]string) // file data pointers across sessions
	for i := 0; i < len(entries)/int(lay.sessionSize); i++ {
		e := entries[uint64(i)*lay.sessionSize:][:lay.sessionSize]
		spath := fmt.Sprintf("%s[%d]", path, i)
		at := addrs[i]
		var name format.CString
		var fs format.FileSetSer
		if lay.sessionSize == sessionSerSize {
			v, err := format.DecodeSessionSer(e)
			if err != nil {
				d.add("ptr.read-failed", "", spath, at, "%v", err)
				continue
			}
			name, fs = v.Name, v.FileSet
		} else {
			v, err := format.DecodeSessionSerV1(e)
			if err != nil {
				d.add("ptr.read-failed", "", spath, at, "%v", err)
				continue
			}
			name = v.Name
		}
		switch {
		case !name.Terminated():
			d.add("session.name-unterminated", "", spath, at, "session name %q has no NUL within %d bytes", name.String(), len(name))
			continue
		case name.String() == "":
			d.add("session.name-empty", "", spath, at, "session name is empty")
			continue
		case seen[name.String()]:
			d.add("session.name-duplicate", "", spath, at, "session name %q is used by an earlier session", name.String())
			continue
		}
		seen[name.String()] = true
		s := Session{Name: name.String()}
		if lay.sessionSize == sessionSerSize {
			s.FilesAddr, s.FileCount = fs.Files, fs.Count
			s.Files = d.decodeFiles(spath+"/files", s.FilesAddr, s.FileCount, lay, data)
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
	var addrs []uint64
	if lay.fileBlocks {
		e, a, ok := d.walkBlocks(path, "files", pa, fileSerSize, uint64(d.geo.caps.FilesPerBlock))
		if !ok {
			return nil
		}
		addrs = a
		if n := uint64(len(e)) / fileSerSize; n != count {
			d.add("file.count-mismatch", "", path, pa, "the chain holds %d files, file_set_ser.count says %d", n, count)
			return nil
		}
		entries = e
	} else {
		arr := fileArrayPgs * d.geo.pageSize
		if limit := uint64(d.geo.caps.FileMax); count > limit {
			d.add("file.count-too-large", "", path, pa, "file count %d > %d", count, limit)
			return nil
		}
		if !d.check(path, "file array", pa, arr, need{align: d.geo.pageSize, preserved: true, order: fileArrayOrder}) {
			return nil
		}
		if entries = d.read(path, "file array", pa, int(count*fileSerSize)); entries == nil {
			return nil
		}
		for i := uint64(0); i < count; i++ {
			addrs = append(addrs, pa+i*fileSerSize)
		}
	}
	var out []File
	tokens := make(map[uint64]bool)
	for i := uint64(0); i < uint64(len(entries))/fileSerSize; i++ {
		fpath := fmt.Sprintf("%s[%d]", path, i)
		at := addrs[i]
		v, err := format.DecodeFileSer(entries[i*fileSerSize:][:fileSerSize])
		if err != nil {
			d.add("ptr.read-failed", "", fpath, at, "%v", err)
			continue
		}
		if !v.Compatible.Terminated() {
			d.add("file.compatible-unterminated", "", fpath, at, "compatible %q has no NUL within %d bytes", v.Compatible.String(), len(v.Compatible))
			continue
		}
		f := File{Compatible: v.Compatible.String(), Data: v.Data, Token: v.Token}
		if tokens[f.Token] {
			d.add("file.token-duplicate", "", fpath, at, "token %#x is used by an earlier file of the session", f.Token)
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
		if ver := memfdVersion(f.Compatible); ver != 0 {
			f.Memfd = d.decodeMemfd(fpath+"/memfd", f.Data, ver)
		} else {
			d.add("file.compatible-unknown", "", fpath, at, "no known handler for %q", f.Compatible)
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
	h, err := format.DecodeFLBHeader(page)
	if err != nil {
		d.add("ptr.read-failed", "", path, pa, "%v", err)
		return nil
	}
	if h.PgCnt != format.LUOFLBPgCnt {
		d.add("flb.pgcnt-invalid", "", path, pa, "pgcnt is %d, want %d", h.PgCnt, format.LUOFLBPgCnt)
	}
	if limit := uint64(d.geo.caps.FLBMax); h.Count > limit {
		d.add("flb.count-exceeds-page", "", path, pa, "count %d > %d entries a page holds", h.Count, limit)
		return nil
	}
	var out []FLB
	seen := make(map[string]bool)
	for i := uint64(0); i < h.Count; i++ {
		off := flbHeaderSize + i*flbSerSize
		epath := fmt.Sprintf("%s[%d]", path, i)
		addr := pa + off
		v, err := format.DecodeFLBSer(page[off:])
		if err != nil {
			d.add("ptr.read-failed", "", epath, addr, "%v", err)
			continue
		}
		name := v.Name.String()
		switch {
		case !v.Name.Terminated():
			d.add("flb.name-unterminated", "", epath, addr, "name %q has no NUL within %d bytes", name, len(v.Name))
			continue
		case name == "":
			d.add("flb.name-empty", "", epath, addr, "name is empty")
			continue
		case seen[name]:
			d.add("flb.name-duplicate", "", epath, addr, "name %q is used by an earlier entry", name)
			continue
		}
		seen[name] = true
		switch {
		case v.Count == 0:
			d.add("flb.entry-count-zero", "", epath, addr, "%s: count is 0", name)
			continue
		case v.Count > math.MaxInt32:
			d.add("flb.entry-count-too-large", "", epath, addr, "%s: count %d > INT_MAX", name, v.Count)
			continue
		}
		out = append(out, FLB{Name: name, Data: v.Data, Count: v.Count})
	}
	return out
}

// ErrUnknownLUO is returned by DecodeLUO for a compatible it has no layout
// for.
var ErrUnknownLUO = errors.New("kho: unknown LUO compatible")

// DecodeLUO follows the session and FLB pointers of LUO state whose header
// is known by value rather than found through a root: in images taken
// after the kexec the luo_ser page has been reused, but the session chain
// and the FLB page survive and can be found by their contents. l.Compatible
// selects the layout ("luo-v5", "luo-v1" with luo-session-v2, ...);
// l.SessionsAddr and l.FLBsAddr are followed with every check Decode makes,
// except preservation: without a memory map it is not checked. The result
// is a copy of l with Sessions and FLBs filled in.
func DecodeLUO(mem physmem.Memory, l LUO, opts *Options) (*LUO, []Finding, error) {
	var lay luoLayout
	ok := false
	if f := format.LUORoot(l.Compatible); f != nil {
		lay, ok = luoLayoutOf(f)
	}
	if !ok {
		return nil, nil, fmt.Errorf("%w %q", ErrUnknownLUO, l.Compatible)
	}
	d, err := newDecoder(mem, opts)
	if err != nil {
		return nil, nil, err
	}
	d.mapNoted = true // no map: preservation is knowingly unchecked
	out := l
	out.Sessions, out.FLBs = nil, nil
	d.decodeLUOState("/LUO", &out, lay, false)
	d.finish()
	return &out, d.h.Findings, nil
}
