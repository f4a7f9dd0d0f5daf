package format

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCatalogueGolden pins the whole catalogue, per page size, as text: any
// change to a table shows up as a reviewable diff of the golden file.
func TestCatalogueGolden(t *testing.T) {
	for _, ps := range PageSizes {
		var buf bytes.Buffer
		if err := WriteText(&buf, AllFor(ps)); err != nil {
			t.Fatal(err)
		}
		g, _ := GeometryFor(ps)
		buf.WriteString("\n" + geometryText(g))
		path := filepath.Join("../testdata/format", "catalogue-"+ps.String()+".txt")
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), buf.String()); diff != "" {
			t.Errorf("%s (-golden +got; run go test -update to accept):\n%s", path, diff)
		}
	}
}

func geometryText(g Geometry) string {
	var b bytes.Buffer
	r := g.Radix
	for _, l := range []struct {
		k string
		v any
	}{
		{"page size", g.PageSize}, {"KHOSER_BITMAP_SIZE", g.KhoserBitmapSize}, {"PRESERVE_BITS", g.PreserveBits},
		{"KHO_VMALLOC_SIZE", g.VmallocSize}, {"sessions per block", g.SessionsPerBlock}, {"files per block", g.FilesPerBlock},
		{"LUO_FLB_MAX", g.FLBMax}, {"LUO_SESSION_MAX", g.SessionMax}, {"LUO_FILE_MAX", g.FileMax},
		{"KHO_RADIX_KEY_WIDTH", r.KeyWidth}, {"KHO_TABLE_SIZE_LOG2", r.TableLog2}, {"KHO_BITMAP_SIZE_LOG2", r.BitmapLog2},
		{"KHO_TREE_MAX_DEPTH", r.Depth}, {"early depth formula", r.EarlyDepth}, {"valid root indices", r.RootIndices()},
	} {
		b.WriteString(l.k + ": ")
		b.WriteString(fmt.Sprint(l.v))
		b.WriteString("\n")
	}
	return b.String()
}
