package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho"
)

// textWriter prints the decoded handover as an indented tree.
type textWriter struct {
	w       io.Writer
	verbose bool
	err     error
}

func (t *textWriter) line(depth int, format string, args ...any) {
	if t.err != nil {
		return
	}
	_, t.err = fmt.Fprintf(t.w, "%s%s\n", strings.Repeat("  ", depth), fmt.Sprintf(format, args...))
}

// size gives "73 bytes" or "16401 bytes (16.0 KiB)".
func size(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d bytes (%s)", n, human(n))
}

func writeText(w io.Writer, l *loaded, kernel *kernelFilter, verbose bool) error {
	t := &textWriter{w: w, verbose: verbose}
	t.line(0, "source %q: %s", l.path, describeImage(l))
	for _, d := range l.handovers {
		t.handover(d)
	}
	t.findings(l.allFindings(), kernel)
	return t.err
}

func describeImage(l *loaded) string {
	switch {
	case l.im.Debugfs != nil:
		return fmt.Sprintf("debugfs copy %s, %d blobs", l.im.Debugfs.Dir, len(l.im.Debugfs.Blobs))
	case l.im.Memory == nil:
		return fmt.Sprintf("%v file, %s", l.im.Format, size(uint64(len(l.im.Blob))))
	}
	rs := l.im.Memory.Ranges()
	s := fmt.Sprintf("%v image, %s of memory in %d ranges", l.im.Format, human(presentBytes(l.im.Memory)), len(rs))
	if v, ok := l.im.VMCoreInfo.Get("OSRELEASE"); ok {
		s += fmt.Sprintf(", Linux %s", v)
	}
	return s
}

func (t *textWriter) handover(d *decoded) {
	h := d.h
	if d.cand != nil {
		t.line(0, "handover %s at %#x: %q", d.role, d.cand.Addr, h.Compatible)
	} else {
		t.line(0, "handover %s (root FDT, address unknown): %q", d.role, h.Compatible)
	}
	if d.cand != nil && d.cand.Reason != "" {
		t.line(1, "why: %s", d.cand.Reason)
		if t.verbose {
			for _, e := range d.cand.Evidence {
				t.line(2, "%s", e)
			}
		}
	}
	blocks, bytes := h.MemoryMap.Totals()
	t.line(1, "memory map %#x: %s, %d blocks, %s preserved", h.MemoryMap.Addr, h.MemoryMap.Kind, blocks, size(bytes))
	if t.verbose {
		for _, r := range h.MemoryMap.Runs {
			t.line(2, "%#x order %d x %d", r.Addr, r.Order, r.Count)
		}
	}
	if len(h.Subtrees) > 0 {
		t.line(1, "subtrees (%d)", len(h.Subtrees))
		for _, s := range h.Subtrees {
			t.line(2, "%q at %#x, %s, %s", s.Name, s.Addr, size(s.Size), s.Format)
			if s.Raw != nil {
				t.hexDump(3, s.Raw)
			}
		}
	}
	if k := h.KexecMetadata; k != nil {
		t.line(1, "kexec-metadata: version %d, previous release %q, kexec count %d", k.Version, k.PreviousRelease, k.KexecCount)
	}
	if m := h.Memblock; m != nil {
		t.line(1, "memblock %q: %d reserve_mem regions", m.Compatible, len(m.Regions))
		for _, r := range m.Regions {
			t.line(2, "%q %q at %#x, %s", r.Name, r.Compatible, r.Start, size(r.Size))
		}
	}
	if l := h.LUO; l != nil {
		t.luo(d, l)
	}
}

func (t *textWriter) luo(d *decoded, l *kho.LUO) {
	t.line(1, "LUO %q at %#x: liveupdate number %d", l.Compatible, l.Addr, l.LiveupdateNumber)
	if r := l.Recovered; r != nil {
		t.line(2, "RECOVERED by content, not through pointers: %s", r.Reason)
		t.line(2, "lost pointers: %s (preservation of what was recovered cannot be checked)", strings.Join(r.Lost, ", "))
		if t.verbose {
			for _, objs := range [][]kho.RecoveredObject{r.Sessions, r.FLBs, r.LUOSers} {
				for _, ob := range objs {
					t.line(3, "%v at %#x: %v %s", ob.Kind, ob.Addr, ob.Verdict, ob.Reason)
				}
			}
		}
	}
	files := 0
	for _, s := range l.Sessions {
		files += len(s.Files)
	}
	t.line(2, "sessions at %#x: %d sessions, %d files", l.SessionsAddr, len(l.Sessions), files)
	for si, s := range l.Sessions {
		t.line(3, "session %q: %d files", s.Name, len(s.Files))
		for fi, f := range s.Files {
			t.line(4, "file token %#x: %q, data %#x", f.Token, f.Compatible, f.Data)
			m := f.Memfd
			if m == nil {
				continue
			}
			seals := ""
			if m.Seals != 0 {
				seals = " (" + format.SealsString(m.Seals) + ")"
			}
			t.line(5, "memfd: size %s, pos %d, seals %#x%s, %d folios", size(m.Size), m.Pos, m.Seals, seals, len(m.Folios))
			if sum, ok := d.sums[kho.FileID{Session: si, File: fi}]; ok {
				if sum.err != nil {
					t.line(6, "sha256 unavailable: %v", sum.err)
				} else {
					t.line(6, "sha256 %s", sum.sha256)
				}
			}
			if t.verbose {
				for _, fo := range m.Folios {
					t.line(6, "folio index %d pfn %#x order %d flags %#x", fo.Index, fo.PFN, fo.Order, fo.Flags)
				}
			}
		}
	}
	t.line(2, "FLBs at %#x: %d", l.FLBsAddr, len(l.FLBs))
	for _, f := range l.FLBs {
		t.line(3, "flb %q: data %#x, count %d", f.Name, f.Data, f.Count)
	}
}

// hexDump prints at most 64 bytes, 16 a line.
func (t *textWriter) hexDump(depth int, b []byte) {
	n := min(len(b), 64)
	for off := 0; off < n; off += 16 {
		end := min(off+16, n)
		t.line(depth, "%04x  %-47s  %s", off, fmt.Sprintf("% x", b[off:end]), printable(b[off:end]))
	}
	if len(b) > n {
		t.line(depth, "... %d more bytes", len(b)-n)
	}
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = '.'
		if c >= 0x20 && c < 0x7f {
			out[i] = c
		}
	}
	return string(out)
}

func (t *textWriter) findings(fs []kho.Finding, kernel *kernelFilter) {
	if len(fs) == 0 {
		t.line(0, "findings: none")
		return
	}
	t.line(0, "findings (%d)", len(fs))
	for _, f := range fs {
		t.finding(f, kernel)
	}
}

func (t *textWriter) finding(f kho.Finding, kernel *kernelFilter) {
	at := ""
	if f.Addr != 0 {
		at = fmt.Sprintf(" @%#x", f.Addr)
	}
	t.line(1, "%s %s %s%s: %s", f.Severity, f.Code, f.Path, at, f.Message)
	for _, im := range kernel.impacts(f) {
		t.line(2, "Linux %s: %s: %s", im.Releases, im.Effect, im.Detail)
	}
}
