package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/khokit/khokit/cmd/khofuzz/internal/campaign"
	"github.com/khokit/khokit/cmd/khofuzz/internal/target"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

type config struct {
	budget, slice                         time.Duration
	smoke, regress, minimize, cover, list bool
	format, corpus, runRE, coverProfile   string
	dir                                   string
	procs, frames                         int
	verbose                               bool
	patterns                              []string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	var c config
	fs := pflag.NewFlagSet("khofuzz", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: khofuzz [flags] [packages]\n\nRuns the module's Go fuzz targets as one campaign; see docs/fuzzing.md.\n\nFlags:\n%s", fs.FlagUsages())
	}
	fs.DurationVar(&c.budget, "budget", 10*time.Minute, "total fuzzing time (with --smoke: an upper bound, slices shrink to fit, not below 1s)")
	fs.DurationVar(&c.slice, "slice", 0, "fuzzing time of one turn of a target (default 3s with --smoke, else budget/(2×targets) within 3s..30s)")
	fs.BoolVar(&c.smoke, "smoke", false, "run every target once for --slice; exit 1 on any crash")
	fs.BoolVar(&c.regress, "regress", false, "replay seeds and managed corpora only, no fuzzing")
	fs.BoolVar(&c.minimize, "minimize", false, "drop managed corpus entries that add no coverage")
	fs.BoolVar(&c.cover, "cover", false, "report the statement coverage the corpora reach, per package")
	fs.StringVar(&c.coverProfile, "coverprofile", "", "with --cover, also write a merged coverage profile to `file`")
	fs.BoolVar(&c.list, "list", false, "list the fuzz targets and exit")
	fs.StringVar(&c.format, "format", "text", "--list output: text or oss-fuzz (\"importpath Func name\" lines for build.sh)")
	fs.StringVar(&c.corpus, "corpus", "", "managed corpus root (default <module root>/.cache/khofuzz)")
	fs.StringVar(&c.runRE, "run", "", "only targets whose \"dir/FuzzName\" matches `regexp`")
	fs.IntVar(&c.procs, "procs", runtime.NumCPU(), "fuzzing worker processes (-test.parallel) and build jobs")
	fs.IntVar(&c.frames, "frames", 3, "stack frames in a crash signature")
	fs.StringVarP(&c.dir, "chdir", "C", ".", "run as if started in `dir`")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "stream the test binaries' output")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.patterns = fs.Args()
	modes := 0
	for _, m := range []bool{c.smoke, c.regress, c.minimize, c.cover, c.list} {
		if m {
			modes++
		}
	}
	switch {
	case modes > 1:
		return nil, errors.New("--smoke, --regress, --minimize, --cover and --list exclude each other")
	case c.format != "text" && c.format != "oss-fuzz":
		return nil, fmt.Errorf("--format must be text or oss-fuzz, not %q", c.format)
	case fs.Changed("format") && !c.list:
		return nil, errors.New("--format applies to --list only")
	case fs.Changed("coverprofile") && !c.cover:
		return nil, errors.New("--coverprofile applies to --cover only")
	case c.budget <= 0:
		return nil, errors.New("--budget must be positive")
	case fs.Changed("slice") && c.slice < time.Second:
		return nil, errors.New("--slice must be at least 1s")
	case c.procs < 1:
		return nil, errors.New("--procs must be at least 1")
	case c.frames < 1:
		return nil, errors.New("--frames must be at least 1")
	}
	if c.smoke && !fs.Changed("budget") {
		c.budget = 0 // no cap: every target gets its slice
	}
	return &c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "khofuzz: %v\n", err)
		return exitUsage
	}
	var re *regexp.Regexp
	if cfg.runRE != "" {
		if re, err = regexp.Compile(cfg.runRE); err != nil {
			fmt.Fprintf(stderr, "khofuzz: --run: %v\n", err)
			return exitUsage
		}
	}
	c, err := campaign.New(campaign.Options{
		Dir:      cfg.dir,
		Patterns: cfg.patterns,
		Run:      re,
		Corpus:   cfg.corpus,
		Procs:    cfg.procs,
		Frames:   cfg.frames,
		Verbose:  cfg.verbose,
		Out:      stdout,
	})
	if err != nil {
		fmt.Fprintf(stderr, "khofuzz: %v\n", err)
		if errors.Is(err, campaign.ErrUsage) || errors.Is(err, target.ErrList) {
			return exitUsage
		}
		return exitFailed
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(stderr, "khofuzz: warning: %s\n", w)
	}
	if cfg.list {
		return list(c, cfg.format, stdout, stderr)
	}
	n := len(c.Results)
	if n == 0 {
		fmt.Fprintln(stdout, "no fuzz targets found")
	}
	if err := c.Build(ctx); err != nil {
		fmt.Fprintf(stderr, "khofuzz: build: %v\n", err)
		return exitFailed
	}
	fuzzed := false
	switch {
	case cfg.regress:
		err = c.Regress(ctx)
	case cfg.minimize:
		err = c.Minimize(ctx)
	case cfg.cover:
		var cov []campaign.PackageCoverage
		cov, err = c.Cover(ctx, cfg.coverProfile)
		if len(cov) > 0 {
			fmt.Fprintln(stdout, "\nstatement coverage reached by seeds and managed corpora:")
			for _, p := range cov {
				fmt.Fprintf(stdout, "  %-50s %5.1f%%\n", p.ImportPath, p.Percent)
			}
		}
	default:
		fuzzed = true
		slice := cfg.slice
		if slice == 0 {
			slice = defaultSlice(cfg.smoke, cfg.budget, n)
		}
		err = c.Fuzz(ctx, campaign.FuzzOptions{Budget: cfg.budget, Slice: slice, Smoke: cfg.smoke})
	}
	c.WriteSummary(stdout, fuzzed)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "khofuzz: interrupted")
		return exitFailed
	}
	if err != nil {
		fmt.Fprintf(stderr, "khofuzz: %v\n", err)
		return exitFailed
	}
	if _, failed := c.Counts(); failed > 0 {
		return exitFailed
	}
	return exitOK
}

// defaultSlice: smoke runs give each target 3s; campaigns aim at about two
// turns a target, within 3s (process start and corpus replay cost about a
// second) and 30s (so the scheduler can react).
func defaultSlice(smoke bool, budget time.Duration, targets int) time.Duration {
	if smoke {
		return 3 * time.Second
	}
	if targets < 1 {
		targets = 1
	}
	return min(max(budget/time.Duration(2*targets), 3*time.Second), 30*time.Second).Round(time.Second)
}

func list(c *campaign.Campaign, format string, stdout, stderr io.Writer) int {
	for _, p := range c.Packages {
		for _, t := range p.Targets {
			switch format {
			case "oss-fuzz":
				if problems := target.OSSFuzzProblems(t); len(problems) > 0 {
					for _, pr := range problems {
						fmt.Fprintf(stderr, "khofuzz: skipping %s for OSS-Fuzz: %s\n", t.ID(), pr)
					}
					continue
				}
				fmt.Fprintf(stdout, "%s %s %s\n", t.ImportPath, t.Name, t.OSSFuzzName())
			default:
				fmt.Fprintf(stdout, "%-40s %s:%d\n", t.ID(), t.Rel+"/"+t.File, t.Line)
			}
		}
	}
	return exitOK
}
