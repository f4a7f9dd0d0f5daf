package main

import (
	"encoding/binary"
	"strings"
	"testing"
)

// page builds a 4 KiB page: a 16-byte header {a, b} and fixed-size entries.
func page(a, b uint64, entries ...[]byte) []byte {
	pg := make([]byte, pageSize)
	binary.LittleEndian.PutUint64(pg, a)
	binary.LittleEndian.PutUint64(pg[8:], b)
	off := 16
	for _, e := range entries {
		off += copy(pg[off:], e)
	}
	return pg
}

func entry(name string, nameLen int, x, y uint64) []byte {
	e := make([]byte, nameLen+16)
	copy(e, name)
	binary.LittleEndian.PutUint64(e[nameLen:], x)
	binary.LittleEndian.PutUint64(e[nameLen+8:], y)
	return e
}

func TestRecognisers(t *testing.T) {
	tests := []struct {
		name               string
		pg                 []byte
		session, file, flb bool
	}{
		{"session block", page(0x5000, 2, entry("a", 64, 0x3000, 1), entry("empty", 64, 0, 0)), true, false, false},
		{"session files without count", page(0, 1, entry("a", 64, 0x3000, 0)), false, false, false},
		{"session unaligned next", page(0x5001, 1, entry("a", 64, 0x3000, 1)), false, false, false},
		{"session count past block", page(0, 52, entry("a", 64, 0x3000, 1)), false, false, false},
		{"file block", page(0, 1, entry("memfd-v2", 48, 0x7000, ^uint64(0))), false, true, false},
		{"file zero data", page(0, 1, entry("memfd-v2", 48, 0, 1)), false, false, false},
		{"flb page", page(1, 1, entry("liveupdate-test-flb-v0", 48, 0xfeed, 3)), false, false, true},
		{"name without NUL", page(0, 1, entry(strings.Repeat("x", 64), 64, 0x3000, 1)), false, false, false},
		{"garbage after NUL", page(0, 1, entry("a\x00b", 64, 0x3000, 1)), false, false, false},
		{"zero page", make([]byte, pageSize), false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotS := block(tt.pg, 80, 64, "session") != ""
			gotF := block(tt.pg, 64, 48, "file") != ""
			gotL := flbPage(tt.pg) != ""
			if gotS != tt.session || gotF != tt.file || gotL != tt.flb {
				t.Errorf("session/file/flb = %v/%v/%v, want %v/%v/%v", gotS, gotF, gotL, tt.session, tt.file, tt.flb)
			}
		})
	}
}
