// Command khodump reads the state Linux hands across kexec — the KHO
// device tree, LUO sessions and files, preserved memfds and FLBs — from a
// memory dump (ELF core, kdump-compressed, flattened, raw), a debugfs copy,
// a root FDT or one blob, and prints what was handed over and what is wrong
// with it.
//
// Usage:
//
//	khodump [show] [-o text|json|dts] [flags] SOURCE
//	khodump check [--kernel VERSION] [-o text|json] [flags] SOURCE
//	khodump scan [-o text|json] [flags] SOURCE
//	khodump extract --dir DIR [flags] SOURCE
//	khodump carve --out FILE [flags] SOURCE
//	khodump abi [--btf PATH] [--page-size N]
//
// Common flags: --root ADDR, --base ADDR, --page-size N, --kho-v1-bitmap
// detect|512|page, --format auto|raw|elf|kdump|flattened|debugfs|fdt|blob,
// --as FORMAT, --lenient, -q, -v, --no-progress (scan, which decodes no
// handover, refuses --kho-v1-bitmap and --lenient). A command's flags go
// before its name or after it: "khodump -o json check F" is "khodump check
// -o json F". Errors are one line on stderr; check exits 0 (no error
// finding), 1 (an error finding, a malformed image, an FDT that is not a
// KHO root, or with --kernel a harmful impact) or 2 (usage or I/O error). The manual is docs/khodump.md
// and the JSON documents are specified in docs/json.md.
//
// The fixtures in testdata/khodump are written by
// ./cmd/khodump/internal/genfixtures (synthetic handovers) and by
// khodump carve (testdata/khodump/real, from a Linux 7.3.4 guest).
package main
