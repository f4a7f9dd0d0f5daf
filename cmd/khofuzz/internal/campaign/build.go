package campaign

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/khokit/khokit/cmd/khofuzz/internal/target"
)

// binaryName is a package's test binary file name.
func binaryName(p target.Package, suffix string) string {
	name := strings.ReplaceAll(p.Rel, "/", "_")
	if p.Rel == "." {
		name = "_root"
	}
	return name + suffix
}

// buildArgs returns the go test -c arguments for package p. The -fuzz
// flag is what makes cmd/go compile the package and its dependencies with
// coverage instrumentation for the fuzzer (-d=libfuzzer); the binary only
// fuzzes when run with -test.fuzz, so one build serves every target.
func (c *Campaign) buildArgs(p target.Package, out string, cover bool) []string {
	args := []string{"test", "-c", "-fuzz=.", "-p", strconv.Itoa(c.opts.Procs), "-o", out}
	if cover {
		args = append(args, "-cover", "-coverpkg="+c.Module.Path+"/...")
	}
	pkg := "./" + p.Rel
	if p.Rel == "." {
		pkg = "."
	}
	return append(args, pkg)
}

// Build compiles one instrumented test binary per package. A package that
// fails to build marks its targets BuildFailed; Build itself fails only on
// interruption or when the binary directory cannot be made.
func (c *Campaign) Build(ctx context.Context) error {
	return c.build(ctx, false)
}

func (c *Campaign) build(ctx context.Context, cover bool) error {
	if err := os.MkdirAll(c.binDir(), 0o755); err != nil {
		return err
	}
	suffix := ".test"
	if cover {
		suffix = ".cover.test"
	}
	for _, p := range c.Packages {
		if err := ctx.Err(); err != nil {
			return err
		}
		out := filepath.Join(c.binDir(), binaryName(p, suffix))
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", c.buildArgs(p, out, cover)...)
		cmd.Dir = c.Module.Dir
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		if err == nil && !cover {
			// A package whose only test file is build-constrained away
			// yields no binary and no error.
			if _, statErr := os.Stat(out); statErr != nil {
				err = fmt.Errorf("go test -c wrote no binary")
			}
		}
		if err != nil && cover {
			// -coverpkg over the whole module fails when some unrelated
			// package does not build; measure the package alone instead.
			buf.Reset()
			args := c.buildArgs(p, out, false)
			args = append(args[:len(args)-1], "-cover", args[len(args)-1])
			cmd = exec.CommandContext(ctx, "go", args...)
			cmd.Dir = c.Module.Dir
			cmd.Stdout, cmd.Stderr = &buf, &buf
			err = cmd.Run()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			detail := fmt.Sprintf("go %s: %v\n%s", strings.Join(c.buildArgs(p, out, cover), " "), err, firstLines(buf.Bytes(), 30))
			c.printf("BUILD FAILED %s\n%s\n", p.Rel, indent(detail))
			for _, r := range c.Results {
				if r.Target.ImportPath == p.ImportPath {
					r.Status, r.Detail = BuildFailed, detail
				}
			}
			continue
		}
		if cover {
			c.bins[p.ImportPath+"#cover"] = out
		} else {
			c.bins[p.ImportPath] = out
		}
		if c.opts.Verbose {
			c.printf("built %s (%d targets) in %s\n", c.relPath(out), len(p.Targets), time.Since(start).Round(100*time.Millisecond))
		}
	}
	return nil
}

// indent prefixes every line with four spaces.
func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
