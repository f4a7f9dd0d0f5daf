package target

import (
	"bytes"
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

// OSSFuzzProblems lists why OSS-Fuzz's compile_native_go_fuzzer would fail
// to build the target. That script greps the package directory
// (recursively, testdata included) for the function name and expects exactly
// one file, matches the declaration textually as "func Name(f *testing.F)",
// and copies that file into the package as a non-test file.
func OSSFuzzProblems(t Target) []string {
	var problems []string
	if t.External {
		problems = append(problems, "declared in the external test package "+t.File+"; a renamed _test.go file cannot join package "+strings.TrimSuffix(filepath.Base(t.Dir), "_test"))
	}
	if t.TestingName != "testing" || t.ParamName == "" {
		problems = append(problems, "declaration is not written as func "+t.Name+"(f *testing.F)")
	}
	if files := filesMentioning(t.Dir, t.Name); len(files) != 1 {
		problems = append(problems, "the name "+t.Name+" appears in "+strings.Join(files, ", ")+"; the build script needs it in exactly one file under the package directory")
	}
	return problems
}

// filesMentioning lists the files under dir whose contents contain word,
// as grep -r -l would (file names relative to dir).
func filesMentioning(dir, word string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
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
