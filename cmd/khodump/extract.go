package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/physmem"
	"github.com/spf13/pflag"
)

var cmdExtract = &command{
	name:     "extract",
	synopsis: "extract --dir DIR [flags] SOURCE",
	summary:  "write every reachable blob and each preserved memfd's contents as files, with an index.json naming them",
	examples: []string{
		"khodump extract --dir out/ vmcore.elf",
		"jq '.files[] | select(.kind == \"memfd\")' out/index.json",
	},
	flags: func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.dir, "dir", "", "directory to write into: created when missing, must be empty (required)")
		sourceFlags(fs, o)
	},
	run: runExtract,
}

// maxExtractBlob bounds one blob written by extract (blob-size is hostile).
const maxExtractBlob = 64 << 20

// The JSON document extract writes as DIR/index.json (docs/json.md).
type jsonIndex struct {
	Source jsonSource  `json:"source"`
	Role   string      `json:"role"`
	Root   *hexU64     `json:"root"`
	Files  []jsonEntry `json:"files"`
}

type jsonEntry struct {
	File    string  `json:"file"`
	Kind    string  `json:"kind"`
	Name    string  `json:"name"`
	Address *hexU64 `json:"address"`
	Size    uint64  `json:"size"`
	SHA256  string  `json:"sha256"`
	Session *string `json:"session"`
	Token   *hexU64 `json:"token"`
}

func runExtract(o *options, args []string, stdout, stderr io.Writer) int {
	path, err := oneSource(args)
	if err != nil {
		errorLine(stderr, "extract: "+err.Error())
		return exitUsage
	}
	if o.dir == "" {
		errorLine(stderr, "extract: --dir DIR is required")
		return exitUsage
	}
	if o.as != "" {
		errorLine(stderr, "extract: --as decodes one blob; there is nothing to extract from it")
		return exitUsage
	}
	if err := emptyDir(o.dir); err != nil {
		errorLine(stderr, "extract: "+err.Error())
		return exitUsage
	}
	l, err := load(path, o, forExtract)
	defer l.close()
	if err != nil {
		return exitFor(stderr, err)
	}
	if l.plain != nil {
		errorLine(stderr, path+": an FDT, but not a KHO root: nothing to extract")
		return exitMalformed
	}
	d := l.handovers[0]
	x := &extractor{dir: o.dir, mem: l.mem, pageSize: o.effectivePageSize()}
	idx := jsonIndex{Source: jsonSource{Path: path, Format: l.im.Format.String()}, Role: d.role, Files: []jsonEntry{}}
	var rootAddr *hexU64
	if d.cand != nil {
		rootAddr = hexPtr(d.cand.Addr)
		idx.Root = rootAddr
	}
	x.bytes("root.dtb", jsonEntry{Kind: "root", Name: d.h.Compatible, Address: rootAddr}, d.rootFDT)
	for i, s := range d.h.Subtrees {
		e := jsonEntry{Kind: "subtree", Name: s.Name, Address: hexPtr(s.Addr)}
		x.memory(fmt.Sprintf("subtrees/%02d-%s.bin", i, safeName(s.Name)), e, s.Addr, s.Size)
	}
	if lu := d.h.LUO; lu != nil {
		if lu.FLBsAddr != 0 {
			x.memory("luo/flb-page.bin", jsonEntry{Kind: "flb-page", Name: "luo_flb_header_ser", Address: hexPtr(lu.FLBsAddr)}, lu.FLBsAddr, x.pageSize)
		}
		for si, s := range lu.Sessions {
			name := s.Name
			for fi, f := range s.Files {
				if f.Memfd == nil {
					continue
				}
				e := jsonEntry{Kind: "memfd", Name: f.Compatible, Size: f.Memfd.Size, Session: &name, Token: hexPtr(f.Token), Address: hexPtr(f.Data)}
				file := fmt.Sprintf("memfds/%03d-%s/%03d-token-%x.bin", si, safeName(s.Name), fi, f.Token)
				r, err := kho.OpenMemfd(l.mem, f.Memfd, x.pageSize, kho.DefaultMaxMemfdHoles)
				if err != nil {
					x.skipped = append(x.skipped, file+": "+notRead(err))
					continue
				}
				x.reader(file, e, r)
			}
		}
	}
	idx.Files = x.entries
	if x.err == nil {
		x.err = writeAtomic(filepath.Join(o.dir, "index.json"), func(w io.Writer) error { return writeJSON(w, idx) })
	}
	if x.err != nil {
		errorLine(stderr, "extract: "+x.err.Error())
		return exitUsage
	}
	for _, s := range x.skipped {
		o.note("extract: %s", s)
	}
	o.note("wrote %d files and index.json to %s", len(x.entries), o.dir)
	return exitOK
}

// extractor writes files under dir and collects their index entries.
type extractor struct {
	dir      string
	mem      physmem.Memory
	pageSize uint64
	entries  []jsonEntry
	skipped  []string
	err      error // first write error; reading errors only skip a file
}

func (x *extractor) bytes(file string, e jsonEntry, b []byte) {
	if b == nil {
		x.skipped = append(x.skipped, fmt.Sprintf("%s: not readable from this source; not written", file))
		return
	}
	x.reader(file, e, bytes.NewReader(b))
}

func (x *extractor) memory(file string, e jsonEntry, addr, size uint64) {
	if size > maxExtractBlob {
		x.skipped = append(x.skipped, fmt.Sprintf("%s: %d bytes claimed at %#x, above the %d-byte cap; not written", file, size, addr, maxExtractBlob))
		return
	}
	b, err := physmem.Read(x.mem, addr, int(size), maxExtractBlob)
	if err != nil {
		x.skipped = append(x.skipped, fmt.Sprintf("%s: %v; not written", file, err))
		return
	}
	x.bytes(file, e, b)
}

func (x *extractor) reader(file string, e jsonEntry, r io.Reader) {
	if x.err != nil {
		return
	}
	full := filepath.Join(x.dir, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		x.err = err
		return
	}
	h := sha256.New()
	var n int64
	var readErr error
	err := writeAtomic(full, func(w io.Writer) error {
		var err error
		n, err = io.Copy(io.MultiWriter(w, h), r)
		if errors.As(err, new(*physmem.AddrError)) { // the source's memory, not the write, failed
			readErr = err
		}
		return err
	})
	if readErr != nil {
		x.skipped = append(x.skipped, fmt.Sprintf("%s: %v; not written", file, readErr))
		return
	}
	if err != nil {
		x.err = err
		return
	}
	e.File, e.Size, e.SHA256 = file, uint64(n), hex.EncodeToString(h.Sum(nil))
	x.entries = append(x.entries, e)
}

// safeName makes a hostile name usable as one path element.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if n := strings.Trim(b.String(), "."); n != "" {
		return n
	}
	return "_"
}

// emptyDir makes dir, or checks that it exists empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("--dir %s: %v", dir, unwrapPath(err))
	}
	if len(entries) > 0 {
		return fmt.Errorf("--dir %s is not empty; extract writes only into a new or empty directory", dir)
	}
	return nil
}
