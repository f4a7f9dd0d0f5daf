package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// console builds guest output the way e2e/guest emitJSON does.
func console(tag, payload string, chunk int, mangle func([]string) []string) string {
	var lines []string
	n := (len(payload) + chunk - 1) / chunk
	for i := 0; i < n; i++ {
		end := min((i+1)*chunk, len(payload))
		lines = append(lines, fmt.Sprintf("KHOKIT-E2E %s %d/%d %s", tag, i+1, n, payload[i*chunk:end]))
	}
	sum := sha256.Sum256([]byte(payload))
	lines = append(lines, fmt.Sprintf("KHOKIT-E2E %s sha256 %s", tag, hex.EncodeToString(sum[:])))
	if mangle != nil {
		lines = mangle(lines)
	}
	return "[    1.0] boot noise\n" + strings.Join(lines, "\r\n") + "\n[    2.0] more noise\n"
}

// intrude puts a kernel console line at the end of the second chunk line,
// before its newline, as the serial console shows a printk that comes
// while the guest writes.
func intrude(l []string) []string {
	l[1] += "input: ImExPS/2 Generic Explorer Mouse as /devices/platform/i8042/serio1/input/input2\r\n"
	return l
}

func TestExtractJSON(t *testing.T) {
	payload := `{"sessions":[{"name":"a b","token":18446744073709551615}],"x":"` + strings.Repeat("y", 450) + `"}`
	tests := []struct {
		name    string
		log     string
		want    string
		wantErr string
	}{
		{"clean", console("EXPECTED", payload, 200, nil), payload, ""},
		{"kernel line between chunks", console("EXPECTED", payload, 200, func(l []string) []string {
			return append(l[:1], append([]string{"[  3.1] KHO: something"}, l[1:]...)...)
		}), payload, ""},
		{"missing chunk", console("EXPECTED", payload, 200, func(l []string) []string {
			return append(l[:1], l[2:]...)
		}), "", "out-of-order"},
		{"interleaved inside a chunk", console("EXPECTED", payload, 200, func(l []string) []string {
			l[1] = l[1][:40] + "[ 3.1] luo: x" + l[1][40:]
			return l
		}), "", "checksum mismatch"},
		{"no checksum line", console("EXPECTED", payload, 200, func(l []string) []string {
			return l[:len(l)-1]
		}), "", "no complete"},
		{"other tag only", console("STAGE2", payload, 200, nil), "", "no complete"},
		// What a real Linux 7.3.4 capture boot printed: a late probe message
		// at the end of chunk 61 of 135, then the guest's newline.
		{"kernel line at the end of a chunk", console("EXPECTED", payload, 200, intrude), "", "checksum mismatch"},
		{"first copy interleaved, second clean", console("EXPECTED", payload, 200, intrude) + console("EXPECTED", payload, 200, nil), payload, ""},
		{"first copy clean, second cut short", console("EXPECTED", payload, 200, nil) + console("EXPECTED", payload, 200, func(l []string) []string {
			return l[:2]
		}), payload, ""},
		{"first copy missing a chunk, second clean", console("EXPECTED", payload, 200, func(l []string) []string {
			return append(l[:1], l[2:]...)
		}) + console("EXPECTED", payload, 200, nil), payload, ""},
		{"both copies broken", console("EXPECTED", payload, 200, intrude) + console("EXPECTED", payload, 200, func(l []string) []string {
			return append(l[:1], l[2:]...)
		}), "", "checksum mismatch"},
		{"a console line past the scanner's 1 MiB", console("EXPECTED", payload, 200, nil) + strings.Repeat("x", 1<<20) + "\n" + console("EXPECTED", payload, 200, nil), "", "console line 7: bufio.Scanner: token too long"},
		{"a copy of another payload last", console("EXPECTED", payload, 200, nil) + console("EXPECTED", `{"other":1}`, 200, nil), `{"other":1}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := extractJSON([]byte(tt.log), "EXPECTED")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The console of a real capture boot (Linux 7.3.4 under e2e/run.sh) gives
// back, byte for byte, the expected.json the harness wrote from it.
func TestExpectedFromRealConsole(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"at-kexec.elf", "post-kexec.elf"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "expected.json")
	err := cmdExpected([]string{"-console", "testdata/capture-console.log", "-compat", "testdata/compat.txt",
		"-source", "linux-source-7.3 7.3.4-1~bpo13+1", "-o", out})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("expected.json (-harness +e2etool):\n%s", diff)
	}
}
