package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/khokit/khokit/kho"
)

// TestFlagsBeforeCommand: a command's flags work before its name as after
// it, through the built binary. Each case runs the usual order first, then
// the others, which must print the same and exit the same; the same
// command without the flags must print something else, so a flag ignored
// in some order cannot pass.
func TestFlagsBeforeCommand(t *testing.T) {
	elf, kdump := fixture("handover.elf"), fixture("handover.kdump")
	raw, blob := fixture("handover-base-0x100000.raw"), fixture("blobs/flb-page.bin")
	v1, b := khoV1Image(t, kho.KHOv1Bitmap512)
	v1root := fmt.Sprintf("%#x", b.RootAddr)
	for _, tc := range []struct {
		name    string
		orders  [][]string // the first is the usual order
		without []string
	}{
		{"output", [][]string{
			{"show", "-o", "json", kdump},
			{"-o", "json", "show", kdump},
			{"-o", "json", kdump}, // show is the default command
			{"--output=json", "show", kdump},
		}, []string{"show", kdump}},
		{"check output", [][]string{
			{"check", "-o", "json", kdump},
			{"-o", "json", "check", kdump},
			{"-o", "text", "check", "-o", "json", kdump}, // the later one wins
		}, []string{"check", kdump}},
		{"scan verbose", [][]string{
			{"scan", "-v", "--no-progress", elf},
			{"-v", "--no-progress", "scan", elf},
			{"-v", "scan", "--no-progress", elf},
		}, []string{"scan", elf}},
		{"root", [][]string{
			{"scan", "--root", "0x100000", fixture("three-roots.elf")},
			{"--root", "0x100000", "scan", fixture("three-roots.elf")},
			{"--root=0x100000", "scan", fixture("three-roots.elf")},
		}, []string{"scan", fixture("three-roots.elf")}},
		{"base", [][]string{
			{"show", "--base", "0x100000", raw},
			{"--base", "0x100000", "show", raw},
			{"--base", "0x100000", raw},
		}, []string{"show", raw}},
		{"format", [][]string{
			{"show", "--format", "elf", kdump},
			{"--format", "elf", "show", kdump},
		}, []string{"show", kdump}},
		{"page size", [][]string{
			{"abi", "--page-size", "16384"},
			{"--page-size", "16384", "abi"},
		}, []string{"abi"}},
		{"as", [][]string{
			{"show", "--as", "luo-flb", blob},
			{"--as", "luo-flb", "show", blob},
			{"--as", "luo-flb", blob},
		}, []string{"show", blob}},
		{"kho-v1 bitmap", [][]string{
			{"check", "-q", "--root", v1root, "--kho-v1-bitmap", "page", v1},
			{"-q", "--root", v1root, "--kho-v1-bitmap", "page", "check", v1},
			{"--kho-v1-bitmap=page", "check", "-q", "--root", v1root, v1},
		}, []string{"check", "-q", "--root", v1root, v1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr, wantCode := khodump(t, tc.orders[0]...)
			for _, args := range tc.orders[1:] {
				got, gotErr, code := khodump(t, args...)
				if code != wantCode || got != want || gotErr != wantErr {
					t.Errorf("khodump %s: exit %d, stdout %d bytes, stderr %q; want as khodump %s: exit %d, stdout %d bytes, stderr %q",
						strings.Join(args, " "), code, len(got), gotErr, strings.Join(tc.orders[0], " "), wantCode, len(want), wantErr)
				}
			}
			if got, gotErr, code := khodump(t, tc.without...); got == want && gotErr == wantErr && code == wantCode {
				t.Errorf("khodump %s prints the same as with the flags: the test proves nothing", strings.Join(tc.without, " "))
			}
		})
	}
}

// TestCommandNameAfterFlagsErrors: flags before a command that does not
// take them, and a command name after --, are not taken for that command.
func TestCommandNameAfterFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--bogus", "check", fixture("handover.elf")}, "show: unknown flag: --bogus"},
		{[]string{"--dir", "x", "show", fixture("handover.elf")}, "show: unknown flag: --dir"},
		{[]string{"--", "scan"}, "khodump: scan: no such file or directory"},
		{[]string{"-o", "json", "show"}, "want exactly one SOURCE, got 0 arguments"},
	} {
		_, errOut, code := khodump(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("khodump %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errOut, exitUsage, tc.stderr)
		}
	}
}
