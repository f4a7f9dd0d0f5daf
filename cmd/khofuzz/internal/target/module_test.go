package target

import (
	"testing"
)

// TestModuleTargetsBuildOnOSSFuzz checks khokit's own fuzz targets against
// OSSFuzzProblems: a helper or doc comment that repeats a target's name in
// another file, or a target whose name starts another's, silently drops a
// target from the OSS-Fuzz build (it happened to kho/FuzzBuild,
// kho/FuzzRadixMap and kho/FuzzDecode).
func TestModuleTargetsBuildOnOSSFuzz(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	_, pkgs, warnings, err := Find("../../../..", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("go list warnings: %v", warnings)
	}
	n := 0
	for _, p := range pkgs {
		for _, tg := range p.Targets {
			n++
			if problems := OSSFuzzProblems(tg); len(problems) > 0 {
				t.Errorf("%s: %v", tg.ID(), problems)
			}
		}
	}
	if n < 30 {
		t.Errorf("found %d targets in the module, want the 30 or more it has", n)
	}
}
