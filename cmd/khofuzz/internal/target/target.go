package target

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Target is one fuzz function.
type Target struct {
	// ImportPath is the package's import path.
	ImportPath string
	// Dir is the package directory.
	Dir string
	// Rel is Dir relative to the module root, slash-separated ("." for
	// the root package).
	Rel string
	// Name is the function name, "FuzzXxx".
	Name string
	// File is the base name of the file that declares the function.
	File string
	// Line is the line of the declaration.
	Line int
	// External reports that the file is in the external test package
	// (package foo_test).
	External bool
	// ParamName is the name of the *testing.F parameter ("" if unnamed),
	// and TestingName how the file refers to package testing; OSS-Fuzz's
	// build script matches "func FuzzXxx(f *testing.F)" textually.
	ParamName, TestingName string
}

// ID is "rel/FuzzXxx", the name khofuzz prints and --run matches.
func (t Target) ID() string { return t.Rel + "/" + t.Name }

// Package groups the targets of one package, which share a test binary.
type Package struct {
	ImportPath string
	Dir        string
	Rel        string
	Targets    []Target
}

// Module describes the module whose targets were found.
type Module struct {
	Path string // module path
	Dir  string // module root
}

// ErrList is returned, wrapped, when `go list` fails.
var ErrList = errors.New("go list failed")

// listed is the part of `go list -json` output that Find reads.
type listed struct {
	ImportPath   string
	Dir          string
	TestGoFiles  []string
	XTestGoFiles []string
	Module       *struct{ Path, Dir string }
	Error        *struct{ Err string }
}

// Find lists the packages matching patterns (default "./...") with `go
// list`, run in dir, and returns those that declare at least one fuzz
// target, sorted by directory, with targets in source order. Packages that
// go list cannot load are reported in the returned warnings, not as errors,
// so that one broken package does not hide the targets of the others.
func Find(dir string, patterns []string) (Module, []Package, []string, error) {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	args := append([]string{"list", "-e", "-json=ImportPath,Dir,TestGoFiles,XTestGoFiles,Module,Error"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Module{}, nil, nil, fmt.Errorf("%w: go %s: %v: %s", ErrList, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var (
		mod      Module
		pkgs     []Package
		warnings []string
	)
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return Module{}, nil, nil, fmt.Errorf("%w: decoding output: %v", ErrList, err)
		}
		if p.Module != nil && mod.Dir == "" {
			mod = Module{Path: p.Module.Path, Dir: p.Module.Dir}
		}
		if p.Error != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %s", p.ImportPath, p.Error.Err))
		}
		pkg := Package{ImportPath: p.ImportPath, Dir: p.Dir}
		for _, f := range p.TestGoFiles {
			ts, err := parseFile(filepath.Join(p.Dir, f), false)
			if err != nil {
				warnings = append(warnings, err.Error())
			}
			pkg.Targets = append(pkg.Targets, ts...)
		}
		for _, f := range p.XTestGoFiles {
			ts, err := parseFile(filepath.Join(p.Dir, f), true)
			if err != nil {
				warnings = append(warnings, err.Error())
			}
			pkg.Targets = append(pkg.Targets, ts...)
		}
		if len(pkg.Targets) > 0 {
			pkgs = append(pkgs, pkg)
		}
	}
	for i := range pkgs {
		rel := "."
		if mod.Dir != "" {
			if r, err := filepath.Rel(mod.Dir, pkgs[i].Dir); err == nil {
				rel = filepath.ToSlash(r)
			}
		}
		pkgs[i].Rel = rel
		for j := range pkgs[i].Targets {
			pkgs[i].Targets[j].ImportPath = pkgs[i].ImportPath
			pkgs[i].Targets[j].Dir = pkgs[i].Dir
			pkgs[i].Targets[j].Rel = rel
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Rel < pkgs[j].Rel })
	return mod, pkgs, warnings, nil
}

// parseFile returns the fuzz targets declared in one test file.
func parseFile(path string, external bool) ([]Target, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %v", path, err)
	}
	testingName := ""
	for _, imp := range f.Imports {
		if p, err := strconv.Unquote(imp.Path.Value); err == nil && p == "testing" {
			testingName = "testing"
			if imp.Name != nil {
				testingName = imp.Name.Name
			}
		}
	}
	if testingName == "" || testingName == "_" {
		return nil, nil
	}
	var out []Target
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Type.TypeParams != nil || !IsFuzzName(fn.Name.Name) {
			continue
		}
		param, ok := fuzzParam(fn.Type, testingName)
		if !ok {
			continue
		}
		out = append(out, Target{
			Name:        fn.Name.Name,
			File:        filepath.Base(path),
			Line:        fset.Position(fn.Pos()).Line,
			External:    external,
			ParamName:   param,
			TestingName: testingName,
		})
	}
	return out, nil
}

// fuzzParam checks for exactly one parameter of type *testing.F and no
// results, and returns the parameter's name.
func fuzzParam(ft *ast.FuncType, testingName string) (string, bool) {
	if ft.Results != nil && len(ft.Results.List) > 0 {
		return "", false
	}
	if ft.Params == nil || len(ft.Params.List) != 1 || len(ft.Params.List[0].Names) > 1 {
		return "", false
	}
	field := ft.Params.List[0]
	star, ok := field.Type.(*ast.StarExpr)
	if !ok {
		return "", false
	}
	var isF bool
	switch x := star.X.(type) {
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		isF = ok && id.Name == testingName && x.Sel.Name == "F"
	case *ast.Ident:
		isF = testingName == "." && x.Name == "F"
	}
	if !isF {
		return "", false
	}
	if len(field.Names) == 1 {
		return field.Names[0].Name, true
	}
	return "", true
}

// IsFuzzName applies the testing package's rule: "Fuzz" alone, or "Fuzz"
// followed by a character that is not a lower-case letter.
func IsFuzzName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Fuzz")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLower(r)
}
