package kho

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/kho/physmem"
)

// codeEmitters are the calls that turn a code into a finding: the
// decoder's d.add, the locator's l.find, the FLB model's flbmFinding and
// recovery's rc.add. A Finding literal's Code field names one directly.
const codeEmitters = `(?:\b(?:d|rc)\.add|\bl\.find|\bflbmFinding)\(`

var (
	// codeCalls reads the code an emitter is called with.
	codeCalls = regexp.MustCompile(codeEmitters + `\s*"([^"]+)"`)
	// codeEscapes finds a code from a variable: an emitter called with
	// something else than a literal, or a Code field other than the
	// emitters' own "Code: code".
	codeEscapes = regexp.MustCompile(codeEmitters + `\s*[^"\s]|\bCode:\s+(?:[^"\sc]|c[^o]|co[^d]|cod[^e]|code\w)`)
)

// emittedCodes scans the package's non-test sources matching glob for
// codes passed as string literals to an emitter (any, or only rc.add when
// recoveryOnly is set) or, unless recoveryOnly, named in a Finding
// literal's Code field. A code that is not a literal is an error: it
// would escape the scan.
func emittedCodes(t *testing.T, glob string, recoveryOnly bool) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	literals := regexp.MustCompile(`\bCode:\s+"([^"]+)"`)
	used := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "func ") {
				continue
			}
			for _, m := range codeCalls.FindAllStringSubmatch(line, -1) {
				if !recoveryOnly || strings.HasPrefix(strings.TrimLeft(m[0], "\t ("), "rc.add") {
					used[m[1]] = true
				}
			}
			if !recoveryOnly {
				for _, m := range literals.FindAllStringSubmatch(line, -1) {
					used[m[1]] = true
				}
			}
			if m := codeEscapes.FindString(line); m != "" {
				t.Errorf("%s:%d: a finding code that is not a literal escapes the scan: %q", f, i+1, m)
			}
		}
	}
	return used
}

// TestCodeTable checks that the codes emitted anywhere in the package (by
// the decoder, the locator, the FLB model and recovery) and the one table
// that documents them are the same set, well formed, and that context
// impacts refer to real codes.
func TestCodeTable(t *testing.T) {
	used := emittedCodes(t, "*.go", false)
	var usedList []string
	for c := range used {
		usedList = append(usedList, c)
	}
	sort.Strings(usedList)
	if d := cmp.Diff(Codes(), usedList); d != "" {
		t.Errorf("table (-) vs emitted codes (+):\n%s", d)
	}
	wellFormed := regexp.MustCompile(`^[a-z]+(_[a-z]+)?\.[a-z0-9]+(-[a-z0-9]+)*$`)
	for _, c := range Codes() {
		info, ok := LookupCode(c)
		if !ok || !wellFormed.MatchString(c) || info.Summary == "" || info.Severity > Error {
			t.Errorf("code %q: malformed entry %+v", c, info)
		}
		for _, im := range info.Kernel {
			if im.Releases == "" || im.Detail == "" {
				t.Errorf("code %q: incomplete impact %+v", c, im)
			}
		}
	}
	if info, ok := LookupCode("no.such-code"); ok {
		t.Errorf("LookupCode of an unknown code = %+v, true", info)
	}
	// The emitters' fallback: an unknown code is an Error, a known one
	// its table entry.
	if d := cmp.Diff(CodeInfo{Severity: Error, Summary: "undocumented code"}, codeInfo("no.such-code")); d != "" {
		t.Errorf("codeInfo of an unknown code (-want +got):\n%s", d)
	}
	if d := cmp.Diff(codeTable["radix.key-zero"], codeInfo("radix.key-zero")); d != "" {
		t.Errorf("codeInfo of a known code (-want +got):\n%s", d)
	}
	for k := range contextImpacts {
		code, _, ok := strings.Cut(k, "@")
		if _, known := LookupCode(code); !ok || !known {
			t.Errorf("context impact %q names no code", k)
		}
	}
}

// TestCodeScanSeesEscapes checks the scan TestCodeTable relies on: it
// reads literal codes from every emitter and flags a code that is not a
// literal.
func TestCodeScanSeesEscapes(t *testing.T) {
	for _, tc := range []struct {
		line string
		want string
	}{
		{`	d.add("ptr.zero", "", path, pa, "x")`, "ptr.zero"},
		{`	rc.add("luo.recovery-none", recoveryPath, 0, "x")`, "luo.recovery-none"},
		{`	l.find("scratch.empty", "/x", 0, "x")`, "scratch.empty"},
		{`	fs = append(fs, flbmFinding("flb.name-empty", flbmPath, 0, "x"))`, "flb.name-empty"},
		{`	visited.add(pa)`, ""},
	} {
		got := ""
		if m := codeCalls.FindStringSubmatch(tc.line); m != nil {
			got = m[1]
		}
		if got != tc.want {
			t.Errorf("%q: code %q, want %q", tc.line, got, tc.want)
		}
	}
	for _, tc := range []struct {
		line   string
		escape bool
	}{
		{`	d.add(c.code, "", path, pa, "x")`, true},
		{`	rc.add(kind, recoveryPath, 0, "x")`, true},
		{`	Finding{Code: other, Path: p}`, true},
		{`	Finding{Code: codes[i], Path: p}`, true},
		{`	Finding{Severity: Info, Code: code, Path: path}`, false},
		{`	Finding{Code: "decode.findings-truncated"}`, false},
		{`	d.add("ptr.zero", "", path, pa, "x")`, false},
	} {
		if got := codeEscapes.MatchString(tc.line); got != tc.escape {
			t.Errorf("%q: escape %v, want %v", tc.line, got, tc.escape)
		}
	}
}

// TestFindingImpacts checks that a finding carries its context's kernel
// impact: a broken session chain panics 7.2/7.3, a broken file chain only
// fails /dev/liveupdate.
func TestFindingImpacts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(m mutator, L Layout)
		want   Effect
	}{
		{"session chain", func(m mutator, L Layout) { m.put64(L.SessionBlocks[0], L.SessionBlocks[0]) }, EffectPanic},
		{"file chain", func(m mutator, L Layout) { m.put64(L.FileBlocks[0][0], L.FileBlocks[0][0]) }, EffectRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := hostileBase(t, "kho-v4+luo-v5")
			tc.mutate(mutator{t: t, b: b}, b.Layout)
			h, err := Decode(b.Mem, b.RootAddr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Findings) != 1 || h.Findings[0].Code != "block.cycle" {
				t.Fatalf("findings %v", h.Findings)
			}
			f := h.Findings[0]
			if len(f.Kernel) != 1 || f.Kernel[0].Effect != tc.want || f.Kernel[0].Releases != "7.2-7.3" {
				t.Errorf("impact %+v, want %v in 7.2-7.3", f.Kernel, tc.want)
			}
			if f.Addr == 0 || !strings.HasPrefix(f.Path, "/LUO/sessions") {
				t.Errorf("finding not located: %v", f)
			}
		})
	}
}

// TestFLBNameUnterminatedImpact checks the table's kernel impact of an
// unterminated FLB name against the FLB model: mainline strcmp stops
// inside the 48-byte field (a registered compatible is at most 47 chars
// and its NUL), so the entry is never found, even by its 47-byte prefix,
// and the finding says so (ignored, -ENOENT), not an out-of-bounds read.
func TestFLBNameUnterminatedImpact(t *testing.T) {
	name := strings.Repeat("x", 48)
	mem := flbMemory(t, 1, 1, flbTestEntry{name, 1, 1})
	for _, m := range []KernelModel{Mainline70, Mainline71, Mainline72, Mainline73} {
		for _, lookup := range []string{name[:47], name[:1]} {
			r, fs := RetrieveFLB(mem, flbTestPage, lookup, m, nil)
			if r.Found || r.Err != ENOENT || len(r.Impacts) != 0 {
				t.Errorf("%v lookup %q: found %v, err %v, impacts %v; want never found, ENOENT, no impact", m, lookup, r.Found, r.Err, r.Impacts)
			}
			want := []Impact{{"7.0-7.3", EffectIgnored, "the entry is never found; retrieve returns -ENOENT"}}
			if len(fs) != 1 || fs[0].Code != "flb.name-unterminated" {
				t.Fatalf("findings %v", fs)
			}
			if d := cmp.Diff(want, fs[0].Kernel); d != "" {
				t.Errorf("impact (-want +got):\n%s", d)
			}
		}
	}
}

// TestImpactsAreCopies checks that editing the impacts a lookup or a
// finding hands out leaves the code table as it was.
func TestImpactsAreCopies(t *testing.T) {
	const code = "ptr.in-scratch"
	before, ok := LookupCode(code)
	if !ok || len(before.Kernel) == 0 {
		t.Fatalf("%s: no impacts to test with", code)
	}
	want := before.Kernel[0].Detail
	before.Kernel[0].Detail = "edited"
	d, err := newDecoder(&physmem.Sparse{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.add(code, "", "/x", 0, "test")
	d.h.Findings[0].Kernel[0].Detail = "edited too"
	after, _ := LookupCode(code)
	if got := after.Kernel[0].Detail; got != want {
		t.Errorf("table impact is now %q, want %q", got, want)
	}
}
