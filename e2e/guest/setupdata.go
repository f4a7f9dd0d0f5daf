//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/khokit/khokit/internal/e2eexpect"
)

const (
	bootParamsSetupAt = 0x250 // offsetof(struct boot_params, hdr.setup_data)
)

func hex64(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

// readSetupData reads the boot_params setup_data chain of the running kernel
// (/sys/kernel/boot_params): where the chain starts, each entry's type, and
// the struct kho_data of a SETUP_KEXEC_KHO entry, which holds the true
// address of the handover root.
func readSetupData() (*e2eexpect.SetupData, error) {
	const dir = "/sys/kernel/boot_params"
	bp, err := os.ReadFile(filepath.Join(dir, "data"))
	if err != nil {
		return nil, err
	}
	if len(bp) < bootParamsSetupAt+8 {
		return nil, fmt.Errorf("%s/data: %d bytes, too short", dir, len(bp))
	}
	sd := &e2eexpect.SetupData{FirstPhys: hex64(binary.LittleEndian.Uint64(bp[bootParamsSetupAt:])), Entries: []e2eexpect.SetupEntry{}}
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
		se := e2eexpect.SetupEntry{Index: idx, Type: uint32(typ), Len: len(data)}
		if typ == e2eexpect.SetupTypeKexecKHO && len(data) >= 32 {
			le := binary.LittleEndian
			se.KHO = &e2eexpect.KHOData{
				FDTAddr: hex64(le.Uint64(data)), FDTSize: le.Uint64(data[8:]),
				ScratchAddr: hex64(le.Uint64(data[16:])), ScratchSize: le.Uint64(data[24:]),
			}
		}
		sd.Entries = append(sd.Entries, se)
	}
	return sd, nil
}
