package kho

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recoverPagesSeeds are FuzzRecoverPages' seeds for a memory whose session
// chain starts at head, without their zero tails: the pages are padded
// back, and short inputs keep the fuzzer's minimisation cheap.
func recoverPagesSeeds(head uint64) [][2][]byte {
	trim := func(b []byte) []byte { return bytes.TrimRight(b, "\x00") }
	return [][2][]byte{
		{trim(recSessionPage(recFree1, recSessionEntry{name: "x"})), trim(recSessionPage(0, recSessionEntry{name: "y"}))},
		{trim(recFLBPageBytes(FLB{Name: "a-v1", Count: 1})), trim(recLUOSerPage(2, recFree0, recFree1))},
		{trim(recFileBlock(recFree0, 0x1000)), trim(recSessionPage(recFree0, recSessionEntry{"z", recFree0, 1}))},
		{trim(recFullSessionPage("s", recFree1)), trim(recFullSessionPage("t", recFree0))},
		// A full block of new names in front of the real head: by its
		// bytes, the first block of a longer chain (see recoverPlanted).
		{trim(recFullSessionPage("s", head)), nil},
	}
}

// recFuzzHandover is recHandover's shape in a fifth of its pages, since
// FuzzRecoverPages scans and decodes it for every input: the same 53
// sessions in two session blocks, the 65-file session in two file blocks,
// the empty session, the 63-byte name, the all-ones token and three FLBs
// counted once per file; but only sessions 0 and 2 have files, and only
// their first three memfds have contents (of one, two and three pages).
func recFuzzHandover() (*Handover, map[FileID][]byte) {
	h, _ := recHandover()
	contents := map[FileID][]byte{}
	files := 0
	for i := range h.LUO.Sessions {
		s := &h.LUO.Sessions[i]
		if i != 0 && i != 2 {
			s.Files = nil
		}
		for j := range s.Files {
			if j < 3 {
				contents[FileID{i, j}] = bytes.Repeat([]byte{byte(i), byte(j), 0x5a}, (j+1)*4096/3-i)
			}
			files++
		}
	}
	for i := range h.LUO.FLBs {
		h.LUO.FLBs[i].Count = uint64(files)
	}
	return h, contents
}

// buildRecFuzzMemory builds recFuzzHandover after the kexec, as recBuild does.
func buildRecFuzzMemory(t testing.TB) *Built {
	t.Helper()
	h, contents := recFuzzHandover()
	return recBuildAfterKexec(t, h, contents)
}

// FuzzRecoverPages plants two arbitrary pages beside a post-kexec memory
// and checks that recovery neither panics nor lets them change what is
// recovered unnoticed: the model holds the built sessions, none (when the
// planted bytes made a second valid candidate), or the built sessions
// after planted blocks that lead to them; never built sessions lost or
// changed.
func FuzzRecoverPages(f *testing.F) {
	// One memory for every input: the planted pages are written whole
	// (zero-padded) each time, so nothing of an earlier input remains.
	b := buildRecFuzzMemory(f)
	for _, s := range recoverPagesSeeds(b.Layout.SessionBlocks[0]) {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p0, p1 []byte) {
		recoverPlanted(t, b, p0, p1)
	})
}

// recoverPlanted is FuzzRecoverPages' body.
func recoverPlanted(t testing.TB, b *Built, p0, p1 []byte) {
	page := func(p []byte) []byte {
		out := make([]byte, 4096)
		copy(out, p)
		return out
	}
	recPut(t, b.Mem, recFree0, page(p0))
	recPut(t, b.Mem, recFree1, page(p1))
	h, _, _ := recDecodeRecover(t, b, nil)
	// reflect.DeepEqual, not cmp.Equal: the same answer for these plain
	// structs, without cmp's per-field reflection, which cost more than
	// the recovery; cmp explains a difference.
	built := b.Handover.LUO.Sessions
	if len(h.LUO.Sessions) == 0 || reflect.DeepEqual(built, h.LUO.Sessions) {
		return
	}
	// With sessions_pa and the memory map lost, a full block of new names
	// whose next is the real head is byte for byte the first block of a
	// longer chain: recovery rightly takes the longer chain. What it must
	// not do is lose or change a built session, or take any block but a
	// planted one in front of them.
	var chain RecoveredObject
	if rec := h.LUO.Recovered; rec != nil && len(rec.Sessions) > 0 {
		chain = rec.Sessions[0]
	}
	extra := len(chain.Blocks) - len(b.Layout.SessionBlocks)
	ok := chain.Verdict == VerdictChosen && extra > 0 && len(h.LUO.Sessions) > len(built) &&
		reflect.DeepEqual(chain.Blocks[extra:], b.Layout.SessionBlocks) &&
		reflect.DeepEqual(h.LUO.Sessions[len(h.LUO.Sessions)-len(built):], built)
	for _, a := range chain.Blocks[:max(extra, 0)] {
		ok = ok && (a == recFree0 || a == recFree1)
	}
	if !ok {
		t.Errorf("recovered sessions are neither the built ones, nor none, nor the built ones after planted blocks; chain %#x (-built +recovered):\n%s",
			chain.Blocks, cmp.Diff(built, h.LUO.Sessions))
	}
}

// BenchmarkFuzzRecoverPages runs FuzzRecoverPages' body over its seeds and
// its corpus in testdata: the cost of one fuzz input.
func BenchmarkFuzzRecoverPages(b *testing.B) {
	built := buildRecFuzzMemory(b)
	inputs := recoverPagesSeeds(built.Layout.SessionBlocks[0])
	for _, in := range readFuzzCorpus(b, "FuzzRecoverPages") {
		if len(in) != 2 {
			b.Fatalf("corpus entry of %d values, want 2", len(in))
		}
		inputs = append(inputs, [2][]byte{in[0], in[1]})
	}
	for b.Loop() {
		for _, in := range inputs {
			recoverPlanted(b, built, in[0], in[1])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(inputs)), "ns/input")
}

// readFuzzCorpus reads the []byte values of every file in
// testdata/fuzz/<name> (the "go test fuzz v1" format).
func readFuzzCorpus(t testing.TB, name string) [][][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][][]byte
	for _, f := range files {
		out = append(out, parseCorpusFile(t, f))
	}
	return out
}

// parseCorpusFile reads the []byte values of one corpus file.
func parseCorpusFile(t testing.TB, f string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 0 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a fuzz corpus file", f)
	}
	var vals [][]byte
	for _, l := range lines[1:] {
		q, ok := strings.CutPrefix(l, "[]byte(")
		q, ok2 := strings.CutSuffix(q, ")")
		s, err := strconv.Unquote(q)
		if !ok || !ok2 || err != nil {
			t.Fatalf("%s: value %q is not a []byte literal", f, l)
		}
		vals = append(vals, []byte(s))
	}
	return vals
}
