package fuzzout

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Report is what one run of a test binary in fuzzing mode said about itself.
type Report struct {
	// Execs is the fuzz-function call count of the last progress line.
	Execs int64
	// Elapsed is the coordinator's own clock at the last progress line
	// (whole seconds: the coordinator rounds it).
	Elapsed time.Duration
	// NewInteresting counts inputs this run added to the cache corpus.
	NewInteresting int
	// CorpusTotal is the corpus size (baseline plus new) at the last line.
	CorpusTotal int
	// Baseline is the number of corpus entries (seeds, testdata and cache)
	// the coordinator replays before it starts mutating; -1 if not printed.
	Baseline int
	// BaselineDone reports that every baseline entry ran.
	BaselineDone bool
	// Uninstrumented is set when the binary lacks coverage instrumentation,
	// so fuzzing ran blind.
	Uninstrumented bool
	// FailingInput is the path, relative to the package directory, of the
	// crasher the fuzzer wrote ("testdata/fuzz/FuzzX/0123abcd"), if any.
	FailingInput string
	// SeedFailure names the seed or testdata entry ("FuzzX/0123abcd" or
	// "FuzzX/seed#0") that failed before fuzzing began, if any.
	SeedFailure string
	// Failed reports a FAIL verdict or a failure-only line.
	Failed bool
	// InitialInputs lists, under GODEBUG=fuzzdebug=1, the new coverage
	// bits each baseline entry added over the entries processed before it.
	InitialInputs []InitialInput
	// DeadlineRace is set when the only failure is a bare "context
	// deadline exceeded" as -fuzztime ran out, with no failing input: the
	// coordinator's shutdown race (go.dev/issue/75804, fixed in Go 1.27),
	// which starved workers on a loaded machine trigger. It is not a
	// finding.
	DeadlineRace bool
	// InitialBits is the coverage of the whole baseline corpus, printed
	// under GODEBUG=fuzzdebug=1; -1 if not printed.
	InitialBits int
}

// InitialInput is one baseline entry's contribution to coverage.
// The coordinator does not say which entry a line is about (the id is
// empty), but with one worker the lines follow the corpus order: seeds
// first, then the cache directory's files sorted by name.
type InitialInput struct {
	NewBits int
}

// ExecsPerSec is the average rate over the run, or 0 when unknown.
func (r Report) ExecsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Execs) / r.Elapsed.Seconds()
}

var (
	statsLine = regexp.MustCompile(`^fuzz: elapsed: (\S+), execs: (\d+) \(\d+/sec\)(?:, new interesting: (\d+) \(total: (\d+)\))?`)
	// The coordinator says "gathering baseline coverage" when the binary is
	// instrumented and "testing seed corpus" when it is not.
	warmupLine   = regexp.MustCompile(`^fuzz: elapsed: \S+, (?:gathering baseline coverage|testing seed corpus): (\d+)/(\d+) completed(, now fuzzing)?`)
	failingInput = regexp.MustCompile(`Failing input written to (\S+)`)
	seedFailure  = regexp.MustCompile(`failure while testing seed corpus entry: (\S+)`)
	initialInput = regexp.MustCompile(`DEBUG processed an initial input, id: (\S*), new bits: (\d+)`)
	initialBits  = regexp.MustCompile(`DEBUG finished processing input corpus, entries: \d+, initial coverage bits: (\d+)`)
)

// Parse reads the combined stdout and stderr of a fuzzing run.
func Parse(out []byte) Report {
	r := Report{Baseline: -1, InitialBits: -1}
	inFail, deadline, other := false, false, false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if m := statsLine.FindStringSubmatch(line); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				r.Elapsed = d
			}
			r.Execs, _ = strconv.ParseInt(m[2], 10, 64)
			if m[3] != "" {
				r.NewInteresting, _ = strconv.Atoi(m[3])
				r.CorpusTotal, _ = strconv.Atoi(m[4])
			}
			continue
		}
		if m := warmupLine.FindStringSubmatch(line); m != nil {
			r.Baseline, _ = strconv.Atoi(m[2])
			if m[1] == m[2] && m[3] != "" {
				r.BaselineDone = true
			}
			continue
		}
		if m := initialInput.FindStringSubmatch(line); m != nil {
			bits, _ := strconv.Atoi(m[2])
			r.InitialInputs = append(r.InitialInputs, InitialInput{NewBits: bits})
			continue
		}
		if m := initialBits.FindStringSubmatch(line); m != nil {
			r.InitialBits, _ = strconv.Atoi(m[1])
			continue
		}
		if m := failingInput.FindStringSubmatch(trimmed); m != nil {
			r.FailingInput = m[1]
			r.Failed = true
			continue
		}
		if m := seedFailure.FindStringSubmatch(trimmed); m != nil {
			r.SeedFailure = m[1]
			r.Failed = true
			continue
		}
		if strings.HasPrefix(line, "warning: the test binary was not built with coverage instrumentation") {
			r.Uninstrumented = true
			continue
		}
		if trimmed == "FAIL" || strings.HasPrefix(line, "--- FAIL:") {
			r.Failed = true
			inFail = inFail || strings.HasPrefix(line, "--- FAIL:")
			continue
		}
		if inFail && trimmed != "" {
			if trimmed == "context deadline exceeded" {
				deadline = true
			} else if !strings.HasPrefix(trimmed, "--- FAIL:") && !strings.HasPrefix(line, "fuzz: ") {
				other = true
			}
		}
	}
	r.DeadlineRace = deadline && !other && r.FailingInput == "" && r.SeedFailure == ""
	return r
}
