package kho

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// findingSources are the files that emit findings: the decoder's (d.add),
// the locator's (l.find) and the FLB model's (flbmFinding). The builder
// emits none; it is scanned so that one that starts to is noticed.
var findingSources = []string{"blobs.go", "blocks.go", "decode.go", "luo.go", "memfd.go", "memmap.go", "pointer.go",
	"locate.go", "locate_scan.go", "flbmodel.go", "flbmodel_sim.go", "build.go", "build_encode.go", "build_fdt.go", "build_map.go"}

// TestCodeTable checks that the codes the decoder, the locator and the FLB
// model emit and the table that documents them are the same set, well
// formed, and that context impacts refer to real codes.
func TestCodeTable(t *testing.T) {
	emit := regexp.MustCompile(`(?:d\.add|l\.find|flbmFinding)\("([^"]+)"`)
	// Any other way of naming a code in a finding escapes the scan.
	other := regexp.MustCompile(`Code: +"|\.add\(code|\.find\(code`)
	used := map[string]bool{"decode.findings-truncated": true} // added by finish
	for _, f := range findingSources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range emit.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		if loc := other.FindIndex(b); loc != nil && f != "pointer.go" {
			t.Errorf("%s: a finding code at byte %d is not a literal the scan sees: %q", f, loc[0], b[loc[0]:loc[1]])
		}
	}
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
		info, _ := LookupCode(c)
		if !wellFormed.MatchString(c) || info.Summary == "" || info.Severity > Error {
			t.Errorf("code %q: malformed entry %+v", c, info)
		}
		for _, im := range info.Kernel {
			if im.Releases == "" || im.Detail == "" {
				t.Errorf("code %q: incomplete impact %+v", c, im)
			}
		}
	}
	for k := range contextImpacts {
		code, _, ok := strings.Cut(k, "@")
		if _, known := codeTable[code]; !ok || !known {
			t.Errorf("context impact %q names no code", k)
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
