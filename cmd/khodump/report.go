package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/khokit/khokit/kho"
)

// The JSON document of show -o json and check -o json, documented field by
// field in docs/json.md (a test holds the two together). Physical
// addresses and opaque u64 handles are "0x…" strings; counts and sizes are
// numbers; absent objects are null.

type jsonDoc struct {
	Source    jsonSource     `json:"source"`
	Handovers []jsonHandover `json:"handovers"`
	Findings  []jsonFinding  `json:"findings"`
}

type jsonSource struct {
	Path   string  `json:"path"`
	Format string  `json:"format"`
	Kernel *string `json:"kernel"` // check --kernel
}

type jsonHandover struct {
	Role          string             `json:"role"`
	Root          jsonRoot           `json:"root"`
	Subtrees      []jsonSubtree      `json:"subtrees"`
	LUO           *jsonLUO           `json:"luo"`
	KexecMetadata *jsonKexecMetadata `json:"kexec_metadata"`
}

type jsonRoot struct {
	Address    *hexU64       `json:"address"`
	Compatible string        `json:"compatible"`
	MemoryMap  jsonMemoryMap `json:"memory_map"`
}

type jsonMemoryMap struct {
	Address hexU64    `json:"address"`
	Kind    string    `json:"kind"`
	Blocks  uint64    `json:"blocks"`
	Bytes   uint64    `json:"bytes"`
	Runs    []jsonRun `json:"runs"`
}

type jsonRun struct {
	Address hexU64 `json:"address"`
	Order   uint8  `json:"order"`
	Count   uint64 `json:"count"`
}

type jsonSubtree struct {
	Name    string `json:"name"`
	Address hexU64 `json:"address"`
	Size    uint64 `json:"size"`
	Format  string `json:"format"`
}

type jsonLUO struct {
	Compatible       string        `json:"compatible"`
	LiveupdateNumber uint64        `json:"liveupdate_number"`
	Sessions         []jsonSession `json:"sessions"`
	FLBs             []jsonFLB     `json:"flbs"`
	Recovered        *jsonRecovery `json:"recovered"`
}

// jsonRecovery says the LUO state was found by its contents because the
// pointers to it were lost (an image taken after the kexec).
type jsonRecovery struct {
	Reason string   `json:"reason"`
	Lost   []string `json:"lost"`
}

type jsonSession struct {
	Name  string     `json:"name"`
	Files []jsonFile `json:"files"`
}

type jsonFile struct {
	Compatible string     `json:"compatible"`
	Token      hexU64     `json:"token"`
	Data       hexU64     `json:"data"`
	Memfd      *jsonMemfd `json:"memfd"`
}

type jsonMemfd struct {
	Size   uint64  `json:"size"`
	Pos    uint64  `json:"pos"`
	Seals  uint32  `json:"seals"`
	Folios int     `json:"folios"`
	SHA256 *string `json:"sha256"`
}

type jsonFLB struct {
	Name  string `json:"name"`
	Data  hexU64 `json:"data"`
	Count uint64 `json:"count"`
}

type jsonKexecMetadata struct {
	Version         uint32 `json:"version"`
	PreviousRelease string `json:"previous_release"`
	KexecCount      uint32 `json:"kexec_count"`
}

type jsonFinding struct {
	Severity     string       `json:"severity"`
	Code         string       `json:"code"`
	Path         string       `json:"path"`
	Address      *hexU64      `json:"address"`
	Message      string       `json:"message"`
	KernelImpact []jsonImpact `json:"kernel_impact"`
}

type jsonImpact struct {
	Releases string `json:"releases"`
	Effect   string `json:"effect"`
	Detail   string `json:"detail"`
}

// hexU64 marshals as a "0x…" string.
type hexU64 uint64

func (h hexU64) MarshalJSON() ([]byte, error) { return json.Marshal(fmt.Sprintf("%#x", uint64(h))) }

func (h *hexU64) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseNumber(s)
	*h = hexU64(v)
	return err
}

func hexPtr(v uint64) *hexU64 { h := hexU64(v); return &h }

// report builds the JSON document of l.
func (l *loaded) report(kernel *kernelFilter) jsonDoc {
	doc := jsonDoc{Source: jsonSource{Path: l.path, Format: l.im.Format.String()}, Handovers: []jsonHandover{}}
	if kernel != nil {
		doc.Source.Kernel = &kernel.release
	}
	for _, d := range l.handovers {
		doc.Handovers = append(doc.Handovers, d.report())
	}
	doc.Findings = jsonFindings(l.allFindings(), kernel)
	return doc
}

func jsonFindings(fs []kho.Finding, kernel *kernelFilter) []jsonFinding {
	out := []jsonFinding{}
	for _, f := range fs {
		jf := jsonFinding{Severity: f.Severity.String(), Code: f.Code, Path: f.Path, Message: f.Message, KernelImpact: []jsonImpact{}}
		if f.Addr != 0 {
			jf.Address = hexPtr(f.Addr)
		}
		for _, im := range kernel.impacts(f) {
			jf.KernelImpact = append(jf.KernelImpact, jsonImpact{im.Releases, im.Effect.String(), im.Detail})
		}
		out = append(out, jf)
	}
	return out
}

func (d *decoded) report() jsonHandover {
	h := d.h
	jh := jsonHandover{Role: d.role, Subtrees: []jsonSubtree{}}
	if d.cand != nil {
		jh.Root.Address = hexPtr(d.cand.Addr)
	}
	jh.Root.Compatible = h.Compatible
	mm := &jh.Root.MemoryMap
	mm.Address, mm.Kind, mm.Runs = hexU64(h.MemoryMap.Addr), h.MemoryMap.Kind.String(), []jsonRun{}
	mm.Blocks, mm.Bytes = h.MemoryMap.Totals()
	for _, r := range h.MemoryMap.Runs {
		mm.Runs = append(mm.Runs, jsonRun{hexU64(r.Addr), r.Order, uint64(r.Count)})
	}
	for _, b := range h.MemoryMap.Blocks {
		mm.Runs = append(mm.Runs, jsonRun{hexU64(b.Addr), b.Order, 1})
	}
	for _, s := range h.Subtrees {
		jh.Subtrees = append(jh.Subtrees, jsonSubtree{s.Name, hexU64(s.Addr), s.Size, s.Format})
	}
	if k := h.KexecMetadata; k != nil {
		jh.KexecMetadata = &jsonKexecMetadata{k.Version, k.PreviousRelease, k.KexecCount}
	}
	if l := h.LUO; l != nil {
		jl := &jsonLUO{Compatible: l.Compatible, LiveupdateNumber: l.LiveupdateNumber, Sessions: []jsonSession{}, FLBs: []jsonFLB{}}
		for si, s := range l.Sessions {
			js := jsonSession{Name: s.Name, Files: []jsonFile{}}
			for fi, f := range s.Files {
				jf := jsonFile{Compatible: f.Compatible, Token: hexU64(f.Token), Data: hexU64(f.Data)}
				if m := f.Memfd; m != nil {
					jf.Memfd = &jsonMemfd{Size: m.Size, Pos: m.Pos, Seals: m.Seals, Folios: len(m.Folios)}
					if sum, ok := d.sums[kho.FileID{Session: si, File: fi}]; ok && sum.err == nil {
						jf.Memfd.SHA256 = &sum.sha256
					}
				}
				js.Files = append(js.Files, jf)
			}
			jl.Sessions = append(jl.Sessions, js)
		}
		for _, f := range l.FLBs {
			jl.FLBs = append(jl.FLBs, jsonFLB{f.Name, hexU64(f.Data), f.Count})
		}
		if r := l.Recovered; r != nil {
			jl.Recovered = &jsonRecovery{Reason: r.Reason, Lost: append([]string{}, r.Lost...)}
		}
		jh.LUO = jl
	}
	return jh
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
