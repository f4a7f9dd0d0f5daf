package main

import (
	"fmt"
	"io"

	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/image"
	"github.com/spf13/pflag"
)

var cmdScan = &command{
	name:     "scan",
	synopsis: "scan [flags] SOURCE",
	summary:  "list every KHO root candidate in a memory image with its role (incoming, outgoing, copy, unknown) and why",
	examples: []string{
		"khodump scan vmcore.elf",
		"khodump scan -v --no-progress dump.kdump   # with the evidence for each role",
		"khodump scan -o json dump.flat",
	},
	flags: func(fs *pflag.FlagSet, o *options) {
		outputFlag(fs, o, "text", "json")
		sourceFlags(fs, o)
		// Parsed so that "khodump --lenient scan F" finds the command and
		// says why, but not offered: scan decodes no handover.
		for _, name := range decodeOnlyFlags {
			_ = fs.MarkHidden(name)
		}
	},
	run: runScan,
}

// The JSON document of scan -o json (docs/json.md).
type jsonScanDoc struct {
	Source     jsonSource      `json:"source"`
	Candidates []jsonCandidate `json:"candidates"`
	Findings   []jsonFinding   `json:"findings"`
}

type jsonCandidate struct {
	Address    hexU64   `json:"address"`
	Role       string   `json:"role"`
	Compatible string   `json:"compatible"`
	Size       uint64   `json:"size"`
	Reason     string   `json:"reason"`
	Evidence   []string `json:"evidence"`
	KexecCount *int64   `json:"kexec_count"`
	Handoff    *hexU64  `json:"handoff"`
}

// decodeOnlyFlags are the source flags that only change how a handover is
// decoded. scan locates roots (kho.Locate takes neither) and decodes no
// handover, so it refuses them rather than ignore them.
var decodeOnlyFlags = []string{"lenient", "kho-v1-bitmap"}

func runScan(o *options, args []string, stdout, stderr io.Writer) int {
	for _, name := range decodeOnlyFlags {
		if o.changed(name) {
			errorLine(stderr, "scan: --"+name+" changes how a handover is decoded, and scan decodes none (it lists root candidates); use it with show, check, extract or carve")
			return exitUsage
		}
	}
	path, err := oneSource(args)
	if err != nil {
		errorLine(stderr, "scan: "+err.Error())
		return exitUsage
	}
	if o.as != "" {
		errorLine(stderr, "scan: --as decodes one blob; scan reads memory images")
		return exitUsage
	}
	im, err := openImage(path, o)
	if err != nil {
		return exitFor(stderr, err)
	}
	defer im.Close()
	if im.Memory == nil || im.Format == image.FormatDebugfs {
		errorLine(stderr, fmt.Sprintf("scan: %s is a %v source: it holds one root and no memory to search; use 'khodump show'", path, im.Format))
		return exitUsage
	}
	lo := &kho.LocateOptions{Root: o.root.v, PageSize: o.pageSize, Progress: newProgress(o, im.Memory)}
	if o.root.set {
		lo.Scan = kho.ScanAlways // scan lists everything, the given root among it
	}
	cands, fs, err := kho.Locate(im.Memory, lo)
	if lo.Progress != nil {
		lo.Progress(^uint64(0), 0)
	}
	if err != nil {
		errorLine(stderr, fmt.Sprintf("%s: %v", path, err))
		return exitMalformed
	}
	fs = append(imageFindings(im.AllFindings()), fs...) // after Locate: a kdump reader adds some as it lists its ranges
	if o.output == "json" {
		doc := jsonScanDoc{Source: jsonSource{Path: path, Format: im.Format.String()}, Candidates: []jsonCandidate{}, Findings: jsonFindings(fs, nil)}
		for _, c := range cands {
			jc := jsonCandidate{Address: hexU64(c.Addr), Role: c.Role.String(), Compatible: c.Compatible, Size: c.Size, Reason: c.Reason, Evidence: append([]string{}, c.Evidence...)}
			if c.KexecCount >= 0 {
				n := c.KexecCount
				jc.KexecCount = &n
			}
			if c.Handoff != nil {
				jc.Handoff = hexPtr(c.Handoff.Node)
			}
			doc.Candidates = append(doc.Candidates, jc)
		}
		err = writeJSON(stdout, doc)
	} else {
		t := &textWriter{w: stdout}
		t.line(0, "%d KHO root candidates in %s (%s of memory)", len(cands), path, human(presentBytes(im.Memory)))
		for _, c := range cands {
			kc := ""
			if c.KexecCount >= 0 {
				kc = fmt.Sprintf(", kexec count %d", c.KexecCount)
			}
			t.line(0, "%#x  %-8s  %q, %s%s", c.Addr, c.Role, c.Compatible, size(c.Size), kc)
			t.line(1, "why: %s", c.Reason)
			if o.verbose {
				for _, e := range c.Evidence {
					t.line(2, "%s", e)
				}
			}
		}
		if in, ok := kho.Incoming(cands); ok {
			t.line(0, "incoming handover: %#x", in.Addr)
		} else {
			t.line(0, "no incoming handover: no root is named by a boot handoff and no single unknown root stands out")
		}
		for _, f := range fs {
			t.finding(f, nil)
		}
		err = t.err
	}
	return written(stderr, err, exitOK)
}
