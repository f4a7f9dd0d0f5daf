package kho

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/khokit/khokit/format"
)

const recoveryPath = "/LUO/recovery"

// maxListedRejects caps the rejected candidates kept in a Recovery and in
// findings: a hostile image can make thousands.
const maxListedRejects = 64

// maxRejectFindings is how many rejected candidates of a kind get a
// finding each; the rest share one.
const maxRejectFindings = 8

// maxDecodedChains caps the candidate session chains decoded in full.
const maxDecodedChains = 16

// recBlockInfo is a session block whose file sets passed.
type recBlockInfo struct {
	b        *recSessionBlock
	files    int
	fblocks  int
	handlers map[string]int
}

// chainCand is one assembled session chain.
type chainCand struct {
	obj      RecoveredObject
	sessions []Session
	findings []Finding
}

// add records a recovery finding; past Options.MaxFindingsPerCode of one
// code they are only counted (see truncation).
func (rc *recoverer) add(code, path string, addr uint64, format string, args ...any) {
	if !countFinding(&rc.codeCounts, code, rc.opts.MaxFindingsPerCode) {
		return
	}
	info := codeInfo(code)
	rc.h.Findings = append(rc.h.Findings, Finding{Severity: info.Severity, Code: code, Path: path, Addr: addr, Message: fmt.Sprintf(format, args...),
		Kernel: info.Kernel})
}

// truncation adds the decoder's truncation summary for recovery codes
// that were only counted, in code order.
func (rc *recoverer) truncation() {
	rc.h.Findings = appendTruncation(rc.h.Findings, rc.codeCounts, rc.opts.MaxFindingsPerCode, recoveryPath)
}

// listObject appends o to a candidate list, at most maxListedRejects long:
// a hostile image can hold thousands of look-alikes.
func listObject(list *[]RecoveredObject, o RecoveredObject) {
	if len(*list) < maxListedRejects {
		*list = append(*list, o)
	}
}

// sub returns a decoder for one candidate: the handover's map, trusted only
// when Decode trusted it, and fresh block ownership so candidates do not
// see each other's blocks.
func (rc *recoverer) sub() *decoder {
	d, _ := newDecoder(rc.mem, &rc.opts) // options already validated
	d.h.MemoryMap = rc.h.MemoryMap
	d.mapOK = rc.mapOK
	d.mapNoted = true
	return d
}

// firstError returns the first Error finding of d, outside memfd contents
// when structural is set.
func firstError(fs []Finding, structural bool) (Finding, bool) {
	for _, f := range fs {
		if f.Severity == Error && (!structural || !strings.Contains(f.Path, "/memfd")) {
			return f, true
		}
	}
	return Finding{}, false
}

func (rc *recoverer) run() {
	rc.maxCount = uint64(max(rc.geo.caps.FLBMax, rc.geo.caps.FilesPerBlock, rc.geo.caps.SessionsPerBlock))
	rc.scanMemory()
	rc.rec.PagesScanned = rc.scan.pages
	rc.rec.Lost = rc.lostPointers()
	if !rc.forced {
		rc.add("luo.pointer-lost", "/LUO", rc.luoSubtreeAddr(), "%s; lost: %s. What follows is found by its contents, not through pointers", rc.rec.Reason, strings.Join(rc.rec.Lost, ", "))
	}
	owners := rc.pickLUOSers()
	var chosen *chainCand
	if rc.sessions {
		chosen = rc.pickSessions(owners)
	}
	var flb *RecoveredObject
	var flbs []FLB
	var flbFindings []Finding
	if rc.flbs {
		files := -1
		if chosen != nil {
			files = chosen.obj.Files
		}
		flb, flbs, flbFindings = rc.pickFLBs(owners, files)
	}
	rc.orphans(chosen)
	rc.apply(chosen, flb, flbs, flbFindings)
	rc.truncation()
}

// lostPointers names what no longer leads anywhere.
func (rc *recoverer) lostPointers() []string {
	var lost []string
	if rc.forced {
		return nil
	}
	if rc.h.LUO == nil {
		lost = append(lost, "luo_ser.liveupdate_num")
	}
	if rc.sessions {
		lost = append(lost, "luo_ser.sessions_pa")
	}
	if rc.flbs {
		lost = append(lost, "luo_ser.flbs_pa")
	}
	if !rc.mapOK {
		lost = append(lost, "preserved-memory-map")
	}
	return lost
}

// luoSubtreeAddr is the LUO subtree's preserved-data: where the incoming
// luo_ser was.
func (rc *recoverer) luoSubtreeAddr() uint64 {
	s, _ := luoSubtree(rc.h)
	return s.Addr
}

// pickLUOSers reports the luo_ser pages found and returns, for each
// session head and FLB page one of them points at, who owns it. A luo_ser
// at the LUO subtree's address is the incoming one that survived; any
// other is someone else's: the running kernel's outgoing state
// (sessions_pa 0 until its reboot serializes), or a stale copy.
func (rc *recoverer) pickLUOSers() map[uint64]string {
	owners := make(map[uint64]string)
	// The incoming luo_ser's claim stands whatever other copies, found
	// at higher addresses, point at the same page.
	claim := func(pa uint64, who string) {
		if owners[pa] != "incoming" {
			owners[pa] = who
		}
	}
	in := rc.luoSubtreeAddr()
	outgoing := 0
	var outNum uint64
	for _, s := range rc.scan.luoSers {
		o := RecoveredObject{Kind: RecoveredLUOSer, Addr: s.addr, Verdict: VerdictOther}
		o.Evidence = append(o.Evidence,
			`compatible "luo-v5\0\0" at the start of the page, zero past its 32 bytes`,
			fmt.Sprintf("liveupdate_num %d, sessions_pa %#x, flbs_pa %#x", s.num, s.sessions, s.flbsPA))
		who := fmt.Sprintf("luo_ser at %#x (liveupdate_num %d)", s.addr, s.num)
		switch {
		case s.addr == in && in != 0:
			o.Verdict = VerdictChosen
			o.Evidence = append(o.Evidence, "at the LUO subtree's preserved-data: the incoming luo_ser survived")
			who = "incoming"
		case s.sessions == 0:
			outgoing++
			outNum = s.num
			o.Reason = "sessions_pa 0: a kernel's own luo_ser before its reboot serialized, i.e. the running kernel's outgoing state"
		default:
			o.Reason = "not at the LUO subtree's address: a stale luo_ser from an earlier boot, or a copy"
		}
		if s.flbsPA != 0 {
			if hdr, ok := rc.readPageStart(s.flbsPA, format.FLBHeaderSize); ok {
				h, _ := format.DecodeFLBHeader(hdr) // hdr is exactly one
				o.Evidence = append(o.Evidence, fmt.Sprintf("flbs_pa %#x: pgcnt %d, count %d", s.flbsPA, h.PgCnt, h.Count))
			}
			claim(s.flbsPA, who)
		}
		if s.sessions != 0 {
			claim(s.sessions, who)
		}
		listObject(&rc.rec.LUOSers, o)
		if o.Verdict == VerdictOther {
			rc.add("luo.recovery-other", recoveryPath, s.addr, "%s: %s", who, o.Reason)
		}
	}
	if rc.h.LUO == nil && outgoing == 1 && outNum >= 2 {
		rc.inferredNum = outNum - 1
	}
	return owners
}

// readPageStart reads the first n bytes (a header) of the page at pa; ok
// is false when pa is not page-aligned or cannot be read.
func (rc *recoverer) readPageStart(pa uint64, n int) (b []byte, ok bool) {
	if pa%rc.geo.pageSize != 0 {
		return nil, false
	}
	b = make([]byte, n)
	_, err := rc.mem.ReadAt(b, pa)
	return b, err == nil
}

// fileSetsValid walks every file chain of a session block with the
// decoder's block rules and checks what a kernel that handed the block
// over would have written: each chain holds exactly file_set_ser.count
// entries, each naming a known handler. It returns the files and file
// blocks seen, or why the block is not a session block.
func (rc *recoverer) fileSetsValid(b *recSessionBlock) (files, blocks int, handlers map[string]int, reason string) {
	d := rc.sub()
	d.totalBlocks = rc.blocksWalked
	defer func() { rc.blocksWalked = d.totalBlocks }()
	handlers = make(map[string]int)
	for i, fs := range b.fileSets {
		if fs.files == 0 {
			continue
		}
		path := fmt.Sprintf("%s/%#x[%d]/files", recoveryPath, b.addr, i)
		e, addrs, ok := d.walkBlocks(path, "files", fs.files, fileSerSize, uint64(rc.geo.caps.FilesPerBlock))
		if !ok {
			f, _ := firstError(d.h.Findings, false)
			return 0, 0, nil, fmt.Sprintf("entry %d: file chain at %#x: %s: %s", i, fs.files, f.Code, f.Message)
		}
		n := uint64(len(e)) / fileSerSize
		if n != fs.count {
			return 0, 0, nil, fmt.Sprintf("entry %d: file chain at %#x holds %d files, file_set_ser.count says %d", i, fs.files, n, fs.count)
		}
		perBlock := make(map[uint64]int)
		var order []uint64
		for _, a := range addrs {
			blk := a &^ (rc.geo.pageSize - 1)
			if perBlock[blk] == 0 {
				order = append(order, blk)
			}
			perBlock[blk]++
		}
		for k, blk := range order[:max(len(order)-1, 0)] {
			if perBlock[blk] != rc.geo.caps.FilesPerBlock {
				return 0, 0, nil, fmt.Sprintf("entry %d: file block %d at %#x holds %d of %d entries yet is not the last: the kernel fills every block but the last", i, k, blk, perBlock[blk], rc.geo.caps.FilesPerBlock)
			}
		}
		blocks += len(order)
		for j := uint64(0); j < n; j++ {
			compat, ok := cString(e[j*fileSerSize:][:format.HandleCompatLen])
			if !ok || memfdVersion(compat) == 0 {
				return 0, 0, nil, fmt.Sprintf("entry %d: file %d at %#x: compatible %q is not a known handler", i, j, addrs[j], compat)
			}
			handlers[compat]++
		}
		files += int(n)
	}
	return files, blocks, handlers, ""
}

// pickSessions validates the session blocks, assembles chains from their
// heads, decodes each and chooses.
func (rc *recoverer) pickSessions(owners map[uint64]string) *chainCand {
	valid := make(map[uint64]*recBlockInfo)
	rejected := make(map[uint64]string)
	for i := range rc.scan.sessionBlocks {
		b := &rc.scan.sessionBlocks[i]
		if b.next != 0 && b.count != rc.geo.caps.SessionsPerBlock {
			rejected[b.addr] = fmt.Sprintf("holds %d of %d entries yet has a next (%#x): the kernel fills every block but the last", b.count, rc.geo.caps.SessionsPerBlock, b.next)
			continue
		}
		files, fblocks, handlers, why := rc.fileSetsValid(b)
		if why != "" {
			rejected[b.addr] = why
			continue
		}
		valid[b.addr] = &recBlockInfo{b, files, fblocks, handlers}
	}
	hasPred := make(map[uint64]bool) // among valid blocks
	nextOfValid := make(map[uint64]bool)
	for _, bi := range valid {
		nextOfValid[bi.b.next] = true
		if _, ok := valid[bi.b.next]; ok {
			hasPred[bi.b.next] = true
		}
	}
	heads := sortedKeysNotIn(valid, hasPred)

	var cands []*chainCand
	var rejects []RecoveredObject
	reject := func(o RecoveredObject) {
		o.Verdict = VerdictRejected
		rejects = append(rejects, o)
	}
	visited := make(map[uint64]bool)
	tried := make(map[uint64]bool)
	decoded, undecoded := 0, 0
	for len(heads) > 0 {
		head := heads[0]
		heads = heads[1:]
		if tried[head] {
			continue
		}
		tried[head] = true
		o := RecoveredObject{Kind: RecoveredSessionChain, Addr: head}
		seen := make(map[uint64]bool)
		handlers := make(map[string]int)
		fblocks, tailsZero := 0, true
		for cur := head; ; {
			if seen[cur] {
				o.Reason = fmt.Sprintf("the chain loops back to %#x", cur)
				break
			}
			if len(o.Blocks) >= rc.opts.MaxBlocks {
				o.Reason = fmt.Sprintf("longer than %d blocks", rc.opts.MaxBlocks)
				break
			}
			// Chains share tails (and are retried from successors), so
			// walks are bounded all together, like the decoder's.
			if rc.blocksWalked >= rc.opts.MaxTotalBlocks {
				o.Reason = fmt.Sprintf("more than %d blocks walked in all chains (Options.MaxTotalBlocks)", rc.opts.MaxTotalBlocks)
				break
			}
			rc.blocksWalked++
			seen[cur], visited[cur] = true, true
			bi := valid[cur]
			o.Blocks = append(o.Blocks, cur)
			o.Sessions += bi.b.count
			o.Files += bi.files
			fblocks += bi.fblocks
			tailsZero = tailsZero && bi.b.tailZero
			for h, n := range bi.handlers {
				handlers[h] += n
			}
			next := bi.b.next
			if next == 0 {
				break
			}
			if _, ok := valid[next]; !ok {
				why := "not a session block"
				if r, ok := rejected[next]; ok {
					why = "a session-like block that fails: " + r
				}
				o.Reason = fmt.Sprintf("block %#x: next %#x is %s", cur, next, why)
				break
			}
			cur = next
		}
		o.Evidence = rc.chainEvidence(o, fblocks, handlers, tailsZero)
		// A rejected chain may be a stale block in front of a good
		// chain: its successor is tried as a head too.
		retry := func() {
			if len(o.Blocks) > 1 && !tried[o.Blocks[1]] {
				heads = append(heads, o.Blocks[1])
			}
		}
		if o.Reason != "" {
			reject(o)
			retry()
			continue
		}
		// Decode the chain exactly as Decode would have from sessions_pa:
		// a bounded number of times, since beyond one candidate the
		// outcome is ambiguous anyway.
		if decoded >= maxDecodedChains {
			o.Verdict = VerdictAmbiguous
			o.Reason = fmt.Sprintf("not decoded: more than %d chains pass the structural checks", maxDecodedChains)
			undecoded++
			listObject(&rc.rec.Sessions, o)
			continue
		}
		decoded++
		d := rc.sub()
		sessions := d.decodeSessions("/LUO/sessions", head, luoLayouts["luo-v5"])
		if f, bad := firstError(d.h.Findings, true); bad {
			o.Reason = fmt.Sprintf("decoding fails: %s %s: %s", f.Code, f.Path, f.Message)
			reject(o)
			retry()
			continue
		}
		memfds, folios := 0, 0
		for _, s := range sessions {
			for _, f := range s.Files {
				if f.Memfd != nil {
					memfds++
					folios += len(f.Memfd.Folios)
				}
			}
		}
		if len(rc.opts.Scratch) > 0 {
			o.Evidence = append(o.Evidence, "no block lies in a scratch region")
		}
		o.Evidence = append(o.Evidence, fmt.Sprintf("decodes like sessions_pa: %d sessions, %d memfds with %d folios", len(sessions), memfds, folios))
		switch who, ok := owners[head]; {
		case ok && who != "incoming":
			o.Verdict = VerdictOther
			o.Reason = who + " points at it"
			rc.add("luo.recovery-other", recoveryPath, head, "session chain at %#x: %s", head, o.Reason)
			listObject(&rc.rec.Sessions, o)
			continue
		case ok:
			o.Evidence = append(o.Evidence, "the surviving incoming luo_ser's sessions_pa points at it")
		}
		cands = append(cands, &chainCand{obj: o, sessions: sessions, findings: d.h.Findings})
	}
	// Valid blocks no head reaches lie on cycles, unless the budget
	// stopped the walks first.
	unwalked := "every block of its chain has a predecessor: a cycle of session blocks"
	if rc.blocksWalked >= rc.opts.MaxTotalBlocks {
		unwalked = fmt.Sprintf("not walked: more than %d blocks walked in all chains (Options.MaxTotalBlocks)", rc.opts.MaxTotalBlocks)
	}
	for _, a := range sortedKeysNotIn(valid, visited) {
		if visited[a] { // on a cycle walked from a lower address
			continue
		}
		o := RecoveredObject{Kind: RecoveredSessionChain, Addr: a, Reason: unwalked}
		for cur := a; cur != 0 && !visited[cur]; {
			visited[cur] = true
			o.Blocks = append(o.Blocks, cur)
			bi, ok := valid[cur]
			if !ok {
				break
			}
			cur = bi.b.next
		}
		reject(o)
	}
	// Session-like blocks that fail and no valid block continues into.
	for _, a := range sortedKeysNotIn(rejected, nextOfValid) {
		reject(RecoveredObject{Kind: RecoveredSessionChain, Addr: a, Blocks: []uint64{a}, Reason: rejected[a],
			Evidence: []string{"in-page checks of a session block pass (count, names, file-set pointers)"}})
	}

	// Incoming luo_ser pointers beat everything; otherwise one candidate,
	// and only when no chain was left undecoded.
	var chosen *chainCand
	for _, c := range cands {
		if who, ok := owners[c.obj.Addr]; ok && who == "incoming" {
			chosen = c
		}
	}
	if chosen == nil && len(cands) == 1 && undecoded == 0 {
		chosen = cands[0]
	}
	for _, c := range cands {
		if c == chosen {
			c.obj.Verdict = VerdictChosen
			rc.rec.Sessions = append([]RecoveredObject{c.obj}, rc.rec.Sessions...)
			continue
		}
		c.obj.Verdict = VerdictAmbiguous
		if chosen != nil {
			c.obj.Verdict = VerdictRejected
			c.obj.Reason = fmt.Sprintf("the incoming luo_ser points at %#x", chosen.obj.Addr)
		}
		listObject(&rc.rec.Sessions, c.obj)
	}
	if chosen == nil && len(cands)+min(undecoded, 1) > 1 {
		var list []string
		for _, c := range cands {
			list = append(list, fmt.Sprintf("%#x (%d sessions, %d files)", c.obj.Addr, c.obj.Sessions, c.obj.Files))
		}
		n := len(cands)
		if undecoded > 0 {
			list = append(list, fmt.Sprintf("%d more not decoded", undecoded))
			n++
		}
		rc.add("luo.recovery-ambiguous", recoveryPath+"/sessions", 0, "%d session chains pass every check: %s; none is used", n, strings.Join(list, ", "))
	}
	rc.keepRejects(&rc.rec.Sessions, rejects, "session chain")
	return chosen
}

// chainEvidence says what identified a session chain.
func (rc *recoverer) chainEvidence(o RecoveredObject, fblocks int, handlers map[string]int, tailsZero bool) []string {
	var blocks []string
	for _, a := range o.Blocks {
		blocks = append(blocks, fmt.Sprintf("%#x", a))
	}
	var hs []string
	for h, n := range handlers {
		hs = append(hs, fmt.Sprintf("%s×%d", h, n))
	}
	sort.Strings(hs)
	ev := []string{
		fmt.Sprintf("%d session blocks [%s], each 1..%d luo_session_ser with non-empty printable NUL-terminated names, zero after the NUL",
			len(o.Blocks), strings.Join(blocks, " "), rc.geo.caps.SessionsPerBlock),
		"no other recognised session block's next points at the head",
		fmt.Sprintf("%d sessions; file sets {0,0} or page-aligned chains: %d files in %d file blocks, each chain's length equal to its file_set_ser.count, every compatible a known handler (%s)",
			o.Sessions, o.Files, fblocks, strings.Join(hs, ", ")),
	}
	if tailsZero {
		ev = append(ev, "every block is zero past its entries")
	} else {
		ev = append(ev, "some block has non-zero bytes past its entries")
	}
	switch {
	case rc.mapOK:
		ev = append(ev, "every block lies in preserved memory according to the map")
	default:
		ev = append(ev, "preservation not checked: the memory map is unusable")
	}
	return ev
}

// keepRejects appends rejected candidates to list, at most
// maxListedRejects, with a finding for each of the first few.
func (rc *recoverer) keepRejects(list *[]RecoveredObject, rejects []RecoveredObject, what string) {
	before := len(*list)
	for i, o := range rejects {
		if i < maxRejectFindings {
			rc.add("luo.recovery-rejected", recoveryPath, o.Addr, "%s at %#x: %s", what, o.Addr, o.Reason)
		}
		listObject(list, o)
	}
	if n := len(rejects); n > maxRejectFindings {
		rc.add("luo.recovery-rejected", recoveryPath, 0, "%d more rejected %s candidates (%d listed in the recovery)", n-maxRejectFindings, what, len(*list)-before)
	}
}

// pickFLBs decodes each FLB page candidate as Decode would and chooses.
// files is the number of recovered files (-1: none recovered): when
// several pages pass, the one whose every entry count equals it (each
// test and memfd FLB is counted once per dependent file) is chosen, with
// that stated as evidence.
func (rc *recoverer) pickFLBs(owners map[uint64]string, files int) (*RecoveredObject, []FLB, []Finding) {
	type flbCand struct {
		obj      RecoveredObject
		flbs     []FLB
		findings []Finding
	}
	var cands []*flbCand
	var rejects []RecoveredObject
	for _, p := range rc.scan.flbPages {
		o := RecoveredObject{Kind: RecoveredFLBPage, Addr: p.addr, Files: p.count}
		d := rc.sub()
		flbs := d.decodeFLBs("/LUO/flbs", p.addr)
		var names []string
		for _, f := range flbs {
			names = append(names, f.Name)
		}
		o.Evidence = []string{
			fmt.Sprintf("pgcnt 1, count %d, entries %s: NUL-terminated names of the compatible grammar, counts 1..INT_MAX", p.count, strings.Join(names, ", ")),
			"zero past the last entry",
		}
		if f, bad := firstError(d.h.Findings, false); bad {
			o.Verdict, o.Reason = VerdictRejected, fmt.Sprintf("decoding fails: %s: %s", f.Code, f.Message)
			rejects = append(rejects, o)
			continue
		}
		if who, ok := owners[p.addr]; ok && who != "incoming" {
			o.Verdict, o.Reason = VerdictOther, who+" points at it"
			rc.add("luo.recovery-other", recoveryPath, p.addr, "FLB page at %#x: %s", p.addr, o.Reason)
			listObject(&rc.rec.FLBs, o)
			continue
		}
		cands = append(cands, &flbCand{obj: o, flbs: flbs, findings: d.h.Findings})
	}
	var chosen *flbCand
	for _, c := range cands {
		if who, ok := owners[c.obj.Addr]; ok && who == "incoming" {
			chosen = c
			c.obj.Evidence = append(c.obj.Evidence, "the surviving incoming luo_ser's flbs_pa points at it")
		}
	}
	if chosen == nil && len(cands) == 1 {
		chosen = cands[0]
	}
	if chosen == nil && len(cands) > 1 && files >= 0 {
		var match []*flbCand
		for _, c := range cands {
			all := len(c.flbs) > 0
			for _, f := range c.flbs {
				all = all && f.Count == uint64(files)
			}
			if all {
				match = append(match, c)
			}
		}
		if len(match) == 1 {
			chosen = match[0]
			chosen.obj.Evidence = append(chosen.obj.Evidence, fmt.Sprintf("the only candidate whose every entry count equals the %d recovered files", files))
		}
	}
	for _, c := range cands {
		switch {
		case c == chosen:
			c.obj.Verdict = VerdictChosen
			rc.rec.FLBs = append([]RecoveredObject{c.obj}, rc.rec.FLBs...)
			continue
		case chosen != nil:
			c.obj.Verdict = VerdictRejected
			c.obj.Reason = fmt.Sprintf("the FLB page at %#x was chosen: %s", chosen.obj.Addr, chosen.obj.Evidence[len(chosen.obj.Evidence)-1])
		default:
			c.obj.Verdict = VerdictAmbiguous
		}
		listObject(&rc.rec.FLBs, c.obj)
	}
	if chosen == nil && len(cands) > 1 {
		var list []string
		for _, c := range cands {
			list = append(list, fmt.Sprintf("%#x (%d entries)", c.obj.Addr, len(c.flbs)))
		}
		rc.add("luo.recovery-ambiguous", recoveryPath+"/flbs", 0, "%d FLB pages pass every check: %s; none is used", len(cands), strings.Join(list, ", "))
	}
	rc.keepRejects(&rc.rec.FLBs, rejects, "FLB page")
	if chosen == nil {
		return nil, nil, nil
	}
	return &chosen.obj, chosen.flbs, chosen.findings
}

// orphans lists file-block heads no chosen or candidate session reaches.
func (rc *recoverer) orphans(chosen *chainCand) {
	reached := make(map[uint64]bool)
	for _, b := range rc.scan.sessionBlocks {
		for _, fs := range b.fileSets {
			reached[fs.files] = true
		}
	}
	if chosen != nil {
		for _, s := range chosen.sessions {
			reached[s.FilesAddr] = true
		}
	}
	// A chain's later blocks are reached through its head's next.
	for _, a := range rc.scan.fileBlocks {
		if hdr, ok := rc.readPageStart(a, format.BlockHeaderSize); ok {
			bh, _ := format.DecodeBlockHeader(hdr) // hdr is exactly one
			reached[bh.Next] = true
		}
	}
	n := 0
	for _, a := range rc.scan.fileBlocks {
		if !reached[a] {
			n++
			if len(rc.rec.OrphanFileBlocks) < maxListedRejects {
				rc.rec.OrphanFileBlocks = append(rc.rec.OrphanFileBlocks, a)
			}
		}
	}
	if n > 0 { // n counts them all; the list is capped
		rc.add("luo.recovery-orphan-file", recoveryPath, rc.rec.OrphanFileBlocks[0], "%d file blocks (first at %#x) are reached by no recognised session block: stale, or their session block is gone", n, rc.rec.OrphanFileBlocks[0])
	}
}

// apply puts what was chosen into the handover.
func (rc *recoverer) apply(chain *chainCand, flb *RecoveredObject, flbs []FLB, flbFindings []Finding) {
	h := rc.h
	if rc.scan.truncated {
		rc.add("luo.recovery-truncated", recoveryPath, 0, "more than %d candidates of one kind; the rest were not examined", rc.ro.MaxCandidates)
	}
	if rc.forced {
		// The pointers decoded: only say whether the scan agrees.
		if h.LUO != nil {
			h.LUO.Recovered = rc.rec
			if chain != nil && chain.obj.Addr != h.LUO.SessionsAddr {
				rc.add("luo.recovery-ambiguous", recoveryPath+"/sessions", chain.obj.Addr, "the scan's session chain at %#x differs from sessions_pa %#x", chain.obj.Addr, h.LUO.SessionsAddr)
			}
		}
		return
	}
	if h.LUO == nil {
		h.LUO = &LUO{Compatible: bldCompatLUOv5, Addr: rc.luoSubtreeAddr()}
		if rc.inferredNum != 0 {
			h.LUO.LiveupdateNumber = rc.inferredNum
			var out RecoveredObject
			for _, o := range rc.rec.LUOSers {
				if o.Verdict == VerdictOther {
					out = o
				}
			}
			rc.add("luo.number-inferred", "/LUO", out.Addr, "liveupdate_num %d: one less than the %d of the running kernel's outgoing luo_ser at %#x", rc.inferredNum, rc.inferredNum+1, out.Addr)
		}
	}
	h.LUO.Recovered = rc.rec
	if rc.sessions {
		if chain != nil {
			h.LUO.SessionsAddr = chain.obj.Addr
			h.LUO.Sessions = chain.sessions
			h.Findings = append(h.Findings, chain.findings...)
			rc.add("luo.recovered-sessions", "/LUO/sessions", chain.obj.Addr, "session chain at %#x: %d sessions, %d files in %d session blocks; %s",
				chain.obj.Addr, chain.obj.Sessions, chain.obj.Files, len(chain.obj.Blocks), strings.Join(chain.obj.Evidence, "; "))
		} else if len(rc.rec.Sessions) == 0 {
			rc.add("luo.recovery-none", "/LUO/sessions", 0, "no session chain found in %d pages", rc.scan.pages)
		}
	}
	if rc.flbs {
		if flb != nil {
			h.LUO.FLBsAddr = flb.Addr
			h.LUO.FLBs = flbs
			h.Findings = append(h.Findings, flbFindings...)
			rc.add("luo.recovered-flbs", "/LUO/flbs", flb.Addr, "FLB page at %#x: %d entries; %s", flb.Addr, len(flbs), strings.Join(flb.Evidence, "; "))
		} else if len(rc.rec.FLBs) == 0 {
			rc.add("luo.recovery-none", "/LUO/flbs", 0, "no FLB page with entries found in %d pages", rc.scan.pages)
		}
	}
}

// sortedKeysNotIn returns the addresses m holds and skip does not, in
// ascending order, so candidates are judged and listed in a fixed order.
func sortedKeysNotIn[V any](m map[uint64]V, skip map[uint64]bool) []uint64 {
	var keys []uint64
	for a := range m {
		if !skip[a] {
			keys = append(keys, a)
		}
	}
	slices.Sort(keys)
	return keys
}
