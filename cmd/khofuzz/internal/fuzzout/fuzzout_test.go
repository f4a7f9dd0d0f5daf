package fuzzout

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The files under testdata are real outputs of a test binary, made by
// testdata/gen.sh.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	tests := []struct {
		file string
		want Report
	}{
		{"fuzz-clean-grow.txt", Report{
			Execs: 276777, Elapsed: 4 * time.Second, NewInteresting: 2, CorpusTotal: 4,
			Baseline: 2, BaselineDone: true, InitialBits: -1,
		}},
		{"fuzz-clean-debug.txt", Report{
			Execs: 211857, Elapsed: 4 * time.Second, NewInteresting: 2, CorpusTotal: 6,
			Baseline: 4, BaselineDone: true, InitialBits: 6,
			InitialInputs: []InitialInput{{3}, {1}, {1}, {1}},
		}},
		{"fuzz-index-crash.txt", Report{
			Baseline: 1, BaselineDone: true, InitialBits: -1,
			FailingInput: "testdata/fuzz/FuzzIndex/4ff0c6a93c34222c", Failed: true,
		}},
		{"fuzz-index-seedfail.txt", Report{
			Baseline: 4, InitialBits: -1,
			SeedFailure: "FuzzIndex/4ff0c6a93c34222c", Failed: true,
		}},
		{"fuzz-check-crash.txt", Report{
			Baseline: -1, InitialBits: -1,
			FailingInput: "testdata/fuzz/FuzzCheck/b017b341ee5f87c3", Failed: true,
		}},
		{"replay-check.txt", Report{Baseline: -1, InitialBits: -1, Failed: true}},
		// Seen on a loaded machine with Go 1.26.8 (format/FuzzDecodeFLBPage).
		{"fuzz-deadline-race.txt", Report{
			Execs: 20097, Elapsed: 3 * time.Second, NewInteresting: 5, CorpusTotal: 10,
			Baseline: 5, BaselineDone: true, InitialBits: -1, Failed: true, DeadlineRace: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := Parse(readTestdata(t, tt.file))
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseUninstrumented(t *testing.T) {
	out := []byte("warning: the test binary was not built with coverage instrumentation, so fuzzing will run without coverage guidance and may be inefficient\n" +
		"fuzz: elapsed: 0s, testing seed corpus: 1/1 completed, now fuzzing with 2 workers\n" +
		"fuzz: elapsed: 3s, execs: 579785 (193037/sec)\n" +
		"PASS\n")
	want := Report{Execs: 579785, Elapsed: 3 * time.Second, Baseline: 1, BaselineDone: true, InitialBits: -1, Uninstrumented: true}
	if d := cmp.Diff(want, Parse(out)); d != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", d)
	}
	if got := want.ExecsPerSec(); got != 579785.0/3 {
		t.Errorf("ExecsPerSec = %v, want %v", got, 579785.0/3)
	}
}

func TestSignature(t *testing.T) {
	indexSig := Signature{
		Kind:    "panic",
		Message: "runtime error: index out of range [N] with length N",
		Frames: []string{
			"example.com/crashy/crashy.Index crashy.go:12",
			"example.com/crashy/crashy.FuzzIndex.func1 crashy_test.go:7",
		},
	}
	tests := []struct {
		file string
		want Signature
	}{
		{"replay-index-five.txt", indexSig},
		{"replay-index-seven.txt", indexSig},
		// The coordinator's report of the same bug, indented in a log line.
		{"fuzz-index-crash.txt", indexSig},
		{"fuzz-index-seedfail.txt", indexSig},
		{"replay-check.txt", Signature{Kind: "error", Message: "bad byte N at offset N", Frames: []string{"crashy_test.go:13"}}},
		{"fuzz-check-crash.txt", Signature{Kind: "error", Message: "bad byte N at offset N", Frames: []string{"crashy_test.go:13"}}},
		{"fuzz-clean-grow.txt", Signature{}},
		{"fuzz-deadline-race.txt", Signature{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := ParseSignature(readTestdata(t, tt.file), 0)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseSignature mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// Two crashers of one bug, from different inputs (different indexes,
// goroutine numbers and argument addresses), must share a key; a different
// bug must not.
func TestSignatureDedup(t *testing.T) {
	five := ParseSignature(readTestdata(t, "replay-index-five.txt"), 0)
	seven := ParseSignature(readTestdata(t, "replay-index-seven.txt"), 0)
	check := ParseSignature(readTestdata(t, "replay-check.txt"), 0)
	if five.Key() != seven.Key() {
		t.Errorf("same bug, different keys: %s (%v) vs %s (%v)", five.Key(), five, seven.Key(), seven)
	}
	if five.Key() == check.Key() {
		t.Errorf("different bugs, same key %s", five.Key())
	}
}

func TestSignatureFrames(t *testing.T) {
	// A stack overflow: a runtime fatal error, a runtime-only stack first,
	// then the goroutine that overflowed.
	out := []byte(`runtime: goroutine stack exceeds 1000000000-byte limit
runtime: sp=0xc020160398 stack=[0xc020160000, 0xc040160000]
fatal error: stack overflow

runtime stack:
runtime.throw({0x5c0fe1?, 0x0?})
	/usr/local/go/src/runtime/panic.go:1101 +0x48
runtime.newstack()
	/usr/local/go/src/runtime/stack.go:1107 +0x5bc

goroutine 7 gp=0xc000007c00 m=4 mp=0xc000080008 [running]:
example.com/x/fdt.(*Reader).walk(0xc000012345, 0x10)
	/src/fdt/walk.go:41 +0x1f
example.com/x/fdt.(*Reader).walk(0xc000012345, 0x11)
	/src/fdt/walk.go:52 +0x99
example.com/x/fdt.(*Reader).walk(0xc000012345, 0x12)
	/src/fdt/walk.go:52 +0x99
example.com/x/fdt.(*Reader).walk(0xc000012345, 0x13)
	/src/fdt/walk.go:52 +0x99
`)
	want := Signature{Kind: "fatal error", Message: "stack overflow", Frames: []string{
		"example.com/x/fdt.(*Reader).walk walk.go:41",
		"example.com/x/fdt.(*Reader).walk walk.go:52",
		"example.com/x/fdt.(*Reader).walk walk.go:52",
	}}
	got := ParseSignature(out, 3)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseSignature mismatch (-want +got):\n%s", d)
	}
	if got := ParseSignature(out, 1).Frames; len(got) != 1 {
		t.Errorf("frames=1 kept %d frames", len(got))
	}
}

func TestMaskMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"runtime error: index out of range [5] with length 3 [recovered, repanicked]", "runtime error: index out of range [N] with length N"},
		{"fdt: bad magic 0xd00dfeed at offset 40", "fdt: bad magic 0xX at offset N"},
		{"  plain  ", "plain"},
	}
	for _, tt := range tests {
		if got := maskMessage(tt.in); got != tt.want {
			t.Errorf("maskMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFuncName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com/p.(*T).M(0x1, {0x2, 0x3})", "example.com/p.(*T).M"},
		{"example.com/p.Parse(...)", "example.com/p.Parse"},
		{"main.main()", "main.main"},
		{"no parens", "no parens"},
	}
	for _, tt := range tests {
		if got := funcName(tt.in); got != tt.want {
			t.Errorf("funcName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
