// Package e2eexpect defines expected.json, the results file of the
// real-kernel e2e harness (e2e/README.md): what the guest preserved across
// the kexec, what the new kernel logged about the handover, the kernel that
// ran and the images dumped. It is the one definition of that layout and of
// the guest's reports: the guest (e2e/guest) fills the stage-1 part, prints
// a Stage2 report after the kexec and, in verify mode, what it Retrieved;
// e2etool (e2e/e2etool) combines stage 1 and Stage2 into the file with
// Write, and the kho and khodump tests Read it to compare what they decode
// from the harness's dumps, and from the cores carved from them in
// testdata/khodump/real, with it. Read, DecodeExpected, DecodeStage2 and
// DecodeRetrieved parse strictly (no unknown field, nothing after the
// value), and every parse failure is a *FormatError that wraps ErrFormat
// and gives the file, byte offset and field.
package e2eexpect
