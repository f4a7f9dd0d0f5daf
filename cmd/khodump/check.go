package main

import (
	"fmt"
	"io"

	"github.com/khokit/khokit/kho"
	"github.com/spf13/pflag"
)

var cmdCheck = &command{
	name:     "check",
	synopsis: "check [flags] SOURCE",
	summary:  "print the findings only; exit 0 when none has error severity, 1 when one has, 2 on usage or I/O errors",
	examples: []string{
		"khodump check vmcore.elf",
		"khodump check --kernel 7.3 vmcore.elf      # what Linux 7.3 does with this handover",
		"khodump check -o json copy-of-kho-debugfs/",
		"khodump check --as luo-flb flb-page.bin",
	},
	flags: func(fs *pflag.FlagSet, o *options) {
		outputFlag(fs, o, "text", "json")
		fs.StringVar(&o.kernel, "kernel", "", "judge against this kernel release (e.g. 7.3): its impacts only, its FLB retrieve model, and harmful impacts fail the check")
		sourceFlags(fs, o)
	},
	run: runCheck,
}

func runCheck(o *options, args []string, stdout, stderr io.Writer) int {
	path, err := oneSource(args)
	if err != nil {
		errorLine(stderr, "check: "+err.Error())
		return exitUsage
	}
	var kernel *kernelFilter
	if o.kernel != "" {
		if kernel, err = parseKernel(o.kernel); err != nil {
			errorLine(stderr, "check: "+err.Error())
			return exitUsage
		}
	}
	if o.as != "" {
		return runBlob(o, path, true, stdout, stderr)
	}
	l, err := load(path, o, forReport)
	defer l.close()
	if err != nil {
		return exitFor(stderr, err)
	}
	if l.plain != nil {
		errorLine(stderr, path+": an FDT, but not a KHO root (its compatible is not kho-v*); 'khodump show' prints it")
		return exitMalformed
	}
	if kernel != nil {
		for _, d := range l.handovers {
			d.h.Findings = append(d.h.Findings, kernel.flbFindings(l, d, o.effectivePageSize())...)
		}
	}
	fs := l.allFindings()
	if o.output == "json" {
		err = writeJSON(stdout, l.report(kernel))
	} else {
		err = writeFindingsText(stdout, fs, kernel)
	}
	return written(stderr, err, verdict(fs, kernel))
}

// verdict is check's exit status: 1 when a finding has error severity, or,
// with --kernel, an impact harmful to that release.
func verdict(fs []kho.Finding, kernel *kernelFilter) int {
	for _, f := range fs {
		if f.Severity == kho.Error {
			return exitMalformed
		}
		if kernel != nil {
			for _, im := range kernel.impacts(f) {
				if harmful(im.Effect) {
					return exitMalformed
				}
			}
		}
	}
	return exitOK
}

func writeFindingsText(w io.Writer, fs []kho.Finding, kernel *kernelFilter) error {
	t := &textWriter{w: w}
	counts := map[kho.Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
		t.finding(f, kernel)
	}
	summary := fmt.Sprintf("%d errors, %d warnings, %d notes", counts[kho.Error], counts[kho.Warning], counts[kho.Info])
	if kernel != nil {
		harm := 0
		for _, f := range fs {
			for _, im := range kernel.impacts(f) {
				if harmful(im.Effect) {
					harm++
				}
			}
		}
		summary += fmt.Sprintf("; Linux %s: %d harmful impacts", kernel.release, harm)
	}
	t.line(0, "%s", summary)
	return t.err
}
