package kho

import (
	"bytes"
	"fmt"
	"math"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// KernelModel selects whose incoming-FLB semantics [RetrieveFLB] and
// [FLBSim] follow: a hardened retrieve (abi.md §10 rules 21–22) or what a
// mainline release's luo_flb.c does with the same bytes (abi.md §7.2,
// §7.3).
type KernelModel uint8

const (
	// Hardened validates the whole FLB page before use (pointer, pgcnt,
	// count against the page, NUL-terminated unique non-empty names,
	// per-entry count 1..INT_MAX), loads the count when the page is
	// accepted, keeps a failed retrieve sticky and runs finish exactly
	// once, after a successful retrieve.
	Hardened KernelModel = iota
	// Mainline70 and Mainline71: `long` counts loaded lazily by the first
	// retrieve, a `retrieved` flag (a failed retrieve leaves no trace and
	// is re-run by the next caller), get_incoming takes no reference, a
	// dependent file's finish decrements the count.
	Mainline70
	Mainline71
	// Mainline72 (as in 7.2.13) and Mainline73: refcount_t counts (the
	// entry count narrowed to 32 bits), get_incoming takes a reference
	// balanced by put_incoming, a file's finish is a put, and the
	// retrieve status is sticky (5c4a03afcb21) except for ENOENT and
	// ENODEV.
	Mainline72
	Mainline73
)

func (m KernelModel) String() string {
	switch m {
	case Hardened:
		return "hardened"
	case Mainline70:
		return "7.0"
	case Mainline71:
		return "7.1"
	case Mainline72:
		return "7.2"
	case Mainline73:
		return "7.3"
	}
	return fmt.Sprintf("KernelModel(%d)", uint8(m))
}

// Mainline returns the model of a mainline release: "7.0" … "7.3". The
// error for another release wraps ErrOptions.
func Mainline(release string) (KernelModel, error) {
	if m, ok := valueNamed(release, Mainline70, Mainline73); ok {
		return m, nil
	}
	return 0, fmt.Errorf("%w: no FLB model for release %q (have 7.0, 7.1, 7.2, 7.3)", ErrOptions, release)
}

// refcount32 reports whether the incoming count is a 32-bit refcount_t.
func (m KernelModel) refcount32() bool { return m == Mainline72 || m == Mainline73 }

// stickyStatus reports whether a failed retrieve() is remembered.
func (m KernelModel) stickyStatus() bool { return m != Mainline70 && m != Mainline71 }

// Errno is a kernel error number as a model returns it; 0 is success.
type Errno int

// Error numbers the FLB paths return (x86-64 values).
const (
	ENOENT     Errno = 2
	ENODEV     Errno = 19
	EINVAL     Errno = 22
	ENODATA    Errno = 61
	EOPNOTSUPP Errno = 95
)

func (e Errno) String() string {
	switch e {
	case 0:
		return "0"
	case ENOENT:
		return "ENOENT"
	case ENODEV:
		return "ENODEV"
	case EINVAL:
		return "EINVAL"
	case ENODATA:
		return "ENODATA"
	case EOPNOTSUPP:
		return "EOPNOTSUPP"
	}
	return fmt.Sprintf("Errno(%d)", int(e))
}

// The FLB page's layout is package format's (abi.md §6.2): a
// luo_flb_header_ser, then luo_flb_ser entries.
const (
	flbmHeaderSize = format.FLBHeaderSize
	flbmEntrySize  = format.FLBSerSize
	flbmNameLen    = format.FLBCompatLen
	flbmIntMax     = math.MaxInt32
)

// Where luo_flb_ser keeps the handle and the count a found entry returns;
// the scan reads them together, after the name.
var (
	flbmDataOff  = fieldOffset((format.FLBSer{}).Format(), "data")
	flbmCountOff = fieldOffset((format.FLBSer{}).Format(), "count")
)

// FLBOptions describe the memory around an FLB page.
type FLBOptions struct {
	PageSize uint64 // default 4096
	// Preserved, when non-nil, is the preserved-memory map: the hardened
	// model requires the header page to be one of its pages.
	Preserved []Block
	// Scratch regions must not hold the header page.
	Scratch []ScratchRegion
	// MaxScan bounds how many entries the mainline model's linear scan is
	// followed for (default 1<<16); a kernel scan that would go further
	// is reported, not simulated.
	MaxScan uint64
}

func (o *FLBOptions) resolved() FLBOptions {
	var v FLBOptions
	if o != nil {
		v = *o
	}
	if v.PageSize == 0 {
		v.PageSize = 4096
	}
	if v.MaxScan == 0 {
		v.MaxScan = 1 << 16
	}
	return v
}

// FLBResult is what one retrieve of the FLB called Name does with the
// bytes, under one model: the outcome of luo_flb_retrieve_one up to the
// call of the owner's retrieve().
type FLBResult struct {
	Model KernelModel
	Name  string
	// Err is what the lookup returns: 0 when an entry was found and its
	// data goes to the owner's retrieve(); ENODATA without an FLB page;
	// ENOENT when no entry matches; EINVAL when the hardened model
	// rejects the page.
	Err   Errno
	Found bool
	Index int    // entry that matched, -1 when none
	Data  uint64 // the entry's data, handed to retrieve()
	Count uint64 // the entry's count as stored
	// Refcount is the incoming count the kernel sets from Count: the low
	// 32 bits as a signed int (refcount_t) in 7.2/7.3, the 64 bits as a
	// signed long in 7.0/7.1, Count itself in the hardened model.
	Refcount int64
	// EntriesRead is how many entries the scan looked at; PastPage says
	// whether it read beyond the header page.
	EntriesRead uint64
	PastPage    bool
	// Impacts are the consequences of these bytes for this model, in the
	// order the kernel meets them.
	Impacts []Impact
}

// flbPage is the FLB page as read: header and the entries a page holds.
type flbPage struct {
	addr         uint64
	pgcnt, count uint64
	entries      []flbEntry // at most a page's worth
}

type flbEntry struct {
	name        string // up to the first NUL, or all 48 bytes
	terminated  bool
	data, count uint64
}

func (e *flbEntry) parse(b []byte) error {
	v, err := format.DecodeFLBSer(b)
	if err != nil {
		return err
	}
	e.name, e.terminated = v.Name.String(), v.Name.Terminated()
	e.data, e.count = v.Data, v.Count
	return nil
}

// flbmFinding makes a finding with the severity and kernel impacts the
// decoder's code table gives the code, so both report a defect alike
// (TestCodeTable keeps every code the model emits in the table).
func flbmFinding(code, path string, addr uint64, format string, args ...any) Finding {
	ci := codeInfo(code)
	return Finding{Severity: ci.Severity, Code: code, Path: path, Addr: addr, Message: fmt.Sprintf(format, args...), Kernel: ci.Kernel}
}

const flbmPath = "/LUO/flbs"

// CheckFLBPage validates the FLB page at addr as a hardened kernel must
// (abi.md §10 rule 21) and returns the findings; the page is acceptable
// when none has Error severity. addr 0 means "no FLBs" (luo-v5).
func CheckFLBPage(mem physmem.Memory, addr uint64, opts *FLBOptions) []Finding {
	o := opts.resolved()
	_, fs := readFLBPage(mem, addr, o)
	return fs
}

// readFLBPage reads and checks the page; the page is nil when it cannot
// be read at all.
func readFLBPage(mem physmem.Memory, addr uint64, o FLBOptions) (*flbPage, []Finding) {
	var fs []Finding
	ps := o.PageSize
	if addr == 0 {
		return nil, nil
	}
	if addr%ps != 0 {
		fs = append(fs, flbmFinding("ptr.unaligned", flbmPath, addr, "FLB page %#x is not page-aligned", addr))
	}
	if addr+ps < addr {
		return nil, append(fs, flbmFinding("ptr.overflow", flbmPath, addr, "FLB page %#x + %#x wraps", addr, ps))
	}
	for _, s := range o.Scratch {
		if addr < s.Addr+s.Size && s.Addr < addr+ps {
			fs = append(fs, flbmFinding("ptr.in-scratch", flbmPath, addr, "FLB page %#x lies in scratch [%#x+%#x)", addr, s.Addr, s.Size))
		}
	}
	if o.Preserved != nil && !flbmCovered(o.Preserved, addr, ps, ps) {
		fs = append(fs, flbmFinding("ptr.unpreserved", flbmPath, addr, "FLB page %#x is not in the preserved-memory map", addr))
	}
	buf := make([]byte, ps)
	if _, err := mem.ReadAt(buf, addr); err != nil {
		return nil, append(fs, flbmFinding("ptr.absent", flbmPath, addr, "FLB page: %v", err))
	}
	h, err := format.DecodeFLBHeader(buf[:flbmHeaderSize])
	if err != nil {
		return nil, append(fs, flbmFinding("ptr.read-failed", flbmPath, addr, "FLB header: %v", err))
	}
	p := &flbPage{addr: addr, pgcnt: h.PgCnt, count: h.Count}
	if p.pgcnt != 1 {
		sev := Warning
		if p.pgcnt == 0 {
			sev = Error
		}
		f := flbmFinding("flb.pgcnt-invalid", flbmPath, addr, "pgcnt is %d, want 1", p.pgcnt)
		f.Severity = sev // pgcnt 0 describes no region at all: not usable, whatever the table says
		fs = append(fs, f)
	}
	max := (ps - flbmHeaderSize) / flbmEntrySize
	if p.count > max {
		// The entries past the page are not the table's: nothing more
		// to check, the page is unusable.
		return p, append(fs, flbmFinding("flb.count-exceeds-page", flbmPath, addr, "count %d > %d entries a page holds", p.count, max))
	}
	p.entries = make([]flbEntry, p.count)
	seen := map[string]int{}
	for i := range p.entries {
		e := &p.entries[i]
		path := fmt.Sprintf("%s[%d]", flbmPath, i)
		ea := addr + flbmHeaderSize + uint64(i)*flbmEntrySize
		if err := e.parse(buf[flbmHeaderSize+i*flbmEntrySize:][:flbmEntrySize]); err != nil {
			return p, append(fs, flbmFinding("ptr.read-failed", path, ea, "FLB entry: %v", err))
		}
		switch {
		case !e.terminated:
			fs = append(fs, flbmFinding("flb.name-unterminated", path, ea, "name %q has no NUL within %d bytes", e.name, flbmNameLen))
		case e.name == "":
			fs = append(fs, flbmFinding("flb.name-empty", path, ea, "name is empty"))
		default:
			if j, dup := seen[e.name]; dup {
				fs = append(fs, flbmFinding("flb.name-duplicate", path, ea, "name %q is also entry %d", e.name, j))
			} else {
				seen[e.name] = i
			}
		}
		switch {
		case e.count == 0:
			fs = append(fs, flbmFinding("flb.entry-count-zero", path, ea, "%s: count is 0", e.name))
		case e.count > flbmIntMax:
			fs = append(fs, flbmFinding("flb.entry-count-too-large", path, ea, "%s: count %d > INT_MAX (a 32-bit refcount reads it as %d)", e.name, e.count, int32(uint32(e.count))))
		}
	}
	return p, fs
}

func flbmCovered(blocks []Block, addr, size, pageSize uint64) bool {
	for _, b := range blocks {
		end := b.Addr + pageSize<<b.Order
		if b.Addr <= addr && addr+size <= end {
			return true
		}
	}
	return false
}

// RetrieveFLB models the lookup of the FLB called name in the FLB page at
// flbsAddr by one kernel: what luo_flb_retrieve_one finds, which count it
// loads, how far its scan reads, and what that does. The findings are the
// hardened checks of the page (the same for every model); the result is
// the model's.
func RetrieveFLB(mem physmem.Memory, flbsAddr uint64, name string, model KernelModel, opts *FLBOptions) (FLBResult, []Finding) {
	o := opts.resolved()
	page, fs := readFLBPage(mem, flbsAddr, o)
	r := FLBResult{Model: model, Name: name, Index: -1}
	if model == Hardened {
		return retrieveHardened(r, flbsAddr, page, fs), fs
	}
	return retrieveMainline(r, mem, flbsAddr, name, o), fs
}

func hasError(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

func retrieveHardened(r FLBResult, addr uint64, page *flbPage, fs []Finding) FLBResult {
	switch {
	case addr == 0:
		r.Err = ENODATA
		return r
	case hasError(fs) || page == nil:
		r.Err = EINVAL
		r.Impacts = []Impact{{r.Model.String(), EffectRejected, "the FLB page fails validation; every retrieve returns -EINVAL and no FLB is finished"}}
		return r
	}
	for i, e := range page.entries {
		r.EntriesRead++
		if e.name == r.Name {
			r.Found, r.Index, r.Data, r.Count, r.Refcount = true, i, e.data, e.count, int64(e.count)
			return r
		}
	}
	r.Err = ENOENT
	return r
}

// retrieveMainline follows luo_flb_retrieve_one's scan over memory: an
// int index against the u64 header count, strcmp of each name with the
// FLB's compatible, first match wins; nothing is validated first.
func retrieveMainline(r FLBResult, mem physmem.Memory, addr uint64, name string, o FLBOptions) FLBResult {
	rel := r.Model.String()
	if addr == 0 {
		if r.Model == Mainline70 || r.Model == Mainline71 {
			// luo-v1: luo-flb-header 0 is taken as an address.
			r.Impacts = append(r.Impacts, Impact{rel, EffectOutOfBounds, "luo-flb-header 0: phys_to_virt(0) makes physical page 0 the FLB table"})
		} else {
			r.Err = ENODATA
			return r
		}
	}
	var hdr [flbmHeaderSize]byte
	if _, err := mem.ReadAt(hdr[:], addr); err != nil {
		r.Err = ENODATA
		r.Impacts = append(r.Impacts, Impact{rel, EffectOutOfBounds, fmt.Sprintf("the header at %#x is not memory the kernel can read (%v): the direct-map access faults", addr, err)})
		return r
	}
	h, _ := format.DecodeFLBHeader(hdr[:]) // a full header always decodes
	count := h.Count
	pageEnd := addr - addr%o.PageSize + o.PageSize
	want := append([]byte(name), 0)
	cmp := make([]byte, len(want))
	for i := uint64(0); i < count; i++ {
		if i >= o.MaxScan {
			r.Impacts = append(r.Impacts, Impact{rel, EffectOutOfBounds, fmt.Sprintf("the scan goes on past %d entries (count %d); the model stops following it", o.MaxScan, count)})
			r.Err = ENOENT
			return r
		}
		if i > flbmIntMax {
			r.Impacts = append(r.Impacts, Impact{rel, EffectOutOfBounds, "the int index overflows past INT_MAX (undefined behaviour)"})
			break
		}
		ea := addr + flbmHeaderSize + i*flbmEntrySize
		if ea+flbmEntrySize > pageEnd && !r.PastPage {
			r.PastPage = true
			r.Impacts = append(r.Impacts, Impact{rel, EffectOutOfBounds, fmt.Sprintf("count %d: the linear scan reads entry %d at %#x, past the FLB page", count, i, ea)})
		}
		r.EntriesRead++
		// strcmp(entry name, compatible) reads the entry only as far as
		// the first difference or the compatible's NUL: within the
		// 48-byte field for any compatible of up to 47 characters.
		if _, err := mem.ReadAt(cmp, ea); err != nil {
			r.Impacts = append(r.Impacts, Impact{rel, EffectOutOfBounds, fmt.Sprintf("entry %d at %#x is not readable memory (%v): the scan faults", i, ea, err)})
			r.Err = ENOENT
			return r
		}
		if !bytes.Equal(cmp, want) {
			continue
		}
		tail := make([]byte, flbmEntrySize-flbmDataOff)
		if _, err := mem.ReadAt(tail, ea+flbmDataOff); err != nil {
			r.Impacts = append(r.Impacts, Impact{rel, EffectOutOfBounds, fmt.Sprintf("entry %d's data and count at %#x are not readable (%v)", i, ea+flbmDataOff, err)})
			r.Err = ENOENT
			return r
		}
		r.Found, r.Index = true, int(i)
		r.Data, r.Count = bldLE.Uint64(tail), bldLE.Uint64(tail[flbmCountOff-flbmDataOff:])
		r.Refcount = mainlineCount(r.Model, r.Count)
		r.Impacts = append(r.Impacts, countImpacts(r.Model, r.Count)...)
		return r
	}
	r.Err = ENOENT
	return r
}

// mainlineCount is the incoming count a release stores from an entry's
// u64 count: refcount_set() of an int in 7.2/7.3, a long before.
func mainlineCount(m KernelModel, c uint64) int64 {
	if m.refcount32() {
		return int64(int32(uint32(c)))
	}
	return int64(c)
}

func countImpacts(m KernelModel, c uint64) []Impact {
	rel := m.String()
	v := mainlineCount(m, c)
	switch {
	case v == 0 && c != 0:
		return []Impact{{rel, EffectLeak, fmt.Sprintf("count %#x narrowed to a 32-bit refcount is 0: the next get WARNs (addition on 0) and saturates; finish() never runs", c)}}
	case v == 0:
		if m.refcount32() {
			return []Impact{{rel, EffectLeak, "count 0: get_incoming's increment from 0 WARNs and saturates; finish() never runs"}}
		}
		return []Impact{{rel, EffectLeak, "count 0: the first dependent file's finish decrements it to -1; finish() never runs"}}
	case v < 0:
		if m.refcount32() {
			return []Impact{{rel, EffectLeak, fmt.Sprintf("count %#x narrowed to a 32-bit refcount is negative (%d): every get and put WARNs and saturates; finish() never runs", c, v)}}
		}
		return []Impact{{rel, EffectLeak, fmt.Sprintf("count %#x is negative as a long: it never reaches 0; finish() never runs", c)}}
	case uint64(v) != c:
		return []Impact{{rel, EffectUseAfterFree, fmt.Sprintf("count %#x narrowed to a 32-bit refcount is %d: finish() runs after that many puts, while other files may still use the object", c, v)}}
	}
	return nil
}
