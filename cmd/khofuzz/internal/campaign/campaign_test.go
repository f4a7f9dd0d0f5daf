package campaign

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/khokit/khokit/cmd/khofuzz/internal/target"
)

func TestReproduceCommand(t *testing.T) {
	tests := []struct {
		rel, name, file, want string
	}{
		{"fdt", "FuzzDecode", "f6abc0eacd8b587e", "go test -run='^FuzzDecode$/^f6abc0eacd8b587e$' ./fdt"},
		{"kho/image", "FuzzELF", "0123", "go test -run='^FuzzELF$/^0123$' ./kho/image"},
		{".", "FuzzRoot", "a.b", `go test -run='^FuzzRoot$/^a\.b$' .`},
	}
	for _, tt := range tests {
		got := reproduceCommand(target.Target{Rel: tt.rel, Name: tt.name}, tt.file)
		if got != tt.want {
			t.Errorf("reproduceCommand(%s, %s, %s) = %q, want %q", tt.rel, tt.name, tt.file, got, tt.want)
		}
	}
}

func TestBinaryName(t *testing.T) {
	for rel, want := range map[string]string{"kho/image": "kho_image.test", ".": "_root.test", "fdt": "fdt.test"} {
		if got := binaryName(target.Package{Rel: rel}, ".test"); got != want {
			t.Errorf("binaryName(%q) = %q, want %q", rel, got, want)
		}
	}
}

func TestCounts(t *testing.T) {
	c := &Campaign{Results: []*TargetResult{
		{Status: Passed}, {Status: Passed}, {Status: Crashed}, {Status: BuildFailed}, {Status: Errored}, {Status: Pending},
	}}
	passed, failed := c.Counts()
	if passed != 2 || failed != 3 {
		t.Errorf("Counts = %d passed, %d failed; want 2, 3", passed, failed)
	}
}

// Held reproducers from an interrupted run go back into testdata when the
// next campaign starts.
func TestRestoreHeld(t *testing.T) {
	mod := t.TempDir()
	corpus := filepath.Join(t.TempDir(), "corpus")
	files := map[string]string{
		"go.mod":      "module example.com/r\n\ngo 1.25.0\n",
		"p/p.go":      "package p\n",
		"p/p_test.go": "package p\n\nimport \"testing\"\n\nfunc FuzzP(f *testing.F) {}\n",
	}
	for name, body := range files {
		p := filepath.Join(mod, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	held := filepath.Join(corpus, ".crashers", "p", "FuzzP", "0123abcd")
	if err := os.MkdirAll(filepath.Dir(held), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(held, []byte("go test fuzz v1\n[]byte(\"KHO\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Dir: mod, Corpus: corpus})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Results) != 1 || c.Results[0].Target.ID() != "p/FuzzP" {
		t.Fatalf("targets: %+v", c.Results)
	}
	if _, err := os.Stat(filepath.Join(mod, "p", "testdata", "fuzz", "FuzzP", "0123abcd")); err != nil {
		t.Errorf("held crasher not restored: %v", err)
	}
	if _, err := os.Stat(held); err == nil {
		t.Errorf("held crasher still in %s", held)
	}
}
