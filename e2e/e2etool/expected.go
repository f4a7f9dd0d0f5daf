package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/khokit/khokit/internal/e2eexpect"
)

// imageWhen says when each kind of image was dumped (e2eexpect.Image.When).
var imageWhen = map[string]string{
	"post-kexec": "after the kexec: the new kernel idle in stage 2 before anything opened /dev/liveupdate",
	"at-kexec":   "first kernel stopped on entry to machine_kexec (gdb stub breakpoint), after LUO serialized",
}

func cmdExpected(args []string) error {
	fs := flag.NewFlagSet("expected", flag.ExitOnError)
	console := fs.String("console", "", "serial console log")
	compat := fs.String("compat", "", "compat.txt written by run.sh")
	source := fs.String("source", "", `"PACKAGE VERSION" of the kernel source`)
	out := fs.String("o", "", "output file")
	fs.Parse(args)
	if *console == "" || *out == "" {
		return errors.New("expected: -console and -o are required")
	}
	js, err := readConsoleJSON(*console, "EXPECTED", "STAGE2")
	if err != nil {
		return err
	}
	g, err := e2eexpect.DecodeExpected("EXPECTED", js[0])
	if err != nil {
		return fmt.Errorf("%s: %w", *console, err)
	}
	st, err := e2eexpect.DecodeStage2("STAGE2", js[1])
	if err != nil {
		return fmt.Errorf("%s: %w", *console, err)
	}
	if st.LiveupdateNumber == nil || st.KexecCount == nil {
		return errors.New("stage 2 did not see the LUO/KHO handover lines in its kernel log")
	}
	e := *g // the guest's stage-1 part, completed below
	e.Stage2Log = st.Stage2Log
	e.Handover = e2eexpect.Handover{
		LiveupdateNumber: *st.LiveupdateNumber, KexecCount: *st.KexecCount,
		PreviousRelease: st.PreviousRelease, FLBsFound: st.FLBsFound,
		SetupData: st.SetupData,
	}
	e.Kernel = e2eexpect.Kernel{Release: st.Release, Compat: map[string]string{}}
	e.Images = map[string]e2eexpect.Image{}
	e.Kernel.SourcePackage, e.Kernel.SourceVersion, _ = strings.Cut(*source, " ")
	if st.SetupData != nil {
		for _, en := range st.SetupData.Entries {
			if en.Type == e2eexpect.SetupTypeKexecKHO && en.KHO != nil {
				e.Handover.RootFDTPhys = en.KHO.FDTAddr
			}
		}
	}
	if *compat != "" {
		b, err := os.ReadFile(*compat)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if k, v, ok := strings.Cut(l, " "); ok {
				e.Kernel.Compat[k] = v
			}
		}
	}
	dir := filepath.Dir(*out)
	for name, when := range imageWhen {
		elf, kd := name+".elf", name+".kdump"
		if _, err := os.Stat(filepath.Join(dir, elf)); err == nil {
			e.Images[name] = e2eexpect.Image{ELF: elf, Kdump: kd, When: when}
		}
	}
	return e2eexpect.Write(*out, &e)
}

// readConsoleJSON reads a serial console log and extracts the JSON the
// guest printed under each tag, in the order given.
func readConsoleJSON(path string, tags ...string) ([][]byte, error) {
	log, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(tags))
	for i, tag := range tags {
		if out[i], err = extractJSON(log, tag); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// extractJSON reassembles "KHOKIT-E2E TAG i/n chunk" lines and checks them
// against the "KHOKIT-E2E TAG sha256 HEX" line. The guest prints each set
// more than once, because a kernel message can land inside a line on the
// serial console: the last set whose checksum verifies wins, and what broke
// a set is reported only if none does.
func extractJSON(log []byte, tag string) ([]byte, error) {
	prefix := "KHOKIT-E2E " + tag + " "
	var chunks []string
	var total int
	var found []byte
	var broken error // the first set that did not verify
	fail := func(err error) {
		if broken == nil {
			broken = err
		}
		chunks, total = nil, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.Index(line, prefix)
		if i < 0 {
			continue
		}
		rest := line[i+len(prefix):]
		head, body, _ := strings.Cut(rest, " ")
		if head == "sha256" {
			whole := strings.Join(chunks, "")
			sum := sha256.Sum256([]byte(whole))
			switch {
			case len(chunks) != total || total == 0:
				fail(fmt.Errorf("%s: %d of %d chunks on the console", tag, len(chunks), total))
			case hex.EncodeToString(sum[:]) != strings.TrimSpace(body):
				fail(fmt.Errorf("%s: checksum mismatch (console output interleaved?)", tag))
			default:
				found = []byte(whole)
				chunks, total = nil, 0
			}
			continue
		}
		is, ns, ok := strings.Cut(head, "/")
		idx, err1 := strconv.Atoi(is)
		n, err2 := strconv.Atoi(ns)
		if ok && err1 == nil && err2 == nil && idx == 1 && n > 0 {
			// Chunk 1 starts a set, also after one that broke off.
			if len(chunks) > 0 {
				fail(fmt.Errorf("%s: %d of %d chunks before the next set", tag, len(chunks), total))
			}
			chunks, total = []string{body}, n
			continue
		}
		if !ok || err1 != nil || err2 != nil || idx != len(chunks)+1 || n != total {
			fail(fmt.Errorf("%s: malformed or out-of-order chunk line %q", tag, line))
			continue
		}
		chunks = append(chunks, body)
	}
	if err := sc.Err(); err != nil { // a later set may be past the line it stopped at
		return nil, fmt.Errorf("%s: console line %d: %w", tag, lines+1, err)
	}
	if found != nil {
		return found, nil
	}
	if broken != nil {
		return nil, broken
	}
	return nil, fmt.Errorf("no complete %s JSON on the console", tag)
}

func cmdNames(args []string) error {
	if len(args) != 1 {
		return errors.New("names wants expected.json")
	}
	e, err := e2eexpect.Read(args[0])
	if err != nil {
		return err
	}
	for _, s := range e.Sessions {
		fmt.Println(s.Name)
	}
	return nil
}
