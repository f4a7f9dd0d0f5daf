// Command khodump reads the state Linux hands across kexec. This first
// version reads one Flattened Device Tree file (a KHO FDT from debugfs, or
// any DTB) and prints it as text, DTS or JSON.
//
// Usage:
//
//	khodump [show] [-o text|dts|json] [--lenient] FILE
//
// A malformed blob prints one located error line and exits 1; usage and
// I/O errors exit 2.
package main
