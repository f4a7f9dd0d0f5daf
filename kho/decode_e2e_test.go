package kho

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/internal/e2eexpect"
)

// decodeE2EFile is one decoded or expected file, for comparison.
type decodeE2EFile struct {
	Session, Compatible, SHA256 string
	Token, Size                 uint64
}

// TestDecodeE2EDumps decodes the real 7.3.4 dumps the e2e harness leaves
// in e2eDumpDir. The image taken at kexec must decode without a
// finding to exactly what stage 1 preserved: every session and file, and
// every memfd's contents (SHA-256 through MemfdContents). The image taken
// after the kexec keeps the root and kexec-metadata; its luo_ser and radix
// map pages were reused, which must show as a few precise findings.
func TestDecodeE2EDumps(t *testing.T) {
	dir := e2eDumpDir()
	want, err := e2eexpect.Read(filepath.Join(dir, "expected.json"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	root, err := strconv.ParseUint(want.Handover.RootFDTPhys, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	var wantFiles []decodeE2EFile
	for _, s := range want.Sessions {
		for _, f := range s.Files {
			wantFiles = append(wantFiles, decodeE2EFile{s.Name, f.Compatible, f.SHA256, f.Token, f.Size})
		}
	}
	wantKexec := &KexecMetadata{Version: 1, PreviousRelease: want.Handover.PreviousRelease, KexecCount: want.Handover.KexecCount}
	for _, name := range []string{"at-kexec.elf", "at-kexec.kdump", "post-kexec.elf", "post-kexec.kdump"} {
		t.Run(name, func(t *testing.T) {
			im := openE2EImage(t, filepath.Join(dir, name))
			h, err := Decode(im.Memory, root, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(wantKexec, h.KexecMetadata); d != "" {
				t.Errorf("kexec-metadata (-want +got):\n%s", d)
			}
			if name[:4] == "post" {
				codes := handoverCodes(h)
				wantCodes := []string{"luo.compatible-unknown", "map.unusable", "ptr.unaligned"}
				if d := cmp.Diff(wantCodes, codes); d != "" {
					t.Errorf("post-kexec codes (-want +got):\n%s", d)
				}
				return
			}
			if len(h.Findings) != 0 {
				t.Errorf("findings: %v", h.Findings)
			}
			if h.LUO == nil {
				t.Fatal("no LUO decoded")
			}
			if h.LUO.LiveupdateNumber != want.Handover.LiveupdateNumber {
				t.Errorf("liveupdate number %d, want %d", h.LUO.LiveupdateNumber, want.Handover.LiveupdateNumber)
			}
			var gotFiles []decodeE2EFile
			for _, s := range h.LUO.Sessions {
				for _, f := range s.Files {
					sum := "no memfd"
					var size uint64
					if f.Memfd != nil {
						hash := sha256.New()
						if _, err := io.Copy(hash, MemfdContents(im.Memory, f.Memfd, 4096)); err != nil {
							t.Errorf("%s token %#x: %v", s.Name, f.Token, err)
						}
						sum, size = hex.EncodeToString(hash.Sum(nil)), f.Memfd.Size
					}
					gotFiles = append(gotFiles, decodeE2EFile{s.Name, f.Compatible, sum, f.Token, size})
				}
			}
			if d := cmp.Diff(wantFiles, gotFiles); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
			var gotFLBs []string
			for _, f := range h.LUO.FLBs {
				gotFLBs = append(gotFLBs, f.Name+"="+strconv.FormatUint(f.Count, 10))
			}
			var wantFLBs []string
			for _, f := range want.FLBs {
				wantFLBs = append(wantFLBs, f.Name+"="+strconv.FormatUint(f.Count, 10))
			}
			if d := cmp.Diff(wantFLBs, gotFLBs); d != "" {
				t.Errorf("FLBs (-want +got):\n%s", d)
			}
			t.Logf("%d sessions, %d files, %d FLBs, map of %d runs", len(h.LUO.Sessions), len(gotFiles), len(h.LUO.FLBs), len(h.MemoryMap.Runs))
		})
	}
}
