package target

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeModule lays out files (path → contents) under a new directory.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFind(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.25.0\n",
		"a/a.go": "package a\n\nfunc A() {}\n",
		"a/a_test.go": `package a

import "testing"

func FuzzDecode(f *testing.F) {}

// Not targets: a lower-case letter after Fuzz, a method, wrong parameters,
// a result, a test.
func Fuzzy(f *testing.F)              {}
func (x T) FuzzMethod(f *testing.F)   {}
func FuzzTwo(f *testing.F, n int)     {}
func FuzzResult(f *testing.F) error   { return nil }
func FuzzT(t *testing.T)              {}
func TestA(t *testing.T)              {}

type T struct{}

func Fuzz_Underscore(*testing.F) {}
`,
		"a/ext_test.go": `package a_test

import tt "testing"

func FuzzExternal(ff *tt.F) {}
`,
		"a/ignored_test.go": "//go:build never\n\npackage a\n\nimport \"testing\"\n\nfunc FuzzIgnored(f *testing.F) {}\n",
		"b/b.go":            "package b\n",
		"b/b_test.go":       "package b\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) {}\n",
		"c/c.go":            "package c\n",
		"c/c_test.go":       "package c\n\nimport \"testing\"\n\nfunc Fuzz(f *testing.F) {}\n",
		// OSS-Fuzz's grep-based build script trips over these.
		"d/doc.go":    "// Package d is fuzzed by FuzzNamed.\npackage d\n",
		"d/d_test.go": "package d\n\nimport \"testing\"\n\nfunc FuzzNamed(f *testing.F) {}\n",
		"e/e.go":      "package e\n",
		"e/e_test.go": "package e\n\nimport \"testing\"\n\nfunc FuzzX(f *testing.F)  {}\nfunc FuzzXY(f *testing.F) {}\n",
	})
	mod, pkgs, warnings, err := Find(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if mod.Path != "example.com/m" {
		t.Errorf("module path %q", mod.Path)
	}
	aDir, cDir := filepath.Join(mod.Dir, "a"), filepath.Join(mod.Dir, "c")
	dDir, eDir := filepath.Join(mod.Dir, "d"), filepath.Join(mod.Dir, "e")
	want := []Package{
		{ImportPath: "example.com/m/a", Dir: aDir, Rel: "a", Targets: []Target{
			{ImportPath: "example.com/m/a", Dir: aDir, Rel: "a", Name: "FuzzDecode", File: "a_test.go", Line: 5, ParamName: "f", TestingName: "testing"},
			{ImportPath: "example.com/m/a", Dir: aDir, Rel: "a", Name: "Fuzz_Underscore", File: "a_test.go", Line: 18, TestingName: "testing"},
			{ImportPath: "example.com/m/a", Dir: aDir, Rel: "a", Name: "FuzzExternal", File: "ext_test.go", Line: 5, External: true, ParamName: "ff", TestingName: "tt"},
		}},
		{ImportPath: "example.com/m/c", Dir: cDir, Rel: "c", Targets: []Target{
			{ImportPath: "example.com/m/c", Dir: cDir, Rel: "c", Name: "Fuzz", File: "c_test.go", Line: 5, ParamName: "f", TestingName: "testing"},
		}},
		{ImportPath: "example.com/m/d", Dir: dDir, Rel: "d", Targets: []Target{
			{ImportPath: "example.com/m/d", Dir: dDir, Rel: "d", Name: "FuzzNamed", File: "d_test.go", Line: 5, ParamName: "f", TestingName: "testing"},
		}},
		{ImportPath: "example.com/m/e", Dir: eDir, Rel: "e", Targets: []Target{
			{ImportPath: "example.com/m/e", Dir: eDir, Rel: "e", Name: "FuzzX", File: "e_test.go", Line: 5, ParamName: "f", TestingName: "testing"},
			{ImportPath: "example.com/m/e", Dir: eDir, Rel: "e", Name: "FuzzXY", File: "e_test.go", Line: 6, ParamName: "f", TestingName: "testing"},
		}},
	}
	if d := cmp.Diff(want, pkgs); d != "" {
		t.Errorf("Find mismatch (-want +got):\n%s", d)
	}

	// A pattern narrows the search.
	_, pkgs, _, err = Find(dir, []string{"./c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs[0].Rel != "c" {
		t.Errorf("Find ./c = %+v", pkgs)
	}

	// OSS-Fuzz compatibility of each.
	problems := map[string]int{}
	_, all, _, _ := Find(dir, nil)
	for _, p := range all {
		for _, tg := range p.Targets {
			problems[tg.Name] = len(OSSFuzzProblems(tg))
		}
	}
	// FuzzDecode is clean; Fuzz_Underscore has no parameter name; the
	// external one is in the wrong package and spells testing differently
	// (so its line lacks "testing.F"); "Fuzz" appears in c_test.go only;
	// FuzzNamed is also named in doc.go; "func FuzzX" matches two lines.
	wantProblems := map[string]int{
		"FuzzDecode": 0, "Fuzz_Underscore": 1, "FuzzExternal": 3, "Fuzz": 0,
		"FuzzNamed": 1, "FuzzX": 1, "FuzzXY": 0,
	}
	if d := cmp.Diff(wantProblems, problems); d != "" {
		t.Errorf("OSSFuzzProblems counts (-want +got):\n%s", d)
	}
}

func TestFindNoTargets(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"go.mod":      "module example.com/none\n\ngo 1.25.0\n",
		"p/p.go":      "package p\n",
		"p/p_test.go": "package p\n\nimport \"testing\"\n\nfunc TestP(t *testing.T) {}\n",
	})
	_, pkgs, _, err := Find(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 0 {
		t.Errorf("found targets in a module without any: %+v", pkgs)
	}
}

func TestFindBadPattern(t *testing.T) {
	dir := writeModule(t, map[string]string{"go.mod": "module example.com/bad\n\ngo 1.25.0\n"})
	_, pkgs, warnings, err := Find(dir, []string{"./nonexistent"})
	if err == nil && len(warnings) == 0 {
		t.Errorf("Find of a missing directory: no error and no warning (pkgs %+v)", pkgs)
	}
}

func TestIsFuzzName(t *testing.T) {
	for name, want := range map[string]bool{
		"Fuzz": true, "FuzzX": true, "Fuzz_x": true, "Fuzz1": true,
		"Fuzzy": false, "fuzzX": false, "TestFuzz": false, "": false,
	} {
		if got := IsFuzzName(name); got != want {
			t.Errorf("IsFuzzName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestOSSFuzzName(t *testing.T) {
	for _, tt := range []struct{ rel, name, want string }{
		{"kho/image", "FuzzOpen", "kho_image_FuzzOpen"},
		{"fdt", "FuzzDecode", "fdt_FuzzDecode"},
		{".", "FuzzRoot", "FuzzRoot"},
	} {
		if got := (Target{Rel: tt.rel, Name: tt.name}).OSSFuzzName(); got != tt.want {
			t.Errorf("OSSFuzzName(%s, %s) = %q, want %q", tt.rel, tt.name, got, tt.want)
		}
	}
}
