// Command khofuzz runs every native Go fuzz target of the module as one
// campaign: it finds the targets, builds one coverage-instrumented test
// binary per package, and rotates the targets under a total time budget,
// giving more time to those that recently found new coverage. Each
// target's corpus lives under a directory the project owns (default
// .cache/khofuzz, git-ignored) rather than in $GOCACHE. Crashers are
// replayed to confirm them, deduplicated by panic message and top stack
// frames, kept as one reproducer per bug under the package's
// testdata/fuzz/<Target>/, and printed with the go test line that
// reproduces them.
//
// Usage:
//
//	khofuzz [flags] [packages]
//
// Modes (default: fuzz for --budget):
//
//	--smoke      every target once for --slice (default 3s); what CI runs
//	--regress    replay seeds and managed corpora only, no fuzzing
//	--minimize   drop managed corpus entries that add no coverage
//	--cover      statement coverage reached by the corpora, per package
//	--list       print the targets (--format=oss-fuzz for build.sh)
//
// The last line is "N passed, N failed", counting targets. The exit status
// is 0 when nothing failed, 1 when a target crashed, errored or did not
// build (or the run was interrupted), and 2 for usage errors. See
// docs/fuzzing.md.
package main
