package campaign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/khokit/khokit/cmd/khofuzz/internal/fuzzout"
)

// verifyTries bounds the replays that check a minimized corpus.
const verifyTries = 3

// corpusFileHeader starts every file the fuzzer reads as a corpus entry.
const corpusFileHeader = "go test fuzz v1\n"

// baselineRun replays a target's whole corpus (f.Add seeds, testdata and
// the managed corpus) through the fuzzing engine and stops as soon as the
// replay is done, without mutating anything. The engine counts each
// replayed entry as one execution, so "-test.fuzztime=Nx" with N the
// corpus size does exactly that; N is learned from a one-execution run.
// The binary may be the cover build; env is added to the environment.
func (c *Campaign) baselineRun(ctx context.Context, r *TargetResult, bin string, procs int, env []string, extra ...string) (fuzzout.Report, []byte, error) {
	t := r.Target
	base := []string{
		"-test.run=^$",
		"-test.fuzz=^" + regexp.QuoteMeta(t.Name) + "$",
		"-test.fuzzcachedir=" + c.corpusDir(t),
		"-test.fuzzminimizetime=" + minimizeTime.String(),
	}
	runN := func(n int, parallel int) (fuzzout.Report, []byte, error) {
		args := append(append([]string(nil), base...), "-test.fuzztime="+strconv.Itoa(n)+"x", "-test.parallel="+strconv.Itoa(parallel))
		args = append(args, extra...)
		rctx, cancel := withTimeout(ctx, hardTimeoutSlack+time.Duration(n)*time.Second)
		defer cancel()
		out, err := run(rctx, t.Dir, env, c.echo(), bin, args...)
		return fuzzout.Parse(out), out, err
	}
	rep, out, err := runN(1, 1)
	if err != nil || rep.Failed || rep.Baseline <= 1 {
		return rep, out, err
	}
	return runN(rep.Baseline, procs)
}

// Regress replays every target's seeds and managed corpus without
// fuzzing. Failures are handled like crashes found by fuzzing.
func (c *Campaign) Regress(ctx context.Context) error {
	defer c.restoreHeldLogged()
	for _, i := range c.runnable() {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := c.Results[i]
		t := r.Target
		start := time.Now()
		rep, out, err := c.baselineRun(ctx, r, c.bins[t.ImportPath], c.opts.Procs, nil)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.Slices++
		r.FuzzTime += time.Since(start)
		r.Execs += rep.Execs
		if rep.Baseline > 0 {
			r.Corpus = rep.Baseline
		}
		if r.Status == Pending {
			r.Status = Passed
		}
		c.printf("%-40s %6s  replayed %d corpus entries\n", t.ID(), time.Since(start).Round(100*time.Millisecond), max(rep.Baseline, 0))
		c.classify(ctx, r, rep, out, err, 0)
	}
	return nil
}

// classify turns a run's report into a target status: new crashers,
// failing seeds, hangs and other errors.
//
// Only the file the fuzzer says it wrote is taken as a crasher: in a
// shared checkout another process may be writing to testdata as well.
func (c *Campaign) classify(ctx context.Context, r *TargetResult, rep fuzzout.Report, out []byte, err error, slice time.Duration) {
	t := r.Target
	switch {
	case ctx.Err() != nil:
	case rep.FailingInput != "":
		c.handleCrash(ctx, r, filepath.Base(rep.FailingInput), out)
	case rep.SeedFailure != "":
		name := rep.SeedFailure[strings.LastIndex(rep.SeedFailure, "/")+1:]
		cr := &Crash{Signature: fuzzout.ParseSignature(out, c.opts.Frames), Confirmed: true}
		if strings.HasPrefix(name, "seed#") {
			cr.File = fmt.Sprintf("%s (f.Add %s)", t.File, name)
			cr.Command = fmt.Sprintf("go test -run='^%s$' %s", t.Name, pkgArg(t))
		} else {
			cr.File = c.relPath(filepath.Join(t.Dir, "testdata", "fuzz", t.Name, name))
			cr.Command = reproduceCommand(t, name)
		}
		r.Status = Crashed
		r.Crashes = append(r.Crashes, cr)
		c.printCrash(r, cr, "seed entry fails")
	case rep.DeadlineRace && fuzzout.ParseSignature(out, 1).IsZero():
		// Not a finding: the slice fuzzed to its end and wrote nothing.
		r.DeadlineRaces++
		c.printf("    note: %s hit Go's -fuzztime shutdown race (go.dev/issue/75804); not a crash\n", t.ID())
	case errors.Is(err, context.DeadlineExceeded):
		r.Status = Errored
		r.Detail = fmt.Sprintf("no result within the hard timeout (slice %s): hung?\n%s", slice, lastLines(out, 20))
		c.printf("ERROR %s:\n%s\n", t.ID(), indent(r.Detail))
	case err != nil || rep.Failed:
		r.Status = Errored
		r.Detail = fmt.Sprintf("test binary failed without a crasher: %v\n%s", err, lastLines(out, 30))
		c.printf("ERROR %s:\n%s\n", t.ID(), indent(r.Detail))
	case strings.Contains(string(out), "no fuzz tests to fuzz"):
		r.Status = Errored
		r.Detail = "the test binary has no fuzz target " + t.Name + " (build constraints?)"
		c.printf("ERROR %s: %s\n", t.ID(), r.Detail)
	}
}

// managedEntry is one file of a target's managed corpus.
type managedEntry struct {
	name string
	data []byte
}

// readManaged lists a target's managed corpus in the order the fuzzer
// reads it (os.ReadDir: sorted by name).
func readManaged(dir string) ([]managedEntry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []managedEntry
	for _, de := range des {
		if de.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, managedEntry{de.Name(), b})
	}
	return out, nil
}

// Minimize drops managed corpus entries that add no coverage. The engine
// itself measures it: replaying the corpus with one worker and
// GODEBUG=fuzzdebug=1, it prints, entry by entry in corpus order (seeds,
// then the managed files by name), how many coverage bits the entry adds
// to those before it. An entry that adds none is covered by the entries
// kept before it, so dropping it keeps the union: a greedy set cover in
// file-name order. Files that are not corpus files, or repeat another
// entry byte for byte, are dropped first. The result is verified by a
// second replay that must reach the same total coverage; if it does not,
// every dropped file is put back.
func (c *Campaign) Minimize(ctx context.Context) error {
	for _, i := range c.runnable() {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := c.Results[i]
		if r.Status == Pending {
			r.Status = Passed
		}
		kept, total, err := c.minimizeTarget(ctx, r)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case err != nil:
			r.Detail = "corpus left unchanged: " + err.Error()
			c.printf("%-40s %s\n", r.Target.ID(), r.Detail)
		default:
			r.Detail = fmt.Sprintf("kept %d of %d managed entries", kept, total)
			c.printf("%-40s %s\n", r.Target.ID(), r.Detail)
		}
	}
	return nil
}

func (c *Campaign) minimizeTarget(ctx context.Context, r *TargetResult) (kept, total int, err error) {
	t := r.Target
	dir := filepath.Join(c.corpusDir(t), t.Name)
	entries, err := readManaged(dir)
	if err != nil || len(entries) == 0 {
		return 0, 0, err
	}
	total = len(entries)
	trash, err := os.MkdirTemp(c.opts.Corpus, ".minimize-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(trash)
	var dropped []string
	drop := func(name string) error {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(trash, name)); err != nil {
			return err
		}
		dropped = append(dropped, name)
		return nil
	}
	undo := func() {
		for _, name := range dropped {
			os.Rename(filepath.Join(trash, name), filepath.Join(dir, name))
		}
	}

	// The engine skips malformed files and repeated contents without a
	// word, which would shift the entry order; drop them first.
	seen := map[[32]byte]bool{}
	for name := range seedNames(t) {
		if b, err := os.ReadFile(filepath.Join(t.Dir, "testdata", "fuzz", t.Name, name)); err == nil {
			seen[sha256.Sum256(b)] = true
		}
	}
	var live []managedEntry
	for _, e := range entries {
		sum := sha256.Sum256(e.data)
		if !bytes.HasPrefix(e.data, []byte(corpusFileHeader)) || seen[sum] {
			if err := drop(e.name); err != nil {
				undo()
				return 0, 0, err
			}
			continue
		}
		seen[sum] = true
		live = append(live, e)
	}

	env := []string{"GODEBUG=" + appendGODEBUG("fuzzdebug=1")}
	rep, out, err := c.baselineRun(ctx, r, c.bins[t.ImportPath], 1, env)
	if err != nil || rep.Failed || !rep.BaselineDone || rep.InitialBits < 0 {
		undo()
		c.classify(ctx, r, rep, out, err, 0)
		return 0, 0, fmt.Errorf("the corpus replay did not finish (%v)", err)
	}
	seeds := len(rep.InitialInputs) - len(live)
	if seeds < 0 || rep.Baseline != len(rep.InitialInputs) {
		undo()
		return 0, 0, fmt.Errorf("replayed %d entries for %d managed files: some file was not read as a corpus entry", len(rep.InitialInputs), len(live))
	}
	for k, e := range live {
		if rep.InitialInputs[seeds+k].NewBits == 0 {
			if err := drop(e.name); err != nil {
				undo()
				return 0, 0, err
			}
		}
	}
	if len(dropped) == 0 {
		r.Corpus = rep.Baseline
		return total, total, nil
	}
	// Coverage of instrumented library code is not quite deterministic
	// (sync.Pool reuse in fmt, for one), so a replay may miss a bit or
	// two; the reduced corpus passes if any of a few replays reaches the
	// full corpus's total.
	best := -1
	for try := 0; try < verifyTries && best < rep.InitialBits; try++ {
		check, _, err := c.baselineRun(ctx, r, c.bins[t.ImportPath], 1, env)
		if err != nil || check.Failed || !check.BaselineDone {
			undo()
			return 0, 0, fmt.Errorf("verification replay failed (%v)", err)
		}
		best = max(best, check.InitialBits)
	}
	if best < rep.InitialBits {
		undo()
		return 0, 0, fmt.Errorf("the reduced corpus reached %d coverage bits in %d replays, the full one %d", best, verifyTries, rep.InitialBits)
	}
	r.Corpus = rep.Baseline - len(dropped)
	return total - len(dropped), total, nil
}

// appendGODEBUG adds a setting to the GODEBUG inherited from the
// environment.
func appendGODEBUG(setting string) string {
	if cur := os.Getenv("GODEBUG"); cur != "" {
		return cur + "," + setting
	}
	return setting
}

// PackageCoverage is one line of a coverage report.
type PackageCoverage struct {
	ImportPath string
	Percent    float64
}

var percentLine = regexp.MustCompile(`^\s*(\S+)\s+coverage: ([0-9.]+)% of statements`)

// Cover measures the statement coverage the seeds and managed corpora
// reach: it builds each package's test binary with -cover over the whole
// module (plus the fuzzing instrumentation the engine needs), replays every
// target's corpus through it with -test.gocoverdir, merges the counters of
// all targets and reports per package with `go tool covdata percent`. If
// profile is not empty, it also writes a merged text profile there, for
// `go tool cover -html`.
func (c *Campaign) Cover(ctx context.Context, profile string) ([]PackageCoverage, error) {
	if err := c.build(ctx, true); err != nil {
		return nil, err
	}
	covRoot, err := os.MkdirTemp("", "khofuzz-cover-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(covRoot)
	var dirs []string
	for n, r := range c.Results {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t := r.Target
		bin, ok := c.bins[t.ImportPath+"#cover"]
		if !ok {
			continue
		}
		dir := filepath.Join(covRoot, strconv.Itoa(n))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		start := time.Now()
		rep, out, err := c.baselineRun(ctx, r, bin, c.opts.Procs, []string{"GOCOVERDIR=" + dir}, "-test.gocoverdir="+dir)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if r.Status == Pending {
			r.Status = Passed
		}
		r.FuzzTime += time.Since(start)
		r.Corpus = max(rep.Baseline, 0)
		c.printf("%-40s %6s  replayed %d corpus entries\n", t.ID(), time.Since(start).Round(100*time.Millisecond), max(rep.Baseline, 0))
		c.classify(ctx, r, rep, out, err, 0)
		dirs = append(dirs, dir)
	}
	c.restoreHeldLogged()
	if len(dirs) == 0 {
		return nil, nil
	}
	in := "-i=" + strings.Join(dirs, ",")
	cmd := exec.CommandContext(ctx, "go", "tool", "covdata", "percent", in)
	cmd.Dir = c.Module.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go tool covdata percent: %v\n%s", err, out)
	}
	var cov []PackageCoverage
	for _, line := range strings.Split(string(out), "\n") {
		if m := percentLine.FindStringSubmatch(line); m != nil {
			p, _ := strconv.ParseFloat(m[2], 64)
			cov = append(cov, PackageCoverage{ImportPath: m[1], Percent: p})
		}
	}
	sort.Slice(cov, func(i, j int) bool { return cov[i].ImportPath < cov[j].ImportPath })
	if profile != "" {
		cmd := exec.CommandContext(ctx, "go", "tool", "covdata", "textfmt", in, "-o", profile)
		cmd.Dir = c.Module.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return cov, fmt.Errorf("go tool covdata textfmt: %v\n%s", err, out)
		}
	}
	return cov, nil
}
