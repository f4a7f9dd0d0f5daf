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

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, data string
		is         error  // errors.Is target, if any
		want       string // in the message
	}{
		{"missing", "", fs.ErrNotExist, "no such file"},
		{"other format", `{"format":"khokit-e2e-expected/2"}`, ErrFormat, `format "khokit-e2e-expected/2"`},
		{"no format", `{"seed":1}`, ErrFormat, `format ""`},
		{"unknown field", `{"format":"khokit-e2e-expected/1","sessions":[{"name":"s","files":[{"tokn":1}]}]}`, nil, `unknown field "tokn"`},
		{"token as float", `{"format":"khokit-e2e-expected/1","sessions":[{"name":"s","files":[{"token":1.5}]}]}`, nil, "sessions.files.token"},
		{"negative size", `{"format":"khokit-e2e-expected/1","sessions":[{"name":"s","files":[{"size":-1}]}]}`, nil, "sessions.files.size"},
		{"token past 2^64", `{"format":"khokit-e2e-expected/1","sessions":[{"name":"s","files":[{"token":18446744073709551616}]}]}`, nil, "sessions.files.token"},
		{"kexec count past 2^32", `{"format":"khokit-e2e-expected/1","handover":{"kexec_count":4294967296}}`, nil, "handover.kexec_count"},
		{"trailing data", `{"format":"khokit-e2e-expected/1"} {}`, nil, "data after the JSON object"},
		{"trailing bracket", `{"format":"khokit-e2e-expected/1"} ]`, nil, "data after the JSON object"},
		{"trailing brace", `{"format":"khokit-e2e-expected/1"}}`, nil, "data after the JSON object"},
		{"truncated", `{"format":"khokit-e2e-expected/1",`, nil, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			if tt.name != "missing" {
				if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e, err := Read(path)
			if err == nil {
				t.Fatalf("read %+v, want an error", e)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v: not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("%v: want the path and %q", err, tt.want)
			}
		})
	}
}
