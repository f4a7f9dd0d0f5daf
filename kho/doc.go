// Package kho decodes a Kexec HandOver from physical memory: the root FDT,
// its preserved-memory map, every subtree blob, and the Live Update
// Orchestrator state hung from it (sessions, files, memfds, FLBs). Every
// physical pointer is checked before use (inside memory, aligned, preserved,
// not in scratch, no overflow), every chain is bounded and cycle-checked,
// and what is wrong is reported as [Finding] values with stable codes and,
// where known, what a given kernel release would do with the same bytes.
// [Build] does the inverse: it lays a [Handover] out into synthetic
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
// reused) is reported once and not used for preservation checks. A
// [MapDecoder] decodes a map on its own and reuses its memory from one map
// to the next, for callers that check maps again and again.
// [MemfdContents] reads a preserved memfd back through its folios;
// [OpenMemfd] does so after checking the page size and that the memfd's
// holes (bytes no folio backs, gaps between folios included) stay within a
// bound such as [DefaultMaxMemfdHoles].
//
// Around the decoder: [Locate] finds KHO roots in a memory image (from
// the x86 setup_data chain, /chosen in a boot FDT, or a page scan); each
// [Candidate] gives the handoff that named it as data (Handoff for an x86
// kho_data, BootFDT and BootScratch for a boot FDT in memory), and
// [Incoming] picks the handover the old kernel left. [RecoverLUO] (when
// [NeedsRecovery] says so) searches memory for LUO sessions and FLB
// pages whose pointers were lost, as in images taken after the kexec.
// [CheckFLBPage] validates an FLB page as a hardened kernel must, and
// [RetrieveFLB] and [FLBSim] model what a hardened or a mainline kernel
// ([KernelModel]) does when its files retrieve, get, put and finish an
// incoming FLB.
//
// The formats themselves are described in package format, whose codecs and
// constants the decoder uses; physical memory comes through package physmem.
package kho
