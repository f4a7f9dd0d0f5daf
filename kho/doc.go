// Package kho decodes a Kexec HandOver from physical memory: the root FDT,
// its preserved-memory map, every subtree blob, and the Live Update
// Orchestrator state hung from it (sessions, files, memfds, FLBs). Every
// physical pointer is checked before use (inside memory, aligned, preserved,
// not in scratch, no overflow), every chain is bounded and cycle-checked,
// and what is wrong is reported as [Finding] values with stable codes and,
// where known, what a given kernel release would do with the same bytes.
// The builder does the inverse: it lays a [Handover] out into synthetic
// physical memory, which is how tests and fuzz seeds are made.
//
// The formats themselves are described in package format; physical memory
// comes through package physmem.
package kho
