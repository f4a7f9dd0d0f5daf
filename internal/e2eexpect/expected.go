package e2eexpect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Format is the value of Expected.Format this package reads and writes.
const Format = "khokit-e2e-expected/1"

// SetupTypeKexecKHO is the x86 setup_data type of the entry that carries
// struct kho_data (SETUP_KEXEC_KHO).
const SetupTypeKexecKHO = 10

// ErrFormat is wrapped by Read when a file is not a Format results file.
var ErrFormat = errors.New("not a " + Format + " file")

// Expected is expected.json. The guest fills Format, Seed, FilesTotal,
// Sessions, FLBs and Stage1Log before the kexec; e2etool adds Kernel,
// Handover, Images and Stage2Log. The parts left zero are omitted, so the
// guest's stage-1 JSON holds only its own fields.
type Expected struct {
	Format   string   `json:"format"`
	Kernel   Kernel   `json:"kernel,omitzero"`
	Handover Handover `json:"handover,omitzero"`
	// Seed seeds the deterministic memfd contents (e2e/guest/scenario.json).
	Seed       uint64    `json:"seed"`
	FilesTotal int       `json:"files_total"`
	Sessions   []Session `json:"sessions"` // in creation order = serialization order
	FLBs       []FLB     `json:"flbs"`     // sorted by name
	// Images are the dumps next to expected.json by kind ("at-kexec",
	// "post-kexec").
	Images map[string]Image `json:"images,omitzero"`
	// Stage1Log and Stage2Log are the kernel log lines about KHO, LUO and
	// FLBs before and after the kexec, without their "<level>" prefix.
	Stage1Log []string `json:"stage1_log,omitzero"`
	Stage2Log []string `json:"stage2_log,omitzero"`
}

// Kernel identifies the kernel that ran both stages.
type Kernel struct {
	SourcePackage string `json:"source_package"` // e.g. "linux-source-7.3"
	SourceVersion string `json:"source_version"` // the Debian package version
	Release       string `json:"release"`        // /proc/sys/kernel/osrelease in stage 2
	// Compat maps the kernel's ABI compat macros to their strings
	// ("KHO_FDT_COMPATIBLE": "kho-v4", ...).
	Compat map[string]string `json:"compat"`
}

// Handover is what the kernel after the kexec logged and was handed.
type Handover struct {
	LiveupdateNumber uint64 `json:"liveupdate_number"`
	KexecCount       uint32 `json:"kexec_count"`
	PreviousRelease  string `json:"previous_release"`
	// FLBsFound names the FLBs whose "found flb data" line the new kernel logged.
	FLBsFound []string `json:"flbs_found"`
	// RootFDTPhys is the incoming KHO root as a "0x..." string, from the
	// SETUP_KEXEC_KHO setup_data entry the new kernel got: the answer a
	// scan must find.
	RootFDTPhys string     `json:"root_fdt_phys,omitempty"`
	SetupData   *SetupData `json:"setup_data,omitempty"`
}

// SetupData is the boot_params setup_data chain of the kernel after the
// kexec, as /sys/kernel/boot_params shows it.
type SetupData struct {
	// FirstPhys is boot_params.hdr.setup_data, the physical address of the
	// first entry, as a "0x..." string.
	FirstPhys string       `json:"first_phys"`
	Entries   []SetupEntry `json:"entries"`
}

// SetupEntry is one setup_data entry.
type SetupEntry struct {
	Index int    `json:"index"` // the sysfs directory name
	Type  uint32 `json:"type"`
	Len   int    `json:"len"`
	// KHO is the decoded struct kho_data of a SetupTypeKexecKHO entry.
	KHO *KHOData `json:"kho,omitempty"`
}

// KHOData is struct kho_data (x86 setup_data), addresses as "0x..." strings.
type KHOData struct {
	FDTAddr     string `json:"fdt_addr"`
	FDTSize     uint64 `json:"fdt_size"`
	ScratchAddr string `json:"scratch_addr"`
	ScratchSize uint64 `json:"scratch_size"`
}

// Session is one LUO session the guest preserved.
type Session struct {
	Name  string `json:"name"`
	Files []File `json:"files"` // in preservation order
}

// File is one preserved memfd. Token is written as a JSON number (decode
// it into a uint64, not a float64) and as a "0x..." string (TokenHex).
type File struct {
	Token      uint64 `json:"token"`
	TokenHex   string `json:"token_hex"`
	Compatible string `json:"compatible"` // the file handler's, "memfd-v2"
	MemfdName  string `json:"memfd_name"`
	Size       uint64 `json:"size"`
	// Seals is F_GET_SEALS after sealing, as the kernel preserves it.
	Seals  uint32 `json:"seals"`
	SHA256 string `json:"sha256"` // of the whole contents, hex
}

// FLB is one file-lifecycle-bound object and how many files depend on it.
type FLB struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
}

// Image names the two dumps of one moment, relative to expected.json.
type Image struct {
	ELF   string `json:"elf"`
	Kdump string `json:"kdump"`
	When  string `json:"when"`
}

// Stage2 is what the guest prints after the kexec; e2etool folds it into
// Expected.Handover, Kernel.Release and Stage2Log. The counts are nil when
// the kernel log lacks the handover lines.
type Stage2 struct {
	LiveupdateNumber *uint64    `json:"liveupdate_number"`
	KexecCount       *uint32    `json:"kexec_count"`
	PreviousRelease  string     `json:"previous_release"`
	FLBsFound        []string   `json:"flbs_found"`
	Release          string     `json:"release"`
	SetupData        *SetupData `json:"setup_data,omitempty"`
	Stage2Log        []string   `json:"stage2_log"`
}

// Retrieved is what the guest prints in verify mode after the kexec: what
// it got back through /dev/liveupdate. e2etool compares its sessions with
// the ones the same boot preserved (Expected.Sessions).
type Retrieved struct {
	Sessions []RetrievedSession `json:"sessions"`
	// Problems are the guest's own failures: an ioctl that failed, a size
	// or contents other than the scenario's.
	Problems []string `json:"problems"`
}

// RetrievedSession is one session retrieved after the kexec.
type RetrievedSession struct {
	Name  string          `json:"name"`
	Files []RetrievedFile `json:"files"` // in the scenario's order
}

// RetrievedFile is the part of a File a retrieved memfd can be checked on.
type RetrievedFile struct {
	Token  uint64 `json:"token"`
	Size   uint64 `json:"size"`
	Seals  uint32 `json:"seals"`
	SHA256 string `json:"sha256"`
}

// Read reads and parses the expected.json at path. A missing file is an
// error wrapping fs.ErrNotExist, so callers can skip on it; a field this
// package does not define or another Format is an error.
func Read(path string) (*Expected, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var e Expected
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("e2eexpect: %s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF { // More misses a stray ']' or '}'
		return nil, fmt.Errorf("e2eexpect: %s: data after the JSON object", path)
	}
	if e.Format != Format {
		return nil, fmt.Errorf("e2eexpect: %s: format %q: %w", path, e.Format, ErrFormat)
	}
	return &e, nil
}

// Write writes e to path as indented JSON, the way the harness leaves it
// next to the dumps.
func Write(path string, e *Expected) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
