package campaign

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/khokit/khokit/cmd/khofuzz/internal/fuzzout"
	"github.com/khokit/khokit/cmd/khofuzz/internal/schedule"
)

const (
	// minSlice is the shortest fuzzing slice worth starting a binary for.
	minSlice = time.Second
	// maxDupStreak retires a target whose last crashes were all known:
	// it keeps finding the same bug instead of new coverage.
	maxDupStreak = 3
	// minimizeTime is the most minimizeFor gives the fuzzer's own
	// minimization (-test.fuzzminimizetime: of crashers and of every new
	// interesting input), which runs inside the slice.
	minimizeTime = 20 * time.Second
	// hardTimeoutSlack is added to a slice's time before it is treated as
	// hung: process start, baseline replay of the corpus, minimization.
	hardTimeoutSlack = minimizeTime + 2*time.Minute
	// replayTimeout bounds the replay of one input.
	replayTimeout = 2 * time.Minute
)

// minimizeFor is the minimization bound for a slice of d: a tenth of it,
// between one second and minimizeTime. Go minimizes every new interesting
// input, not only crashers, so with a bound near the slice's length a
// target finding coverage spends its slices minimizing instead of fuzzing
// (a 30-minute campaign saw fdt/FuzzDecode run at 4 execs/s).
func minimizeFor(d time.Duration) time.Duration {
	return min(max(d/10, time.Second), minimizeTime)
}

// FuzzOptions shape a fuzzing run.
type FuzzOptions struct {
	// Budget is the total fuzzing time; process start-up and crash
	// handling count against it, building does not.
	Budget time.Duration
	// Slice is the fuzzing time of one turn of a target. In smoke mode
	// every target gets exactly one slice.
	Slice time.Duration
	// Smoke runs every target once for Slice (shortened so that all fit
	// in Budget, if Budget is set, but never below one second).
	Smoke bool
}

// Fuzz runs the selected targets. Build must have run.
func (c *Campaign) Fuzz(ctx context.Context, fo FuzzOptions) error {
	defer c.restoreHeldLogged()
	idx := c.runnable()
	if len(idx) == 0 {
		return nil
	}
	if fo.Smoke {
		slice := fo.Slice
		if fo.Budget > 0 && time.Duration(len(idx))*slice > fo.Budget {
			slice = max(minSlice, fo.Budget/time.Duration(len(idx)))
		}
		for _, i := range idx {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.fuzzSlice(ctx, c.Results[i], slice)
		}
		return ctx.Err()
	}

	sched := schedule.New(len(idx))
	deadline := time.Now().Add(fo.Budget)
	for ctx.Err() == nil {
		k := sched.Next()
		if k < 0 {
			break
		}
		r := c.Results[idx[k]]
		remaining := time.Until(deadline)
		slice := fo.Slice
		if r.Slices == 0 {
			// Every target runs at least once, even if that overruns
			// the budget by up to a second a target.
			untried := 0
			for _, t := range sched.Targets {
				if t.Slices == 0 && !t.Retired {
					untried++
				}
			}
			slice = min(slice, max(minSlice, remaining/time.Duration(untried)))
		} else {
			if remaining < minSlice {
				break
			}
			slice = min(slice, remaining)
		}
		start := time.Now()
		newInteresting := c.fuzzSlice(ctx, r, slice)
		sched.Record(k, time.Since(start), newInteresting)
		if r.Status.Failed() && !(r.Status == Crashed && r.dupStreak < maxDupStreak && c.canContinue(r)) {
			sched.Retire(k)
		}
	}
	return ctx.Err()
}

// runnable lists the results whose package built.
func (c *Campaign) runnable() []int {
	var idx []int
	for i, r := range c.Results {
		if _, ok := c.bins[r.Target.ImportPath]; ok && r.Status != BuildFailed {
			idx = append(idx, i)
		}
	}
	return idx
}

// canContinue reports whether a crashed target can fuzz on: only if its
// crashers are all held out of testdata.
func (c *Campaign) canContinue(r *TargetResult) bool {
	for _, cr := range r.Crashes {
		if cr.held == "" {
			return false
		}
	}
	return true
}

// fuzzSlice fuzzes one target for d and handles what it finds. It returns
// the number of new interesting inputs.
func (c *Campaign) fuzzSlice(ctx context.Context, r *TargetResult, d time.Duration) int {
	t := r.Target
	bin := c.bins[t.ImportPath]
	args := []string{
		"-test.run=^$",
		"-test.fuzz=^" + regexp.QuoteMeta(t.Name) + "$",
		"-test.fuzztime=" + d.String(),
		"-test.fuzzcachedir=" + c.corpusDir(t),
		"-test.fuzzminimizetime=" + minimizeFor(d).String(),
		"-test.parallel=" + strconv.Itoa(c.opts.Procs),
	}
	sliceCtx, cancel := withTimeout(ctx, d+hardTimeoutSlack)
	defer cancel()
	start := time.Now()
	out, err := run(sliceCtx, t.Dir, nil, c.echo(), bin, args...)
	wall := time.Since(start)
	rep := fuzzout.Parse(out)

	r.Slices++
	r.Execs += rep.Execs
	if rep.Elapsed > 0 {
		r.FuzzTime += rep.Elapsed
	} else {
		r.FuzzTime += wall
	}
	r.NewInteresting += rep.NewInteresting
	if rep.CorpusTotal > 0 {
		r.Corpus = rep.CorpusTotal
	}
	r.Uninstrumented = r.Uninstrumented || rep.Uninstrumented
	if r.Status == Pending {
		r.Status = Passed
	}
	c.printf("%-40s %6s  execs %10d (%7.0f/s)  new %3d  corpus %5d\n",
		t.ID(), wall.Round(100*time.Millisecond), rep.Execs, rep.ExecsPerSec(), rep.NewInteresting, rep.CorpusTotal)
	if rep.Uninstrumented && r.Slices == 1 {
		c.printf("    warning: %s fuzzed without coverage instrumentation\n", t.ID())
	}

	c.classify(ctx, r, rep, out, err, d)
	return rep.NewInteresting
}

// handleCrash confirms a new crasher, deduplicates it against the
// target's known crashes, and either keeps it (held out of testdata while
// the target fuzzes on) or deletes it.
func (c *Campaign) handleCrash(ctx context.Context, r *TargetResult, name string, fuzzOutput []byte) {
	t := r.Target
	path := filepath.Join(t.Dir, "testdata", "fuzz", t.Name, name)
	info, err := os.Stat(path)
	if err != nil {
		return
	}
	sig, confirmed := c.replay(ctx, r, name)
	if sig.IsZero() {
		sig = fuzzout.ParseSignature(fuzzOutput, c.opts.Frames)
	}
	r.Status = Crashed
	for _, cr := range r.Crashes {
		if cr.Signature.Key() != sig.Key() {
			continue
		}
		// A known bug: keep the smaller input of the two.
		cr.Duplicates++
		r.dupStreak++
		held := filepath.Join(filepath.Dir(cr.held), name)
		if info.Size() < cr.size && cr.held != "" && held != cr.held {
			if err := os.Rename(path, held); err == nil {
				os.Remove(cr.held)
				cr.held, cr.size = held, info.Size()
				cr.File = c.relPath(path)
				cr.Command = reproduceCommand(t, name)
				if c.opts.Verbose {
					c.printf("    duplicate of %s, smaller: kept %s instead\n", sig.Key(), name)
				}
				return
			}
		}
		os.Remove(path)
		if c.opts.Verbose {
			c.printf("    duplicate of %s: deleted %s\n", sig.Key(), c.relPath(path))
		}
		return
	}
	r.dupStreak = 0
	cr := &Crash{
		Signature: sig,
		File:      c.relPath(path),
		Command:   reproduceCommand(t, name),
		Confirmed: confirmed,
		size:      info.Size(),
	}
	held := filepath.Join(c.heldDir(t), name)
	if err := os.MkdirAll(filepath.Dir(held), 0o755); err == nil {
		if err := os.Rename(path, held); err == nil {
			cr.held = held
		}
	}
	r.Crashes = append(r.Crashes, cr)
	what := "new crash"
	if !confirmed {
		what = "new crash, NOT reproduced by a replay"
	}
	c.printCrash(r, cr, what)
}

// replay runs one testdata corpus file on its own, as go test -run would,
// and returns the failure's signature; confirmed is false if it passed.
func (c *Campaign) replay(ctx context.Context, r *TargetResult, name string) (fuzzout.Signature, bool) {
	t := r.Target
	rctx, cancel := withTimeout(ctx, replayTimeout)
	defer cancel()
	out, err := run(rctx, t.Dir, nil, nil, c.bins[t.ImportPath],
		"-test.run=^"+regexp.QuoteMeta(t.Name)+"$/^"+regexp.QuoteMeta(name)+"$",
		"-test.timeout="+replayTimeout.String())
	if err == nil {
		return fuzzout.Signature{}, false
	}
	return fuzzout.ParseSignature(out, c.opts.Frames), true
}

func (c *Campaign) printCrash(r *TargetResult, cr *Crash, what string) {
	c.printf("CRASH %s: %s [%s]\n    %s\n    reproducer: %s\n    reproduce:  %s\n",
		r.Target.ID(), what, cr.Signature.Key(), cr.Signature, cr.File, cr.Command)
}

// restoreHeld moves crashers held by an earlier, interrupted run back
// into testdata.
func (c *Campaign) restoreHeld() error {
	root := filepath.Join(c.opts.Corpus, ".crashers")
	if _, err := os.Stat(root); err != nil {
		return nil
	}
	for _, p := range c.Packages {
		for _, t := range p.Targets {
			dir := c.heldDir(t)
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				dst := filepath.Join(t.Dir, "testdata", "fuzz", t.Name, e.Name())
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				if err := os.Rename(filepath.Join(dir, e.Name()), dst); err != nil {
					return err
				}
				c.printf("restored crasher %s from an interrupted run\n", c.relPath(dst))
			}
		}
	}
	return nil
}

// restoreHeldLogged puts this run's held reproducers back into testdata.
func (c *Campaign) restoreHeldLogged() {
	for _, r := range c.Results {
		for _, cr := range r.Crashes {
			if cr.held == "" {
				continue
			}
			dst := filepath.Join(c.Module.Dir, filepath.FromSlash(cr.File))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				c.printf("error: restoring %s: %v\n", cr.File, err)
				continue
			}
			if err := os.Rename(cr.held, dst); err != nil {
				c.printf("error: restoring %s: %v\n", cr.File, err)
				continue
			}
			cr.held = ""
		}
	}
}

// lastLines returns up to n final lines of b.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
