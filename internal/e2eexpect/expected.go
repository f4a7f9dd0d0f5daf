package e2eexpect

import (
	"encoding/json"
	"fmt"
	"os"
)

// Expected is the part of expected.json the tests check against.
type Expected struct {
	Handover   Handover  `json:"handover"`
	FilesTotal int       `json:"files_total"`
	Sessions   []Session `json:"sessions"`
	FLBs       []FLB     `json:"flbs"`
}

// Handover is what the kernel after the kexec logged about the handover.
type Handover struct {
	LiveupdateNumber uint64 `json:"liveupdate_number"`
	KexecCount       uint32 `json:"kexec_count"`
	PreviousRelease  string `json:"previous_release"`
	// RootFDTPhys is the incoming KHO root, as a "0x..." string.
	RootFDTPhys string `json:"root_fdt_phys"`
}

// Session is one LUO session the guest preserved.
type Session struct {
	Name  string `json:"name"`
	Files []File `json:"files"`
}

// File is one preserved file. The guest writes its token both as a JSON
// number (Token) and as a "0x..." string (TokenHex).
type File struct {
	Token      uint64 `json:"token"`
	TokenHex   string `json:"token_hex"`
	Compatible string `json:"compatible"`
	Size       uint64 `json:"size"`
	Seals      uint32 `json:"seals"`
	SHA256     string `json:"sha256"`
}

// FLB is one file-lifecycle-bound object and how many files hold it.
type FLB struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
}

// Read reads and parses the expected.json at path. A missing file is an
// error wrapping fs.ErrNotExist, so callers can skip on it.
func Read(path string) (*Expected, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var e Expected
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("e2eexpect: %s: %w", path, err)
	}
	return &e, nil
}
