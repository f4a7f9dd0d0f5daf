package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/internal/e2eexpect"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/khodump")

func fixture(name string) string { return filepath.Join("..", "..", "testdata", "khodump", name) }

// run1 runs khodump and checks the exit status; it returns stdout and stderr.
func run1(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := khodump(t, args...)
	if code != want {
		t.Fatalf("khodump %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), code, want, errOut)
	}
	return out, errOut
}

func decodeDoc(t *testing.T, out string) jsonDoc {
	t.Helper()
	var d jsonDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	return d
}

// docTables parses the field tables of docs/json.md: table name -> field
// path -> allowed types.
func docTables(t *testing.T) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tables := map[string]map[string][]string{}
	var cur map[string][]string
	marker := regexp.MustCompile(`^<!-- table: (\w+) -->$`)
	row := regexp.MustCompile("^\\| `([^`]+)` \\| ([a-z|\\\\]+) \\|")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := marker.FindStringSubmatch(line); m != nil {
			cur = map[string][]string{}
			tables[m[1]] = cur
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && cur != nil {
			cur[m[1]] = strings.Split(strings.ReplaceAll(m[2], `\|`, "|"), "|")
		}
	}
	if len(tables) != 4 {
		t.Fatalf("docs/json.md: %d tables, want 4", len(tables))
	}
	return tables
}

// flatten records the JSON type of every path in v: objects by key,
// array elements as "[]".
func flatten(prefix string, v any, out map[string]map[string]bool) {
	add := func(typ string) {
		if out[prefix] == nil {
			out[prefix] = map[string]bool{}
		}
		out[prefix][typ] = true
	}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		if prefix != "" {
			add("object")
		}
		for k, e := range x {
			flatten(join(k), e, out)
		}
	case []any:
		add("array")
		for _, e := range x {
			flatten(prefix+"[]", e, out)
		}
	case string:
		if regexp.MustCompile(`^0x[0-9a-f]+$`).MatchString(x) {
			add("hex")
		} else {
			add("string")
		}
	case float64:
		add("number")
	case nil:
		add("null")
	case bool:
		add("bool")
	}
}

// TestJSONMatchesDoc holds the JSON output to docs/json.md: every field
// produced is documented with its type, and every documented field is
// produced by one of the runs.
func TestJSONMatchesDoc(t *testing.T) {
	tables := docTables(t)
	dir := t.TempDir()
	run1(t, 0, "extract", "--dir", filepath.Join(dir, "x"), fixture("handover.elf"))
	index, err := os.ReadFile(filepath.Join(dir, "x", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string][]string{
		"handover": {
			out(t, 0, "show", "-o", "json", fixture("handover.elf")),
			out(t, 1, "check", "-o", "json", "--kernel", "7.3", fixture("bad-flb.elf")),
			out(t, 0, "show", "-o", "json", fixture("kho-v2-luo-v1.elf")),
			out(t, 0, "show", "-o", "json", fixture("debugfs")),
			out(t, 0, "show", "-o", "json", fixture("real/post-kexec.elf")),
		},
		"scan": {out(t, 0, "scan", "-o", "json", fixture("three-roots.elf")), out(t, 0, "scan", "-o", "json", fixture("truncated-data.elf"))},
		"blob": {
			out(t, 0, "check", "--as", "luo-flb", "-o", "json", fixture("blobs/flb-page.bin")),
			out(t, 1, "check", "--as", "luo-flb", "-o", "json", fixture("blobs/flb-page-bad.bin")),
			out(t, 1, "check", "--as", "kexec-metadata", "-o", "json", fixture("random.bin")),
		},
		"index": {string(index)},
	}
	for name, outs := range runs {
		got := map[string]map[string]bool{}
		for _, o := range outs {
			var v any
			if err := json.Unmarshal([]byte(o), &v); err != nil {
				t.Fatalf("%s: invalid JSON: %v", name, err)
			}
			flatten("", v, got)
		}
		doc := tables[name]
		for path, types := range got {
			allowed, ok := doc[path]
			if !ok {
				t.Errorf("%s: field %s is not in docs/json.md", name, path)
				continue
			}
			for typ := range types {
				ok := false
				for _, a := range allowed {
					ok = ok || a == typ || a == "string" && typ == "hex" // a string may look like hex
				}
				if !ok {
					t.Errorf("%s: field %s has type %s, docs/json.md says %v", name, path, typ, allowed)
				}
			}
		}
		for path := range doc {
			// The findings of the other documents are those of the
			// handover document, whose runs produce every field.
			if name != "handover" && strings.HasPrefix(path, "findings[]") {
				continue
			}
			if got[path] == nil {
				t.Errorf("%s: docs/json.md lists %s, which no output produced", name, path)
			}
		}
	}
	// The example in the document uses only documented fields.
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```json\n(.*?)```").FindSubmatch(data)
	if m == nil {
		t.Fatal("docs/json.md has no JSON example")
	}
	var ex any
	if err := json.Unmarshal(m[1], &ex); err != nil {
		t.Fatalf("docs/json.md example is not JSON: %v", err)
	}
	exPaths := map[string]map[string]bool{}
	flatten("", ex, exPaths)
	for path := range exPaths {
		if tables["handover"][path] == nil {
			t.Errorf("docs/json.md example field %s is not in the table", path)
		}
	}
}

func out(t *testing.T, code int, args ...string) string {
	t.Helper()
	o, _ := run1(t, code, args...)
	return o
}

// The same handover in every image format decodes to the same document.
func TestFormatsAgree(t *testing.T) {
	want := decodeDoc(t, out(t, 0, "-o", "json", fixture("handover.elf")))
	for _, args := range [][]string{
		{fixture("handover.kdump")},
		{fixture("handover.flat")},
		{"--format", "elf", fixture("handover.elf")},
		{"--format", "kdump", fixture("handover.kdump")},
		{"--format", "flattened", fixture("handover.flat")},
		{"--root", "0x100000", fixture("handover.elf")},
		{"--root", "1048576", fixture("handover.kdump")},
		{"--page-size", "4096", "--no-progress", "-q", fixture("handover.elf")},
	} {
		got := decodeDoc(t, out(t, 0, append([]string{"show", "-o", "json"}, args...)...))
		got.Source = want.Source
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%v differs from handover.elf (-want +got):\n%s", args, d)
		}
	}
	// The raw dump has no setup_data: the same handover, found by scanning.
	raw := decodeDoc(t, out(t, 0, "-o", "json", "--base", "0x100000", fixture("handover-base-0x100000.raw")))
	if raw.Source.Format != "raw" || len(raw.Handovers) != 1 || raw.Handovers[0].Role != "unknown" {
		t.Fatalf("raw: %+v", raw.Source)
	}
	if d := cmp.Diff(want.Handovers[0].LUO, raw.Handovers[0].LUO); d != "" {
		t.Errorf("raw LUO differs (-want +got):\n%s", d)
	}
}

// TestGolden compares text and JSON output with files in testdata/khodump
// (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		code   int
		args   []string
	}{
		{"handover.txt", 0, []string{"handover.elf"}},
		{"handover-verbose.txt", 0, []string{"-v", "handover.elf"}},
		{"handover.json", 0, []string{"-o", "json", "handover.elf"}},
		{"three-roots-scan.txt", 0, []string{"scan", "-v", "three-roots.elf"}},
		{"bad-flb-check-7.3.txt", 1, []string{"check", "--kernel", "7.3", "bad-flb.elf"}},
		{"bad-flb-check.txt", 1, []string{"check", "bad-flb.elf"}},
		{"debugfs.txt", 0, []string{"debugfs"}},
		{"kho-v2-luo-v1.txt", 0, []string{"kho-v2-luo-v1.elf"}},
		{"flb-page-as.txt", 0, []string{"show", "--as", "luo-flb", "blobs/flb-page.bin"}},
		{"real-at-kexec.json", 0, []string{"-o", "json", "real/at-kexec.elf"}},
		{"real-post-kexec.txt", 0, []string{"real/post-kexec.elf"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			args := append([]string(nil), tc.args...)
			last := len(args) - 1
			args[last] = fixture(args[last])
			got, _ := run1(t, tc.code, args...)
			got = strings.ReplaceAll(got, fixture(""), "testdata/khodump")
			path := fixture(filepath.Join("golden", tc.golden))
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", path, d)
			}
		})
	}
}

func TestCheckExit(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stdout
	}{
		{[]string{"check", fixture("handover.elf")}, 0, "0 errors, 0 warnings, 0 notes"},
		{[]string{"check", fixture("handover-16k.elf")}, 0, "0 errors, 0 warnings, 0 notes"}, // PAGESIZE from VMCOREINFO
		{[]string{"check", "--page-size", "16384", fixture("handover-16k.elf")}, 0, "0 errors, 0 warnings, 0 notes"},
		{[]string{"check", "--page-size", "4096", fixture("handover-16k.elf")}, 1, "error ptr.absent"},
		{[]string{"check", "--kernel", "7.3.4", fixture("handover.elf")}, 0, "Linux 7.3.4: 0 harmful impacts"},
		{[]string{"check", "--kernel", "6.19", fixture("handover.elf")}, 0, "no FLB retrieve model for 6.19"},
		{[]string{"check", fixture("bad-flb.elf")}, 1, "error flb.count-exceeds-page /LUO/flbs @0x104000"},
		{[]string{"check", "--kernel", "7.3", fixture("bad-flb.elf")}, 1, "Linux 7.3: out-of-bounds: count 1000: the linear scan reads entry 63"},
		{[]string{"check", fixture("truncated-data.elf")}, 1, "image truncated"},
		{[]string{"check", fixture("no-incoming.elf")}, 0, "warning khodump.no-incoming"},
		{[]string{"check", fixture("debugfs")}, 0, "info khodump.fdt-only"},
		{[]string{"check", "--as", "luo-flb", fixture("blobs/flb-page.bin")}, 0, "0 errors"},
		{[]string{"check", "--as", "session-block", fixture("blobs/session-block.bin")}, 0, "0 errors"},
		{[]string{"check", "--as", "luo-flb", fixture("blobs/flb-page-bad.bin")}, 1, "flb.count-exceeds-page"},
		{[]string{"check", "--as", "kexec-metadata", fixture("random.bin")}, 1, "blob.unterminated-string"},
		{[]string{"check", "--as", "fdt", fixture("random.bin")}, 1, "error blob.fdt"},
		{[]string{"check", "--as", "fdt", filepath.Join("..", "..", "testdata", "fdt", "kernel", "kho_in_fdt_stage2.dtb")}, 0, "0 errors"},
		{[]string{"check", filepath.Join("..", "..", "testdata", "fdt", "kernel", "kho_in_fdt_stage2.dtb")}, 0, "khodump.fdt-only"},
	} {
		got, _ := run1(t, tc.code, tc.args...)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.want, got)
		}
	}
	// The exit status of check follows the JSON findings' severities.
	d := decodeDoc(t, out(t, 1, "check", "-o", "json", fixture("bad-flb.elf")))
	if len(d.Findings) == 0 || d.Findings[0].Severity != "error" {
		t.Errorf("findings: %+v", d.Findings)
	}
	k := decodeDoc(t, out(t, 1, "check", "-o", "json", "--kernel", "7.3", fixture("bad-flb.elf")))
	if k.Source.Kernel == nil || *k.Source.Kernel != "7.3" {
		t.Errorf("source.kernel = %v", k.Source.Kernel)
	}
	for _, f := range k.Findings {
		for _, im := range f.KernelImpact {
			if im.Releases != "7.3" && !strings.Contains(im.Releases, "-") {
				t.Errorf("impact %+v does not cover 7.3", im)
			}
		}
	}
}

// Every failure to read SOURCE is one line on stderr, with the status the
// manual gives.
func TestOneLineErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	notDebugfs := filepath.Join(dir, "somedir")
	if err := os.Mkdir(notDebugfs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.elf")}, 2, "nope.elf: no such file or directory"},
		{"empty file", []string{empty}, 2, "empty: empty file (0 bytes): not a memory image, FDT or blob"},
		{"not debugfs", []string{notDebugfs}, 2, "somedir: no kho debugfs copy (looked for fdt in"},
		{"random bytes", []string{fixture("random.bin")}, 2, "no known image format (starts 5a a5"},
		{"truncated", []string{fixture("truncated.elf")}, 1, "program headers of 56 bytes run past the end of the 0xc8-byte file: image truncated (the file may be cut short; copy it again)"},
		{"wrong format", []string{"--format", "kdump", fixture("handover.elf")}, 2, "this looks like a ELF core file, not a kdump-compressed file; pass --format elf"},
		{"kdump as elf", []string{"--format", "elf", fixture("handover.kdump")}, 2, "this looks like a kdump-compressed file"},
		{"blob without --as", []string{"--format", "blob", fixture("random.bin")}, 2, "a blob needs --as FORMAT"},
		{"unknown --as", []string{"--as", "nonsense", fixture("random.bin")}, 2, `--as "nonsense": not a catalogue format`},
		{"bad root", []string{"--root", "0x1234", fixture("handover.elf")}, 1, "given root 0x1234"},
		{"bad address", []string{"--root", "zz", fixture("handover.elf")}, 2, `"zz" is not a number`},
		{"bad page size", []string{"--page-size", "1000", fixture("handover.elf")}, 2, "--page-size 1000: want 4096, 16384 or 65536"},
		{"base with elf", []string{"--base", "0", "--format", "elf", fixture("handover.elf")}, 2, "--base is for raw dumps"},
		{"no incoming roots", []string{"--format", "raw", fixture("random.bin")}, 1, "no KHO root found in 4.0 KiB of memory"},
		{"bad kernel", []string{"check", "--kernel", "seven", fixture("handover.elf")}, 2, `--kernel "seven": want a release`},
		{"bad output", []string{"-o", "yaml", fixture("handover.elf")}, 2, `unknown output format "yaml" (want text, json, dts)`},
		{"unknown flag", []string{"scan", "--bogus", fixture("handover.elf")}, 2, "scan: unknown flag: --bogus (see 'khodump scan --help')"},
		{"scan a blob", []string{"scan", "--as", "luo-flb", fixture("blobs/flb-page.bin")}, 2, "scan: --as decodes one blob"},
		{"scan debugfs", []string{"scan", fixture("debugfs")}, 2, "holds one root and no memory to search"},
		// scan decodes no handover: the decoding flags are refused, not ignored.
		{"scan lenient", []string{"scan", "--lenient", fixture("handover.elf")}, 2, "scan: --lenient changes how a handover is decoded, and scan decodes none"},
		{"scan lenient false", []string{"scan", "--lenient=false", fixture("handover.elf")}, 2, "scan: --lenient changes how"},
		{"scan kho-v1-bitmap", []string{"scan", "--kho-v1-bitmap", "512", fixture("handover.elf")}, 2, "scan: --kho-v1-bitmap changes how a handover is decoded"},
		{"scan kho-v1-bitmap detect before the command", []string{"--kho-v1-bitmap=detect", "scan", fixture("handover.elf")}, 2, "scan: --kho-v1-bitmap changes how"},
		{"scan lenient before the command", []string{"--lenient", "scan", "-o", "json", fixture("handover.elf")}, 2, "scan: --lenient changes how"},
		{"carve without out", []string{"carve", fixture("handover.elf")}, 2, "carve: --out FILE is required"},
		{"carve debugfs", []string{"carve", "--out", filepath.Join(dir, "c.elf"), fixture("debugfs")}, 2, "not a memory image: nothing to carve"},
		{"extract without dir", []string{"extract", fixture("handover.elf")}, 2, "extract: --dir DIR is required"},
		{"extract into non-empty", []string{"extract", "--dir", fixture(""), fixture("handover.elf")}, 2, "is not empty"},
		{"abi with source", []string{"abi", "x"}, 2, "abi: takes no SOURCE"},
		{"abi bad btf", []string{"abi", "--btf", filepath.Join(dir, "nope")}, 2, "nope"},
		{"two sources", []string{"check", "a", "b"}, 2, "want exactly one SOURCE, got 2 arguments"},
		{"quiet and verbose", []string{"-q", "-v", fixture("handover.elf")}, 2, "-q and -v contradict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut := run1(t, tc.code, tc.args...)
			if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "khodump: ") {
				t.Errorf("stderr is not one khodump: line: %q", errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
		})
	}
}

func TestScan(t *testing.T) {
	var doc jsonScanDoc
	if err := json.Unmarshal([]byte(out(t, 0, "scan", "-o", "json", fixture("three-roots.elf"))), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range doc.Candidates {
		got = append(got, fmt.Sprintf("%#x %s", uint64(c.Address), c.Role))
	}
	want := []string{"0x100000 incoming", "0x4000000 outgoing", "0x6400000 copy"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("candidates (-want +got):\n%s", d)
	}
	if doc.Candidates[0].Handoff == nil || doc.Candidates[1].KexecCount == nil || *doc.Candidates[1].KexecCount != 2 {
		t.Errorf("candidate details: %+v", doc.Candidates)
	}
	// show picks the incoming root; -q silences the note about the others.
	_, errOut := run1(t, 0, fixture("three-roots.elf"))
	if errOut != "" {
		t.Errorf("stderr %q", errOut)
	}
	_, errOut = run1(t, 0, fixture("no-incoming.elf"))
	if !strings.Contains(errOut, "no incoming handover among 2 KHO roots") {
		t.Errorf("no note for no-incoming: %q", errOut)
	}
	if _, errOut = run1(t, 0, "-q", fixture("no-incoming.elf")); errOut != "" {
		t.Errorf("-q: stderr %q", errOut)
	}
	// With --root the scan still lists everything; not a terminal: no bar.
	o, errOut := run1(t, 0, "scan", "--root", "0x4000000", fixture("three-roots.elf"))
	if !strings.Contains(o, "0x4000000  incoming") || errOut != "" {
		t.Errorf("scan --root: %s / %q", o, errOut)
	}
}

func TestCarve(t *testing.T) {
	dir := t.TempDir()
	for _, src := range []string{"handover.elf", "handover.kdump", "three-roots.elf", "kho-v2-luo-v1.elf"} {
		carved := filepath.Join(dir, src+".carved")
		_, errOut := run1(t, 0, "carve", "--out", carved, fixture(src))
		if !strings.Contains(errOut, "carved") {
			t.Errorf("%s: no note: %q", src, errOut)
		}
		want := decodeDoc(t, out(t, 0, "-o", "json", fixture(src)))
		got := decodeDoc(t, out(t, 0, "-o", "json", carved))
		got.Source = want.Source
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: carved core decodes differently (-want +got):\n%s", src, d)
		}
		st, err := os.Stat(carved)
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := os.Stat(fixture(src))
		if st.Size() > orig.Size() && src != "handover.kdump" {
			t.Errorf("%s: carved %d bytes, more than the %d of the source", src, st.Size(), orig.Size())
		}
		if src == "three-roots.elf" {
			s := out(t, 0, "scan", carved)
			if strings.Contains(s, "outgoing") || strings.Contains(s, "copy") {
				t.Errorf("the carved core kept pages of other roots:\n%s", s)
			}
		}
	}
	// -q silences the note; --whole-pages stores whole pages (up to their
	// trailing zeros) and decodes the same.
	whole := filepath.Join(dir, "whole.elf")
	if _, errOut := run1(t, 0, "carve", "-q", "--whole-pages", "--out", whole, fixture("three-roots.elf")); errOut != "" {
		t.Errorf("-q: %q", errOut)
	}
	a, _ := os.Stat(whole)
	b, _ := os.Stat(filepath.Join(dir, "three-roots.elf.carved"))
	if a.Size() < b.Size() {
		t.Errorf("--whole-pages %d bytes, less than %d", a.Size(), b.Size())
	}
	want := decodeDoc(t, out(t, 0, "-o", "json", fixture("three-roots.elf")))
	got := decodeDoc(t, out(t, 0, "-o", "json", whole))
	got.Source = want.Source
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("--whole-pages core decodes differently (-want +got):\n%s", d)
	}
}

func TestExtract(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	run1(t, 0, "extract", "-q", "--dir", dir, fixture("handover.elf"))
	var idx jsonIndex
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	doc := decodeDoc(t, out(t, 0, "-o", "json", fixture("handover.elf")))
	var wantMemfds []string
	for _, s := range doc.Handovers[0].LUO.Sessions {
		for _, f := range s.Files {
			wantMemfds = append(wantMemfds, fmt.Sprintf("%s %#x %d %s", s.Name, uint64(f.Token), f.Memfd.Size, *f.Memfd.SHA256))
		}
	}
	var gotMemfds, kinds []string
	for _, e := range idx.Files {
		kinds = append(kinds, e.Kind+" "+e.File)
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.File)))
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(b)) != e.Size {
			t.Errorf("%s: %d bytes, index says %d", e.File, len(b), e.Size)
		}
		if e.Kind == "memfd" {
			gotMemfds = append(gotMemfds, fmt.Sprintf("%s %#x %d %s", *e.Session, uint64(*e.Token), e.Size, e.SHA256))
		}
	}
	if d := cmp.Diff(wantMemfds, gotMemfds); d != "" {
		t.Errorf("memfds (-show +extract):\n%s", d)
	}
	sort.Strings(kinds)
	wantKinds := []string{
		"flb-page luo/flb-page.bin",
		"memfd memfds/000-vm-guest-0/000-token-0.bin",
		"memfd memfds/000-vm-guest-0/001-token-ffffffffffffffff.bin",
		"memfd memfds/000-vm-guest-0/002-token-7.bin",
		"memfd memfds/001-cache/000-token-1000.bin",
		"root root.dtb",
		"subtree subtrees/00-LUO.bin",
		"subtree subtrees/01-kexec-metadata.bin",
	}
	if d := cmp.Diff(wantKinds, kinds); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	hello, err := os.ReadFile(filepath.Join(dir, "memfds", "000-vm-guest-0", "001-token-ffffffffffffffff.bin"))
	if err != nil || string(hello) != "hello, world\n" {
		t.Errorf("memfd contents %q, %v", hello, err)
	}
	// The extracted blobs decode with --as.
	got := out(t, 0, "show", "--as", "kexec-metadata", filepath.Join(dir, "subtrees", "01-kexec-metadata.bin"))
	if !strings.Contains(got, `previous_release = "7.3.4"`) {
		t.Errorf("extracted kexec-metadata:\n%s", got)
	}
	got = out(t, 0, "show", filepath.Join(dir, "root.dtb"))
	if !strings.Contains(got, `"kho-v4"`) {
		t.Errorf("extracted root.dtb:\n%s", got)
	}
}

func TestABI(t *testing.T) {
	got := out(t, 0, "abi")
	for _, want := range []string{"luo-flb", "memfd-v2", "kexec-metadata", "kho-data"} {
		if !strings.Contains(got, want) {
			t.Errorf("abi lacks %q", want)
		}
	}
	if g16 := out(t, 0, "abi", "--page-size", "16384"); g16 == got {
		t.Error("abi --page-size 16384 prints the 4 KiB catalogue")
	}
	const host = "/sys/kernel/btf/vmlinux"
	if _, err := os.Stat(host); err != nil {
		t.Skip("no host BTF")
	}
	if got := out(t, 0, "abi", "--btf", host); !strings.Contains(got, "kho") {
		t.Errorf("abi --btf: %s", got)
	}
}

func TestHelpEverySubcommand(t *testing.T) {
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			got, _ := run1(t, 0, args...)
			if !strings.Contains(got, "usage: khodump "+c.synopsis) || !strings.Contains(got, "examples:") {
				t.Errorf("%v: help lacks usage or examples:\n%s", args, got)
			}
		}
	}
	got := out(t, 0, "--help")
	for _, c := range commands {
		if !strings.Contains(got, "  "+c.name+" ") {
			t.Errorf("--help does not list %s", c.name)
		}
	}
	if _, errOut := run1(t, 2); !strings.Contains(errOut, "usage: khodump") {
		t.Errorf("no args: %q", errOut)
	}
}

func TestDTS(t *testing.T) {
	got := out(t, 0, "-o", "dts", fixture("handover.elf"))
	if !strings.HasPrefix(got, "/dts-v1/;") || !strings.Contains(got, `compatible = "kho-v4";`) {
		t.Errorf("-o dts:\n%s", got)
	}
	if _, errOut := run1(t, 2, "show", "--as", "luo-flb", "-o", "dts", fixture("blobs/flb-page.bin")); !strings.Contains(errOut, "not an FDT format") {
		t.Errorf("dts of a struct: %q", errOut)
	}
}

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		done, total uint64
		want        string
	}{
		{0, 100 << 20, "scanning [          ]   0% 0 B / 100.0 MiB"},
		{50 << 20, 100 << 20, "scanning [=====     ]  50% 50.0 MiB / 100.0 MiB"},
		{200 << 20, 100 << 20, "scanning [==========] 100% 100.0 MiB / 100.0 MiB"},
		{0, 0, "scanning [          ]   0% 0 B / 1 B"},
	} {
		if got := progressLine(tc.done, tc.total, 10); got != tc.want {
			t.Errorf("progressLine(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for in, want := range map[string]uint64{"0x1eb000": 0x1eb000, "0X10": 16, "010": 10, "1_000": 1000, "18446744073709551615": ^uint64(0)} {
		if got, err := parseNumber(in); err != nil || got != want {
			t.Errorf("parseNumber(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0x", "-1", "0o7", "12k", "18446744073709551616"} {
		if _, err := parseNumber(in); err == nil {
			t.Errorf("parseNumber(%q) accepted", in)
		}
	}
}

// TestRealKernel decodes cores carved from a Linux 7.3.4 guest (QEMU,
// x86-64) and compares them with what the guest recorded it preserved.
func TestRealKernel(t *testing.T) {
	g := readGuestExpected(t, fixture("real/guest-expected.json"))
	for _, name := range []string{"real/at-kexec.elf", "real/post-kexec.elf"} {
		t.Run(name, func(t *testing.T) { compareWithGuest(t, g, fixture(name)) })
	}
	// The carved core is small and holds no other root.
	if st, err := os.Stat(fixture("real/at-kexec.elf")); err != nil || st.Size() > 512<<10 {
		t.Errorf("at-kexec.elf: %v, %v bytes", err, st)
	}
	if s := out(t, 0, "scan", fixture("real/at-kexec.elf")); !strings.Contains(s, "1 KHO root candidates") {
		t.Errorf("scan of the carved core:\n%s", s)
	}
}

// readGuestExpected reads the results file the e2e guest writes.
func readGuestExpected(t *testing.T, path string) *e2eexpect.Expected {
	t.Helper()
	g, err := e2eexpect.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestE2EDumps runs khodump with no flags but the path on the full images
// the real-kernel harness dumps (e2e/run.sh check sets KHOKIT_E2E_DUMPS),
// and compares what it reports with what the guest preserved.
func TestE2EDumps(t *testing.T) {
	dir := os.Getenv("KHOKIT_E2E_DUMPS")
	if dir == "" {
		t.Skip("KHOKIT_E2E_DUMPS is not set (e2e/run.sh check sets it)")
	}
	g := readGuestExpected(t, filepath.Join(dir, "expected.json"))
	for _, name := range []string{"at-kexec.elf", "at-kexec.kdump", "post-kexec.elf", "post-kexec.kdump"} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		t.Run(name, func(t *testing.T) { compareWithGuest(t, g, path) })
	}
}

func compareWithGuest(t *testing.T, g *e2eexpect.Expected, path string) {
	name := filepath.Base(path)
	doc := decodeDoc(t, out(t, 0, "-o", "json", path))
	if len(doc.Handovers) != 1 {
		t.Fatalf("%d handovers", len(doc.Handovers))
	}
	h := doc.Handovers[0]
	if h.Role != "incoming" || h.Root.Address == nil || fmt.Sprintf("%#x", uint64(*h.Root.Address)) != g.Handover.RootFDTPhys {
		t.Errorf("root: role %s address %v, want incoming %s", h.Role, h.Root.Address, g.Handover.RootFDTPhys)
	}
	post := strings.Contains(name, "post")
	for _, f := range doc.Findings {
		// At the kexec the setup_data segments are only staged: their
		// destinations may be stale (scratch.all-zero), nothing worse.
		if !post && f.Severity == "error" {
			t.Errorf("error finding on a clean real handover: %+v", f)
		}
	}
	type file struct {
		Compat string
		Size   uint64
		Seals  uint32
		SHA256 string
	}
	want := map[string]map[string]file{}
	got := map[string]map[string]file{}
	var wantOrder, gotOrder []string
	for _, s := range g.Sessions {
		wantOrder = append(wantOrder, s.Name)
		want[s.Name] = map[string]file{}
		for _, f := range s.Files {
			want[s.Name][f.TokenHex] = file{f.Compatible, f.Size, f.Seals, f.SHA256}
		}
	}
	if h.LUO == nil || h.KexecMetadata == nil {
		t.Fatalf("no LUO or kexec-metadata: %+v", h)
	}
	for _, s := range h.LUO.Sessions {
		gotOrder = append(gotOrder, s.Name)
		got[s.Name] = map[string]file{}
		for _, f := range s.Files {
			sum := ""
			if f.Memfd == nil || f.Memfd.SHA256 == nil {
				t.Errorf("%s/%#x: no memfd contents", s.Name, uint64(f.Token))
				continue
			}
			sum = *f.Memfd.SHA256
			got[s.Name][fmt.Sprintf("%#x", uint64(f.Token))] = file{f.Compatible, f.Memfd.Size, f.Memfd.Seals, sum}
		}
	}
	sort.Strings(wantOrder)
	sort.Strings(gotOrder)
	if d := cmp.Diff(wantOrder, gotOrder); d != "" {
		t.Errorf("sessions (-guest +khodump):\n%s", d)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("files (-guest +khodump):\n%s", d)
	}
	var wantFLB, gotFLB []string
	for _, f := range g.FLBs {
		wantFLB = append(wantFLB, fmt.Sprintf("%s %d", f.Name, f.Count))
	}
	for _, f := range h.LUO.FLBs {
		gotFLB = append(gotFLB, fmt.Sprintf("%s %d", f.Name, f.Count))
	}
	if d := cmp.Diff(wantFLB, gotFLB); d != "" {
		t.Errorf("FLBs (-guest +khodump):\n%s", d)
	}
	if h.LUO.LiveupdateNumber != g.Handover.LiveupdateNumber || h.KexecMetadata.KexecCount != g.Handover.KexecCount || h.KexecMetadata.PreviousRelease != g.Handover.PreviousRelease {
		t.Errorf("liveupdate number %d, kexec count %d, release %q; guest: %+v", h.LUO.LiveupdateNumber, h.KexecMetadata.KexecCount, h.KexecMetadata.PreviousRelease, g.Handover)
	}
	if post {
		// After the kexec the state is recovered by content, and said so.
		if h.LUO.Recovered == nil || !slices.Contains(h.LUO.Recovered.Lost, "luo_ser.sessions_pa") {
			t.Errorf("post-kexec: recovery not reported: %+v", h.LUO.Recovered)
		}
		codes := map[string]bool{}
		for _, f := range doc.Findings {
			codes[f.Code] = true
		}
		for _, c := range []string{"map.unusable", "luo.pointer-lost", "luo.recovered-sessions", "luo.recovered-flbs"} {
			if !codes[c] {
				t.Errorf("post-kexec: no %s finding: %v", c, codes)
			}
		}
	} else if h.LUO.Recovered != nil {
		t.Errorf("at-kexec: recovered %+v, want decoded through pointers", h.LUO.Recovered)
	}
}

// Every --format value reads its kind of source.
func TestFormatFlag(t *testing.T) {
	kernelFDT := filepath.Join("..", "..", "testdata", "fdt", "kernel", "kho_in_fdt_stage2.dtb")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "debugfs", fixture("debugfs")}, `source "../../testdata/khodump/debugfs": debugfs copy`},
		{[]string{"--format", "debugfs", fixture("debugfs/kho/in")}, "sessions at 0x105000"},
		{[]string{"--format", "fdt", kernelFDT}, `handover unknown (root FDT, address unknown): "kho-v4"`},
		{[]string{"--format", "raw", "--base", "0x100000", fixture("handover-base-0x100000.raw")}, "raw image, 116.0 KiB"},
		{[]string{"--format", "auto", fixture("handover.elf")}, "elf image"},
		{[]string{"--format", "blob", "--as", "kexec-metadata", fixture("blobs/kexec-metadata.bin")}, `previous_release = "7.3.4"`},
		{[]string{"--lenient", "--as", "fdt", filepath.Join("..", "..", "testdata", "fdt", "malformed", "struct-size-short-4.dtb")}, "finding:"},
	} {
		if got := out(t, 0, tc.args...); !strings.Contains(got, tc.want) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.want, got)
		}
	}
}

// The committed fixtures are what the generator writes today: a change in
// the builder or the image writers shows up here, not as a puzzling
// golden diff.
func TestFixturesUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./internal/genfixtures", dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("genfixtures: %v\n%s", err, b)
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		want, err := os.ReadFile(fixture(rel))
		if err != nil || !bytes.Equal(want, got) {
			t.Errorf("testdata/khodump/%s is stale: run go run ./cmd/khodump/internal/genfixtures && go test ./cmd/khodump -update", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Damaged images give findings or one-line errors, whatever is damaged.
func TestDamagedImages(t *testing.T) {
	dir := t.TempDir()
	for _, src := range []string{"handover.elf", "handover.kdump", "real/post-kexec.elf"} {
		orig, err := os.ReadFile(fixture(src))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 12; i++ {
			b := append([]byte(nil), orig...)
			switch {
			case i < 4: // cut short
				b = b[:len(b)*(i+1)/5]
			default: // 64 bytes overwritten at spread offsets, headers included
				off := (len(b) / 13) * (i - 3)
				for j := off; j < off+64 && j < len(b); j++ {
					b[j] ^= byte(0xa5 + j)
				}
			}
			p := filepath.Join(dir, fmt.Sprintf("%d-%s", i, filepath.Base(src)))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"check", "show"} {
				_, errOut, code := khodump(t, cmd, "--no-progress", "-q", p)
				if code == 2 || code == 1 && errOut != "" {
					if strings.Count(errOut, "\n") != 1 {
						t.Errorf("%s %s: exit %d, stderr not one line: %q", cmd, p, code, errOut)
					}
				}
			}
		}
	}
}

func TestKernelFilter(t *testing.T) {
	for _, tc := range []struct {
		kernel, releases string
		want             bool
	}{
		{"7.3", "7.2-7.3", true},
		{"7.3.4", "7.2-7.3", true},
		{"7.3.4-1-amd64", "6.16-7.3", true},
		{"7.1", "7.2-7.3", false},
		{"6.19", "x86 (6.16-7.3)", true},
		{"7.4", "6.16-7.3", false},
		{"7.3", "7.3", true},
		{"7.2", "7.3", false},
		{"6.9", "6.16-7.0", false}, // 6.9 < 6.16: minor numbers compare as numbers
		{"7.3", "64 FLBs", false},
	} {
		k, err := parseKernel(tc.kernel)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.covers(tc.releases); got != tc.want {
			t.Errorf("%s covers %q = %v, want %v", tc.kernel, tc.releases, got, tc.want)
		}
	}
	for _, bad := range []string{"", "7", "v7.3", "7.x", "latest"} {
		if _, err := parseKernel(bad); err == nil {
			t.Errorf("parseKernel(%q) accepted", bad)
		}
	}
}
