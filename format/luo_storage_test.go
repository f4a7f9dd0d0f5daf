package format

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLUOStorage: every LUO root layout of the catalogue (the LUO FDTs and
// every luo_ser variant) says how it stores sessions and files, and only
// those do.
func TestLUOStorage(t *testing.T) {
	var roots []string
	for _, f := range All() {
		if f.CName == "luo_ser" || (f.Kind == KindFDT && (f.Compatible == "luo-v1" || f.Compatible == "luo-v2")) {
			roots = append(roots, f.Name)
		}
	}
	var stored []string
	for _, f := range All() {
		if _, ok := LUOStorageOf(f.Name); ok {
			stored = append(stored, f.Name)
		}
	}
	if d := cmp.Diff(roots, stored); d != "" {
		t.Errorf("LUO roots (-) vs layouts with a storage entry (+):\n%s", d)
	}
	for _, tc := range []struct {
		compat string
		name   string
		want   LUOStorage
	}{
		{"luo-v1", "luo-fdt-v1", LUOStorage{}},
		{"luo-v2", "luo-fdt-v2", LUOStorage{}},
		{"luo-v3", "luo-ser-v3", LUOStorage{}},
		{"luo-v4", "luo-ser-v4", LUOStorage{SessionBlocks: true}},
		{"luo-v5", "luo-ser", LUOStorage{SessionBlocks: true, FileBlocks: true}},
		{"luo-v5;block-v1", "luo-ser-v5-block-v1", LUOStorage{SessionBlocks: true, FileBlocks: true}},
		{"luo-v4-kho-block-v1", "luo-ser-v4-kho-block-v1", LUOStorage{SessionBlocks: true, FileBlocks: true}},
	} {
		f := LUORoot(tc.compat)
		if f == nil || f.Name != tc.name {
			t.Errorf("LUORoot(%q) = %v, want %s", tc.compat, f, tc.name)
			continue
		}
		if got, ok := LUOStorageOf(f.Name); !ok || got != tc.want {
			t.Errorf("LUOStorageOf(%q) = %+v, %v; want %+v", f.Name, got, ok, tc.want)
		}
	}
	for _, c := range []string{"", "luo-v6", "memfd-v2"} {
		if f := LUORoot(c); f != nil {
			t.Errorf("LUORoot(%q) = %s, want nil", c, f.Name)
		}
	}
}
