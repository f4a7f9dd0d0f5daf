// Package fdttest builds deterministic device trees for tests and
// benchmarks with [fdt.Writer]. The fdt package's own benchmarks and the
// bench/fdtcompare module measure the same generated tree through it, so
// their numbers line up.
package fdttest
