package campaign

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/khokit/khokit/cmd/khofuzz/internal/fuzzout"
	"github.com/khokit/khokit/cmd/khofuzz/internal/target"
)

// Options configure a Campaign.
type Options struct {
	// Dir is where `go list` and `go test -c` run: inside the module.
	Dir string
	// Patterns are package patterns; default "./...".
	Patterns []string
	// Run, if set, selects targets whose ID ("rel/FuzzXxx") it matches.
	Run *regexp.Regexp
	// Corpus is the root of the managed corpora; default
	// <module root>/.cache/khofuzz. Each target's corpus is
	// Corpus/<package dir>/<target>/, in the fuzzer's own file format.
	Corpus string
	// Procs is the number of fuzzing worker processes (-test.parallel)
	// and of parallel build jobs; default 1.
	Procs int
	// Frames is how many stack frames a crash signature keeps.
	Frames int
	// Verbose streams the test binaries' output.
	Verbose bool
	// Out receives progress and results; default io.Discard.
	Out io.Writer
}

// Status is a target's outcome.
type Status int

const (
	// Pending: the target has not run yet.
	Pending Status = iota
	// Passed: the target ran and nothing failed.
	Passed
	// Crashed: fuzzing or replay found an input that fails.
	Crashed
	// BuildFailed: the package's test binary did not build.
	BuildFailed
	// Errored: the test binary misbehaved in a way that is not a crash
	// (bad flags, a hang past the hard timeout, unparseable output).
	Errored
)

func (s Status) String() string {
	switch s {
	case Pending:
		return "not run"
	case Passed:
		return "ok"
	case Crashed:
		return "CRASH"
	case BuildFailed:
		return "BUILD FAILED"
	case Errored:
		return "ERROR"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Failed reports whether the status counts as a failure.
func (s Status) Failed() bool { return s == Crashed || s == BuildFailed || s == Errored }

// Crash is one distinct failure of a target.
type Crash struct {
	Signature fuzzout.Signature
	// File is the reproducer, relative to the module root.
	File string
	// Command reproduces the failure from the module root.
	Command string
	// Confirmed is false when replaying the input alone passed (a hang,
	// an out-of-memory kill or a flaky failure); the file is kept anyway.
	Confirmed bool
	// Duplicates counts crashers with this signature that were deleted.
	Duplicates int
	// held is where the reproducer waits while its target keeps fuzzing;
	// "" once it is back in testdata.
	held string
	size int64
}

// TargetResult accumulates what happened to one target.
type TargetResult struct {
	Target target.Target
	Status Status
	// Detail explains a BuildFailed or Errored status, or summarizes
	// a corpus operation (--minimize).
	Detail string
	// Slices, FuzzTime and Execs total the fuzzing slices.
	Slices   int
	FuzzTime time.Duration
	Execs    int64
	// NewInteresting totals the inputs added to the managed corpus.
	NewInteresting int
	// Corpus is the corpus size (seeds and managed) at the last run.
	Corpus int
	// Uninstrumented is set if the fuzzer ran without coverage guidance.
	Uninstrumented bool
	Crashes        []*Crash
	// DeadlineRaces counts slices that ended in the fuzzing coordinator's
	// "context deadline exceeded" shutdown race, which is not a finding.
	DeadlineRaces int
	// dupStreak counts consecutive crashes that were duplicates.
	dupStreak int
}

// ExecsPerSec is the target's average fuzzing speed.
func (r *TargetResult) ExecsPerSec() float64 {
	if r.FuzzTime <= 0 {
		return 0
	}
	return float64(r.Execs) / r.FuzzTime.Seconds()
}

// Campaign holds the targets of one module and their state.
type Campaign struct {
	opts     Options
	Module   target.Module
	Packages []target.Package
	// Results has one entry per selected target, in package order.
	Results []*TargetResult
	// Warnings are problems found while listing packages.
	Warnings []string
	// bins maps a package import path to its built test binary.
	bins map[string]string
}

// ErrUsage marks errors in the options, as opposed to the targets.
var ErrUsage = errors.New("usage")

// New lists the module's targets and selects those opts.Run matches.
func New(opts Options) (*Campaign, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Procs < 1 {
		opts.Procs = 1
	}
	if opts.Frames <= 0 {
		opts.Frames = fuzzout.DefaultFrames
	}
	if opts.Dir == "" {
		opts.Dir = "."
	}
	mod, pkgs, warnings, err := target.Find(opts.Dir, opts.Patterns)
	if err != nil {
		return nil, err
	}
	if mod.Dir == "" && len(pkgs) > 0 {
		return nil, fmt.Errorf("%w: %s is not inside a Go module", ErrUsage, opts.Dir)
	}
	if opts.Corpus == "" {
		root := mod.Dir
		if root == "" {
			root = opts.Dir
		}
		opts.Corpus = filepath.Join(root, ".cache", "khofuzz")
	}
	if abs, err := filepath.Abs(opts.Corpus); err == nil {
		opts.Corpus = abs
	}
	c := &Campaign{opts: opts, Module: mod, Warnings: warnings, bins: map[string]string{}}
	for _, p := range pkgs {
		var kept []target.Target
		for _, t := range p.Targets {
			if opts.Run == nil || opts.Run.MatchString(t.ID()) {
				kept = append(kept, t)
				c.Results = append(c.Results, &TargetResult{Target: t})
			}
		}
		if len(kept) > 0 {
			p.Targets = kept
			c.Packages = append(c.Packages, p)
		}
	}
	if err := c.restoreHeld(); err != nil {
		return nil, err
	}
	return c, nil
}

// Counts returns how many targets passed and failed. Targets that never
// ran count as passed only if nothing could have made them fail, which
// never happens: every mode runs every target at least once.
func (c *Campaign) Counts() (passed, failed int) {
	for _, r := range c.Results {
		if r.Status.Failed() {
			failed++
		} else if r.Status == Passed {
			passed++
		}
	}
	return passed, failed
}

// corpusDir is the -test.fuzzcachedir for a package: the fuzzer appends
// the target name itself.
func (c *Campaign) corpusDir(t target.Target) string {
	return filepath.Join(c.opts.Corpus, filepath.FromSlash(t.Rel))
}

// heldDir keeps a target's crashers while the target keeps fuzzing: a
// crasher left in testdata/fuzz would stop every later run of the target
// at its first seed.
func (c *Campaign) heldDir(t target.Target) string {
	return filepath.Join(c.opts.Corpus, ".crashers", filepath.FromSlash(t.Rel), t.Name)
}

// binDir holds the test binaries between runs (the go build cache makes
// a rebuild cheap, but linking is not free).
func (c *Campaign) binDir() string { return filepath.Join(c.opts.Corpus, ".bin") }

// relPath makes p relative to the module root for printing.
func (c *Campaign) relPath(p string) string {
	if r, err := filepath.Rel(c.Module.Dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

func (c *Campaign) printf(format string, args ...any) {
	fmt.Fprintf(c.opts.Out, format, args...)
}

// echo returns where a binary's raw output goes: Out with -v, else nowhere.
func (c *Campaign) echo() io.Writer {
	if c.opts.Verbose {
		return c.opts.Out
	}
	return nil
}

// seedNames lists the files in a target's testdata/fuzz directory.
func seedNames(t target.Target) map[string]bool {
	names := map[string]bool{}
	entries, _ := os.ReadDir(filepath.Join(t.Dir, "testdata", "fuzz", t.Name))
	for _, e := range entries {
		if !e.IsDir() {
			names[e.Name()] = true
		}
	}
	return names
}

// reproduceCommand is the go test line that replays one corpus file.
func reproduceCommand(t target.Target, name string) string {
	return fmt.Sprintf("go test -run='^%s$/^%s$' %s", t.Name, regexp.QuoteMeta(name), pkgArg(t))
}

// pkgArg is the package argument for go commands run at the module root.
func pkgArg(t target.Target) string {
	if t.Rel == "." {
		return "."
	}
	return "./" + t.Rel
}

// sortedResults returns the results ordered by target ID.
func (c *Campaign) sortedResults() []*TargetResult {
	out := append([]*TargetResult(nil), c.Results...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Target.ID() < out[j].Target.ID() })
	return out
}

// firstLines returns up to n lines of b, for error details.
func firstLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}
