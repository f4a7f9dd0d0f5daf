package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/khokit/khokit/fdt"
	"github.com/spf13/pflag"
)

func runShow(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("show", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	output := fs.StringP("output", "o", "text", "output format: text, dts or json")
	lenient := fs.Bool("lenient", false, "accept producer quirks (truncated copy, short size_dt_struct, non-zero padding) and report them as findings")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: khodump show [-o text|dts|json] [--lenient] FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		errorLine(stderr, "", err)
		fmt.Fprintln(stderr, "usage: khodump show [-o text|dts|json] [--lenient] FILE")
		return exitUsage
	}
	write := map[string]func(io.Writer, *fdt.Tree) error{
		"text": fdt.WriteText, "dts": fdt.WriteDTS, "json": fdt.WriteJSON,
	}[*output]
	if write == nil {
		errorLine(stderr, "", fmt.Errorf("unknown output format %q (want text, dts or json)", *output))
		return exitUsage
	}
	if fs.NArg() != 1 {
		errorLine(stderr, "", fmt.Errorf("want exactly one FILE, got %d arguments", fs.NArg()))
		return exitUsage
	}
	file := fs.Arg(0)
	opts := &fdt.Options{Lenient: *lenient, Limits: fdt.DefaultLimits()}
	data, err := readFile(file, opts.Limits.MaxSize)
	if err != nil {
		errorLine(stderr, "", err)
		return exitUsage
	}
	tree, err := fdt.Decode(data, opts)
	if err != nil {
		errorLine(stderr, file, err)
		return exitMalformed
	}
	if err := write(stdout, tree); err != nil {
		var fe *fdt.Error
		if errors.As(err, &fe) {
			errorLine(stderr, file, err)
			return exitMalformed
		}
		errorLine(stderr, "writing output", err)
		return exitUsage
	}
	return exitOK
}

// readFile reads at most limit bytes of name: more than that cannot be a
// blob Decode accepts, and the bytes past totalsize are ignored anyway.
func readFile(name string, limit int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}
