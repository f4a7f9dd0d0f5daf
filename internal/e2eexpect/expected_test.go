package e2eexpect

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const guestExpected = "../../testdata/khodump/real/guest-expected.json"

// The results file of the real Linux 7.3.4 run the carved cores come from
// reads into these types, and they write it back byte for byte: the file
// holds no field this package does not define.
func TestReadRealRun(t *testing.T) {
	e, err := Read(guestExpected)
	if err != nil {
		t.Fatal(err)
	}
	wantHandover := Handover{
		LiveupdateNumber: 1, KexecCount: 1, PreviousRelease: "7.3.4",
		FLBsFound:   []string{"liveupdate-test-flb-v0", "liveupdate-test-flb-v1", "liveupdate-test-flb-v2"},
		RootFDTPhys: "0x1eb000",
		SetupData: &SetupData{FirstPhys: "0x1ebfa070", Entries: []SetupEntry{{
			Index: 0, Type: SetupTypeKexecKHO, Len: 32,
			KHO: &KHOData{FDTAddr: "0x1eb000", FDTSize: 4096, ScratchAddr: "0x1ebf0000", ScratchSize: 48},
		}}},
	}
	if diff := cmp.Diff(wantHandover, e.Handover); diff != "" {
		t.Errorf("handover (-want +got):\n%s", diff)
	}
	// Token 2^64-1 keeps every bit (a float64 would round it).
	wantMax := File{Token: 1<<64 - 1, TokenHex: "0xffffffffffffffff", Compatible: "memfd-v2",
		MemfdName: "khokit-s0-tffffffffffffffff", Size: 5,
		SHA256: "4303891b7985bc490321fb71758189ee5891e61ec8430a4f6e8e21717c15e79a"}
	if len(e.Sessions) == 0 || len(e.Sessions[0].Files) < 2 {
		t.Fatalf("sessions: %+v", e.Sessions)
	}
	if diff := cmp.Diff(wantMax, e.Sessions[0].Files[1]); diff != "" {
		t.Errorf("%s file 1 (-want +got):\n%s", e.Sessions[0].Name, diff)
	}
	files := 0
	for _, s := range e.Sessions {
		files += len(s.Files)
	}
	if files != e.FilesTotal || len(e.Sessions) != 54 || len(e.FLBs) != 3 || len(e.Images) != 2 {
		t.Errorf("%d sessions, %d files (files_total %d), %d FLBs, %d images; want 54 sessions, 3 FLBs, 2 images",
			len(e.Sessions), files, e.FilesTotal, len(e.FLBs), len(e.Images))
	}

	orig, err := os.ReadFile(guestExpected)
	if err != nil {
		t.Fatal(err)
	}
	again, err := json.MarshalIndent(e, "", " ") // this copy is indented by one space
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(orig)), string(again)); diff != "" {
		t.Errorf("written back (-file +types):\n%s", diff)
	}
}

// What the guest fills before the kexec marshals to its own fields only.
func TestGuestPartOmitsHostFields(t *testing.T) {
	e := Expected{Format: Format, Seed: 7, FilesTotal: 1,
		Sessions:  []Session{{Name: "s", Files: []File{{Token: 1}}}, {Name: "empty", Files: []File{}}},
		FLBs:      []FLB{{Name: "f", Count: 1}},
		Stage1Log: []string{},
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range top {
		got = append(got, k)
	}
	want := []string{"files_total", "flbs", "format", "seed", "sessions", "stage1_log"}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("stage-1 fields (-want +got):\n%s", diff)
	}
	// An empty session and an empty log stay [] (not null, not omitted).
	if !strings.Contains(string(b), `"files":[]`) || !strings.Contains(string(b), `"stage1_log":[]`) {
		t.Errorf("empty lists lost: %s", b)
	}
}

func TestWriteRead(t *testing.T) {
	e := Expected{
		Format:   Format,
		Kernel:   Kernel{SourcePackage: "linux-source-7.3", SourceVersion: "7.3.4-1", Release: "7.3.4", Compat: map[string]string{"KHO_FDT_COMPATIBLE": "kho-v4"}},
		Handover: Handover{LiveupdateNumber: 1<<64 - 1, KexecCount: 1<<32 - 1, FLBsFound: []string{"a"}, RootFDTPhys: "0x1000"},
		Seed:     1<<64 - 1,
		Sessions: []Session{{Name: "s", Files: []File{{Token: 1<<63 + 1, TokenHex: "0x8000000000000001", Size: 1<<64 - 1, Seals: 1<<32 - 1}}}},
		FLBs:     []FLB{{Name: "f", Count: 1<<64 - 1}},
		Images:   map[string]Image{"at-kexec": {ELF: "at-kexec.elf", Kdump: "at-kexec.kdump", When: "then"}},
	}
	path := filepath.Join(t.TempDir(), "expected.json")
	if err := Write(path, &e); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&e, got); diff != "" {
		t.Errorf("read back (-written +read):\n%s", diff)
	}
}

// Every parse failure is a *FormatError that wraps ErrFormat and says
// where: the file, the byte offset when encoding/json knows it, the field.
func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, data string
		// offset is FormatError.Offset: the first byte of trailing data,
		// else encoding/json's count of bytes read when it noticed (just
		// past the offending byte, or the end of the offending number).
		offset  int64
		field   string // want FormatError.Field
		msg     string // in FormatError.Msg
		jsonErr bool   // FormatError.Err is encoding/json's error
	}{
		{"other format", `{"format":"khokit-e2e-expected/2"}`, -1, "format", `format "khokit-e2e-expected/2"`, false},
		{"no format", `{"seed":1}`, -1, "format", `format ""`, false},
		{"unknown field", `{"format":"khokit-e2e-expected/1","sessions":[{"name":"s","files":[{"tokn":1}]}]}`, 74, "sessions.files.tokn", `unknown field "tokn"`, true},
		{"unknown field in a later element", `{"format":"khokit-e2e-expected/1","sessions":[{"name":"{\"tokn\":[","files":[{"token":1}]},{"name":"t","files":[{},{"size":2,"shaa256":"x"}]}]}`,
			134, "sessions.files.shaa256", `unknown field "shaa256"`, true},
		{"unknown field in a map value", `{"format":"khokit-e2e-expected/1","images":{"at-kexec":{"elf":"a","elff":"b"}}}`, 72, "images.at-kexec.elff", `unknown field "elff"`, true},
		{"unknown field behind a pointer", `{"format":"khokit-e2e-expected/1","handover":{"setup_data":{"first_phys":"0x1","entries":[{"type":10,"kho":{"fdt_adr":"0x2"}}]}}}`,
			117, "handover.setup_data.entries.kho.fdt_adr", `unknown field "fdt_adr"`, true},
		{"unknown field under keys in other case", `{"format":"khokit-e2e-expected/1","Sessions":[{"FILES":[{"tokn":1}]}]}`, 63, "sessions.files.tokn", `unknown field "tokn"`, true},
		{"unknown top-level field", `{"format":"khokit-e2e-expected/1","flbs":[],"kernel":{"compat":{"X":"y"}},"seeed":1}`, 81, "seeed", `unknown field "seeed"`, true},
		// encoding/json matches keys without regard to case: not unknown.
		{"field in other case", `{"FORMAT":"khokit-e2e-expected/2"}`, -1, "format", `format "khokit-e2e-expected/2"`, false},
		{"token as float", `{"format":"khokit-e2e-expected/1","sessions":[{"name":"s","files":[{"token":1.5}]}]}`, 79, "sessions.files.token", "number 1.5", true},
		{"negative size", `{"format":"khokit-e2e-expected/1","sessions":[{"name":"s","files":[{"size":-1}]}]}`, 77, "sessions.files.size", "number -1", true},
		{"token past 2^64", `{"format":"khokit-e2e-expected/1","sessions":[{"name":"s","files":[{"token":18446744073709551616}]}]}`, 96, "sessions.files.token", "number 18446744073709551616", true},
		{"kexec count past 2^32", `{"format":"khokit-e2e-expected/1","handover":{"kexec_count":4294967296}}`, 70, "handover.kexec_count", "number 4294967296", true},
		{"object where a string is", `{"format":{}}`, 11, "format", "object", true},
		{"syntax", `{"format":"khokit-e2e-expected/1",]`, 35, "", "invalid character ']'", true},
		{"syntax after white space", "\n\n  {\"format\" 1}", 15, "", "invalid character '1'", true},
		{"not an object", `nul`, 3, "", "", true},
		{"trailing data", `{"format":"khokit-e2e-expected/1"} {}`, 35, "", "data after the JSON value", false},
		{"trailing bracket", `{"format":"khokit-e2e-expected/1"}` + "\n\t]", 36, "", "data after the JSON value", false},
		{"trailing brace", `{"format":"khokit-e2e-expected/1"}}`, 34, "", "data after the JSON value", false},
		{"truncated", `{"format":"khokit-e2e-expected/1",`, 34, "", "unexpected EOF", true},
		{"empty", "", 0, "", "no JSON value", true},
		{"white space only", " \n", 2, "", "no JSON value", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			e, err := Read(path)
			if err == nil {
				t.Fatalf("read %+v, want an error", e)
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("%v: not ErrFormat", err)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%v (%T): not a *FormatError", err, err)
			}
			want := FormatError{Name: path, Offset: tt.offset, Field: tt.field}
			got := FormatError{Name: fe.Name, Offset: fe.Offset, Field: fe.Field}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%v: where (-want +got):\n%s", err, diff)
			}
			if !strings.Contains(fe.Msg, tt.msg) || !strings.Contains(err.Error(), path) {
				t.Errorf("%v: want the path and %q", err, tt.msg)
			}
			if (fe.Err != nil) != tt.jsonErr {
				t.Errorf("%v: wrapped error %v, want one from encoding/json: %v", err, fe.Err, tt.jsonErr)
			}
		})
	}
}

// A missing file is the os error, not a format error, so callers can skip.
func TestReadMissing(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "expected.json"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrFormat) {
		t.Errorf("%v: want fs.ErrNotExist and not ErrFormat", err)
	}
}

// The guest's reports decode as strictly as expected.json: the same
// failures are *FormatErrors wrapping ErrFormat, named by the report.
func TestDecodeReports(t *testing.T) {
	one := uint64(1)
	two := uint32(2)
	tests := []struct {
		name   string
		decode func([]byte) (decoded, error)
		data   string
		want   decoded
		offset int64 // want FormatError.Offset; ignored if want is not zero
		field  string
	}{
		{"stage2", decodeStage2, `{"liveupdate_number":1,"kexec_count":2,"previous_release":"7.3.4","flbs_found":[],"release":"7.3.4","stage2_log":["kho: found"]}`,
			decoded{stage2: &Stage2{LiveupdateNumber: &one, KexecCount: &two, PreviousRelease: "7.3.4", FLBsFound: []string{}, Release: "7.3.4", Stage2Log: []string{"kho: found"}}}, 0, ""},
		{"stage2 syntax", decodeStage2, `{"release":"7.3.4"`, decoded{}, 18, ""},
		{"stage2 trailing", decodeStage2, `{} x`, decoded{}, 3, ""},
		{"stage2 count past 2^32", decodeStage2, `{"kexec_count":4294967296}`, decoded{}, 25, "kexec_count"},
		{"stage2 unknown field", decodeStage2, `{"relase":"7.3.4"}`, decoded{}, 9, "relase"},
		{"stage2 unknown field in setup_data", decodeStage2, `{"setup_data":{"entries":[{"kho":null,"lenn":1}]}}`, decoded{}, 44, "setup_data.entries.lenn"},
		{"retrieved unknown field", decodeRetrieved, `{"problems":["x"],"sessions":[{"files":[{"token":1,"seal":2}]}]}`, decoded{}, 57, "sessions.files.seal"},
		{"retrieved", decodeRetrieved, `{"sessions":[{"name":"s","files":[{"token":18446744073709551615,"size":5,"seals":15,"sha256":"ab"}]}],"problems":[]}`,
			decoded{retrieved: &Retrieved{Sessions: []RetrievedSession{{Name: "s", Files: []RetrievedFile{{Token: 1<<64 - 1, Size: 5, Seals: 15, SHA256: "ab"}}}}, Problems: []string{}}}, 0, ""},
		{"retrieved syntax", decodeRetrieved, `{"sessions":[}`, decoded{}, 14, ""},
		{"retrieved trailing", decodeRetrieved, `{"sessions":[]}]`, decoded{}, 15, ""},
		{"retrieved negative size", decodeRetrieved, `{"sessions":[{"files":[{"size":-5}]}]}`, decoded{}, 33, "sessions.files.size"},
		{"retrieved truncated", decodeRetrieved, `{"sessions":[{"files":[`, decoded{}, 23, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.decode([]byte(tt.data))
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(decoded{})); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			if tt.want != (decoded{}) {
				if err != nil {
					t.Errorf("error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("%v: not ErrFormat", err)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%v (%T): not a *FormatError", err, err)
			}
			want := FormatError{Name: "REPORT", Offset: tt.offset, Field: tt.field}
			if diff := cmp.Diff(want, FormatError{Name: fe.Name, Offset: fe.Offset, Field: fe.Field}); diff != "" {
				t.Errorf("%v: where (-want +got):\n%s", err, diff)
			}
		})
	}
}

// decoded is what one of the report decoders returned.
type decoded struct {
	stage2    *Stage2
	retrieved *Retrieved
}

func decodeRetrieved(b []byte) (decoded, error) {
	r, err := DecodeRetrieved("REPORT", b)
	return decoded{retrieved: r}, err
}

func decodeStage2(b []byte) (decoded, error) {
	s, err := DecodeStage2("REPORT", b)
	return decoded{stage2: s}, err
}
