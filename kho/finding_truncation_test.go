package kho

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFindingTruncation checks the per-code cap and the truncation summary
// the decoder and recovery share (countFinding, appendTruncation): at most
// MaxFindingsPerCode findings of a code are listed, then one Info
// summary per code over the cap, in code order, at "" for the decoder and
// at recoveryPath for recovery.
func TestFindingTruncation(t *testing.T) {
	// Codes added out of order, each a number of times; the cap is 2.
	adds := []struct {
		code string
		n    int
	}{{"vmalloc.shared", 5}, {"memfd.folio-index-range", 2}, {"memfd.folio-flags-unknown", 3}}
	listed := func(path string) []Finding {
		var out []Finding
		for _, a := range adds {
			info := codeInfo(a.code)
			for i := 0; i < min(a.n, 2); i++ {
				out = append(out, Finding{Severity: info.Severity, Code: a.code, Path: path, Message: "m", Kernel: info.Kernel})
			}
		}
		return out
	}
	summary := func(path string) []Finding {
		return []Finding{
			{Severity: Info, Code: "decode.findings-truncated", Path: path, Message: "1 more memfd.folio-flags-unknown findings not listed"},
			{Severity: Info, Code: "decode.findings-truncated", Path: path, Message: "3 more vmalloc.shared findings not listed"},
		}
	}
	opts := &Options{MaxFindingsPerCode: 2}

	d, err := newDecoder(nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range adds {
		for i := 0; i < a.n; i++ {
			d.add(a.code, "", "/p", 0, "m")
		}
	}
	d.finish()
	if diff := cmp.Diff(append(listed("/p"), summary("")...), d.h.Findings); diff != "" {
		t.Errorf("decoder findings (-want +got):\n%s", diff)
	}
	if d.totalDropped != 4 {
		t.Errorf("decoder dropped %d findings, want 4", d.totalDropped)
	}

	rc := &recoverer{opts: d.opts, h: &Handover{}}
	for _, a := range adds {
		for i := 0; i < a.n; i++ {
			rc.add(a.code, "/p", 0, "m")
		}
	}
	rc.truncation()
	if diff := cmp.Diff(append(listed("/p"), summary(recoveryPath)...), rc.h.Findings); diff != "" {
		t.Errorf("recovery findings (-want +got):\n%s", diff)
	}

	// Under the cap: no summary.
	d, err = newDecoder(nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	d.add("vmalloc.shared", "", "/p", 0, "m")
	d.add("vmalloc.shared", "", "/p", 0, "m")
	d.finish()
	if got := len(d.h.Findings); got != 2 {
		t.Errorf("two findings under a cap of 2 give %d findings, want 2", got)
	}
}
