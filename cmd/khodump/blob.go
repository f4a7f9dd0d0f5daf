package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
)

// flbBlobAddr is where a blob given --as luo-flb is placed for the FLB
// checks, which work on physical memory: any page-aligned non-zero address.
const flbBlobAddr = 0x100000

// The JSON document of show --as and check --as (docs/json.md).
type jsonBlobDoc struct {
	Source   jsonBlobSource `json:"source"`
	Format   jsonBlobFormat `json:"format"`
	Fields   []jsonField    `json:"fields"`
	Findings []jsonFinding  `json:"findings"`
}

type jsonBlobSource struct {
	Path string `json:"path"`
	Size int    `json:"size"`
}

type jsonBlobFormat struct {
	Name       string `json:"name"`
	Compatible string `json:"compatible"`
	Status     string `json:"status"`
	Size       int    `json:"size"`
}

type jsonField struct {
	Path   string `json:"path"`
	Offset int    `json:"offset"`
	Type   string `json:"type"`
	Value  string `json:"value"`
}

// readBlob reads a blob file of at most image.MaxBlob bytes.
func readBlob(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openFailed(path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, failIO("%s: is a directory; --as decodes one blob file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, image.MaxBlob+1))
	if err != nil {
		return nil, failIO("%s: %v", path, unwrapPath(err))
	}
	if len(b) > image.MaxBlob {
		return nil, failBad("%s: larger than %d bytes: not a blob; drop --as for memory images", path, image.MaxBlob)
	}
	if len(b) == 0 {
		return nil, failIO("%s: empty file (0 bytes)", path)
	}
	return b, nil
}

// runBlob is show --as and check --as.
func runBlob(o *options, path string, check bool, stdout, stderr io.Writer) int {
	ps := format.PageSize(o.effectivePageSize())
	f, err := format.LookupFor(o.as, ps)
	if err != nil {
		errorLine(stderr, fmt.Sprintf("--as %q: not a catalogue format; 'khodump abi' lists them (e.g. %s)", o.as, strings.Join(exampleNames(), ", ")))
		return exitUsage
	}
	if !check && o.output == "dts" && f.Kind != format.KindFDT {
		errorLine(stderr, fmt.Sprintf("-o dts: %s is not an FDT format", f.Name))
		return exitUsage
	}
	b, err := readBlob(path)
	if err != nil {
		return exitFor(stderr, err)
	}
	if f.Kind == format.KindFDT {
		return runFDTBlob(o, path, b, check, stdout, stderr)
	}
	doc := jsonBlobDoc{
		Source: jsonBlobSource{Path: path, Size: len(b)},
		Format: jsonBlobFormat{Name: f.Name, Compatible: f.Compatible, Status: f.Status.String(), Size: f.Size},
		Fields: []jsonField{},
	}
	var fs []kho.Finding
	vals, verr := f.Values(b)
	if _, err := f.Decode(b); err != nil || verr != nil {
		if err == nil {
			err = verr
		}
		fs = append(fs, kho.Finding{Severity: kho.Error, Code: "blob.decode", Path: "/", Message: strings.TrimPrefix(err.Error(), "format: ")})
	}
	for _, v := range vals {
		doc.Fields = append(doc.Fields, jsonField{v.Path, v.Off, v.Field.Type.String(), v.String()})
		if v.Field.Type == format.FieldChars && !v.Chars.Terminated() {
			fs = append(fs, kho.Finding{Severity: kho.Error, Code: "blob.unterminated-string", Path: "/" + v.Path,
				Message: fmt.Sprintf("%d-byte string field at offset %d has no NUL", v.Field.Size, v.Off)})
		}
	}
	if f.Kind == format.KindStruct && len(b) > f.Size {
		fs = append(fs, kho.Finding{Severity: kho.Info, Code: "blob.trailing-bytes", Path: "/",
			Message: fmt.Sprintf("%d bytes after the %d-byte %s", len(b)-f.Size, f.Size, f.Name)})
	}
	if f.Name == "luo-flb" {
		fs = append(fs, flbBlobFindings(b, o.effectivePageSize())...)
	}
	doc.Findings = jsonFindings(fs, nil)
	switch {
	case o.output == "json":
		err = writeJSON(stdout, doc)
	case check:
		err = writeFindingsText(stdout, fs, nil)
	default:
		t := &textWriter{w: stdout}
		t.line(0, "%s: %s, %s", path, f, size(uint64(len(b))))
		for _, fl := range doc.Fields {
			t.line(1, "%#06x %s = %s", fl.Offset, fl.Path, fl.Value)
		}
		t.findings(fs, nil)
		err = t.err
	}
	if check {
		return written(stderr, err, verdict(fs, nil))
	}
	return written(stderr, err, exitOK)
}

func exampleNames() []string {
	return []string{"fdt", "luo-ser", "luo-flb", "session-block", "file-block", "memfd-v2", "kexec-metadata"}
}

// flbBlobFindings runs the hardened FLB page checks on the blob placed at
// a page-aligned address.
func flbBlobFindings(b []byte, pageSize uint64) []kho.Finding {
	var mem physmem.Sparse
	n := (uint64(len(b)) + pageSize - 1) / pageSize * pageSize
	if mem.AddRange(flbBlobAddr, n, physmem.Present) != nil || mem.WriteAt(b, flbBlobAddr) != nil {
		return nil
	}
	fs := kho.CheckFLBPage(&mem, flbBlobAddr, &kho.FLBOptions{PageSize: pageSize})
	for i := range fs {
		if fs[i].Addr >= flbBlobAddr {
			fs[i].Message += fmt.Sprintf(" (blob offset %#x)", fs[i].Addr-flbBlobAddr)
		}
	}
	return fs
}

// runFDTBlob is --as for an FDT format: the FDT itself, and for a KHO root
// its root-level findings.
func runFDTBlob(o *options, path string, b []byte, check bool, stdout, stderr io.Writer) int {
	t, err := fdt.Decode(b, &fdt.Options{Lenient: o.lenient, Limits: fdt.DefaultLimits()})
	if !check {
		if err != nil {
			errorLine(stderr, path+": "+err.Error())
			return exitMalformed
		}
		return writeFDT(o, path, t, stdout, stderr)
	}
	var fs []kho.Finding
	if err != nil {
		fs = append(fs, kho.Finding{Severity: kho.Error, Code: "blob.fdt", Path: "/", Message: strings.TrimPrefix(err.Error(), "fdt: ")})
	} else {
		for _, f := range t.Findings {
			fs = append(fs, kho.Finding{Severity: kho.Warning, Code: "fdt." + strings.TrimPrefix(f.Code, "fdt."), Path: f.Path,
				Message: fmt.Sprintf("offset %#x: %s", f.Offset, f.Message)})
		}
	}
	if o.output == "json" {
		doc := jsonBlobDoc{Source: jsonBlobSource{Path: path, Size: len(b)}, Format: jsonBlobFormat{Name: o.as, Status: "mainline"},
			Fields: []jsonField{}, Findings: jsonFindings(fs, nil)}
		err = writeJSON(stdout, doc)
	} else {
		err = writeFindingsText(stdout, fs, nil)
	}
	return written(stderr, err, verdict(fs, nil))
}
