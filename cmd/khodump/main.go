package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand. run returns the exit status.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands; the first is the default.
var commands = []command{
	{"show", "print an FDT file as text, DTS or JSON", runShow},
}

// Exit statuses.
const (
	exitOK        = 0
	exitMalformed = 1 // the input is malformed
	exitUsage     = 2 // bad usage or I/O error
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "--help":
			usage(stdout)
			return exitOK
		}
		for _, c := range commands {
			if args[0] == c.name {
				return c.run(args[1:], stdout, stderr)
			}
		}
	}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	return commands[0].run(args, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: khodump [command] [flags] FILE")
	fmt.Fprintln(w, "commands (default: show):")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "run 'khodump COMMAND --help' for its flags")
}

// errorLine prints err as one line: khodump: <context>: <error>.
func errorLine(w io.Writer, context string, err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if context != "" {
		msg = context + ": " + msg
	}
	fmt.Fprintln(w, "khodump: "+msg)
}
