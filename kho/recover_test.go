package kho

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

// recHandover is the handover the recovery tests build: 53 sessions (two
// session blocks), one of them with 65 files (two file blocks), memfds of
// several sizes, an empty session, and three FLBs counted once per file,
// as the LUO test module's are.
func recHandover() (*Handover, map[FileID][]byte) {
	l := &LUO{Compatible: "luo-v5", LiveupdateNumber: 1}
	contents := map[FileID][]byte{}
	files := 0
	for i := 0; i < 53; i++ {
		s := Session{Name: fmt.Sprintf("rec-%02d", i)}
		n := 1
		switch i {
		case 0:
			n = 65
		case 1:
			n = 0
		case 2:
			s.Name = strings.Repeat("m", 63)
			n = 3
		}
		for j := 0; j < n; j++ {
			s.Files = append(s.Files, File{Compatible: "memfd-v2", Token: uint64(i)<<32 | uint64(j), Memfd: &Memfd{Seals: 1}})
			contents[FileID{i, j}] = bytes.Repeat([]byte{byte(i), byte(j), 0x5a}, (i+1)*(j+1)*37%7000)
			files++
		}
		l.Sessions = append(l.Sessions, s)
	}
	l.Sessions[0].Files[1].Token = ^uint64(0)
	for i := 0; i < 3; i++ {
		l.FLBs = append(l.FLBs, FLB{Name: fmt.Sprintf("liveupdate-test-flb-v%d", i), Data: 0xfeedf00dcafebee0 + uint64(i), Count: uint64(files)})
	}
	return &Handover{
		Compatible:    "kho-v4",
		LUO:           l,
		KexecMetadata: &KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1},
	}, contents
}

// recBuild builds recHandover and does to it what the new kernel does
// after the kexec: luo_ser's page is reused (kernel pointers where the
// compatible was) and the radix root node's page holds page-table
// entries.
func recBuild(t testing.TB) *Built {
	t.Helper()
	h, contents := recHandover()
	return recBuildAfterKexec(t, h, contents)
}

// recBuildAfterKexec builds h and damages it as recBuild says.
func recBuildAfterKexec(t testing.TB, h *Handover, contents map[FileID][]byte) *Built {
	t.Helper()
	b, err := Build(h, recBuildOptions(contents))
	if err != nil {
		t.Fatal(err)
	}
	page := make([]byte, 4096)
	for i := 0; i < 512; i += 3 {
		binary.LittleEndian.PutUint64(page[8*i:], 0xffff888000000000+uint64(i)*0x40)
	}
	recPut(t, b.Mem, b.Layout.LUO, page)
	for i := range page {
		page[i] = 0
	}
	for i := 0; i < 16; i++ {
		binary.LittleEndian.PutUint64(page[8*i:], 0x3cc000+uint64(i)<<12|0x67)
	}
	recPut(t, b.Mem, b.Layout.MapPages[0], page)
	return b
}

func recBuildOptions(contents map[FileID][]byte) *BuildOptions {
	return &BuildOptions{Contents: contents, RAM: []physmem.Range{{Start: 0, Size: recRAM, State: physmem.Present}}}
}

func recPut(t testing.TB, m *physmem.Sparse, pa uint64, p []byte) {
	t.Helper()
	if err := m.WriteAt(p, pa); err != nil {
		t.Fatal(err)
	}
}

// recSessionPage encodes a session block.
func recSessionPage(next uint64, sessions ...recSessionEntry) []byte {
	p := make([]byte, 4096)
	binary.LittleEndian.PutUint64(p, next)
	binary.LittleEndian.PutUint64(p[8:], uint64(len(sessions)))
	for i, s := range sessions {
		e := p[16+80*i:]
		copy(e, s.name)
		binary.LittleEndian.PutUint64(e[64:], s.files)
		binary.LittleEndian.PutUint64(e[72:], s.count)
	}
	return p
}

// recFullSessionPage encodes a full session block (51 sessions without
// files), as every block but a chain's last is.
func recFullSessionPage(prefix string, next uint64) []byte {
	var es []recSessionEntry
	for i := 0; i < 51; i++ {
		es = append(es, recSessionEntry{name: fmt.Sprintf("%s-%02d", prefix, i)})
	}
	return recSessionPage(next, es...)
}

type recSessionEntry struct {
	name         string
	files, count uint64
}

// recFileBlock encodes a file block of memfd-v2 entries.
func recFileBlock(next uint64, data ...uint64) []byte {
	p := make([]byte, 4096)
	binary.LittleEndian.PutUint64(p, next)
	binary.LittleEndian.PutUint64(p[8:], uint64(len(data)))
	for i, d := range data {
		e := p[16+64*i:]
		copy(e, "memfd-v2")
		binary.LittleEndian.PutUint64(e[48:], d)
		binary.LittleEndian.PutUint64(e[56:], uint64(i))
	}
	return p
}

// recFLBPageBytes encodes an FLB page.
func recFLBPageBytes(entries ...FLB) []byte {
	p := make([]byte, 4096)
	binary.LittleEndian.PutUint64(p, 1)
	binary.LittleEndian.PutUint64(p[8:], uint64(len(entries)))
	for i, f := range entries {
		e := p[16+64*i:]
		copy(e, f.Name)
		binary.LittleEndian.PutUint64(e[48:], f.Data)
		binary.LittleEndian.PutUint64(e[56:], f.Count)
	}
	return p
}

// recLUOSerPage encodes a luo-v5 luo_ser page.
func recLUOSerPage(num, sessions, flbs uint64) []byte {
	p := make([]byte, 4096)
	copy(p, "luo-v5")
	binary.LittleEndian.PutUint64(p[8:], num)
	binary.LittleEndian.PutUint64(p[16:], sessions)
	binary.LittleEndian.PutUint64(p[24:], flbs)
	return p
}

// recRAM is the memory the tests build into: small, so that a scan is
// cheap enough to fuzz.
const recRAM = 16 << 20

// Free pages far above the builder's allocations.
const (
	recFree0 = 0xc00000 + iota*0x1000
	recFree1
	recFree2
	recFree3
	recFree4
)

// recSummary is what a test asserts of a recovery: the verdict and reason
// of every candidate, by kind.
type recSummary struct {
	Kind    RecoveredKind
	Addr    uint64
	Verdict Verdict
	Reason  string // a substring of the reason
}

func recSummarize(rec *Recovery, want []recSummary) []recSummary {
	var out []recSummary
	all := append(append(append([]RecoveredObject(nil), rec.Sessions...), rec.FLBs...), rec.LUOSers...)
	for _, o := range all {
		s := recSummary{Kind: o.Kind, Addr: o.Addr, Verdict: o.Verdict}
		// Keep the wanted substring when it matches, so diffs show
		// real differences only.
		s.Reason = o.Reason
		for _, w := range want {
			if w.Kind == o.Kind && w.Addr == o.Addr && strings.Contains(o.Reason, w.Reason) {
				s.Reason = w.Reason
			}
		}
		out = append(out, s)
	}
	return out
}

func TestRecoverBuilt(t *testing.T) {
	// The codes recovery adds itself, told apart from the decoder's.
	recoveryCodes := emittedCodes(t, "recover*.go", true)
	// The session chain head, the FLB page and the built LUO, filled in
	// per case from the build.
	type env struct {
		b    *Built
		head uint64
		flb  uint64
	}
	for _, tc := range []struct {
		name string
		// plant writes decoys; it returns the candidates expected besides
		// the built chain and FLB page (when those are chosen).
		plant        func(t *testing.T, e env) []recSummary
		wantSessions bool // the built sessions are recovered
		wantFLBs     bool // the built FLBs are recovered
		wantNum      uint64
		wantCodes    []string
		wantOrphans  []uint64
	}{
		{
			name:         "clean",
			plant:        func(t *testing.T, e env) []recSummary { return nil },
			wantSessions: true, wantFLBs: true,
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs"},
		},
		{
			name: "stale session block with a dangling next",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree0, recFullSessionPage("stale", recFree1))
				return []recSummary{{RecoveredSessionChain, recFree0, VerdictRejected, fmt.Sprintf("next %#x is not a session block", recFree1)}}
			},
			wantSessions: true, wantFLBs: true,
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs", "luo.recovery-rejected"},
		},
		{
			// An earlier generation's full block whose next page was
			// reused for the current chain head: the sessions were
			// preserved again under the same names.
			name: "stale full session block in front of the chain",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree0, recFullSessionPage("rec", e.head))
				return []recSummary{{RecoveredSessionChain, recFree0, VerdictRejected, "session.name-duplicate"}}
			},
			wantSessions: true, wantFLBs: true,
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs", "luo.recovery-rejected"},
		},
		{
			name: "stale session block, not full, with a next",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree0, recSessionPage(e.head, recSessionEntry{name: "stale"}))
				return []recSummary{{RecoveredSessionChain, recFree0, VerdictRejected, "holds 1 of 51 entries yet has a next"}}
			},
			wantSessions: true, wantFLBs: true,
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs", "luo.recovery-rejected"},
		},
		{
			name: "text that looks like names",
			plant: func(t *testing.T, e env) []recSummary {
				text := []byte(strings.Repeat("khokit-basic\x00rec-01\x00liveupdate-test-flb-v0\x00memfd-v2\x00", 100))[:4096]
				recPut(t, e.b.Mem, recFree0, text)
				// Right header, names without zero padding.
				p := recSessionPage(0, recSessionEntry{name: "rec-77"})
				copy(p[16+7:], "junk")
				recPut(t, e.b.Mem, recFree1, p)
				// Right header, a name with a control character.
				recPut(t, e.b.Mem, recFree2, recSessionPage(0, recSessionEntry{name: "rec\x01"}))
				return nil
			},
			wantSessions: true, wantFLBs: true,
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs"},
		},
		{
			name: "file block without a session",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree0, recFileBlock(0, e.b.Layout.MemfdSer[3][0]))
				return nil
			},
			wantSessions: true, wantFLBs: true,
			wantCodes:   []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs", "luo.recovery-orphan-file"},
			wantOrphans: []uint64{recFree0},
		},
		{
			name: "session block whose file chain is broken",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree1, recFileBlock(0, 0x5000))
				recPut(t, e.b.Mem, recFree0, recSessionPage(0, recSessionEntry{"stale", recFree1, 2}))
				return []recSummary{{RecoveredSessionChain, recFree0, VerdictRejected, "holds 1 files, file_set_ser.count says 2"}}
			},
			wantSessions: true, wantFLBs: true,
			wantCodes:   []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs", "luo.recovery-rejected"},
			wantOrphans: []uint64{},
		},
		{
			name: "two FLB pages, one whose counts match the files",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree0, recFLBPageBytes(FLB{Name: "liveupdate-test-flb-v0", Data: 1, Count: 7}))
				return []recSummary{{RecoveredFLBPage, recFree0, VerdictRejected, fmt.Sprintf("the FLB page at %#x was chosen", e.flb)}}
			},
			wantSessions: true, wantFLBs: true,
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs"},
		},
		{
			name: "two FLB pages that cannot be told apart",
			plant: func(t *testing.T, e env) []recSummary {
				h, _ := recHandover()
				recPut(t, e.b.Mem, recFree0, recFLBPageBytes(h.LUO.FLBs...))
				return []recSummary{
					{RecoveredFLBPage, e.flb, VerdictAmbiguous, ""},
					{RecoveredFLBPage, recFree0, VerdictAmbiguous, ""},
				}
			},
			wantSessions: true,
			wantCodes:    []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovery-ambiguous"},
		},
		{
			name: "FLB-like pages that fail",
			plant: func(t *testing.T, e env) []recSummary {
				p := recFLBPageBytes(FLB{Name: "Not A Compatible", Count: 1})
				recPut(t, e.b.Mem, recFree0, p)
				p = recFLBPageBytes(FLB{Name: "pci-v1", Count: 1})
				p[4000] = 1 // junk past the entries
				recPut(t, e.b.Mem, recFree1, p)
				recPut(t, e.b.Mem, recFree2, recFLBPageBytes(FLB{Name: "pci-v1", Count: 0}))
				recPut(t, e.b.Mem, recFree3, recFLBPageBytes(FLB{Name: "pci-v1", Count: 1}, FLB{Name: "pci-v1", Count: 1}))
				return []recSummary{{RecoveredFLBPage, recFree3, VerdictRejected, "flb.name-duplicate"}}
			},
			wantSessions: true, wantFLBs: true,
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs", "luo.recovery-rejected"},
		},
		{
			name: "a second valid session chain",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree0, recSessionPage(0, recSessionEntry{name: "other"}))
				return []recSummary{
					{RecoveredSessionChain, e.head, VerdictAmbiguous, ""},
					{RecoveredSessionChain, recFree0, VerdictAmbiguous, ""},
				}
			},
			wantFLBs:  true,
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-flbs", "luo.recovery-ambiguous"},
		},
		{
			name: "the running kernel's outgoing luo_ser",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree0, recLUOSerPage(2, 0, recFree1))
				recPut(t, e.b.Mem, recFree1, recFLBPageBytes())
				return []recSummary{{RecoveredLUOSer, recFree0, VerdictOther, "running kernel's outgoing state"}}
			},
			wantSessions: true, wantFLBs: true, wantNum: 1,
			wantCodes: []string{"luo.recovery-other", "luo.number-inferred", "luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs"},
		},
		{
			name: "a stale luo_ser claims a second chain and FLB page",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree0, recLUOSerPage(5, recFree1, recFree2))
				recPut(t, e.b.Mem, recFree1, recSessionPage(0, recSessionEntry{name: "old"}))
				recPut(t, e.b.Mem, recFree2, recFLBPageBytes(FLB{Name: "old-v1", Count: 1}))
				return []recSummary{
					{RecoveredSessionChain, recFree1, VerdictOther, fmt.Sprintf("luo_ser at %#x", recFree0)},
					{RecoveredFLBPage, recFree2, VerdictOther, fmt.Sprintf("luo_ser at %#x", recFree0)},
					{RecoveredLUOSer, recFree0, VerdictOther, "stale"},
				}
			},
			wantSessions: true, wantFLBs: true,
			wantCodes: []string{"luo.recovery-other", "luo.pointer-lost", "luo.recovery-other", "luo.recovered-sessions", "luo.recovery-other", "luo.recovered-flbs"},
		},
		{
			name: "a cycle of session blocks",
			plant: func(t *testing.T, e env) []recSummary {
				recPut(t, e.b.Mem, recFree0, recFullSessionPage("a", recFree1))
				recPut(t, e.b.Mem, recFree1, recFullSessionPage("b", recFree0))
				return []recSummary{{RecoveredSessionChain, recFree0, VerdictRejected, "a cycle of session blocks"}}
			},
			wantSessions: true, wantFLBs: true,
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs", "luo.recovery-rejected"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := recBuild(t)
			e := env{b: b, head: b.Layout.SessionBlocks[0], flb: b.Layout.FLB}
			extra := tc.plant(t, e)
			h, err := Decode(b.Mem, b.RootAddr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !NeedsRecovery(h) {
				t.Fatalf("recovery not needed: %v", h.Findings)
			}
			before := len(h.Findings)
			rec, err := RecoverLUO(b.Mem, h, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			built := b.Handover.LUO
			var want []recSummary
			if tc.wantSessions {
				want = append(want, recSummary{RecoveredSessionChain, e.head, VerdictChosen, ""})
			}
			if tc.wantFLBs {
				want = append(want, recSummary{RecoveredFLBPage, e.flb, VerdictChosen, ""})
			}
			// Chosen first, then the rest in kind order as summarize lists them.
			for _, k := range []RecoveredKind{RecoveredSessionChain, RecoveredFLBPage, RecoveredLUOSer} {
				for _, x := range extra {
					if x.Kind == k && !(x.Addr == e.head && k == RecoveredSessionChain || x.Addr == e.flb && k == RecoveredFLBPage) {
						want = append(want, x)
					}
				}
				for _, x := range extra {
					if x.Kind == k && (x.Addr == e.head && k == RecoveredSessionChain || x.Addr == e.flb && k == RecoveredFLBPage) {
						want = append(want[:0:0], append([]recSummary{x}, want...)...)
					}
				}
			}
			got := recSummarize(rec, want)
			if d := cmp.Diff(sortedSummary(want), sortedSummary(got)); d != "" {
				t.Errorf("candidates (-want +got):\n%s", d)
			}
			var wantSessions []Session
			var wantFLBs []FLB
			var wantHead, wantFLB uint64
			if tc.wantSessions {
				wantSessions, wantHead = built.Sessions, e.head
			}
			if tc.wantFLBs {
				wantFLBs, wantFLB = built.FLBs, e.flb
			}
			if d := cmp.Diff(wantSessions, h.LUO.Sessions); d != "" {
				t.Errorf("sessions (-built +recovered):\n%s", d)
			}
			if d := cmp.Diff(wantFLBs, h.LUO.FLBs); d != "" {
				t.Errorf("FLBs (-built +recovered):\n%s", d)
			}
			if h.LUO.SessionsAddr != wantHead || h.LUO.FLBsAddr != wantFLB || h.LUO.LiveupdateNumber != tc.wantNum || h.LUO.Recovered != rec {
				t.Errorf("LUO header %#x %#x num %d recovered %v, want %#x %#x %d", h.LUO.SessionsAddr, h.LUO.FLBsAddr, h.LUO.LiveupdateNumber, h.LUO.Recovered != nil, wantHead, wantFLB, tc.wantNum)
			}
			var codes []string
			for _, f := range h.Findings[before:] {
				if recoveryCodes[f.Code] {
					codes = append(codes, f.Code)
				} else if f.Severity == Error {
					t.Errorf("decoder finding on a recovered object: %v", f)
				}
			}
			if len(codes) == 0 || codes[0] != "luo.pointer-lost" {
				t.Errorf("the first recovery finding is not luo.pointer-lost: %v", codes)
			}
			sort.Strings(codes)
			sort.Strings(tc.wantCodes)
			if d := cmp.Diff(tc.wantCodes, codes); d != "" {
				t.Errorf("recovery findings (-want +got):\n%s\nall: %v", d, h.Findings[before:])
			}
			if d := cmp.Diff(tc.wantOrphans, rec.OrphanFileBlocks, cmpEmptyEqual); d != "" {
				t.Errorf("orphan file blocks (-want +got):\n%s", d)
			}
			wantLost := []string{"luo_ser.liveupdate_num", "luo_ser.sessions_pa", "luo_ser.flbs_pa", "preserved-memory-map"}
			if d := cmp.Diff(wantLost, rec.Lost); d != "" {
				t.Errorf("lost pointers (-want +got):\n%s", d)
			}
			if tc.wantSessions {
				e2eCheckContents(t, b, h.LUO)
			}
		})
	}
}

var cmpEmptyEqual = cmp.Comparer(func(a, b []uint64) bool {
	return len(a) == len(b) && (len(a) == 0 || cmp.Equal(a, b))
})

func sortedSummary(s []recSummary) []recSummary {
	out := append([]recSummary(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			a, b := out[i], out[j]
			if b.Kind < a.Kind || b.Kind == a.Kind && b.Addr < a.Addr {
				out[i], out[j] = b, a
			}
		}
	}
	return out
}

// e2eCheckContents reads every recovered memfd and compares it with what
// the builder wrote.
func e2eCheckContents(t *testing.T, b *Built, l *LUO) {
	t.Helper()
	_, contents := recHandover()
	for si, s := range l.Sessions {
		for fi, f := range s.Files {
			want := contents[FileID{si, fi}]
			got := make([]byte, f.Memfd.Size)
			if _, err := MemfdContents(b.Mem, f.Memfd, 4096).ReadAt(got, 0); err != nil && len(got) > 0 {
				t.Fatalf("session %d file %d: %v", si, fi, err)
			}
			if !bytes.Equal(want, got) {
				t.Fatalf("session %d file %d: contents differ (%d vs %d bytes)", si, fi, len(want), len(got))
			}
		}
	}
}

// TestRecoverPointers covers the other ways in: a luo_ser that survived
// with one bad pointer, a luo_ser zeroed while the map is intact (the map
// then rejects unpreserved look-alikes), an intact handover (nothing to
// do), and a forced scan of an intact handover.
func TestRecoverPointers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mutate     func(t *testing.T, b *Built)
		force      bool
		wantNil    bool     // RecoverLUO does nothing
		wantLost   []string // Recovery.Lost
		wantCodes  []string // recovery findings, sorted
		wantReject string   // reason of the planted chain at recFree0, when one is planted
	}{
		{
			name: "sessions_pa fails its checks",
			mutate: func(t *testing.T, b *Built) {
				p := make([]byte, 8)
				binary.LittleEndian.PutUint64(p, b.Layout.SessionBlocks[0]+8)
				recPut(t, b.Mem, b.Layout.LUO+16, p)
			},
			wantLost:  []string{"luo_ser.sessions_pa"},
			wantCodes: []string{"luo.pointer-lost", "luo.recovered-sessions"},
		},
		{
			name: "luo_ser zeroed, map intact",
			mutate: func(t *testing.T, b *Built) {
				recPut(t, b.Mem, b.Layout.LUO, make([]byte, 4096))
				recPut(t, b.Mem, recFree0, recSessionPage(0, recSessionEntry{name: "unpreserved"}))
			},
			wantLost:   []string{"luo_ser.liveupdate_num", "luo_ser.sessions_pa", "luo_ser.flbs_pa"},
			wantCodes:  []string{"luo.pointer-lost", "luo.recovered-flbs", "luo.recovered-sessions", "luo.recovery-rejected"},
			wantReject: "ptr.unpreserved",
		},
		{
			name:    "intact",
			mutate:  func(t *testing.T, b *Built) {},
			wantNil: true,
		},
		{
			name:   "intact, forced",
			mutate: func(t *testing.T, b *Built) {},
			force:  true,
		},
		{
			// The copy is found after the incoming luo_ser; the chain
			// both point at stays the incoming one's.
			name: "intact, forced, a copy of luo_ser above it",
			mutate: func(t *testing.T, b *Built) {
				p := make([]byte, 4096)
				if _, err := b.Mem.ReadAt(p, b.Layout.LUO); err != nil {
					t.Fatal(err)
				}
				recPut(t, b.Mem, recFree0, p)
			},
			force:     true,
			wantCodes: []string{"luo.recovery-other"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h0, contents := recHandover()
			b, err := Build(h0, recBuildOptions(contents))
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(t, b)
			h, before, rec := recDecodeRecover(t, b, &RecoverOptions{Force: tc.force})
			if tc.wantNil {
				if rec != nil || len(h.Findings) != before || NeedsRecovery(h) {
					t.Fatalf("recovery ran on an intact handover: %+v %v", rec, h.Findings[before:])
				}
				return
			}
			if rec == nil {
				t.Fatal("no recovery")
			}
			if d := cmp.Diff(tc.wantLost, rec.Lost); d != "" {
				t.Errorf("lost (-want +got):\n%s", d)
			}
			var codes []string
			for _, f := range h.Findings[before:] {
				codes = append(codes, f.Code)
			}
			sort.Strings(codes)
			if d := cmp.Diff(tc.wantCodes, codes); d != "" {
				t.Errorf("findings (-want +got):\n%s\n%v", d, h.Findings[before:])
			}
			if d := cmp.Diff(b.Handover.LUO.Sessions, h.LUO.Sessions); d != "" {
				t.Errorf("sessions (-built +got):\n%s", d)
			}
			if d := cmp.Diff(b.Handover.LUO.FLBs, h.LUO.FLBs); d != "" {
				t.Errorf("FLBs (-built +got):\n%s", d)
			}
			if len(rec.Sessions) == 0 || rec.Sessions[0].Verdict != VerdictChosen || rec.Sessions[0].Addr != b.Layout.SessionBlocks[0] {
				t.Fatalf("session candidates %+v", rec.Sessions)
			}
			if tc.force && !slices.Contains(rec.Sessions[0].Evidence, "the surviving incoming luo_ser's sessions_pa points at it") {
				t.Errorf("forced: evidence %q does not name the surviving luo_ser", rec.Sessions[0].Evidence)
			}
			if tc.wantReject != "" {
				var reason string
				for _, o := range rec.Sessions {
					if o.Addr == recFree0 {
						reason = o.Reason
					}
				}
				if !strings.Contains(reason, tc.wantReject) {
					t.Errorf("planted chain: reason %q, want %q", reason, tc.wantReject)
				}
				if !slices.Contains(rec.Sessions[0].Evidence, "every block lies in preserved memory according to the map") {
					t.Errorf("evidence %q does not say the map vouches", rec.Sessions[0].Evidence)
				}
			}
		})
	}
}

// recDecodeRecover decodes b from its root and recovers with ro, failing
// the test on either error; before is how many findings Decode made.
func recDecodeRecover(t testing.TB, b *Built, ro *RecoverOptions) (h *Handover, before int, rec *Recovery) {
	t.Helper()
	h, err := Decode(b.Mem, b.RootAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	before = len(h.Findings)
	if rec, err = RecoverLUO(b.Mem, h, nil, ro); err != nil {
		t.Fatal(err)
	}
	return h, before, rec
}

// TestRecoverPageSizes recovers a post-kexec memory built with 16 KiB and
// 64 KiB pages: every per-page capacity follows the page size.
func TestRecoverPageSizes(t *testing.T) {
	for _, ps := range []uint64{16384, 65536} {
		t.Run(fmt.Sprint(ps), func(t *testing.T) {
			h0, contents := recHandover()
			b, err := Build(h0, &BuildOptions{PageSize: ps, Contents: contents, RAM: []physmem.Range{{Start: 0, Size: 64 << 20, State: physmem.Present}}})
			if err != nil {
				t.Fatal(err)
			}
			recPut(t, b.Mem, b.Layout.LUO, make([]byte, ps))
			recPut(t, b.Mem, b.Layout.MapPages[0], bytes.Repeat([]byte{0x67, 0x20, 0x3c, 0, 0, 0, 0, 0}, int(ps/8)))
			opts := &Options{PageSize: ps}
			h, err := Decode(b.Mem, b.RootAddr, opts)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := RecoverLUO(b.Mem, h, opts, nil)
			if err != nil || rec == nil {
				t.Fatalf("RecoverLUO: %v, %v", rec, err)
			}
			if d := cmp.Diff(b.Handover.LUO.Sessions, h.LUO.Sessions); d != "" {
				t.Errorf("sessions (-built +recovered):\n%s", d)
			}
			if d := cmp.Diff(b.Handover.LUO.FLBs, h.LUO.FLBs); d != "" {
				t.Errorf("FLBs (-built +recovered):\n%s", d)
			}
		})
	}
}

// TestRecoverUnsupported: luo-v1 state (kho-v2, 16-page session arrays)
// is not recognised by content; RecoverLUO says so instead of scanning
// for luo-v5 structures.
func TestRecoverUnsupported(t *testing.T) {
	h0 := &Handover{Compatible: "kho-v2", LUO: &LUO{Compatible: "luo-v1", LiveupdateNumber: 1, Sessions: []Session{{Name: "a"}}}}
	b, err := Build(h0, recBuildOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	recPut(t, b.Mem, b.Layout.LUO, make([]byte, 4096))
	h, err := Decode(b.Mem, b.RootAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !NeedsRecovery(h) {
		t.Fatalf("a zeroed LUO FDT needs recovery: %v", h.Findings)
	}
	n := len(h.Findings)
	rec, err := RecoverLUO(b.Mem, h, nil, nil)
	if !errors.Is(err, ErrRecoverUnsupported) || rec != nil || len(h.Findings) != n {
		t.Fatalf("RecoverLUO = %v, %v, %d new findings; want ErrRecoverUnsupported and nothing changed", rec, err, len(h.Findings)-n)
	}
}

// TestRecoverManyChains: past maxDecodedChains candidate chains, the rest
// are listed undecoded and the result is ambiguous, not a pick.
func TestRecoverManyChains(t *testing.T) {
	b := recBuild(t)
	for i := 0; i < maxDecodedChains+3; i++ {
		recPut(t, b.Mem, recFree0+uint64(i)*4096, recSessionPage(0, recSessionEntry{name: fmt.Sprintf("decoy-%d", i)}))
	}
	h, _, rec := recDecodeRecover(t, b, nil)
	verdicts := map[Verdict]int{}
	undecoded := 0
	for _, o := range rec.Sessions {
		verdicts[o.Verdict]++
		if strings.HasPrefix(o.Reason, "not decoded") {
			undecoded++
		}
	}
	want := map[Verdict]int{VerdictAmbiguous: maxDecodedChains + 4}
	if d := cmp.Diff(want, verdicts); d != "" || undecoded != 4 || len(h.LUO.Sessions) != 0 {
		t.Errorf("verdicts (-want +got):\n%s\n%d undecoded, %d sessions in the model", d, undecoded, len(h.LUO.Sessions))
	}
	if !hasCode(h.Findings, "luo.recovery-ambiguous") {
		t.Error("no luo.recovery-ambiguous finding")
	}
}

// TestRecoverManyLookAlikes: thousands of look-alikes cost bounded
// findings and lists.
func TestRecoverManyLookAlikes(t *testing.T) {
	b := recBuild(t)
	const n = 200
	for i := uint64(0); i < n; i++ {
		recPut(t, b.Mem, recFree0+i*4096, recLUOSerPage(2, 0, 0))
	}
	h, before, rec := recDecodeRecover(t, b, nil)
	codes := map[string]int{}
	for _, f := range h.Findings[before:] {
		codes[f.Code]++
	}
	want := map[string]int{"luo.recovery-other": 32, "decode.findings-truncated": 1, "luo.pointer-lost": 1, "luo.recovered-sessions": 1, "luo.recovered-flbs": 1}
	if d := cmp.Diff(want, codes); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if len(rec.LUOSers) != maxListedRejects {
		t.Errorf("%d luo_ser candidates listed, want the cap %d", len(rec.LUOSers), maxListedRejects)
	}
	// Several outgoing-looking luo_sers: the number is not inferred.
	if h.LUO.LiveupdateNumber != 0 || hasCode(h.Findings, "luo.number-inferred") {
		t.Errorf("liveupdate number %d inferred from %d candidates", h.LUO.LiveupdateNumber, n)
	}
}

// TestRecoverManyOrphans: past maxListedRejects orphan file blocks the
// list is capped, but the finding counts them all.
func TestRecoverManyOrphans(t *testing.T) {
	b := recBuild(t)
	const n = maxListedRejects + 6
	for i := uint64(0); i < n; i++ {
		recPut(t, b.Mem, recFree0+i*4096, recFileBlock(0, b.Layout.MemfdSer[3][0]))
	}
	h, _, rec := recDecodeRecover(t, b, nil)
	if len(rec.OrphanFileBlocks) != maxListedRejects {
		t.Errorf("%d orphan file blocks listed, want the cap %d", len(rec.OrphanFileBlocks), maxListedRejects)
	}
	var msgs []string
	for _, f := range h.Findings {
		if f.Code == "luo.recovery-orphan-file" {
			msgs = append(msgs, f.Message[:strings.Index(f.Message, " (")])
		}
	}
	if d := cmp.Diff([]string{fmt.Sprintf("%d file blocks", n)}, msgs); d != "" {
		t.Errorf("orphan findings (-want +got):\n%s", d)
	}
}

// TestRecoverManyRejects: the finding summing up rejects past the first
// few gives the number of them the recovery lists, which the cap on the
// whole list (chosen page included) bounds.
func TestRecoverManyRejects(t *testing.T) {
	b := recBuild(t)
	const n = maxListedRejects + 6
	dup := recFLBPageBytes(FLB{Name: "pci-v1", Count: 1}, FLB{Name: "pci-v1", Count: 1})
	for i := uint64(0); i < n; i++ {
		recPut(t, b.Mem, recFree0+i*4096, dup)
	}
	h, _, rec := recDecodeRecover(t, b, nil)
	listed := 0
	for _, o := range rec.FLBs {
		if o.Verdict == VerdictRejected {
			listed++
		}
	}
	want := fmt.Sprintf("%d more rejected FLB page candidates (%d listed in the recovery)", n-maxRejectFindings, listed)
	var got []string
	for _, f := range h.Findings {
		if f.Code == "luo.recovery-rejected" && f.Addr == 0 {
			got = append(got, f.Message)
		}
	}
	if d := cmp.Diff([]string{want}, got); d != "" || listed >= maxListedRejects {
		t.Errorf("summary findings (-want +got):\n%s\n%d rejects listed", d, listed)
	}
}

func TestRecoverNil(t *testing.T) {
	rec, err := RecoverLUO(&physmem.Sparse{}, nil, nil, &RecoverOptions{Force: true})
	if rec != nil || err != nil || NeedsRecovery(nil) {
		t.Errorf("RecoverLUO(nil handover) = %v, %v", rec, err)
	}
	if _, err := RecoverLUO(&physmem.Sparse{}, &Handover{}, &Options{PageSize: 12345}, nil); err == nil {
		t.Error("a bad page size is not refused")
	}
}

// TestRecoverMaxCandidates: past RecoverOptions.MaxCandidates of a kind
// the scan stops keeping them and says so.
func TestRecoverMaxCandidates(t *testing.T) {
	b := recBuild(t)
	for i := uint64(0); i < 12; i++ {
		recPut(t, b.Mem, recFree0+i*4096, recLUOSerPage(3, 0, 0))
	}
	h, _, rec := recDecodeRecover(t, b, &RecoverOptions{MaxCandidates: 10, ChunkSize: 12345})
	if len(rec.LUOSers) != 10 || !hasCode(h.Findings, "luo.recovery-truncated") {
		t.Errorf("%d luo_sers kept, truncated finding %v", len(rec.LUOSers), hasCode(h.Findings, "luo.recovery-truncated"))
	}
	// The chain and FLB page still come through.
	if d := cmp.Diff(b.Handover.LUO.Sessions, h.LUO.Sessions); d != "" {
		t.Errorf("sessions (-built +recovered):\n%s", d)
	}
}

// TestRecoverChainBudget: walking candidate session chains counts against
// Options.MaxTotalBlocks. A long chain that fails at its tail is retried
// from each successor, every walk reaching the same tail; without the
// budget that is quadratic in the chain's length.
func TestRecoverChainBudget(t *testing.T) {
	b := recBuild(t)
	const n = 200
	for i := uint64(0); i < n; i++ {
		next := recFree0 + (i+1)*4096 // the last points at a zero page
		recPut(t, b.Mem, recFree0+i*4096, recFullSessionPage(fmt.Sprintf("s%d", i), next))
	}
	opts := &Options{MaxTotalBlocks: 1000}
	h, err := Decode(b.Mem, b.RootAddr, opts)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := RecoverLUO(b.Mem, h, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	walked, budget := 0, false
	for _, o := range rec.Sessions {
		walked += len(o.Blocks)
		budget = budget || strings.Contains(o.Reason, "MaxTotalBlocks")
	}
	if !budget || walked > opts.MaxTotalBlocks {
		t.Errorf("%d blocks in the listed candidates, budget reason %v", walked, budget)
	}
	// The real chain is walked first (lower address) and still comes through.
	if d := cmp.Diff(b.Handover.LUO.Sessions, h.LUO.Sessions); d != "" {
		t.Errorf("sessions (-built +recovered):\n%s", d)
	}
}

// holeMemory fails reads touching one page with ErrExcluded while Ranges
// still reports it present, as a filtered kdump does.
type holeMemory struct {
	physmem.Memory
	hole uint64
}

func (m holeMemory) ReadAt(p []byte, addr uint64) (int, error) {
	if addr < m.hole+4096 && m.hole < addr+uint64(len(p)) {
		return 0, &physmem.AddrError{Addr: m.hole, Size: uint64(len(p)), Err: physmem.ErrExcluded}
	}
	return m.Memory.ReadAt(p, addr)
}

// TestRecoverExcludedPage: a chunk with an unreadable page is scanned page
// by page; the page itself is skipped, the rest of the chunk is not.
func TestRecoverExcludedPage(t *testing.T) {
	b := recBuild(t)
	// A second valid chain in the hole would make the result ambiguous
	// if the hole were read.
	recPut(t, b.Mem, recFree0, recSessionPage(0, recSessionEntry{name: "hidden"}))
	mem := holeMemory{b.Mem, recFree0}
	h, err := Decode(mem, b.RootAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := RecoverLUO(mem, h, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(b.Handover.LUO.Sessions, h.LUO.Sessions); d != "" {
		t.Errorf("sessions (-built +recovered):\n%s", d)
	}
	if want := uint64(recRAM/4096 - 1); rec.PagesScanned != want {
		t.Errorf("scanned %d pages, want %d (all but the hole)", rec.PagesScanned, want)
	}
}
