package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/internal/e2eexpect"
)

// The console of a real verify boot retrieved what it preserved, and what
// it preserved is what the capture boot's expected.json lists; a changed
// memfd in expected.json is reported.
func TestRetrievedRealConsole(t *testing.T) {
	want, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	const sum = "4303891b7985bc490321fb71758189ee5891e61ec8430a4f6e8e21717c15e79a" // token 2^64-1 of khokit-basic
	if strings.Count(string(want), sum) != 1 {
		t.Fatalf("testdata/expected.json holds %q %d times, want once", sum, strings.Count(string(want), sum))
	}
	changed := filepath.Join(t.TempDir(), "expected.json")
	if err := os.WriteFile(changed, []byte(strings.Replace(string(want), sum, strings.Repeat("0", 64), 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, expected, wantErr string
	}{
		{"console only", "", ""},
		{"with the capture's expected.json", "testdata/expected.json", ""},
		{"with a changed memfd", changed, "verify boot preserved other state than the capture boot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-console", "testdata/verify-console.log"}
			if tt.expected != "" {
				args = append(args, "-expected", tt.expected)
			}
			err := cmdRetrieved(args)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "SHA256") {
				t.Fatalf("got %v, want an error containing %q and a SHA256 diff", err, tt.wantErr)
			}
		})
	}
}

// The RETRIEVED JSON of the real verify boot decodes strictly into
// e2eexpect.Retrieved (no field left over) and marshals back byte for
// byte: the type is the whole of what the guest prints.
func TestRetrievedTypeRealConsole(t *testing.T) {
	js, err := readConsoleJSON("testdata/verify-console.log", "RETRIEVED")
	if err != nil {
		t.Fatal(err)
	}
	r, err := e2eexpect.DecodeRetrieved("RETRIEVED", js[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sessions) != 54 || len(r.Problems) != 0 {
		t.Errorf("%d sessions, problems %q; want 54 and none", len(r.Sessions), r.Problems)
	}
	again, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(js[0]), string(again)); diff != "" {
		t.Errorf("marshalled back (-console +type):\n%s", diff)
	}
}

// A report that holds a field e2eexpect does not define, or anything after
// its JSON value, is refused with a *FormatError naming the report and
// wrapping ErrFormat, by expected and retrieved alike: e2eexpect's strict
// decoders are the one definition of every report.
func TestStrictReports(t *testing.T) {
	capture, err := readConsoleJSON("testdata/capture-console.log", "EXPECTED", "STAGE2")
	if err != nil {
		t.Fatal(err)
	}
	verify, err := readConsoleJSON("testdata/verify-console.log", "EXPECTED", "RETRIEVED")
	if err != nil {
		t.Fatal(err)
	}
	// insert puts s after the first occurrence of at in report, which
	// must hold it.
	insert := func(report []byte, at, s string) string {
		i := strings.Index(string(report), at)
		if i < 0 {
			t.Fatalf("report has no %q", at)
		}
		i += len(at)
		return string(report[:i]) + s + string(report[i:])
	}
	type report struct{ tag, json string }
	tests := []struct {
		name      string
		cmd       string // "expected" or "retrieved"
		reports   []report
		wantName  string // FormatError.Name
		wantField string // FormatError.Field
	}{
		{"stage 1 unknown field", "expected",
			[]report{{"EXPECTED", insert(capture[0], "{", `"extra":1,`)}, {"STAGE2", string(capture[1])}},
			"EXPECTED", "extra"},
		{"stage 1 unknown field in a file", "expected",
			[]report{{"EXPECTED", insert(capture[0], `"token_hex":`, `"0x1","colour":`)}, {"STAGE2", string(capture[1])}},
			"EXPECTED", "sessions.files.colour"},
		{"stage 1 trailing data", "expected",
			[]report{{"EXPECTED", string(capture[0]) + ` {}`}, {"STAGE2", string(capture[1])}},
			"EXPECTED", ""},
		{"stage 1 of another format", "expected",
			[]report{{"EXPECTED", strings.Replace(string(capture[0]), e2eexpect.Format, "khokit-e2e-expected/0", 1)}, {"STAGE2", string(capture[1])}},
			"EXPECTED", "format"},
		{"stage 2 unknown field", "expected",
			[]report{{"EXPECTED", string(capture[0])}, {"STAGE2", insert(capture[1], "{", `"kexec_counts":2,`)}},
			"STAGE2", "kexec_counts"},
		{"stage 2 trailing data", "expected",
			[]report{{"EXPECTED", string(capture[0])}, {"STAGE2", string(capture[1]) + "]"}},
			"STAGE2", ""},
		{"verify stage 1 unknown field", "retrieved",
			[]report{{"EXPECTED", insert(verify[0], "{", `"extra":1,`)}, {"RETRIEVED", string(verify[1])}},
			"EXPECTED", "extra"},
		{"verify stage 1 trailing data", "retrieved",
			[]report{{"EXPECTED", string(verify[0]) + "{}"}, {"RETRIEVED", string(verify[1])}},
			"EXPECTED", ""},
		{"retrieved unknown field", "retrieved",
			[]report{{"EXPECTED", string(verify[0])}, {"RETRIEVED", insert(verify[1], "{", `"problem":"x",`)}},
			"RETRIEVED", "problem"},
		{"retrieved unknown field in a file", "retrieved",
			[]report{{"EXPECTED", string(verify[0])}, {"RETRIEVED", insert(verify[1], `"sha256":`, `"0","name":`)}},
			"RETRIEVED", "sessions.files.name"},
		{"retrieved trailing data", "retrieved",
			[]report{{"EXPECTED", string(verify[0])}, {"RETRIEVED", string(verify[1]) + ` {"sessions":[]}`}},
			"RETRIEVED", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "console.log")
			var b strings.Builder
			for _, r := range tt.reports {
				b.WriteString(console(r.tag, r.json, 200, nil))
			}
			if err := os.WriteFile(log, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			if tt.cmd == "expected" {
				err = cmdExpected([]string{"-console", log, "-o", filepath.Join(dir, "expected.json")})
			} else {
				err = cmdRetrieved([]string{"-console", log})
			}
			if !errors.Is(err, e2eexpect.ErrFormat) {
				t.Fatalf("got %v, want an error wrapping e2eexpect.ErrFormat", err)
			}
			var fe *e2eexpect.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%v is no *e2eexpect.FormatError", err)
			}
			if diff := cmp.Diff([2]string{tt.wantName, tt.wantField}, [2]string{fe.Name, fe.Field}); diff != "" {
				t.Errorf("FormatError name, field (-want +got):\n%s\nerror: %v", diff, err)
			}
			if !strings.HasPrefix(err.Error(), log+": ") {
				t.Errorf("error %q does not start with the console log's path", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "expected.json")); err == nil {
				t.Error("expected.json written from a refused report")
			}
		})
	}
}
