package kho

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/kho/physmem"
)

// Recovery says how LUO state was found without the pointers that lead to
// it. In an image taken after the kexec the new kernel has freed luo_ser
// (its page is reused) and overwritten the radix-tree map, while the
// session and file block chains, the memfds and the FLB page survive with
// nothing pointing at them (real-kernel.md, "What survives where").
// [RecoverLUO] finds them by their contents and records here what matched.
type Recovery struct {
	// Reason says why the pointers could not be followed.
	Reason string
	// Lost names the pointers that no longer lead anywhere, e.g.
	// "luo_ser.sessions_pa". With the map lost too, preservation of the
	// recovered objects cannot be checked.
	Lost []string
	// PagesScanned is how many present pages the scan looked at.
	PagesScanned uint64
	// Sessions, FLBs and LUOSers list every candidate the scan
	// recognised, each with its verdict and evidence; the chosen one, if
	// any, first.
	Sessions []RecoveredObject
	FLBs     []RecoveredObject
	LUOSers  []RecoveredObject
	// OrphanFileBlocks are file-block-like pages no recognised session
	// reaches (stale chains, or the tails of chains whose session block
	// is gone); capped.
	OrphanFileBlocks []uint64
}

// RecoveredObject is one structure the recovery scan recognised.
type RecoveredObject struct {
	Kind     RecoveredKind
	Addr     uint64 // session chain head, FLB page or luo_ser page
	Verdict  Verdict
	Blocks   []uint64 // session chain: every block, head first
	Sessions int      // session chain: sessions; luo_ser: 0
	Files    int      // session chain: files in all sessions; FLB page: entries
	// Evidence lists what identified the object, one fact a line.
	Evidence []string
	// Reason says why the object was not chosen (empty when chosen).
	Reason string
}

// RecoveredKind is what a recovered object is.
type RecoveredKind uint8

const (
	RecoveredSessionChain RecoveredKind = iota // a luo-v5 session block chain
	RecoveredFLBPage                           // a luo_flb_header_ser page
	RecoveredLUOSer                            // a luo_ser page ("luo-v5")
)

func (k RecoveredKind) String() string {
	switch k {
	case RecoveredSessionChain:
		return "session-chain"
	case RecoveredFLBPage:
		return "flb-page"
	case RecoveredLUOSer:
		return "luo-ser"
	}
	return fmt.Sprintf("RecoveredKind(%d)", uint8(k))
}

// Verdict is what recovery made of a candidate.
type Verdict uint8

const (
	// VerdictChosen: the one candidate that passed every check; it is the
	// recovered state in the model.
	VerdictChosen Verdict = iota
	// VerdictAmbiguous: it passed every check, but so did another
	// candidate of its kind; none is put in the model.
	VerdictAmbiguous
	// VerdictRejected: a check failed (Reason says which).
	VerdictRejected
	// VerdictOther: valid, but it belongs to other LUO state: a surviving
	// luo_ser (the running kernel's outgoing one, or a stale copy) points
	// at it.
	VerdictOther
)

func (v Verdict) String() string {
	switch v {
	case VerdictChosen:
		return "chosen"
	case VerdictAmbiguous:
		return "ambiguous"
	case VerdictRejected:
		return "rejected"
	case VerdictOther:
		return "other"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// RecoverOptions control the recovery scan. The zero value (or nil) means
// the defaults.
type RecoverOptions struct {
	// Force scans even when the LUO state decoded through its pointers.
	Force bool
	// ChunkSize is how much memory one read covers (default 1 MiB, at
	// most 64 MiB: it is one buffer).
	ChunkSize int
	// Progress, when set, is called after every chunk with the bytes
	// scanned and the total to scan.
	Progress func(done, total uint64)
	// MaxCandidates caps the session blocks, FLB pages, luo_ser pages and
	// file blocks kept from the scan, each (default 16384).
	MaxCandidates int
}

func (o *RecoverOptions) resolved(ps uint64) RecoverOptions {
	var v RecoverOptions
	if o != nil {
		v = *o
	}
	v.ChunkSize = resolvedChunkSize(v.ChunkSize, ps)
	if v.MaxCandidates <= 0 {
		v.MaxCandidates = 16384
	}
	return v
}

// ErrRecoverUnsupported is returned by RecoverLUO for LUO generations it
// cannot recognise by content: only luo-v5 (7.2 and later) is.
var ErrRecoverUnsupported = errors.New("kho: recovery by content not supported")

// luoSubtree is h's LUO subtree, if it has one.
func luoSubtree(h *Handover) (Subtree, bool) {
	if h != nil {
		for _, s := range h.Subtrees {
			if s.Name == "LUO" {
				return s, true
			}
		}
	}
	return Subtree{}, false
}

// blockLUO reports whether h's LUO can be luo-v5: a kho-v4 root (luo-v5
// and kho-v4 came together in 7.2) whose LUO blob is not an FDT (luo-v1,
// up to 7.1).
func blockLUO(mem physmem.Memory, h *Handover) bool {
	rv, ok := parseRootCompatible(h.Compatible)
	if !ok || rv.version != 4 {
		return false
	}
	if s, ok := luoSubtree(h); ok && s.Addr != 0 {
		var magic [4]byte
		if _, err := mem.ReadAt(magic[:], s.Addr); err == nil && binary.BigEndian.Uint32(magic[:]) == fdt.Magic {
			return false
		}
	}
	return true
}

// NeedsRecovery reports whether h, a decoded handover, has a LUO subtree
// whose state could not be reached through its pointers: luo_ser
// unreadable or not a known compatible (zeroed or reused, as after the
// kexec), or a sessions/FLB pointer that failed its checks.
func NeedsRecovery(h *Handover) bool {
	sessions, flbs, _ := lostParts(h)
	return sessions || flbs
}

// lostParts says which parts of h's LUO state are unreachable and why.
func lostParts(h *Handover) (sessions, flbs bool, why string) {
	if _, ok := luoSubtree(h); !ok {
		return false, false, ""
	}
	if h.LUO == nil {
		why = "the LUO subtree's luo_ser is unusable"
		for _, f := range h.Findings {
			if f.Severity == Error && strings.HasPrefix(f.Path, "/LUO") {
				why += fmt.Sprintf(" (%s: %s)", f.Code, f.Message)
				break
			}
		}
		return true, true, why
	}
	var whys []string
	failed := func(prefix string) bool {
		for _, f := range h.Findings {
			if f.Severity == Error && (f.Path == prefix || strings.HasPrefix(f.Path, prefix+"/blocks[0]")) {
				whys = append(whys, fmt.Sprintf("%s: %s", f.Code, f.Message))
				return true
			}
		}
		return false
	}
	sessions = h.LUO.SessionsAddr != 0 && len(h.LUO.Sessions) == 0 && failed("/LUO/sessions")
	flbs = h.LUO.FLBsAddr != 0 && len(h.LUO.FLBs) == 0 && failed("/LUO/flbs")
	return sessions, flbs, strings.Join(whys, "; ")
}

// mapTrusted reports whether h's memory map can vouch for preservation:
// it decoded and the decoder did not find it stale.
func mapTrusted(h *Handover) bool {
	if h.MemoryMap.Kind == MapNone {
		return false
	}
	for _, f := range h.Findings {
		if f.Code == "map.unusable" {
			return false
		}
	}
	return true
}

// RecoverLUO finds LUO state by its contents when the pointers to it are
// lost, and puts it into h, a handover Decode returned for mem with the
// same opts. It does nothing (and returns nil) when the state decoded
// through its pointers, unless ro.Force.
//
// One streaming pass reads every present page and keeps those that pass
// strict structural checks: session blocks (1..51 entries with 4 KiB
// pages, more with larger ones, of NUL-terminated printable names, zero
// after the NUL, file-set pointers 0 or page-aligned with consistent
// counts), FLB pages (pgcnt 1, 1..63 entries with 4 KiB pages, names of
// the compatible grammar, counts 1..INT_MAX, the rest of the page zero)
// and luo_ser pages ("luo-v5", zero past 32 bytes). Then
// every session block's file chains are walked with the decoder's checks
// (each chain exactly file_set_ser.count long, every entry a known
// handler); since the kernel fills blocks in order, a block that has a
// next must be full, in session and file chains alike. Chains are
// assembled from heads (valid blocks no other valid block's next points
// to; when a chain fails, its second block is tried as a head, so a stale
// block in front of the real head does not hide it), and each candidate
// chain and FLB page is decoded exactly as Decode would. Candidates a
// surviving luo_ser other than the incoming one points at belong to other
// state (the running kernel's outgoing luo_ser, say) and are set aside;
// what the incoming luo_ser points at, when it survived, is chosen. One remaining
// candidate of a kind is chosen (for FLB pages, the one whose entry
// counts all equal the recovered files, if only one does); otherwise all
// are reported as ambiguous and none is put in the model. The options'
// Scratch regions and, when Decode trusted it, the memory map are
// checked as for any pointer. The cost is one read of the image plus the
// candidates' pages.
//
// Only luo-v5 (kho-v4) state is recognised; for older roots RecoverLUO
// returns [ErrRecoverUnsupported].
//
// The result goes into h: h.LUO (created when nil) gets the chosen
// sessions and FLB page with Recovered set, and h.Findings gets
// "luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs" and
// friends (see [Codes] and [LookupCode]) plus the decoder's findings for the
// chosen objects.
func RecoverLUO(mem physmem.Memory, h *Handover, opts *Options, ro *RecoverOptions) (*Recovery, error) {
	o, err := opts.withDefaults()
	if err != nil || h == nil {
		return nil, err
	}
	lostSessions, lostFLBs, why := lostParts(h)
	if (lostSessions || lostFLBs || ro != nil && ro.Force) && !blockLUO(mem, h) {
		luo, _ := luoSubtree(h)
		return nil, fmt.Errorf("%w: root %q, LUO subtree %q: only luo-v5 block chains (kho-v4) are recognised", ErrRecoverUnsupported, h.Compatible, luo.Format)
	}
	r := ro.resolved(o.PageSize)
	forced := !lostSessions && !lostFLBs // the pointers decoded
	if forced {
		if !r.Force {
			return nil, nil
		}
		lostSessions, lostFLBs, why = true, true, "recovery forced; the pointers decoded"
	}
	rc := &recoverer{
		mem:      mem,
		opts:     o,
		ro:       r,
		geo:      newGeometry(o.PageSize),
		h:        h,
		mapOK:    mapTrusted(h),
		rec:      &Recovery{Reason: why},
		forced:   forced,
		sessions: lostSessions,
		flbs:     lostFLBs,
	}
	rc.run()
	return rc.rec, nil
}
