package campaign

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteSummary prints one line per target (time, executions and speed,
// new corpus entries, status), then every crash with the command that
// reproduces it, then the "N passed, N failed" line CI reads.
func (c *Campaign) WriteSummary(w io.Writer, fuzzed bool) {
	results := c.sortedResults()
	if len(results) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		if fuzzed {
			fmt.Fprintln(tw, "target\ttime\texecs\texecs/s\tnew\tcorpus\tstatus")
		} else {
			fmt.Fprintln(tw, "target\ttime\tcorpus\tstatus")
		}
		for _, r := range results {
			status := r.Status.String()
			if r.Uninstrumented {
				status += " (no coverage guidance)"
			}
			if r.DeadlineRaces > 0 {
				status += fmt.Sprintf(" (%d× fuzztime race ignored)", r.DeadlineRaces)
			}
			if r.Status == Passed && r.Detail != "" {
				status += ": " + r.Detail
			}
			if fuzzed {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%d\t%d\t%s\n", r.Target.ID(), r.FuzzTime.Round(time.Second), r.Execs, r.ExecsPerSec(), r.NewInteresting, r.Corpus, status)
			} else {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Target.ID(), r.FuzzTime.Round(100*time.Millisecond), r.Corpus, status)
			}
		}
		tw.Flush()
	}
	buildReported := map[string]bool{}
	for _, r := range results {
		for _, cr := range r.Crashes {
			confirmed := ""
			if !cr.Confirmed {
				confirmed = " (did not fail when replayed alone)"
			}
			dups := ""
			switch {
			case cr.Duplicates == 1:
				dups = " (1 duplicate deleted)"
			case cr.Duplicates > 1:
				dups = fmt.Sprintf(" (%d duplicates deleted)", cr.Duplicates)
			}
			fmt.Fprintf(w, "\n%s crashed%s%s: %s\n  %s\n  %s\n", r.Target.ID(), confirmed, dups, cr.Signature, cr.File, cr.Command)
		}
		switch {
		case r.Status == BuildFailed && !buildReported[r.Target.ImportPath]:
			buildReported[r.Target.ImportPath] = true
			fmt.Fprintf(w, "\n%s: %s\n%s\n", r.Target.Rel, r.Status, indent(r.Detail))
		case r.Status == Errored:
			fmt.Fprintf(w, "\n%s: %s\n%s\n", r.Target.ID(), r.Status, indent(r.Detail))
		}
	}
	passed, failed := c.Counts()
	fmt.Fprintf(w, "\n%d passed, %d failed\n", passed, failed)
}
