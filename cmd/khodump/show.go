package main

import (
	"io"

	"github.com/khokit/khokit/fdt"
	"github.com/spf13/pflag"
)

var cmdShow = &command{
	name:     "show",
	synopsis: "[show] [flags] SOURCE",
	summary:  "print the decoded handover as a tree (or JSON, or the root FDT as DTS)",
	examples: []string{
		"khodump vmcore.elf",
		"khodump show -o json --root 0x1eb000 vmcore.kdump",
		"khodump show --format raw --base 0x0 memory.bin",
		"khodump show copy-of-sys-kernel-debug-kho/",
		"khodump show --as luo-flb flb-page.bin",
		"khodump show --as fdt -o dts kho-in-fdt.dtb",
	},
	flags: func(fs *pflag.FlagSet, o *options) {
		outputFlag(fs, o, "text", "json", "dts")
		sourceFlags(fs, o)
	},
	run: runShow,
}

func runShow(o *options, args []string, stdout, stderr io.Writer) int {
	path, err := oneSource(args)
	if err != nil {
		errorLine(stderr, "show: "+err.Error())
		return exitUsage
	}
	if o.as != "" {
		return runBlob(o, path, false, stdout, stderr)
	}
	l, err := load(path, o, forReport)
	defer l.close()
	if err != nil {
		return exitFor(stderr, err)
	}
	if l.plain != nil {
		return writeFDT(o, path, l.plain, stdout, stderr)
	}
	switch o.output {
	case "json":
		err = writeJSON(stdout, l.report(nil))
	case "dts":
		d := l.handovers[0]
		t, ferr := fdt.Decode(d.rootFDT, &fdt.Options{Lenient: true, Limits: fdt.DefaultLimits()})
		if ferr != nil {
			errorLine(stderr, path+": root FDT: "+ferr.Error())
			return exitMalformed
		}
		err = fdt.WriteDTS(stdout, t)
	default:
		err = writeText(stdout, l, nil, o.verbose)
	}
	return written(stderr, err, exitOK)
}

// writeFDT prints an FDT that is not a KHO root (or one given --as fdt).
func writeFDT(o *options, path string, t *fdt.Tree, stdout, stderr io.Writer) int {
	write := map[string]func(io.Writer, *fdt.Tree) error{"text": fdt.WriteText, "dts": fdt.WriteDTS, "json": fdt.WriteJSON}[o.output]
	err := write(stdout, t)
	if _, ok := err.(*fdt.Error); ok {
		errorLine(stderr, path+": "+err.Error())
		return exitMalformed
	}
	return written(stderr, err, exitOK)
}
