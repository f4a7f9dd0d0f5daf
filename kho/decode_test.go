package kho

import (
	"bytes"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeRoundTrip decodes what the builder laid out, for every root
// version with its LUO generation, and expects the builder's model back
// with no findings, and every memfd's contents readable through its folios.
func TestDecodeRoundTrip(t *testing.T) {
	cases := buildCases()
	cases = append(cases, buildCase{"kho-v4 64K pages", &Handover{Compatible: "kho-v4", LUO: &LUO{Compatible: "luo-v5", LiveupdateNumber: 3,
		Sessions: []Session{{Name: "s", Files: []File{{Compatible: "memfd-v2", Token: 9, Memfd: &Memfd{}}}}}}},
		&BuildOptions{PageSize: 65536, Contents: map[FileID][]byte{{0, 0}: bytes.Repeat([]byte("64k"), 50000)}}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(tc.h, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var opts Options
			if tc.opts != nil {
				opts.PageSize = tc.opts.PageSize
			}
			opts.Scratch = append(opts.Scratch, b.Scratch...)
			h, err := Decode(b.Mem, b.RootAddr, &opts)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(b.Handover, h); d != "" {
				t.Errorf("Decode mismatch (-built +decoded):\n%s", d)
			}
			if tc.opts == nil {
				return
			}
			for id, want := range tc.opts.Contents {
				f := h.LUO.Sessions[id.Session].Files[id.File]
				if f.Memfd == nil {
					t.Fatalf("file %v: no memfd decoded", id)
				}
				got, err := io.ReadAll(MemfdContents(b.Mem, f.Memfd, opts.PageSize))
				if err != nil {
					t.Fatalf("file %v: %v", id, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("file %v: contents differ: got %d bytes, want %d", id, len(got), len(want))
				}
			}
		})
	}
}
