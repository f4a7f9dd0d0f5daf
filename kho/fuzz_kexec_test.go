package kho

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzKexecMetadata replaces the kexec-metadata blob of a built kho-v4
// handover with the input and decodes the handover. Findings are
// documented; a decoded KexecMetadata, encoded again, decodes to the same
// value.
func FuzzKexecMetadata(f *testing.F) {
	s := newSubtreeFuzz(f, "kexec-metadata")
	f.Add(s.blob(f))
	real, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", "linux-7.3.4-x86_64", "kexec_metadata_in.bin"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	f.Add(real[:4])
	f.Fuzz(func(t *testing.T, in []byte) {
		h := s.decode(t, in)
		if h.KexecMetadata == nil {
			if len(findingsUnder(h.Findings, "/kexec-metadata")) == 0 {
				t.Fatal("kexec-metadata dropped without a finding")
			}
			return
		}
		again := make([]byte, kexecMetadataSize)
		if err := encPutKexecMetadata(again, h.KexecMetadata); err != nil {
			t.Fatalf("encoding decoded %+v: %v", h.KexecMetadata, err)
		}
		h2 := s.decode(t, again)
		if diff := cmp.Diff(h.KexecMetadata, h2.KexecMetadata); diff != "" {
			t.Fatalf("kexec-metadata round trip differs (-decoded +re-decoded):\n%s", diff)
		}
	})
}
