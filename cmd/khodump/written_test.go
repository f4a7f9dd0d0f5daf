package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// failingWriter fails every write, as a closed pipe does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestWriteOutputFails: every command that prints a document exits 2 with
// one "writing output" line when stdout refuses it, whatever the document
// would have made its status.
func TestWriteOutputFails(t *testing.T) {
	dtb := filepath.Join("..", "..", "testdata", "fdt", "kernel", "kho_in_fdt_stage2.dtb")
	tests := [][]string{
		{"show", fixture("handover.elf")},
		{"show", "-o", "json", fixture("handover.elf")},
		{"show", "-o", "dts", fixture("handover.elf")},
		{"check", fixture("handover.elf")},
		{"check", fixture("bad-flb.elf")},
		{"scan", "--no-progress", fixture("three-roots.elf")},
		{"abi"},
		{"show", "--as", "luo-flb", fixture("blobs/flb-page.bin")},
		{"check", "--as", "luo-flb", fixture("blobs/flb-page-bad.bin")},
		{"check", "--as", "fdt", dtb},
		{"show", "--as", "fdt", dtb},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			if got := run(args, failingWriter{}, &stderr); got != exitUsage {
				t.Errorf("exit %d, want %d", got, exitUsage)
			}
			if want := "khodump: writing output: broken pipe\n"; !strings.HasSuffix(stderr.String(), want) {
				t.Errorf("stderr %q, want it to end %q", stderr.String(), want)
			}
		})
	}
}
