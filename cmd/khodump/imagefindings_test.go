package main

import (
	"bytes"
	encbin "encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
)

// badSector reads r but fails with EIO on the 512 bytes from bad on: a
// disk that fails after the file was opened.
type badSector struct {
	r   io.ReaderAt
	bad int64
}

func (b badSector) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) <= b.bad || off >= b.bad+512 {
		return b.r.ReadAt(p, off)
	}
	if off >= b.bad {
		return 0, syscall.EIO
	}
	n, _ := b.r.ReadAt(p[:b.bad-off], off)
	return n, syscall.EIO
}

// TestImageFindingsAfterOpen: the kdump reader meets a 2nd bitmap it
// cannot read only when it first lists its ranges, in the locator, after
// open; check and scan still list that finding with its file offset.
// (Frame 0x20000 is 512 MiB: the first frame of the chunk not read.)
//
// The dump is handover.kdump's memory plus 16 MiB at 512 MiB that the dump
// filtered out; the disk fails inside the 4 KiB chunk of the 2nd bitmap
// that describes them, so the handover still decodes. (A kdump file cut
// there would lose its page data too, which follows the bitmaps: the
// decode fails first.)
func TestImageFindingsAfterOpen(t *testing.T) {
	src, err := image.Open(fixture("handover.kdump"), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ranges := append(src.Memory.Ranges(), physmem.Range{Start: 512 << 20, Size: 16 << 20, State: physmem.Excluded})
	var buf bytes.Buffer
	if err := image.WriteKdump(&buf, src.Memory, ranges, nil); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	path := filepath.Join(t.TempDir(), "filtered.kdump")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	le := encbin.LittleEndian
	bitmap1 := int64(1+le.Uint32(data[432:])) * 4096
	bitmap2 := bitmap1 + int64(le.Uint32(data[436:]))/2*4096
	bad := bitmap2 + (512<<20)/4096/8 + 100 // in the chunk of frames from 512 MiB
	openFile = func(p string, opts image.Options) (*image.Image, error) {
		if p != path {
			return image.Open(p, opts)
		}
		return image.OpenReader(badSector{bytes.NewReader(data), bad}, int64(len(data)), opts)
	}
	defer func() { openFile = image.Open }()

	want := []jsonFinding{{Severity: "warning", Code: "image.finding", Path: "/",
		Message:      fmt.Sprintf("offset %#x: reading the 2nd bitmap failed; page frames from 0x20000 on are left out of the ranges: input/output error", bad),
		KernelImpact: []jsonImpact{}}}
	for _, cmdName := range []string{"scan", "check"} {
		args := []string{cmdName, "-o", "json", path}
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("%v: exit %d: %s %s", args, code, stderr.String(), stdout.String())
		}
		var doc struct {
			Findings []jsonFinding `json:"findings"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stdout.String())
		}
		var got []jsonFinding
		for _, f := range doc.Findings {
			if strings.HasPrefix(f.Code, "image.") {
				got = append(got, f)
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%v: image findings (-want +got):\n%s\nall: %+v", args, d, doc.Findings)
		}
	}
}
