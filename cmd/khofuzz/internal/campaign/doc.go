// Package campaign runs khofuzz's work over the fuzz targets of a module:
// it builds one coverage-instrumented test binary per package, rotates the
// targets under a time budget (package schedule), keeps every target's
// corpus in a directory the project owns, confirms, deduplicates and stores
// crashers (package fuzzout gives their signatures), replays corpora,
// minimizes them and reports their statement coverage. It drives the test
// binaries through their -test.* flags, exactly as `go test -fuzz` does.
package campaign
