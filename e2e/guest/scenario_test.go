//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The default scenario must cover what the harness promises (issue 6).
func TestDefaultScenarioCoverage(t *testing.T) {
	sc, err := parseScenario(defaultScenario)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sc.plan()
	if err != nil {
		t.Fatal(err)
	}
	type coverage struct {
		SessionsPastOneBlock bool // > 51 sessions of 80 bytes in a 4 KiB block
		FilesPastOneBlock    bool // > 63 files of 64 bytes in one session
		MaxLengthName        bool
		EmptySession         bool
		TokenZero, TokenMax  bool
		SizeZero, SizeSmall  bool
		SeveralPages         bool
		Sealed, NoSealing    bool
	}
	var got coverage
	got.SessionsPastOneBlock = len(plan) > 51
	for _, s := range plan {
		got.FilesPastOneBlock = got.FilesPastOneBlock || len(s.Files) > 63
		got.MaxLengthName = got.MaxLengthName || len(s.Name) == 63
		got.EmptySession = got.EmptySession || len(s.Files) == 0
		for _, f := range s.Files {
			got.TokenZero = got.TokenZero || f.Token == 0
			got.TokenMax = got.TokenMax || f.Token == ^uint64(0)
			got.SizeZero = got.SizeZero || f.Size == 0
			got.SizeSmall = got.SizeSmall || (f.Size > 0 && f.Size < 16)
			got.SeveralPages = got.SeveralPages || f.Size > 3*4096
			got.Sealed = got.Sealed || f.Seals != 0
			got.NoSealing = got.NoSealing || !f.AllowSealing
		}
	}
	want := coverage{true, true, true, true, true, true, true, true, true, true, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default scenario coverage (-want +got):\n%s", diff)
	}
}

func TestPlanRejects(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"long name", `{"sessions":[{"name":"` + strings.Repeat("x", 64) + `"}]}`, "must be 1..63 bytes"},
		{"empty name", `{"sessions":[{"name":""}]}`, "must be 1..63 bytes"},
		{"duplicate session", `{"sessions":[{"name":"a"},{"name":"a"}]}`, "duplicate session"},
		{"duplicate token", `{"sessions":[{"name":"a","files":[{"token":1},{"token":1}]}]}`, "duplicate token"},
		{"unknown seal", `{"sessions":[{"name":"a","files":[{"token":1,"seals":["nope"]}]}]}`, "unknown seal"},
		{"seal without sealing", `{"sessions":[{"name":"a","files":[{"token":1,"seals":["grow"],"allow_sealing":false}]}]}`, "need allow_sealing"},
		{"negative size", `{"sessions":[{"name":"a","files":[{"token":1,"size":-1}]}]}`, "out of range"},
		{"huge count", `{"sessions":[{"name":"a","more_files":{"count":100000}}]}`, "out of range"},
		{"unknown field", `{"sesions":[]}`, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := parseScenario([]byte(tt.json))
			if err == nil {
				_, err = sc.plan()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestContentsDeterministic(t *testing.T) {
	a := contents(1, "s", 7, 10000)
	b := contents(1, "s", 7, 10000)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same inputs, different contents")
	}
	if len(a) != 10000 {
		t.Errorf("len %d, want 10000", len(a))
	}
	// A prefix of a longer file equals the shorter file: sizes only truncate.
	if diff := cmp.Diff(a[:33], contents(1, "s", 7, 33)); diff != "" {
		t.Errorf("prefix differs (-want +got):\n%s", diff)
	}
	for _, other := range [][]byte{contents(2, "s", 7, 64), contents(1, "t", 7, 64), contents(1, "s", 8, 64)} {
		if string(other) == string(a[:64]) {
			t.Errorf("different inputs gave the same contents")
		}
	}
}
