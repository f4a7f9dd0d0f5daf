package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

// TestExtractorReadError: a file whose source memory fails mid-read is
// skipped, with nothing left on disk, and the extraction goes on; any
// other error stops it.
func TestExtractorReadError(t *testing.T) {
	addrErr := &physmem.AddrError{Addr: 0x5000, Size: 4096, Err: physmem.ErrAbsent}
	tests := []struct {
		name        string
		err         error
		wantSkipped int
		wantErr     bool
	}{
		{"absent page", addrErr, 1, false},
		{"wrapped absent page", errors.Join(errors.New("kho: memfd page 1"), addrErr), 1, false},
		{"other failure", errors.New("disk on fire"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := &extractor{dir: t.TempDir()}
			r := io.MultiReader(strings.NewReader("some bytes"), iotest.ErrReader(tt.err))
			x.reader("memfds/000-s/000-token-1.bin", jsonEntry{Kind: "memfd"}, r)
			if got := len(x.skipped); got != tt.wantSkipped {
				t.Errorf("skipped = %q, want %d", x.skipped, tt.wantSkipped)
			}
			if (x.err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", x.err, tt.wantErr)
			}
			if diff := cmp.Diff([]jsonEntry(nil), x.entries); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			left, _ := os.ReadDir(filepath.Join(x.dir, "memfds", "000-s"))
			if len(left) != 0 {
				t.Errorf("left on disk: %v", left)
			}
		})
	}
}
