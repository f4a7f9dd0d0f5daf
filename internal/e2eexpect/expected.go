package e2eexpect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
)

// Format is the value of Expected.Format this package reads and writes.
const Format = "khokit-e2e-expected/1"

// SetupTypeKexecKHO is the x86 setup_data type of the entry that carries
// struct kho_data (SETUP_KEXEC_KHO).
const SetupTypeKexecKHO = 10

// ErrFormat is wrapped by every parse failure of Read, DecodeExpected,
// DecodeStage2 and DecodeRetrieved: malformed JSON, a field this package
// does not define, a value that does not fit its field, data after the
// JSON value, or an Expected of another Format. The error is a
// *FormatError, which says where.
var ErrFormat = errors.New("malformed e2e harness JSON")

// FormatError is a parse failure. It wraps ErrFormat and, when encoding/json
// found the problem, the encoding/json error (*json.SyntaxError,
// *json.UnmarshalTypeError, ...).
type FormatError struct {
	Name string // the file's path, or the report's name ("RETRIEVED")
	// Offset is where in Name the problem was found: the first byte of
	// data after the value, else encoding/json's count of bytes read when
	// it noticed (just past the offending byte, the offending number or
	// the '{' of an offending object, the key of an unknown field); -1
	// when no offset is known (a wrong Format).
	Offset int64
	// Field is the dotted JSON field path the problem is in
	// ("sessions.files.token"), or "" when the JSON itself is malformed.
	Field string
	Msg   string // what is wrong
	Err   error  // the encoding/json error, or nil
}

func (e *FormatError) Error() string {
	s := "e2eexpect: " + e.Name
	if e.Offset >= 0 {
		s += fmt.Sprintf(": offset %d", e.Offset)
	}
	if e.Field != "" {
		s += ": field " + e.Field
	}
	return s + ": " + e.Msg
}

// Unwrap returns ErrFormat and the encoding/json error, if any.
func (e *FormatError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrFormat}
	}
	return []error{ErrFormat, e.Err}
}

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

// Read reads and parses the expected.json at path with DecodeExpected. A
// missing or unreadable file is the os error (a missing one wraps
// fs.ErrNotExist, so callers can skip on it); every parse failure is a
// *FormatError naming path and wrapping ErrFormat.
func Read(path string) (*Expected, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeExpected(path, data)
}

// DecodeExpected parses data, an expected.json or the guest's stage-1
// report, named name in errors. A field this package does not define, data
// after the JSON object and a Format other than this package's are
// errors; every error is a *FormatError wrapping ErrFormat.
func DecodeExpected(name string, data []byte) (*Expected, error) {
	var e Expected
	if err := decodeStrict(name, data, &e); err != nil {
		return nil, err
	}
	if e.Format != Format {
		return nil, &FormatError{Name: name, Offset: -1, Field: "format",
			Msg: fmt.Sprintf("format %q, want %q", e.Format, Format)}
	}
	return &e, nil
}

// DecodeStage2 parses the guest's STAGE2 report, named name in errors, as
// strictly as DecodeExpected.
func DecodeStage2(name string, data []byte) (*Stage2, error) {
	var s Stage2
	if err := decodeStrict(name, data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// DecodeRetrieved parses the guest's RETRIEVED (verify) report, named name
// in errors, as strictly as DecodeExpected.
func DecodeRetrieved(name string, data []byte) (*Retrieved, error) {
	var r Retrieved
	if err := decodeStrict(name, data, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// decodeStrict decodes the one JSON value in data into v, refusing unknown
// fields and anything but white space after the value.
func decodeStrict(name string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(name, data, reflect.TypeOf(v).Elem(), err)
	}
	end := dec.InputOffset()
	// Token, not More: More misses a stray ']' or '}'.
	if _, err := dec.Token(); err != io.EOF {
		rest := data[end:]
		at := end + int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n")))
		return &FormatError{Name: name, Offset: at, Msg: "data after the JSON value"}
	}
	return nil
}

// jsonError words a Decode error as a *FormatError with the offset and
// field encoding/json knows.
func jsonError(name string, data []byte, t reflect.Type, err error) error {
	fe := &FormatError{Name: name, Offset: -1, Msg: err.Error(), Err: err}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		fe.Offset = syntax.Offset
	case errors.As(err, &typ):
		fe.Offset, fe.Field = typ.Offset, typ.Field
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// Decode returns io.EOF for empty or all-white-space input.
		fe.Offset = int64(len(data))
		if errors.Is(err, io.EOF) {
			fe.Msg = "no JSON value"
		}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json gives the key alone (Decoder.InputOffset would be
		// the end of the whole value): find it again.
		if off, field, ok := unknownField(data, t); ok {
			fe.Offset, fe.Field = off, field
		}
	}
	return fe
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
