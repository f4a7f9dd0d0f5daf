// Package fuzzout reads what a Go test binary prints while it fuzzes or
// replays a corpus entry: the coordinator's progress lines ("fuzz: elapsed:
// 3s, execs: 1234 (411/sec), new interesting: 2 (total: 9)"), where a failing
// input was written, which seed entry failed, and the per-input coverage
// lines printed under GODEBUG=fuzzdebug=1. It also reduces a failure log to a
// normalized Signature (panic or error message plus the top stack frames of
// the code under test), so that crashers found from different inputs by the
// same bug compare equal. The formats are those of internal/fuzz and testing
// in the Go distribution; they are not a stable interface, so every parser
// here is tolerant of lines it does not know.
package fuzzout
