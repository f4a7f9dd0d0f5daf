package kho

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/internal/e2eexpect"
	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
)

// e2eDumpDir is where the e2e harness leaves its dumps: $KHOKIT_E2E_DUMPS,
// or the harness's default cache.
func e2eDumpDir() string {
	if d := os.Getenv("KHOKIT_E2E_DUMPS"); d != "" {
		return d
	}
	return "/var/tmp/khokit-e2e/dumps"
}

// e2eFile is what recovery must reproduce for one file.
type e2eFile struct {
	Token      uint64
	Compatible string
	Size       uint64
	Seals      uint32
	SHA256     string
}

type e2eSession struct {
	Name  string
	Files []e2eFile
}

// TestRecoverE2EPostKexec recovers the LUO state from the real 7.3.4
// post-kexec dumps (ELF and kdump) and compares it with what the guest
// created: every session, file (token, handler, size, seals) and FLB,
// and memfd contents by sha256. Skipped when the dumps are absent.
func TestRecoverE2EPostKexec(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the real dumps whole")
	}
	dir := e2eDumpDir()
	for _, name := range []string{"post-kexec.elf", "post-kexec.kdump"} {
		t.Run(name, func(t *testing.T) {
			checkRecoverE2E(t, filepath.Join(dir, name), filepath.Join(dir, "expected.json"))
		})
	}
}

// TestRecoverCarvedPostKexec runs the same check on the post-kexec core
// khodump carved from a real run (testdata/khodump/real): 384 KiB holding
// the pages the handover and the recovered state occupy, so ordinary
// go test checks recovery on real-kernel bytes.
func TestRecoverCarvedPostKexec(t *testing.T) {
	checkRecoverE2E(t, "../testdata/khodump/real/post-kexec.elf", "../testdata/khodump/real/guest-expected.json")
}

// checkRecoverE2E locates, decodes and recovers the handover in an image
// and compares the result with the guest's expected.json.
func checkRecoverE2E(t *testing.T, imagePath, expectedPath string) {
	exp, err := e2eexpect.Read(expectedPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no expected state: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var want []e2eSession
	for _, s := range exp.Sessions {
		ws := e2eSession{Name: s.Name}
		for _, f := range s.Files {
			tok, err := strconv.ParseUint(f.TokenHex, 0, 64)
			if err != nil {
				t.Fatal(err)
			}
			ws.Files = append(ws.Files, e2eFile{Token: tok, Compatible: f.Compatible, Size: f.Size, Seals: f.Seals, SHA256: f.SHA256})
		}
		want = append(want, ws)
	}
	var wantFLBs []FLB
	for _, f := range exp.FLBs {
		wantFLBs = append(wantFLBs, FLB{Name: f.Name, Count: f.Count})
	}
	im, in := openIncoming(t, imagePath)
	if in.Handoff == nil {
		t.Fatal("the incoming root was not named by setup_data")
	}
	// The scratch regions the handoff names, as khodump passes
	// them: recovered state must lie outside them.
	opts := &Options{Scratch: e2eScratch(t, im.Memory, in.Handoff)}
	h, err := Decode(im.Memory, in.Addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !NeedsRecovery(h) {
		t.Fatalf("a post-kexec image must need recovery; LUO %+v", h.LUO)
	}
	var calls int
	rec, err := RecoverLUO(im.Memory, h, opts, &RecoverOptions{Progress: func(done, total uint64) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil || h.LUO == nil || h.LUO.Recovered != rec {
		t.Fatalf("nothing recovered: %+v", h.LUO)
	}
	t.Logf("scanned %d pages (%d progress calls); lost %v", rec.PagesScanned, calls, rec.Lost)
	for _, o := range append(append(append([]RecoveredObject(nil), rec.Sessions...), rec.FLBs...), rec.LUOSers...) {
		t.Logf("  %v %#x %v: %d blocks, %d sessions, %d files; %s", o.Kind, o.Addr, o.Verdict, len(o.Blocks), o.Sessions, o.Files, o.Reason)
		for _, e := range o.Evidence {
			t.Logf("      %s", e)
		}
	}
	for _, f := range h.Findings {
		t.Logf("  %v", f)
	}
	if len(rec.Sessions) > 0 && !slices.Contains(rec.Sessions[0].Evidence, "no block lies in a scratch region") {
		t.Errorf("scratch regions %v not used as evidence: %q", opts.Scratch, rec.Sessions[0].Evidence)
	}
	if n := countVerdict(rec.Sessions, VerdictChosen); n != 1 {
		t.Errorf("%d session chains chosen, want 1", n)
	}
	if n := countVerdict(rec.FLBs, VerdictChosen); n != 1 {
		t.Errorf("%d FLB pages chosen, want 1", n)
	}
	got := e2eRecovered(t, im.Memory, h.LUO)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("recovered sessions (-want +got):\n%s", d)
	}
	gotFLBs := make([]FLB, len(h.LUO.FLBs))
	for i, f := range h.LUO.FLBs {
		gotFLBs[i] = FLB{Name: f.Name, Count: f.Count}
	}
	if d := cmp.Diff(wantFLBs, gotFLBs); d != "" {
		t.Errorf("recovered FLBs (-want +got):\n%s", d)
	}
	if h.LUO.LiveupdateNumber != exp.Handover.LiveupdateNumber {
		t.Errorf("liveupdate number %d, want %d", h.LUO.LiveupdateNumber, exp.Handover.LiveupdateNumber)
	}
	if h.KexecMetadata == nil || h.KexecMetadata.KexecCount != exp.Handover.KexecCount {
		t.Errorf("kexec metadata %+v, want count %d", h.KexecMetadata, exp.Handover.KexecCount)
	}
	for _, code := range []string{"luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs"} {
		if !hasCode(h.Findings, code) {
			t.Errorf("no %s finding", code)
		}
	}
	files := 0
	for _, s := range got {
		files += len(s.Files)
	}
	t.Logf("recovered %d sessions, %d files (expected %d), %d FLBs, liveupdate number %d", len(got), files, exp.FilesTotal, len(gotFLBs), h.LUO.LiveupdateNumber)
}

// e2eScratch reads the kho_scratch array a SETUP_KEXEC_KHO node names.
func e2eScratch(t *testing.T, mem physmem.Memory, kd *KHOData) []ScratchRegion {
	t.Helper()
	b, err := physmem.Read(mem, kd.ScratchAddr, int(kd.ScratchSize), 1<<16)
	if err != nil {
		t.Fatalf("scratch array: %v", err)
	}
	a, err := format.DecodeScratchArray(b)
	if err != nil {
		t.Fatalf("scratch array: %v", err)
	}
	var out []ScratchRegion
	for _, s := range a.Entries {
		out = append(out, ScratchRegion{Addr: s.Addr, Size: s.Size})
	}
	if len(out) == 0 {
		t.Fatal("no scratch regions")
	}
	return out
}

func countVerdict(os []RecoveredObject, v Verdict) int {
	n := 0
	for _, o := range os {
		if o.Verdict == v {
			n++
		}
	}
	return n
}

func hasCode(fs []Finding, code string) bool {
	for _, f := range fs {
		if f.Code == code {
			return true
		}
	}
	return false
}

// e2eRecovered reduces a LUO model to what the guest knows, reading each
// memfd's contents for its hash.
func e2eRecovered(t *testing.T, mem physmem.Memory, l *LUO) []e2eSession {
	var out []e2eSession
	for _, s := range l.Sessions {
		gs := e2eSession{Name: s.Name}
		for _, f := range s.Files {
			gf := e2eFile{Token: f.Token, Compatible: f.Compatible}
			if f.Memfd != nil {
				gf.Size, gf.Seals = f.Memfd.Size, f.Memfd.Seals
				h := sha256.New()
				if _, err := io.Copy(h, MemfdContents(mem, f.Memfd, 4096)); err != nil {
					t.Errorf("session %s token %#x: %v", s.Name, f.Token, err)
				}
				gf.SHA256 = hex.EncodeToString(h.Sum(nil))
			}
			gs.Files = append(gs.Files, gf)
		}
		out = append(out, gs)
	}
	return out
}

// TestRecoverE2EAtKexec forces the recovery scan on the real dumps taken
// at the kexec, where luo_ser and the map are intact: the scan must
// choose exactly the session chain and FLB page luo_ser points at, and
// find nothing ambiguous.
func TestRecoverE2EAtKexec(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the real dumps whole")
	}
	dir := e2eDumpDir()
	for _, name := range []string{"at-kexec.elf", "at-kexec.kdump"} {
		t.Run(name, func(t *testing.T) {
			im, in := openIncoming(t, filepath.Join(dir, name))
			h, err := Decode(im.Memory, in.Addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if h.LUO == nil || NeedsRecovery(h) {
				t.Fatalf("at-kexec handover does not decode through its pointers: %v", h.Findings)
			}
			before := len(h.Findings)
			rec, err := RecoverLUO(im.Memory, h, nil, &RecoverOptions{Force: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range append(append(append([]RecoveredObject(nil), rec.Sessions...), rec.FLBs...), rec.LUOSers...) {
				t.Logf("  %v %#x %v: %d blocks, %d sessions, %d files; %s", o.Kind, o.Addr, o.Verdict, len(o.Blocks), o.Sessions, o.Files, o.Reason)
			}
			for _, f := range h.Findings[before:] {
				t.Logf("  %v", f)
				if f.Code == "luo.recovery-ambiguous" {
					t.Errorf("forced scan disagrees: %v", f)
				}
			}
			if len(rec.Sessions) == 0 || rec.Sessions[0].Verdict != VerdictChosen || rec.Sessions[0].Addr != h.LUO.SessionsAddr {
				t.Errorf("scan's session chain %+v, sessions_pa %#x", rec.Sessions, h.LUO.SessionsAddr)
			}
			if len(rec.FLBs) == 0 || rec.FLBs[0].Verdict != VerdictChosen || rec.FLBs[0].Addr != h.LUO.FLBsAddr {
				t.Errorf("scan's FLB page %+v, flbs_pa %#x", rec.FLBs, h.LUO.FLBsAddr)
			}
		})
	}
}

// openE2EImage opens the image at path, skipping when it cannot be opened
// (the e2e dumps are optional). The image is closed when the test ends.
func openE2EImage(tb testing.TB, path string) *image.Image {
	tb.Helper()
	im, err := image.Open(path, image.Options{})
	if err != nil {
		tb.Skip(err)
	}
	tb.Cleanup(func() { im.Close() })
	return im
}

// openIncoming opens the image at path, skipping when it cannot be opened
// (the e2e dumps are optional), and returns it with the incoming root the
// locator finds in it. The image is closed when the test ends.
func openIncoming(tb testing.TB, path string) (*image.Image, Candidate) {
	tb.Helper()
	im := openE2EImage(tb, path)
	cs, _, err := Locate(im.Memory, nil)
	if err != nil {
		tb.Fatal(err)
	}
	in, ok := Incoming(cs)
	if !ok {
		tb.Fatalf("no incoming root among %d candidates", len(cs))
	}
	return im, in
}
