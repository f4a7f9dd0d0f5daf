package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// plantedModule is a throwaway module whose FuzzPlanted panics on inputs
// starting with "KHO". The bytes are compared one at a time so that
// coverage guidance leads there, and the seed "KH" (which passes) is one
// mutation away, so that the fuzzer finds the crash within a second or two
// even on a loaded machine; FuzzClean never fails.
var plantedModule = map[string]string{
	"go.mod": "module example.com/planted\n\ngo 1.25.0\n",
	"p/p.go": `package p

func Parse(b []byte) int {
	if len(b) >= 3 && b[0] == 'K' {
		if b[1] == 'H' {
			if b[2] == 'O' {
				panic("planted: KHO magic reached")
			}
		}
	}
	return len(b)
}

func Count(b []byte) int {
	n := 0
	for i, c := range b {
		if c != byte('a'+i) {
			break
		}
		n++
	}
	return n
}
`,
	"p/p_test.go": `package p

import "testing"

func FuzzPlanted(f *testing.F) {
	f.Add([]byte("KH"))
	f.Fuzz(func(t *testing.T, b []byte) { Parse(b) })
}

func FuzzClean(f *testing.F) {
	f.Add([]byte("a"))
	f.Fuzz(func(t *testing.T, b []byte) { Count(b) })
}
`,
	"q/q.go": "package q\n",
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// khofuzz runs the command's core with args and returns exit code and
// standard output.
func khofuzz(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	t.Logf("khofuzz %s → %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String()
}

var reproduceLine = regexp.MustCompile(`(?m)^  (go test -run=\S+ \./p)$`)

// The acceptance test of issue 5: a planted crash is found, confirmed,
// deduplicated to one reproducer and reproduced by the printed command.
func TestPlantedCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and fuzzes a throwaway module")
	}
	mod := t.TempDir()
	writeFiles(t, mod, plantedModule)
	corpus := filepath.Join(t.TempDir(), "corpus")
	start := time.Now()

	// Fuzzing only the planted target: it crashes, keeps fuzzing while its
	// reproducer is held aside, finds the same bug again and again, and
	// leaves the rotation after three duplicates, well before the budget.
	code, out := khofuzz(t, "-C", mod, "--corpus", corpus, "--budget", "30s", "--procs", "2", "--run", "Planted")
	if code != exitFailed {
		t.Errorf("exit code %d, want %d", code, exitFailed)
	}
	if !strings.HasSuffix(out, "\n0 passed, 1 failed\n") {
		t.Errorf("output does not end with the summary line \"0 passed, 1 failed\"")
	}
	crashDir := filepath.Join(mod, "p", "testdata", "fuzz", "FuzzPlanted")
	files, err := os.ReadDir(crashDir)
	if err != nil {
		t.Fatalf("no reproducer directory: %v", err)
	}
	if len(files) != 1 {
		t.Fatalf("%d reproducers in %s, want 1", len(files), crashDir)
	}
	if !regexp.MustCompile(`p/FuzzPlanted crashed \(3 duplicates deleted\): panic: planted: KHO magic reached at example.com/planted/p.Parse p.go:7`).MatchString(out) {
		t.Errorf("summary lacks the deduplicated, confirmed crash")
	}
	if strings.Contains(out, "NOT reproduced") {
		t.Errorf("the crash was not confirmed by a replay")
	}
	if held, _ := os.ReadDir(filepath.Join(corpus, ".crashers", "p", "FuzzPlanted")); len(held) != 0 {
		t.Errorf("%d reproducers left in the holding directory", len(held))
	}
	m := reproduceLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no reproduce command in the output")
	}
	if !strings.Contains(m[1], files[0].Name()) {
		t.Errorf("command %q does not name the reproducer %s", m[1], files[0].Name())
	}
	cmd := exec.Command("sh", "-c", m[1])
	cmd.Dir = mod
	repro, err := cmd.CombinedOutput()
	if err == nil {
		t.Errorf("%s passed, want the planted panic:\n%s", m[1], repro)
	} else if !strings.Contains(string(repro), "panic: planted: KHO magic reached") {
		t.Errorf("%s failed without the planted panic:\n%s", m[1], repro)
	}
	t.Logf("found, confirmed, deduplicated and reproduced in %s", time.Since(start).Round(100*time.Millisecond))

	// A smoke run of the clean target passes and grows its managed corpus
	// where it was told to.
	code, out = khofuzz(t, "-C", mod, "--corpus", corpus, "--smoke", "--run", "Clean")
	if code != exitOK || !strings.HasSuffix(out, "\n1 passed, 0 failed\n") {
		t.Errorf("--smoke --run Clean: exit %d, want 0 and \"1 passed, 0 failed\"", code)
	}
	if entries, _ := os.ReadDir(filepath.Join(corpus, "p", "FuzzClean")); len(entries) == 0 {
		t.Errorf("no managed corpus for FuzzClean under %s", corpus)
	}
	if _, err := os.Stat(filepath.Join(mod, "p", "testdata", "fuzz", "FuzzClean")); err == nil {
		t.Errorf("FuzzClean got a crasher directory")
	}

	// Replaying fails on the committed reproducer, without fuzzing.
	code, out = khofuzz(t, "-C", mod, "--corpus", corpus, "--regress")
	if code != exitFailed || !strings.Contains(out, "p/FuzzPlanted: seed entry fails") || !strings.HasSuffix(out, "\n1 passed, 1 failed\n") {
		t.Errorf("--regress: exit %d, want the reproducer to fail and FuzzClean to pass", code)
	}

	// Minimizing keeps a corpus that still replays cleanly.
	code, out = khofuzz(t, "-C", mod, "--corpus", corpus, "--minimize", "--run", "Clean")
	if code != exitOK || !regexp.MustCompile(`p/FuzzClean +kept \d+ of \d+ managed entries`).MatchString(out) {
		t.Errorf("--minimize: exit %d", code)
	}
	code, out = khofuzz(t, "-C", mod, "--corpus", corpus, "--cover", "--run", "Clean")
	if code != exitOK || !regexp.MustCompile(`example.com/planted/p +\d+\.\d%`).MatchString(out) {
		t.Errorf("--cover: exit %d, want a coverage line for example.com/planted/p", code)
	}
}

func TestListAndUsage(t *testing.T) {
	mod := t.TempDir()
	writeFiles(t, mod, plantedModule)
	code, out := khofuzz(t, "-C", mod, "--list", "--format=oss-fuzz")
	want := "example.com/planted/p FuzzPlanted p_FuzzPlanted\nexample.com/planted/p FuzzClean p_FuzzClean\n"
	if code != exitOK || out != want {
		t.Errorf("--list --format=oss-fuzz: exit %d, output\n%s\nwant\n%s", code, out, want)
	}
	code, out = khofuzz(t, "-C", mod, "--list", "--run", "Clean$")
	if code != exitOK || !strings.HasPrefix(out, "p/FuzzClean ") || strings.Count(out, "\n") != 1 {
		t.Errorf("--list --run Clean$: exit %d, output %q", code, out)
	}
	for _, args := range [][]string{
		{"--smoke", "--regress"},
		{"--format=json", "--list"},
		{"--format=oss-fuzz"},
		{"--budget", "0s"},
		{"--run", "("},
		{"--no-such-flag"},
		{"--procs", "0"},
	} {
		if code, _ := khofuzz(t, append([]string{"-C", mod}, args...)...); code != exitUsage {
			t.Errorf("khofuzz %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestDefaultSlice(t *testing.T) {
	for _, tt := range []struct {
		smoke   bool
		budget  time.Duration
		targets int
		want    time.Duration
	}{
		{true, 0, 40, 3 * time.Second},
		{false, 10 * time.Minute, 40, 8 * time.Second},
		{false, 10 * time.Minute, 2, 30 * time.Second},
		{false, 60 * time.Second, 40, 3 * time.Second},
		{false, time.Minute, 0, 30 * time.Second},
	} {
		if got := defaultSlice(tt.smoke, tt.budget, tt.targets); got != tt.want {
			t.Errorf("defaultSlice(%v, %s, %d) = %s, want %s", tt.smoke, tt.budget, tt.targets, got, tt.want)
		}
	}
}

// A package whose tests do not compile fails the run, and the other
// packages' targets still run.
func TestBuildFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a throwaway module")
	}
	mod := t.TempDir()
	files := map[string]string{}
	for k, v := range plantedModule {
		files[k] = v
	}
	files["b/b.go"] = "package b\n\nfunc B() int { return 1 }\n"
	files["b/b_test.go"] = "package b\n\nimport \"testing\"\n\nfunc FuzzB(f *testing.F) {\n\tvar s string = B()\n\t_ = s\n}\n"
	writeFiles(t, mod, files)
	code, out := khofuzz(t, "-C", mod, "--corpus", filepath.Join(t.TempDir(), "c"), "--smoke", "--slice", "1s", "--run", "b/|Clean")
	if code != exitFailed {
		t.Errorf("exit code %d, want %d", code, exitFailed)
	}
	if !strings.Contains(out, "BUILD FAILED b\n") || !strings.HasSuffix(out, "\n1 passed, 1 failed\n") {
		t.Errorf("want b reported as not building and p/FuzzClean passing")
	}
}
