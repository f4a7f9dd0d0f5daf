package target

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OSSFuzzName is the fuzzer's name on OSS-Fuzz and ClusterFuzzLite: the
// package directory with "/" replaced by "_", then the function name
// ("kho_image_FuzzOpen"); just the function name for the root package.
func (t Target) OSSFuzzName() string {
	if t.Rel == "." || t.Rel == "" {
		return t.Name
	}
	return strings.NewReplacer("/", "_", ".", "_", "-", "_").Replace(t.Rel) + "_" + t.Name
}

// OSSFuzzProblems lists why OSS-Fuzz's compile_native_go_fuzzer (and its
// _v2) would fail to build the target. Those scripts grep the package
// directory recursively for the function name and need exactly one .go
// file to mention it; they then need exactly one line of that file to
// contain both "func <Name>" (a prefix match: FuzzELF also matches func
// FuzzELFNotes) and "testing.F"; and the v1 script rewrites the
// declaration textually, expecting "func Name(f *testing.F)", and copies
// the file into the package as a non-test file, which an external test
// package (package foo_test) cannot survive.
func OSSFuzzProblems(t Target) []string {
	var problems []string
	if t.External {
		problems = append(problems, "declared in the external test package of "+t.File)
	}
	if t.TestingName != "testing" || t.ParamName == "" {
		problems = append(problems, "declaration is not written as func "+t.Name+"(f *testing.F)")
	}
	files := goFilesMentioning(t.Dir, t.Name)
	if len(files) != 1 {
		problems = append(problems, fmt.Sprintf("the name %s appears in %d .go files under the package directory (%s), not exactly one", t.Name, len(files), strings.Join(files, ", ")))
	} else if n := countDeclLines(filepath.Join(t.Dir, files[0]), t.Name); n != 1 {
		problems = append(problems, fmt.Sprintf("%d lines of %s contain both \"func %s\" and \"testing.F\", not exactly one (another target's name starts with %s?)", n, files[0], t.Name, t.Name))
	}
	return problems
}

// goFilesMentioning lists the .go files under dir whose contents contain
// word, as grep -r -l --include='*.go' would (names relative to dir).
func goFilesMentioning(dir, word string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(word)) {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// countDeclLines counts the lines of a file that contain "func name" and
// "testing.F".
func countDeclLines(path, name string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "func "+name) && strings.Contains(line, "testing.F") {
			n++
		}
	}
	return n
}
