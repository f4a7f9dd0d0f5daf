package main

import (
	"bytes"
	"encoding/json"
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

// The RETRIEVED JSON of the real verify boot decodes into e2eexpect.Retrieved
// with no field left over and marshals back byte for byte: the type is the
// whole of what the guest prints.
func TestRetrievedTypeRealConsole(t *testing.T) {
	js, err := readConsoleJSON("testdata/verify-console.log", "RETRIEVED")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(js[0]))
	dec.DisallowUnknownFields()
	var r e2eexpect.Retrieved
	if err := dec.Decode(&r); err != nil {
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
