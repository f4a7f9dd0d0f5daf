// Command genmalformed writes the malformed-blob corpus and its expectation
// table to testdata/fdt/malformed (run from the module root:
// go run ./fdt/internal/genmalformed).
package main
