package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The decoding flags are offered by the commands that decode a handover
// and not by scan, which refuses them (TestOneLineErrors).
func TestDecodeOnlyFlagsHelp(t *testing.T) {
	for _, tc := range []struct {
		command string
		want    map[string]bool // flag: listed in the help
	}{
		{"scan", map[string]bool{"--lenient": false, "--kho-v1-bitmap": false, "--root": true}},
		{"show", map[string]bool{"--lenient": true, "--kho-v1-bitmap": true, "--root": true}},
		{"check", map[string]bool{"--lenient": true, "--kho-v1-bitmap": true, "--root": true}},
		{"carve", map[string]bool{"--lenient": true, "--kho-v1-bitmap": true, "--root": true}},
	} {
		help := out(t, 0, tc.command, "--help")
		got := map[string]bool{}
		for flag := range tc.want {
			got[flag] = strings.Contains(help, "  "+flag+" ") || strings.Contains(help, "  "+flag+"[")
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s --help lists (-want +got):\n%s", tc.command, diff)
		}
	}
}
