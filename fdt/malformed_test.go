package fdt

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/fdt/internal/malformed"
)

var sentinels = map[string]error{
	"ErrTruncated": ErrTruncated, "ErrMagic": ErrMagic, "ErrVersion": ErrVersion,
	"ErrLayout": ErrLayout, "ErrReservations": ErrReservations, "ErrStructure": ErrStructure,
	"ErrName": ErrName, "ErrStrings": ErrStrings, "ErrDuplicate": ErrDuplicate,
	"ErrPadding": ErrPadding, "ErrLimit": ErrLimit, "ErrValue": ErrValue,
}

type tableCase struct {
	file, strict, lenient string
	offset                int64 // -1: not checked
	findings              []string
}

const malformedDir = "../testdata/fdt/malformed"

// readCaseTable reads testdata/fdt/malformed/cases.tsv.
func readCaseTable(t testing.TB) []tableCase {
	t.Helper()
	f, err := os.Open(filepath.Join(malformedDir, "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cs []tableCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) != 6 {
			t.Fatalf("cases.tsv: bad line %q", line)
		}
		c := tableCase{file: col[0], strict: col[1], lenient: col[3], offset: -1}
		if col[2] != "-" {
			if c.offset, err = strconv.ParseInt(col[2], 0, 64); err != nil {
				t.Fatalf("cases.tsv: %v", err)
			}
		}
		if col[4] != "-" {
			c.findings = strings.Split(col[4], ",")
		}
		cs = append(cs, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestMalformedCorpusFresh fails when testdata/fdt/malformed differs from
// what the generator makes (run `go run ./fdt/internal/genmalformed`).
func TestMalformedCorpusFresh(t *testing.T) {
	cs := malformed.Cases()
	table, err := os.ReadFile(filepath.Join(malformedDir, "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(malformed.Table(cs), string(table)); d != "" {
		t.Errorf("cases.tsv is stale (-generated +committed):\n%s", d)
	}
	for _, c := range cs {
		data, err := os.ReadFile(filepath.Join(malformedDir, c.Name+".dtb"))
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(data, c.Data) {
			t.Errorf("%s.dtb is stale", c.Name)
		}
	}
}

func checkOutcome(t *testing.T, what string, err error, want string, offset int64) {
	t.Helper()
	if want == "ok" {
		if err != nil {
			t.Errorf("%s: %v, want success", what, err)
		}
		return
	}
	sentinel := sentinels[want]
	if sentinel == nil {
		t.Fatalf("unknown sentinel %q in the table", want)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: error %v, want %s", what, err, want)
		return
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Errorf("%s: error %T is not an *Error", what, err)
		return
	}
	if offset >= 0 && fe.Offset != offset {
		t.Errorf("%s: error at offset %#x, want %#x: %v", what, fe.Offset, offset, err)
	}
	if fe.Offset < 0 {
		t.Errorf("%s: error has no offset: %v", what, err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "offset 0x") {
		t.Errorf("%s: message %q is not one located line", what, msg)
	}
}

// TestMalformed decodes every case of the table in both modes and checks
// the sentinel, the offset and the findings.
func TestMalformed(t *testing.T) {
	var reused Validator // one for all cases: its table must not leak between blobs
	for _, c := range readCaseTable(t) {
		t.Run(strings.TrimSuffix(c.file, ".dtb"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(malformedDir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			tree, err := Decode(data, nil)
			checkOutcome(t, "strict Decode", err, c.strict, c.offset)
			if (err == nil) != (tree != nil) {
				t.Errorf("strict Decode returned tree %v with error %v", tree != nil, err)
			}
			checkOutcome(t, "strict Validate", Validate(data, nil), c.strict, c.offset)
			checkOutcome(t, "strict Validator", reused.Validate(data, nil), c.strict, c.offset)

			lenient := &Options{Lenient: true}
			// A case lenient mode does not tolerate fails at the same place.
			lenientOffset := int64(-1)
			if c.lenient == c.strict {
				lenientOffset = c.offset
			}
			tree, err = Decode(data, lenient)
			checkOutcome(t, "lenient Decode", err, c.lenient, lenientOffset)
			checkOutcome(t, "lenient Validate", Validate(data, lenient), c.lenient, lenientOffset)
			verr := reused.Validate(data, lenient)
			checkOutcome(t, "lenient Validator", verr, c.lenient, lenientOffset)
			var vcodes []string
			for _, f := range reused.Findings() {
				vcodes = append(vcodes, f.Code)
			}
			if err != nil {
				if tree != nil {
					t.Error("lenient Decode returned a tree with an error")
				}
				return
			}
			var codes []string
			for _, f := range tree.Findings {
				codes = append(codes, f.Code)
				if f.Offset < 0 || f.Message == "" || strings.Contains(f.Message, "\n") {
					t.Errorf("finding %+v lacks an offset or a one-line message", f)
				}
			}
			if d := cmp.Diff(c.findings, codes); d != "" {
				t.Errorf("lenient findings (-want +got):\n%s", d)
			}
			// The Validator reports what the walk found; Decode adds
			// observations about the buffer around the blob.
			var walkCodes []string
			for _, code := range codes {
				if code != FindTrailingBytes && code != FindSuppressed {
					walkCodes = append(walkCodes, code)
				}
			}
			if d := cmp.Diff(walkCodes, vcodes); d != "" {
				t.Errorf("lenient Validator findings differ from Decode's (-Decode +Validator):\n%s", d)
			}
		})
	}
}
