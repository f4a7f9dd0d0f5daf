// Package malformed builds the hostile and quirky blobs of
// testdata/fdt/malformed: one per FDT case of the project's hardening notes
// (libfdt bug history and the malformed-input list), each with the error
// strict decoding must give, where, and what lenient decoding must do. It
// assembles bytes by hand, so it does not depend on the fdt package it tests.
package malformed
