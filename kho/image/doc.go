// Package image reads and writes the files that hold captured physical
// memory: raw dumps, ELF64 core files (/proc/vmcore, QEMU "elf"),
// makedumpfile kdump-compressed files and their flattened stream form (QEMU
// "kdump-zlib"), debugfs copies of /sys/kernel/debug/kho, and single blobs.
// Every dump reader implements [physmem.Memory] lazily over an
// [io.ReaderAt], in the manner of archive/zip: opening reads headers only,
// reading a page costs about a page plus its decompression, and memory
// stays bounded by limits checked against the file size before anything is
// allocated. Malformed input yields a [*FormatError] that names the file
// offset and wraps a sentinel such as [ErrFormat]; problems a reader can
// work around (overlapping segments, a truncated tail) are kept as
// findings. A debugfs copy is the exception: its few small files are read
// whole, from a directory or an [io/fs.FS], and its errors name the file's
// path. The formats are summarised in the project's hardening notes, §2.
package image
