package main

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/khokit/khokit/kho"
)

// kernelFilter is check --kernel: one release, against which findings'
// impacts are selected and the FLB pages are replayed.
type kernelFilter struct {
	release      string // as given, e.g. "7.3.4"
	major, minor int
}

var releaseRE = regexp.MustCompile(`^(\d+)\.(\d+)(\.\d+)?([-+~].*)?$`)

// parseKernel accepts "7.3", "7.3.4" or "7.3.4-1-amd64".
func parseKernel(s string) (*kernelFilter, error) {
	m := releaseRE.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("--kernel %q: want a release such as 7.3 or 7.3.4", s)
	}
	maj, _ := strconv.Atoi(m[1])
	mnr, _ := strconv.Atoi(m[2])
	return &kernelFilter{release: s, major: maj, minor: mnr}, nil
}

func (k *kernelFilter) short() string { return fmt.Sprintf("%d.%d", k.major, k.minor) }

var rangeRE = regexp.MustCompile(`(\d+)\.(\d+)(?:-(\d+)\.(\d+))?`)

// covers reports whether an Impact's Releases ("7.2-7.3", "x86
// (6.16-7.3)", "7.3") includes k.
func (k *kernelFilter) covers(releases string) bool {
	m := rangeRE.FindStringSubmatch(releases)
	if m == nil {
		return false
	}
	num := func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x*1000 + y }
	lo := num(m[1], m[2])
	hi := lo
	if m[3] != "" {
		hi = num(m[3], m[4])
	}
	v := k.major*1000 + k.minor
	return lo <= v && v <= hi
}

// impacts returns f's impacts, only those covering the release when k is
// set.
func (k *kernelFilter) impacts(f kho.Finding) []kho.Impact {
	if k == nil {
		return f.Kernel
	}
	var out []kho.Impact
	for _, im := range f.Kernel {
		if k.covers(im.Releases) {
			out = append(out, im)
		}
	}
	return out
}

// harmful reports whether an effect hurts the kernel (more than ignoring
// or cleanly refusing the input).
func harmful(e kho.Effect) bool {
	switch e {
	case kho.EffectNone, kho.EffectIgnored, kho.EffectRejected:
		return false
	}
	return true
}

// flbFindings replays every FLB of the handover through the release's
// mainline FLB retrieve model and reports what it does, one finding per
// FLB with impacts. Releases without a model give one info finding.
func (k *kernelFilter) flbFindings(l *loaded, d *decoded, pageSize uint64) []kho.Finding {
	if d.h.LUO == nil || d.h.LUO.FLBsAddr == 0 || l.mem == nil {
		return nil
	}
	model, err := kho.Mainline(k.short())
	if err != nil {
		return []kho.Finding{{Severity: kho.Info, Code: "khodump.flb-no-model", Path: "/LUO/flbs", Addr: d.h.LUO.FLBsAddr,
			Message: fmt.Sprintf("no FLB retrieve model for %s (models: 7.0-7.3); FLBs judged by the findings only", k.release)}}
	}
	type probe struct {
		name, path string
	}
	var probes []probe
	for i, f := range d.h.LUO.FLBs {
		probes = append(probes, probe{f.Name, fmt.Sprintf("/LUO/flbs[%d]", i)})
	}
	if len(probes) == 0 {
		// The page gave no usable entries: replay a lookup anyway, as a
		// file handler asking for its FLB would.
		probes = append(probes, probe{"khodump-probe", "/LUO/flbs"})
	}
	var out []kho.Finding
	for _, p := range probes {
		r, _ := kho.RetrieveFLB(l.mem, d.h.LUO.FLBsAddr, p.name, model, &kho.FLBOptions{PageSize: pageSize})
		sev := kho.Info
		msg := fmt.Sprintf("Linux %s retrieve of %q returns %v", model, p.name, r.Err)
		if r.Found {
			msg = fmt.Sprintf("Linux %s retrieve of %q finds entry %d: data %#x, count %d loaded as refcount %d", model, p.name, r.Index, r.Data, r.Count, r.Refcount)
		}
		msg += fmt.Sprintf(" (%d entries read", r.EntriesRead)
		if r.PastPage {
			msg += ", past the FLB page"
		}
		msg += ")"
		for _, im := range r.Impacts {
			if harmful(im.Effect) {
				sev = kho.Warning
			}
		}
		out = append(out, kho.Finding{Severity: sev, Code: "khodump.flb-model", Path: p.path,
			Addr: d.h.LUO.FLBsAddr, Message: msg, Kernel: r.Impacts})
	}
	return out
}
