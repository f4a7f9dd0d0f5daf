package main

import (
	"fmt"
	"io"

	"github.com/khokit/khokit/format"
	"github.com/spf13/pflag"
)

var cmdABI = &command{
	name:     "abi",
	synopsis: "abi [--btf PATH] [--page-size N]",
	summary:  "print the catalogue of known handover formats and layouts; with --btf, compare it with a kernel's BTF",
	examples: []string{
		"khodump abi",
		"khodump abi --page-size 16384",
		"khodump abi --btf /sys/kernel/btf/vmlinux",
	},
	flags: func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.btf, "btf", "", "a kernel's BTF (e.g. /sys/kernel/btf/vmlinux, or a vmlinux ELF with .BTF): compare every struct with it")
		fs.Var(numberValue{&o.pageSize}, "page-size", "layouts for this page size: 4096 (default), 16384 or 65536")
		fs.BoolVarP(&o.quiet, "quiet", "q", false, "print no notes on stderr")
	},
	run: runABI,
}

func runABI(o *options, args []string, stdout, stderr io.Writer) int {
	if len(args) != 0 {
		errorLine(stderr, fmt.Sprintf("abi: takes no SOURCE (got %q)", args[0]))
		return exitUsage
	}
	formats := format.AllFor(format.PageSize(o.effectivePageSize()))
	if o.btf == "" {
		return written(stderr, format.WriteText(stdout, formats), exitOK)
	}
	results, err := format.CheckBTFFile(o.btf, formats)
	if err != nil {
		errorLine(stderr, fmt.Sprintf("%s: %v", o.btf, unwrapPath(err)))
		return exitUsage
	}
	for _, r := range results {
		if _, err := fmt.Fprintln(stdout, r); err != nil {
			return written(stderr, err, exitOK)
		}
	}
	return exitOK
}
