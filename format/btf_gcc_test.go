package format

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBTFCompiled compares the catalogue with BTF that gcc -gbtf produced from
// our own C declarations of the abi.md layouts (testdata/format/btf/gen.sh):
// a compiler, not the tables, computes the packed offsets and bitfields here.
// Both the ELF objects and their raw .BTF sections are loaded.
func TestBTFCompiled(t *testing.T) {
	dir := "../testdata/format/btf"
	current := map[string]BTFState{
		"kho-v1-bitmap-512": BTFDifferent, "luo-ser-v2": BTFDifferent, "luo-ser-v5-block-v1": BTFDifferent,
		"luo-ser-v3-kho-block-v1": BTFDifferent, "luo-ser-v4-kho-block-v1": BTFDifferent,
		"session-ser-v1": BTFDifferent, "memfd-v1": BTFDifferent,
	}
	old := map[string]BTFState{
		"kho-v1-bitmap": BTFDifferent, "luo-ser": BTFDifferent, "luo-ser-v3": BTFDifferent, "luo-ser-v4": BTFDifferent,
		"luo-ser-v5-block-v1": BTFDifferent, "luo-ser-v3-kho-block-v1": BTFDifferent, "luo-ser-v4-kho-block-v1": BTFDifferent,
		"session-ser": BTFDifferent, "file-set": BTFAbsent, "memfd-v2": BTFDifferent, "memfd-v2-vmalloc-v1": BTFDifferent,
	}
	for _, ps := range PageSizes {
		for _, variant := range []struct {
			file   string
			except map[string]BTFState
		}{{"layouts", current}, {"layouts-old", old}} {
			for _, ext := range []string{".o", ".btf"} {
				path := filepath.Join(dir, fmt.Sprintf("%s-%d%s", variant.file, ps, ext))
				t.Run(filepath.Base(path), func(t *testing.T) {
					res, err := CheckBTFFile(path, AllFor(ps))
					if err != nil {
						t.Fatal(err)
					}
					want, got := map[string]BTFState{}, map[string]BTFState{}
					for _, r := range res {
						want[r.Format.Name] = BTFEqual
						if s, ok := variant.except[r.Format.Name]; ok {
							want[r.Format.Name] = s
						}
						got[r.Format.Name] = r.State
						if r.State == BTFEqual && want[r.Format.Name] != BTFEqual {
							continue
						}
						if r.State != want[r.Format.Name] {
							t.Logf("%s: %v", r.Format.Name, r.Diffs)
						}
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("(-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// TestBTFCompiledDiffs pins the exact differences between neighbouring
// versions as a compiler lays them out.
func TestBTFCompiledDiffs(t *testing.T) {
	res, err := CheckBTFFile("../testdata/format/btf/layouts-old-4096.o", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]BTFDiff{
		// memfd-v1 kernel, memfd-v2 table: seals/flags missing, nr_folios and folios moved.
		"memfd-v2": {
			{Kind: DiffSize, Want: 48, Got: 40},
			{Field: "seals", Kind: DiffMissing, Want: 16},
			{Field: "flags", Kind: DiffMissing, Want: 20},
			{Field: "nr_folios", Kind: DiffOffset, Want: 24, Got: 16},
			{Field: "folios", Kind: DiffOffset, Want: 32, Got: 24},
		},
		// luo-v2 kernel (no compatible), luo-v5 table.
		"luo-ser": {
			{Kind: DiffSize, Want: 32, Got: 24},
			{Field: "compatible", Kind: DiffMissing, Want: 0},
			{Field: "liveupdate_num", Kind: DiffOffset, Want: 8, Got: 0},
			{Field: "sessions_pa", Kind: DiffOffset, Want: 16, Got: 8},
			{Field: "flbs_pa", Kind: DiffOffset, Want: 24, Got: 16},
		},
		"kho-v1-bitmap": {
			{Kind: DiffSize, Want: 4096, Got: 512},
			{Field: "preserve", Kind: DiffSize, Want: 4096, Got: 512},
		},
	}
	for _, r := range res {
		if w, ok := want[r.Format.Name]; ok {
			if diff := cmp.Diff(w, r.Diffs); diff != "" {
				t.Errorf("%s (-want +got):\n%s", r.Format.Name, diff)
			}
		}
	}
}
