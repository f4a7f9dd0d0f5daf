// Package fdt reads and writes Flattened Device Tree blobs (DTB, devicetree
// specification v0.4 chapter 5) from hostile bytes. [Decode] validates a blob
// at least as strictly as libfdt's fdt_check_full (header, block layout,
// reservation map, token stream, names, string offsets, duplicate sibling
// names) within explicit [Limits], and returns a [Tree] that [Tree.Encode]
// writes back byte for byte. [Validate] does the same checks without
// building a tree; a caller-owned [Validator] does them in the single pass
// that walks the tokens, with no allocation, and [Iterator] does all but
// the duplicate-name check; [Writer] builds blobs sequentially; [WriteDTS] prints
// source that dtc compiles back to the same tree. Lenient mode
// ([Options.Lenient]) accepts the quirks real producers emit — a buffer
// shorter than totalsize, size_dt_struct a few bytes short, non-zero padding —
// and reports each as a [Finding]. The package knows nothing about KHO.
package fdt
