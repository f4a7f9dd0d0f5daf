// Package fdtcompare measures khokit's fdt package against libfdt (through
// cgo, Debian's libfdt-dev) and u-root's pkg/dt on the same blobs, and
// checks that khokit and libfdt agree on what a valid blob contains and on
// which malformed blobs to reject. It is a separate module so that neither
// cgo nor u-root becomes a dependency of khokit itself; CI does not build
// it. BENCHMARKS.md in the repository root records the results.
package fdtcompare
