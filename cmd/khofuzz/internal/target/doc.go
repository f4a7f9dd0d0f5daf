// Package target finds the native Go fuzz targets of a module: every
// top-level func FuzzXxx(*testing.F) in the test files that `go list`
// selects for the current build context. It reads the sources with go/ast
// instead of running `go test -list`, so finding targets builds nothing.
package target
