//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SetupData describes the boot_params setup_data chain of the running kernel
// (/sys/kernel/boot_params): where the chain starts and each entry's type.
type SetupData struct {
	// FirstPhys is boot_params.hdr.setup_data, the physical address of the first entry.
	FirstPhys string       `json:"first_phys"`
	Entries   []SetupEntry `json:"entries"`
}

type SetupEntry struct {
	Index int    `json:"index"`
	Type  uint32 `json:"type"`
	Len   int    `json:"len"`
	// KHO is the decoded struct kho_data of a SETUP_KEXEC_KHO (10) entry.
	KHO *KHOData `json:"kho,omitempty"`
}

// KHOData is struct kho_data (arch/x86/include/uapi/asm/setup_data.h), addresses in hex.
type KHOData struct {
	FDTAddr     string `json:"fdt_addr"`
	FDTSize     uint64 `json:"fdt_size"`
	ScratchAddr string `json:"scratch_addr"`
	ScratchSize uint64 `json:"scratch_size"`
}

const (
	setupKexecKHO     = 10
	bootParamsSetupAt = 0x250 // offsetof(struct boot_params, hdr.setup_data)
)

func hex64(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

func readSetupData() (*SetupData, error) {
	const dir = "/sys/kernel/boot_params"
	bp, err := os.ReadFile(filepath.Join(dir, "data"))
	if err != nil {
		return nil, err
	}
	if len(bp) < bootParamsSetupAt+8 {
		return nil, fmt.Errorf("%s/data: %d bytes, too short", dir, len(bp))
	}
	sd := &SetupData{FirstPhys: hex64(binary.LittleEndian.Uint64(bp[bootParamsSetupAt:])), Entries: []SetupEntry{}}
	ents, err := os.ReadDir(filepath.Join(dir, "setup_data"))
	if err != nil {
		return sd, nil // no setup_data directory: an empty chain
	}
	for _, e := range ents {
		idx, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p := filepath.Join(dir, "setup_data", e.Name())
		ts, err := os.ReadFile(filepath.Join(p, "type"))
		if err != nil {
			return nil, err
		}
		typ, err := strconv.ParseUint(strings.TrimSpace(string(ts)), 0, 32)
		if err != nil {
			return nil, fmt.Errorf("%s/type: %q: %w", p, ts, err)
		}
		data, err := os.ReadFile(filepath.Join(p, "data"))
		if err != nil {
			return nil, err
		}
		se := SetupEntry{Index: idx, Type: uint32(typ), Len: len(data)}
		if typ == setupKexecKHO && len(data) >= 32 {
			le := binary.LittleEndian
			se.KHO = &KHOData{
				FDTAddr: hex64(le.Uint64(data)), FDTSize: le.Uint64(data[8:]),
				ScratchAddr: hex64(le.Uint64(data[16:])), ScratchSize: le.Uint64(data[24:]),
			}
		}
		sd.Entries = append(sd.Entries, se)
	}
	return sd, nil
}
