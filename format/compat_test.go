package format

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCompat(t *testing.T) {
	tests := []struct {
		in      string
		want    Compat
		aligned int
		err     bool
	}{
		{in: "kho-v4", want: Compat{Base: "kho-v4"}, aligned: 8},
		{in: "luo-v5", want: Compat{Base: "luo-v5"}, aligned: 8},
		{in: "kho-v4;radix-v1;vmalloc-v1", want: Compat{Base: "kho-v4", Components: []string{"radix-v1", "vmalloc-v1"}}, aligned: 32},
		{in: "luo-v5;block-v1", want: Compat{Base: "luo-v5", Components: []string{"block-v1"}}, aligned: 16},
		{in: "acme,kho_x-v1", want: Compat{Base: "acme,kho_x-v1"}, aligned: 16},
		{in: "memfd-v2;vmalloc-v1", want: Compat{Base: "memfd-v2", Components: []string{"vmalloc-v1"}}, aligned: 24},
		{in: "luo-v4-kho-block-v1", want: Compat{Base: "luo-v4-kho-block-v1"}, aligned: 24},
		{in: "liveupdate-test-flb-v0", want: Compat{Base: "liveupdate-test-flb-v0"}, aligned: 24},
		{in: "kho-v4;vmalloc-v1;radix-v1", err: true},
		{in: "kho-v4;radix-v1;radix-v1", err: true},
		{in: "kho-v4;", err: true},
		{in: ";radix-v1", err: true},
		{in: "", err: true},
		{in: "kho", err: true},
		{in: "kho-v", err: true},
		{in: "kho-vx", err: true},
		{in: "KHO-v4", err: true},
		{in: "kho v4", err: true},
		{in: "-v4", err: true},
		{in: "kho-v4\x00", err: true},
	}
	for _, tt := range tests {
		got, err := ParseCompat(tt.in)
		if tt.err {
			if !errors.Is(err, ErrCompat) {
				t.Errorf("ParseCompat(%q) = %+v, %v; want ErrCompat", tt.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCompat(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseCompat(%q) (-want +got):\n%s", tt.in, diff)
		}
		if got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
		if got.AlignedLen() != tt.aligned {
			t.Errorf("%q AlignedLen = %d, want %d", tt.in, got.AlignedLen(), tt.aligned)
		}
	}
	c, _ := ParseCompat("kho-v4;radix-v1;vmalloc-v1")
	if !c.Has("radix-v1") || c.Has("kho-v4") || c.Has("block-v1") {
		t.Error("Has")
	}
}

// TestCatalogueCompatibles parses every compatible in the catalogue and
// checks that luo_ser compatible arrays have the aligned length.
func TestCatalogueCompatibles(t *testing.T) {
	for _, f := range All() {
		for _, s := range append([]string{f.Compatible}, f.UsedBy...) {
			if s == "" {
				continue
			}
			c, err := ParseCompat(s)
			if err != nil {
				t.Errorf("%s: %v", f.Name, err)
				continue
			}
			if f.CName == "luo_ser" && s == f.Compatible {
				if fl := f.Field("compatible"); fl != nil && fl.Size != c.AlignedLen() {
					t.Errorf("%s: compatible[%d], want %d", f.Name, fl.Size, c.AlignedLen())
				}
			}
		}
	}
}
