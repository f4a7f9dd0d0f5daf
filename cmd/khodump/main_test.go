package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/physmem"
)

var binary string // the khodump binary TestMain builds

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "khodump-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "khodump")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building khodump: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testdata(name string) string { return filepath.Join("..", "..", "testdata", "fdt", name) }

// khodump runs the binary and returns stdout, stderr and the exit status.
func khodump(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	// A hung khodump is a bug: kill it rather than leave it spinning.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("khodump %s: %v (timed out: %v)", strings.Join(args, " "), err, ctx.Err())
		}
		code = ee.ExitCode()
	}
	if strings.Contains(stderr.String(), "goroutine ") || strings.Contains(stderr.String(), "panic:") || strings.Contains(stderr.String(), "internal error") {
		t.Fatalf("stack trace on stderr:\n%s", stderr.String())
	}
	return stdout.String(), stderr.String(), code
}

// khodump --as fdt prints exactly this for the real kernel's incoming root
// FDT (testdata/fdt/kernel/kho_in_fdt_stage2.dtb).
const kernelText = `fdt version 17 (last compatible 16), boot cpu 0, 0 reservations
0x000038 /
0x000040   compatible = "kho-v4"
0x000054   preserved-memory-map = <0x00e01e00 0x00000000>  u64le=0x1ee000
0x000068 /LUO
0x000070   blob-size = <0x20000000 0x00000000>  u64le=0x20
0x000084   preserved-data = <0x00303b00 0x00000000>  u64le=0x3b3000
0x00009c /kexec-metadata
0x0000b0   blob-size = <0x49000000 0x00000000>  u64le=0x49
0x0000c4   preserved-data = <0x00601f00 0x00000000>  u64le=0x1f6000
`

func TestShowText(t *testing.T) {
	for _, args := range [][]string{
		{"--as", "fdt", testdata("kernel/kho_in_fdt_stage2.dtb")},
		{"show", "--as", "fdt", testdata("kernel/kho_in_fdt_stage2.dtb")},
		{"show", "--as", "fdt", "-o", "text", testdata("kernel/kho_in_fdt_stage2.dtb")},
	} {
		out, errOut, code := khodump(t, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		if d := cmp.Diff(kernelText, out); d != "" {
			t.Errorf("%v: output (-want +got):\n%s", args, d)
		}
	}
}

func TestShowDTSThroughDTC(t *testing.T) {
	dtc, err := exec.LookPath("dtc")
	if err != nil {
		t.Skip("dtc not installed")
	}
	for _, file := range []string{"kernel/kho_in_fdt_stage2.dtb", "valid/board.dtb", "valid/kho-like-fdtput.dtb"} {
		out, errOut, code := khodump(t, "--as", "fdt", "-o", "dts", testdata(file))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", file, code, errOut)
		}
		cmd := exec.Command(dtc, "-q", "-I", "dts", "-O", "dtb")
		cmd.Stdin = strings.NewReader(out)
		blob, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: dtc: %v\n%s", file, err, out)
		}
		data, err := os.ReadFile(testdata(file))
		if err != nil {
			t.Fatal(err)
		}
		want, err := fdt.Decode(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fdt.Decode(blob, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want.Root, got.Root, cmpopts.IgnoreUnexported(fdt.Node{}, fdt.Property{}), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: khodump -o dts | dtc differs (-want +got):\n%s", file, d)
		}
	}
}

func TestShowJSON(t *testing.T) {
	out, _, code := khodump(t, "--as", "fdt", "-o", "json", testdata("kernel/kho_in_fdt_stage2.dtb"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	type prop struct {
		Name    string   `json:"name"`
		Offset  int64    `json:"offset"`
		Hex     string   `json:"hex"`
		Strings []string `json:"strings"`
		U64LE   *uint64  `json:"u64le"`
	}
	type node struct {
		Name       string `json:"name"`
		Path       string `json:"path"`
		Properties []prop `json:"properties"`
		Children   []node `json:"children"`
	}
	var doc struct {
		Version uint32 `json:"version"`
		Root    node   `json:"root"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	if doc.Version != 17 || len(doc.Root.Children) != 2 || doc.Root.Children[0].Path != "/LUO" {
		t.Fatalf("unexpected document: %+v", doc)
	}
	p := doc.Root.Children[1].Properties[1]
	if p.Name != "preserved-data" || p.U64LE == nil || *p.U64LE != 0x1f6000 || p.Hex != "00601f0000000000" || p.Offset != 0xc4 {
		t.Errorf("kexec-metadata preserved-data = %+v", p)
	}
	if got := doc.Root.Properties[0].Strings; !cmp.Equal(got, []string{"kho-v4"}) {
		t.Errorf("compatible strings = %v", got)
	}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // substring of the single stderr line ("" = empty stderr)
	}{
		{"malformed", []string{testdata("malformed/two-roots.dtb")}, 1, "two-roots.dtb: fdt: offset 0x44: second root node"},
		{"bad name", []string{testdata("malformed/node-name-bad-char.dtb")}, 1, `offset 0x40: /: node name "a b"`},
		{"truncated strict", []string{testdata("kernel/kho_out_fdt_debugfs_233.bin")}, 1, "offset 0xe9: blob is 233 bytes, header totalsize is 285"},
		{"truncated lenient", []string{"--lenient", testdata("kernel/kho_out_fdt_debugfs_233.bin")}, 0, ""},
		{"truncated lenient dts", []string{"--lenient", "-o", "dts", testdata("kernel/kho_out_fdt_debugfs_233.bin")}, 1, "property without a name"},
		{"quirk strict", []string{testdata("malformed/struct-size-short-4.dtb")}, 1, "runs past the end of the structure block"},
		{"quirk lenient", []string{"show", "--lenient", testdata("malformed/struct-size-short-4.dtb")}, 0, ""},
		{"not a dtb", []string{"--as", "fdt", testdata("gen.sh")}, 1, "gen.sh: fdt: offset 0x0: magic 0x23212f62, want 0xd00dfeed"},
		{"not any format", []string{testdata("gen.sh")}, 2, "gen.sh: no known image format (starts 23 21 2f 62 69 6e 2f 73); pass --format raw --base ADDR for a raw dump, or --format blob"},
		{"missing file", []string{"/nonexistent/x.dtb"}, 2, "no such file"},
		{"directory", []string{testdata("")}, 2, "fdt: no kho debugfs copy (looked for fdt in"},
		{"no args", nil, 2, "usage: khodump"},
		{"two files", []string{"a", "b"}, 2, "want exactly one SOURCE, got 2 arguments"},
		{"bad format", []string{"-o", "yaml", "x"}, 2, `unknown output format "yaml"`},
		{"bad flag", []string{"--bogus", "x"}, 2, "unknown flag: --bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := khodump(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			if tc.stderr == "" {
				if errOut != "" {
					t.Errorf("stderr %q, want none", errOut)
				}
				return
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.stderr)
			}
			if tc.code == 1 && strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", errOut)
			}
		})
	}
}

func TestLenientShowsFindings(t *testing.T) {
	out, _, code := khodump(t, "--lenient", "--as", "fdt", testdata("kernel/kho_out_fdt_debugfs_233.bin"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"0x000054   <name missing: nameoff 0x0> = <0x00a01e00 0x00000000>  u64le=0x1ea000",
		"finding: fdt.truncated-tail at 0xe9: blob is 233 bytes, header totalsize is 285",
		"finding: fdt.missing-string at 0x70 /LUO:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"show", "--help"}} {
		_, _, code := khodump(t, args...)
		if code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

// A memfd that is mostly holes, at its end or between folios, is not read
// but reported at its file; a dense one is hashed.
func TestHashMemfdsHoles(t *testing.T) {
	far := &kho.Memfd{Size: (1<<39 + 1) * 4096, Folios: []kho.Folio{{PFN: 0x100}, {PFN: 0x101, Index: 1 << 39}}}
	tail := &kho.Memfd{Size: 64<<20 + 4097, Folios: []kho.Folio{{PFN: 0x100}}}
	empty := &kho.Memfd{}
	h := &kho.Handover{LUO: &kho.LUO{Sessions: []kho.Session{{Files: []kho.File{
		{Data: 0x5000, Memfd: far}, {Data: 0x6000, Memfd: tail}, {Data: 0x7000, Memfd: empty},
	}}}}}
	d := &decoded{h: h}
	d.hashMemfds(&physmem.Sparse{}, 4096)
	got := h.Findings
	want := []kho.Finding{
		{Severity: kho.Warning, Code: "khodump.memfd-not-hashed", Path: "/LUO/sessions[0]/files[0]/memfd", Addr: 0x5000, Message: "memfd of size 2251799813689344 has 2251799813681152 bytes no folio backs (2 folios, limit 67108864): too many holes: not read"},
		{Severity: kho.Warning, Code: "khodump.memfd-not-hashed", Path: "/LUO/sessions[0]/files[1]/memfd", Addr: 0x6000, Message: "memfd of size 67112961 has 67108865 bytes no folio backs (1 folios, limit 67108864): too many holes: not read"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if s := d.sums[kho.FileID{File: 2}]; s.err != nil || s.sha256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty memfd: %+v, want the SHA-256 of nothing", s)
	}
}
