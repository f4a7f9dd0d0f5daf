package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
)

// maxImageFindings caps the image reader's findings listed one by one.
const maxImageFindings = 8

// loaded is SOURCE read and its handover decoded.
type loaded struct {
	path      string
	im        *image.Image
	mem       physmem.Memory // the memory decoded from (a Recorder when carving)
	cands     []kho.Candidate
	handovers []*decoded
	findings  []kho.Finding // about the source: image and locator findings
	plain     *fdt.Tree     // an FDT file that is not a KHO root
	hash      bool          // hash every memfd's contents (d.sums)
}

// decoded is one decoded handover.
type decoded struct {
	role    string
	cand    *kho.Candidate // nil for a root FDT without an address
	h       *kho.Handover
	rootFDT []byte
	sums    map[kho.FileID]memfdSum
}

// memfdSum is a preserved memfd's contents hash, or why it has none.
type memfdSum struct {
	sha256 string
	err    error
}

// sourceError is a failure to read SOURCE: exit 2 (I/O) or 1 (malformed).
type sourceError struct {
	msg  string
	code int
}

func (e *sourceError) Error() string { return e.msg }

func failIO(format string, args ...any) error {
	return &sourceError{fmt.Sprintf(format, args...), exitUsage}
}

func failBad(format string, args ...any) error {
	return &sourceError{fmt.Sprintf(format, args...), exitMalformed}
}

// exitFor prints err as one line and returns its exit status.
func exitFor(stderr io.Writer, err error) int {
	errorLine(stderr, err.Error())
	var se *sourceError
	if errors.As(err, &se) {
		return se.code
	}
	return exitUsage
}

// openFile opens an image; tests replace it to feed a file that changes
// after open.
var openFile = image.Open

// openImage opens SOURCE with one-line errors that say what to do.
func openImage(path string, o *options) (*image.Image, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, openFailed(path, err)
	}
	if st.Mode().IsRegular() && st.Size() == 0 {
		return nil, failIO("%s: empty file (0 bytes): not a memory image, FDT or blob", path)
	}
	im, err := openFile(path, image.Options{Format: o.imageFormat, Base: o.base.v})
	if err != nil {
		msg := strings.Replace(strings.TrimPrefix(unwrapPath(err).Error(), "image: "), ": image: ", ": ", 1)
		if !strings.Contains(msg, path) {
			msg = path + ": " + msg
		}
		// A source of no known kind is a usage error (2); a known format
		// with broken contents is malformed input (1).
		var fe *image.FormatError
		switch {
		case errors.Is(err, image.ErrUnknownFormat), errors.Is(err, image.ErrWrongFormat):
			return nil, failIO("%s", msg)
		case errors.As(err, &fe), errors.Is(err, image.ErrTruncated), errors.Is(err, image.ErrFormat),
			errors.Is(err, image.ErrUnsupported), errors.Is(err, image.ErrLimit), errors.Is(err, image.ErrDecompress):
			if errors.Is(err, image.ErrTruncated) {
				msg += " (the file may be cut short; copy it again)"
			}
			return nil, failBad("%s", msg)
		}
		return nil, failIO("%s", msg)
	}
	return im, nil
}

// openFailed is the error for a SOURCE that cannot be opened or stat'ed.
func openFailed(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return failIO("%s: no such file or directory", path)
	}
	return failIO("%s: %v", path, unwrapPath(err))
}

// unwrapPath drops the os.PathError wrapping whose op and path the
// message already gives.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && err == error(pe) {
		return pe.Err
	}
	return err
}

// loadFor says what a command needs of the loaded source.
type loadFor uint8

const (
	forReport  loadFor = iota // show, check: memfd contents hashed
	forCarve                  // every page the decode and the hashing read is recorded
	forExtract                // no hashing: extract reads and hashes each memfd as it writes it
)

// load reads SOURCE and decodes its handover.
func load(path string, o *options, use loadFor) (*loaded, error) {
	im, err := openImage(path, o)
	if err != nil {
		return nil, err
	}
	l := &loaded{path: path, im: im, mem: im.Memory, hash: use != forExtract}
	if o.pageSize == 0 {
		// A dump's VMCOREINFO says the kernel's page size.
		if v, ok := im.VMCoreInfo.Get("PAGESIZE"); ok {
			switch v {
			case "4096", "16384", "65536":
				o.pageSize, _ = parseNumber(v)
			default:
				l.findings = append(l.findings, kho.Finding{Severity: kho.Warning, Code: "khodump.pagesize-unknown", Path: "/",
					Message: fmt.Sprintf("VMCOREINFO PAGESIZE=%q is not 4096, 16384 or 65536; assuming 4096 (pass --page-size)", v)})
			}
		}
	}
	if im.Format == image.FormatBlob {
		im.Close()
		return nil, failIO("%s: a blob needs --as FORMAT to say what it is (see 'khodump abi' for the names)", path)
	}
	// The image's findings go before the locator's and the decoder's; they
	// are taken after the decode, since a kdump reader adds some when its
	// ranges are first listed (a bitmap it cannot read, too many runs).
	at := len(l.findings)
	defer func() {
		l.findings = slices.Insert(l.findings, at, imageFindings(im.AllFindings())...)
	}()
	if im.Format == image.FormatFDT || im.Format == image.FormatDebugfs {
		return l, l.fromRootFDT(o)
	}
	if l.mem == nil {
		im.Close()
		return nil, failBad("%s: no physical memory in this %v image", path, im.Format)
	}
	if use == forCarve {
		l.mem = physmem.NewRecorder(l.mem, 1) // exact bytes; carve widens them to pages
	}
	return l, l.fromMemory(o)
}

// imageFindings turns the image reader's findings into khodump's, the
// first maxImageFindings one by one and a count of the rest.
func imageFindings(errs []error) []kho.Finding {
	var out []kho.Finding
	for i, e := range errs {
		if i == maxImageFindings {
			out = append(out, kho.Finding{Severity: kho.Info, Code: "image.findings-truncated", Path: "/",
				Message: fmt.Sprintf("%d more image findings not listed", len(errs)-i)})
			break
		}
		out = append(out, kho.Finding{Severity: kho.Warning, Code: "image.finding", Path: "/", Message: strings.TrimPrefix(e.Error(), "image: ")})
	}
	return out
}

func (l *loaded) close() {
	if l != nil && l.im != nil {
		l.im.Close()
	}
}

// effectivePageSize is --page-size, else the dump's VMCOREINFO PAGESIZE
// (set by load), else 4096.
func (o *options) effectivePageSize() uint64 {
	if o.pageSize != 0 {
		return o.pageSize
	}
	return 4096
}

func decodeOptions(o *options, scratch []kho.ScratchRegion) *kho.Options {
	return &kho.Options{PageSize: o.pageSize, Lenient: o.lenient, Scratch: scratch, KHOv1Bitmap: o.khoV1Bitmap}
}

// fromRootFDT decodes a root FDT file or a debugfs copy: the root's own
// address is unknown.
func (l *loaded) fromRootFDT(o *options) error {
	mem := l.im.Memory
	if mem == nil {
		mem = &physmem.Sparse{}
		l.mem = mem
	}
	lenient := o.lenient || l.im.Format == image.FormatDebugfs // debugfs out/fdt copies are truncated by the kernel
	opts := decodeOptions(o, nil)
	opts.Lenient = lenient
	h, err := kho.DecodeRoot(mem, l.im.RootFDT, opts)
	if err != nil {
		if errors.Is(err, kho.ErrNotKHO) && l.im.Format == image.FormatFDT {
			t, ferr := fdt.Decode(l.im.RootFDT, &fdt.Options{Lenient: o.lenient, Limits: fdt.DefaultLimits()})
			if ferr != nil {
				return failBad("%s: %v", l.path, ferr)
			}
			l.plain = t
			return nil
		}
		return failBad("%s: %s", l.path, strings.TrimPrefix(err.Error(), "kho: root: "))
	}
	d := &decoded{role: "unknown", h: h, rootFDT: l.im.RootFDT}
	if l.im.Format == image.FormatDebugfs {
		d.role = "incoming"
		if strings.HasSuffix(strings.TrimRight(l.im.Debugfs.Dir, "/"), "out") {
			d.role = "outgoing"
		}
	}
	fdtOnly(h, l.im.Format)
	if l.hash {
		d.hashMemfds(mem, o.effectivePageSize())
	}
	l.handovers = append(l.handovers, d)
	return nil
}

// fdtOnly softens the findings of a root FDT decoded without memory: that
// the blobs it points to are absent says nothing about the handover.
func fdtOnly(h *kho.Handover, f image.Format) {
	n := 0
	for i, f := range h.Findings {
		if f.Code == "ptr.absent" || f.Code == "map.unusable" {
			h.Findings[i].Severity = kho.Info
			n++
		}
	}
	if n > 0 {
		msg := "this source is the root FDT alone: the memory map and blobs it points to are not in it (decode a dump or a debugfs copy to see them)"
		if f == image.FormatDebugfs {
			msg = "a debugfs copy holds the root FDT and the subtree blobs only: the memory map, sessions, files and FLB page they point to are not in it (decode a memory dump to see them)"
		}
		h.Findings = append([]kho.Finding{{Severity: kho.Info, Code: "khodump.fdt-only", Path: "/", Message: msg}}, h.Findings...)
	}
}

// fromMemory finds the handover in a memory image and decodes it.
func (l *loaded) fromMemory(o *options) error {
	lo := &kho.LocateOptions{Root: o.root.v, PageSize: o.pageSize}
	if !o.root.set {
		lo.Progress = newProgress(o, l.mem)
	}
	cands, fs, err := kho.Locate(l.im.Memory, lo) // not through a Recorder: carve keeps the handover, not the scan
	if lo.Progress != nil {
		lo.Progress(^uint64(0), 0) // clears the bar
	}
	if err != nil {
		return failBad("%s: %v", l.path, strings.TrimPrefix(err.Error(), "kho: locate: "))
	}
	l.cands, l.findings = cands, append(l.findings, fs...)
	if len(cands) == 0 {
		return failBad("%s: no KHO root found in %s of memory (%v image); pass --root ADDR if you know where it is", l.path, human(presentBytes(l.im.Memory)), l.im.Format)
	}
	c, ok := kho.Incoming(cands)
	if !ok {
		c = cands[0] // ranked: incoming, unknown, outgoing, copy
		roles := make([]string, len(cands))
		for i, x := range cands {
			roles[i] = fmt.Sprintf("%v at %#x", x.Role, x.Addr)
		}
		msg := fmt.Sprintf("no incoming handover among %d KHO roots (%s); decoding the %v one at %#x", len(cands), strings.Join(roles, ", "), c.Role, c.Addr)
		l.findings = append(l.findings, kho.Finding{Severity: kho.Warning, Code: "khodump.no-incoming", Path: "/", Addr: c.Addr, Message: msg})
		o.note("%s", msg)
	}
	dopts := decodeOptions(o, c.Scratch) // decoded and checked by the locator
	h, err := kho.Decode(l.mem, c.Addr, dopts)
	if err != nil {
		return failBad("%s: %v", l.path, err)
	}
	if kho.NeedsRecovery(h) {
		l.recoverLUO(o, h, dopts)
	}
	d := &decoded{role: c.Role.String(), cand: &c, h: h}
	if root, err := physmem.Read(l.mem, c.Addr, int(c.Size), 1<<20); err == nil {
		d.rootFDT = root
	}
	if l.hash {
		d.hashMemfds(l.mem, o.effectivePageSize())
	}
	l.handovers = append(l.handovers, d)
	return nil
}

// recoverLUO finds LUO state whose pointers are lost (an image taken after
// the kexec) by its contents: one more pass over the image. When carving,
// the pages of what was recovered are recorded by decoding it again
// through the Recorder, so the carved core recovers the same.
func (l *loaded) recoverLUO(o *options, h *kho.Handover, opts *kho.Options) {
	ro := &kho.RecoverOptions{Progress: newProgress(o, l.im.Memory)}
	rec, err := kho.RecoverLUO(l.im.Memory, h, opts, ro)
	if ro.Progress != nil {
		ro.Progress(^uint64(0), 0)
	}
	if err != nil {
		h.Findings = append(h.Findings, kho.Finding{Severity: kho.Warning, Code: "khodump.recovery-failed", Path: "/LUO", Message: err.Error()})
		return
	}
	r, carving := l.mem.(*physmem.Recorder)
	if rec == nil || h.LUO == nil || !carving {
		return
	}
	kho.DecodeLUO(r, *h.LUO, opts)
	for _, s := range rec.LUOSers {
		r.Add(s.Addr, o.effectivePageSize())
	}
}

// notRead says why a memfd's contents are not read.
func notRead(err error) string {
	return strings.TrimPrefix(err.Error(), "kho: ") + ": not read"
}

// hashMemfds reads every decoded memfd's contents and hashes them.
func (d *decoded) hashMemfds(mem physmem.Memory, pageSize uint64) {
	if d.h.LUO == nil {
		return
	}
	d.sums = map[kho.FileID]memfdSum{}
	for si, s := range d.h.LUO.Sessions {
		for fi, f := range s.Files {
			if f.Memfd == nil {
				continue
			}
			id := kho.FileID{Session: si, File: fi}
			path := fmt.Sprintf("/LUO/sessions[%d]/files[%d]/memfd", si, fi)
			r, err := kho.OpenMemfd(mem, f.Memfd, pageSize, kho.DefaultMaxMemfdHoles)
			if err != nil {
				d.sums[id] = memfdSum{err: err}
				d.h.Findings = append(d.h.Findings, kho.Finding{Severity: kho.Warning, Code: "khodump.memfd-not-hashed", Path: path, Addr: f.Data, Message: notRead(err)})
				continue
			}
			h := sha256.New()
			if _, err := io.Copy(h, r); err != nil {
				d.sums[id] = memfdSum{err: err}
				d.h.Findings = append(d.h.Findings, kho.Finding{Severity: kho.Warning, Code: "khodump.memfd-unreadable",
					Path: path, Addr: f.Data, Message: "contents not readable from this source: " + err.Error()})
				continue
			}
			d.sums[id] = memfdSum{sha256: hex.EncodeToString(h.Sum(nil))}
		}
	}
}

// presentBytes sums the present ranges of m.
func presentBytes(m physmem.Memory) uint64 {
	var n uint64
	for _, r := range m.Ranges() {
		if r.State == physmem.Present {
			n += r.Size
		}
	}
	return n
}

// allFindings lists the source's findings, then each handover's.
func (l *loaded) allFindings() []kho.Finding {
	out := append([]kho.Finding(nil), l.findings...)
	for _, d := range l.handovers {
		out = append(out, d.h.Findings...)
	}
	return out
}

// human gives a byte count in binary units: "4.0 KiB".
func human(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
