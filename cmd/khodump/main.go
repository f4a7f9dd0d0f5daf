package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// command is one subcommand. run returns the exit status.
type command struct {
	name     string
	synopsis string // after "khodump "
	summary  string
	examples []string
	flags    func(fs *pflag.FlagSet, o *options) // registers the command's flags
	run      func(o *options, args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands; the first is the default.
var commands = []*command{
	cmdShow, cmdCheck, cmdScan, cmdExtract, cmdCarve, cmdABI,
}

// Exit statuses.
const (
	exitOK        = 0
	exitMalformed = 1 // the input is malformed, or check found an error
	exitUsage     = 2 // bad usage or I/O error
)

func main() {
	defer func() {
		// The libraries are built never to panic on any input; should one
		// still, the user gets one line to report, not a stack trace.
		if r := recover(); r != nil {
			errorLine(os.Stderr, fmt.Sprintf("internal error: %v (please report it with the input)", r))
			os.Exit(exitUsage)
		}
	}()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "--help":
		if len(args) > 1 {
			for _, c := range commands {
				if c.name == args[1] {
					return runCommand(c, []string{"--help"}, stdout, stderr)
				}
			}
		}
		usage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if args[0] == c.name {
			return runCommand(c, args[1:], stdout, stderr)
		}
	}
	if c, rest, ok := commandAfterFlags(args); ok {
		return runCommand(c, rest, stdout, stderr)
	}
	return runCommand(commands[0], args, stdout, stderr)
}

// commandAfterFlags finds a command named after flags, as in
// "khodump -o json check F": the flags are the command's own, so each
// command's flag set reads args up to the first argument that is not a
// flag or a flag's value, and if that argument is the command's name, the
// command runs with args less its name. Flags on both sides are parsed in
// order: a later one wins.
func commandAfterFlags(args []string) (*command, []string, bool) {
	for _, c := range commands {
		fs, _ := newFlagSet(c, &options{stderr: io.Discard})
		fs.SetInterspersed(false)
		if fs.Parse(args) != nil {
			continue
		}
		rest := fs.Args()
		i := len(args) - len(rest)
		if len(rest) == 0 || rest[0] != c.name || args[i-1] == "--" { // after --, a name is a SOURCE
			continue
		}
		return c, append(slices.Clone(args[:i]), args[i+1:]...), true
	}
	return nil, nil, false
}

// newFlagSet returns c's flag set writing to o, and its --help flag.
func newFlagSet(c *command, o *options) (*pflag.FlagSet, *bool) {
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	c.flags(fs, o)
	return fs, fs.BoolP("help", "h", false, "show this help")
}

// runCommand parses c's flags and runs it.
func runCommand(c *command, args []string, stdout, stderr io.Writer) int {
	o := &options{stderr: stderr}
	fs, help := newFlagSet(c, o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			commandHelp(stdout, c, fs)
			return exitOK
		}
		errorLine(stderr, fmt.Sprintf("%s: %v (see 'khodump %s --help')", c.name, err, c.name))
		return exitUsage
	}
	o.changed = fs.Changed
	if *help {
		commandHelp(stdout, c, fs)
		return exitOK
	}
	if err := o.resolve(); err != nil {
		errorLine(stderr, fmt.Sprintf("%s: %v", c.name, err))
		return exitUsage
	}
	return c.run(o, fs.Args(), stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: khodump [flags] [command] [flags] SOURCE")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "khodump reads the state Linux hands across kexec (KHO, LUO, memfds, FLBs)")
	fmt.Fprintln(w, "from a memory dump (ELF, kdump, flattened, raw), a debugfs copy, a root FDT")
	fmt.Fprintln(w, "or one blob, and tells what was handed over and what is wrong with it.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands (default: show):")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "examples:")
	fmt.Fprintln(w, "  khodump vmcore.elf                 # the incoming handover, as a tree")
	fmt.Fprintln(w, "  khodump check --kernel 7.3 vmcore  # what is wrong, and what 7.3 does with it")
	fmt.Fprintln(w, "  khodump scan dump.kdump            # every KHO root in the image, and why")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "flags go before or after the command: 'khodump -o json check F' is 'khodump check -o json F'")
	fmt.Fprintln(w, "run 'khodump COMMAND --help' for its flags; the manual is docs/khodump.md")
}

func commandHelp(w io.Writer, c *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "usage: khodump %s\n\n%s\n\nflags:\n", c.synopsis, c.summary)
	fmt.Fprint(w, fs.FlagUsages())
	if len(c.examples) > 0 {
		fmt.Fprintln(w, "\nexamples:")
		for _, e := range c.examples {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

// errorLine prints msg as one line: khodump: <msg>.
func errorLine(w io.Writer, msg string) {
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	fmt.Fprintln(w, "khodump: "+msg)
}

// written is a command's exit status once its output is written: status,
// or exitUsage with one line on stderr when writing failed (err non-nil).
func written(stderr io.Writer, err error, status int) int {
	if err != nil {
		errorLine(stderr, "writing output: "+err.Error())
		return exitUsage
	}
	return status
}
