//go:build linux

package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/khokit/khokit/internal/e2eexpect"
)

// scenario is the JSON the guest reads: which sessions and memfds to create.
type scenario struct {
	Seed         uint64        `json:"seed"`
	Sessions     []sessionSpec `json:"sessions"`
	MoreSessions *moreSessions `json:"more_sessions,omitempty"`
	Comment      string        `json:"comment,omitempty"`
}

type sessionSpec struct {
	Name      string     `json:"name"`
	Files     []fileSpec `json:"files"`
	MoreFiles *moreFiles `json:"more_files,omitempty"`
}

type fileSpec struct {
	Token        uint64   `json:"token"`
	Size         int64    `json:"size"`
	Seals        []string `json:"seals,omitempty"`
	AllowSealing *bool    `json:"allow_sealing,omitempty"`
}

// moreFiles appends Count files with tokens TokenBase+i and sizes Size+i*SizeStep.
type moreFiles struct {
	Count     int    `json:"count"`
	TokenBase uint64 `json:"token_base"`
	Size      int64  `json:"size"`
	SizeStep  int64  `json:"size_step"`
}

// moreSessions appends Count sessions named NamePrefix+"%03d", each with Files files.
type moreSessions struct {
	Count      int    `json:"count"`
	NamePrefix string `json:"name_prefix"`
	Files      int    `json:"files"`
	TokenBase  uint64 `json:"token_base"`
	Size       int64  `json:"size"`
}

// Seal bits (include/uapi/linux/fcntl.h).
var sealBits = map[string]int{
	"seal":         0x1,
	"shrink":       0x2,
	"grow":         0x4,
	"write":        0x8,
	"future_write": 0x10,
	"exec":         0x20,
}

// plannedFile is one memfd after expansion.
type plannedFile struct {
	Token        uint64
	Size         int64
	Seals        int // seals to add with F_ADD_SEALS
	AllowSealing bool
}

type plannedSession struct {
	Name  string
	Files []plannedFile
}

const (
	maxSessionName = 63       // LIVEUPDATE_SESSION_NAME_LENGTH - 1
	maxFileSize    = 64 << 20 // keep the guest small
	maxCount       = 4096
)

func parseScenario(b []byte) (*scenario, error) {
	var s scenario
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return &s, nil
}

// plan expands the scenario into concrete sessions and files and checks it.
func (s *scenario) plan() ([]plannedSession, error) {
	var out []plannedSession
	for _, ss := range s.Sessions {
		ps := plannedSession{Name: ss.Name}
		for _, f := range ss.Files {
			pf := plannedFile{Token: f.Token, Size: f.Size, AllowSealing: true}
			if f.AllowSealing != nil {
				pf.AllowSealing = *f.AllowSealing
			}
			for _, name := range f.Seals {
				bit, ok := sealBits[name]
				if !ok {
					return nil, fmt.Errorf("session %q token %d: unknown seal %q", ss.Name, f.Token, name)
				}
				pf.Seals |= bit
			}
			if pf.Seals != 0 && !pf.AllowSealing {
				return nil, fmt.Errorf("session %q token %d: seals need allow_sealing", ss.Name, f.Token)
			}
			ps.Files = append(ps.Files, pf)
		}
		if m := ss.MoreFiles; m != nil {
			if m.Count < 0 || m.Count > maxCount {
				return nil, fmt.Errorf("session %q: more_files.count %d out of range", ss.Name, m.Count)
			}
			for i := 0; i < m.Count; i++ {
				ps.Files = append(ps.Files, plannedFile{
					Token: m.TokenBase + uint64(i), Size: m.Size + int64(i)*m.SizeStep, AllowSealing: true,
				})
			}
		}
		out = append(out, ps)
	}
	if m := s.MoreSessions; m != nil {
		if m.Count < 0 || m.Count > maxCount || m.Files < 0 || m.Files > maxCount {
			return nil, fmt.Errorf("more_sessions: count %d / files %d out of range", m.Count, m.Files)
		}
		for i := 0; i < m.Count; i++ {
			ps := plannedSession{Name: fmt.Sprintf("%s%03d", m.NamePrefix, i)}
			for j := 0; j < m.Files; j++ {
				ps.Files = append(ps.Files, plannedFile{
					Token: m.TokenBase + uint64(i*m.Files+j), Size: m.Size + int64(i), AllowSealing: true,
				})
			}
			out = append(out, ps)
		}
	}
	names := map[string]bool{}
	for _, ps := range out {
		if len(ps.Name) == 0 || len(ps.Name) > maxSessionName || strings.IndexByte(ps.Name, 0) >= 0 {
			return nil, fmt.Errorf("session name %q: must be 1..%d bytes without NUL", ps.Name, maxSessionName)
		}
		if names[ps.Name] {
			return nil, fmt.Errorf("duplicate session name %q", ps.Name)
		}
		names[ps.Name] = true
		tokens := map[uint64]bool{}
		for _, f := range ps.Files {
			if tokens[f.Token] {
				return nil, fmt.Errorf("session %q: duplicate token %d", ps.Name, f.Token)
			}
			tokens[f.Token] = true
			if f.Size < 0 || f.Size > maxFileSize {
				return nil, fmt.Errorf("session %q token %d: size %d out of range", ps.Name, f.Token, f.Size)
			}
		}
	}
	return out, nil
}

// contents returns the deterministic bytes of a memfd: SHA-256 in counter mode
// over (seed, session name, token, block index).
func contents(seed uint64, session string, token uint64, size int64) []byte {
	out := make([]byte, 0, size)
	var hdr [24]byte
	binary.LittleEndian.PutUint64(hdr[0:], seed)
	binary.LittleEndian.PutUint64(hdr[8:], token)
	for i := uint64(0); int64(len(out)) < size; i++ {
		binary.LittleEndian.PutUint64(hdr[16:], i)
		h := sha256.New()
		h.Write(hdr[:])
		h.Write([]byte(session))
		out = h.Sum(out)
	}
	return out[:size]
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sortedFLBs lists the FLBs by name, each with count dependent files: every
// memfd, as the test FLBs are registered with the memfd handler.
func sortedFLBs(names map[string]bool, count int) []e2eexpect.FLB {
	var out []e2eexpect.FLB
	for n := range names {
		out = append(out, e2eexpect.FLB{Name: n, Count: uint64(count)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
