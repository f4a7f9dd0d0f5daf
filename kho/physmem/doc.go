// Package physmem is the one interface between the places physical memory
// comes from (dump files, debugfs copies, the handover builder) and the code
// that decodes a handover from it.
//
// A [Memory] reads bytes at physical addresses and lists the ranges it
// describes. Bytes a source does not hold are never invented: reading them
// fails with an error wrapping [ErrAbsent] (no such memory in the source) or
// [ErrExcluded] (memory that existed but the dump left out), so a decoder can
// tell "this pointer is wrong" from "this dump cannot say". [StateOf] and
// [Described] answer the same question for a span without reading it, and
// [Merge] joins spans. [Sparse] is an in-memory implementation used by the
// builder and by tests.
package physmem
