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
// [Decode] starts from the root FDT's physical address, [DecodeRoot] from
// its bytes (a debugfs copy), and [DecodeLUO] from LUO header values found
// some other way. They return a Go error only when there is nothing to
// decode; everything else is a finding, and an Error finding means the
// object it is about was not used further. [Codes] and [LookupCode] list
// the finding codes with their severity and kernel impact, from one table.
// The memory map is decoded into runs of same-order blocks
// ([MemoryMap.Runs]), which keeps maps of many gigabytes cheap; a map that
// did not decode (as in images taken after the kexec, where its pages were
// reused) is reported once and not used for preservation checks.
// [MemfdContents] reads a preserved memfd back through its folios.
//
// The formats themselves are described in package format, whose codecs and
// constants the decoder uses; physical memory comes through package physmem.
package kho
