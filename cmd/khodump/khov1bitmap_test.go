package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/image"
)

// khoV1Image writes a kho-v1 handover built with the given bitmap size as
// an ELF core and returns its path and root address.
func khoV1Image(t *testing.T, size kho.KHOv1BitmapSize) (string, *kho.Built) {
	t.Helper()
	h := &kho.Handover{Compatible: "kho-v1", Memblock: &kho.Memblock{Regions: []kho.ReserveMem{{Name: "trace", Size: 3 * 4096}}}}
	b, err := kho.Build(h, &kho.BuildOptions{KHOv1Bitmap: size})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := image.WriteELF(&buf, b.Mem, b.Mem.Ranges(), &image.ELFOptions{TrimZeros: true, VMCoreInfo: []byte("OSRELEASE=6.16.0\nPAGESIZE=4096\n")}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kho-v1.elf")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// TestKHOv1BitmapFlag: --kho-v1-bitmap reaches the decoder. A 6.16-style
// map (512-byte bitmaps) decodes to the built map when detected (with the
// info finding saying so) and when named; named page, the decoder says
// the map disagrees and cannot read it.
func TestKHOv1BitmapFlag(t *testing.T) {
	path, b := khoV1Image(t, kho.KHOv1Bitmap512)
	root := fmt.Sprintf("%#x", b.RootAddr)
	var want uint64
	for range b.Handover.MemoryMap.All() {
		want++
	}
	for _, tc := range []struct {
		flag  []string
		codes []string
		ok    bool // the map decodes to the built one
	}{
		{nil, []string{"chunk.bitmap-512"}, true},
		{[]string{"--kho-v1-bitmap", "detect"}, []string{"chunk.bitmap-512"}, true},
		{[]string{"--kho-v1-bitmap", "512"}, nil, true},
		{[]string{"--kho-v1-bitmap=page"}, []string{"chunk.bitmap-size-conflict", "ptr.unaligned", "map.unusable"}, false},
	} {
		t.Run(strings.Join(append([]string{"flags"}, tc.flag...), " "), func(t *testing.T) {
			args := append([]string{"show", "-o", "json", "--no-progress", "-q", "--root", root}, tc.flag...)
			out, _ := run1(t, 0, append(args, path)...)
			doc := decodeDoc(t, out)
			seen := map[string]bool{}
			var codes []string
			for _, f := range doc.Findings {
				if !seen[f.Code] {
					seen[f.Code] = true
					codes = append(codes, f.Code)
				}
			}
			if d := cmp.Diff(tc.codes, codes); d != "" {
				t.Errorf("finding codes (-want +got):\n%s", d)
			}
			if len(doc.Handovers) != 1 {
				t.Fatalf("%d handovers, want 1", len(doc.Handovers))
			}
			m := doc.Handovers[0].Root.MemoryMap
			if got := m.Blocks == want; got != tc.ok {
				t.Errorf("memory map of %d blocks, built %d", m.Blocks, want)
			}
		})
	}
	_, errOut := run1(t, 2, "show", "--kho-v1-bitmap", "4096", path)
	if !strings.Contains(errOut, "want detect, 512 or page") {
		t.Errorf("--kho-v1-bitmap 4096: stderr %q does not say what it wants", errOut)
	}
}
