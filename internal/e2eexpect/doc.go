// Package e2eexpect reads the expected.json the real-kernel e2e harness
// writes (e2e/README.md): what the guest preserved across the kexec and
// what the new kernel logged about the handover. The kho and khodump tests
// compare what they decode from the harness's dumps, and from the cores
// carved from them in testdata/khodump/real, with it.
package e2eexpect
