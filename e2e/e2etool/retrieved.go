package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/internal/e2eexpect"
)

// states projects preserved sessions onto what a verify boot retrieves.
func states(sessions []e2eexpect.Session) []e2eexpect.RetrievedSession {
	out := make([]e2eexpect.RetrievedSession, 0, len(sessions))
	for _, s := range sessions {
		rs := e2eexpect.RetrievedSession{Name: s.Name, Files: make([]e2eexpect.RetrievedFile, 0, len(s.Files))}
		for _, f := range s.Files {
			rs.Files = append(rs.Files, e2eexpect.RetrievedFile{Token: f.Token, Size: f.Size, Seals: f.Seals, SHA256: f.SHA256})
		}
		out = append(out, rs)
	}
	return out
}

// cmdRetrieved compares what a verify boot retrieved through /dev/liveupdate
// after the kexec with what its stage 1 preserved, and optionally with the
// expected.json of the capture boot (the scenario is deterministic).
func cmdRetrieved(args []string) error {
	fs := flag.NewFlagSet("retrieved", flag.ExitOnError)
	console := fs.String("console", "", "serial console log of a verify boot")
	expected := fs.String("expected", "", "expected.json of the capture boot (optional)")
	fs.Parse(args)
	if *console == "" {
		return errors.New("retrieved: -console is required")
	}
	js, err := readConsoleJSON(*console, "EXPECTED", "RETRIEVED")
	if err != nil {
		return err
	}
	preserved, err := e2eexpect.DecodeExpected("EXPECTED", js[0])
	if err != nil {
		return fmt.Errorf("%s: %w", *console, err)
	}
	got, err := e2eexpect.DecodeRetrieved("RETRIEVED", js[1])
	if err != nil {
		return fmt.Errorf("%s: %w", *console, err)
	}
	var bad []string
	if len(got.Problems) > 0 {
		bad = append(bad, "guest problems:\n  "+strings.Join(got.Problems, "\n  "))
	}
	if diff := cmp.Diff(states(preserved.Sessions), got.Sessions); diff != "" {
		bad = append(bad, "retrieved after the kexec differs from preserved before it (-preserved +retrieved):\n"+diff)
	}
	if *expected != "" {
		capture, err := e2eexpect.Read(*expected)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(states(capture.Sessions), states(preserved.Sessions)); diff != "" {
			bad = append(bad, "verify boot preserved other state than the capture boot (-capture +verify):\n"+diff)
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "\n"))
	}
	n := 0
	for _, s := range got.Sessions {
		n += len(s.Files)
	}
	fmt.Printf("retrieved %d sessions and %d memfds after the kexec, equal to what was preserved\n", len(got.Sessions), n)
	return nil
}
