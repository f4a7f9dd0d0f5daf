// Package format is the catalogue of the state Linux hands across kexec with
// Kexec HandOver (KHO) and the Live Update Orchestrator (LUO): every versioned
// layout of the KHO root FDT (kho-v1 … kho-v4 and the posted composite
// compatibles), the kho-v1 chunk list and the kho-v2+ radix tree, vmalloc
// descriptors and chunks, generic blocks, memblock and kexec metadata, the x86
// kho_data payload and scratch array, luo_ser in every variant, sessions,
// files, FLBs, and memfd state — each as a table of fields (name, offset, size,
// type) with its compatible string, status and assumed page size. See [All],
// [Lookup] and [ByCompatible].
//
// The codecs decode and encode the fixed structs over byte slices by walking
// those tables, so an offset is written once; decoding keeps every byte
// (including the stale bytes after a NUL in a char array), so encoding a
// decoded value reproduces its input. Decoders bound every count by the bytes
// behind it and report errors as *[FormatError] with the blob offset and
// field, wrapping sentinels such as [ErrShort] and [ErrUnknownVersion]. They
// never judge semantics (limits, pointers, duplicates): that is the handover
// decoder's job in package kho. [RadixGeometry] encodes and decodes radix keys
// per page size, [ParseCompat] splits composite compatibles, and [CheckBTF]
// compares the tables with a kernel's BTF. The facts come from the kernel
// sources as summarised in the project's spec/abi.md.
//
// This package never reads physical memory.
package format
