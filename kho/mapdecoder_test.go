package kho

import (
	"errors"
	"testing"

	"github.com/khokit/khokit/kho/physmem"
)

func TestMapDecoderErrors(t *testing.T) {
	if _, err := NewMapDecoder(&Options{PageSize: 8192}); !errors.Is(err, ErrOptions) {
		t.Errorf("NewMapDecoder with page size 8192: %v, want ErrOptions", err)
	}
	md, err := NewMapDecoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	mem := &physmem.Sparse{}
	for _, kind := range []MapKind{MapNone, MapKind(7)} {
		m, fs, err := md.Decode(mem, kind, 0x1000)
		if !errors.Is(err, ErrOptions) || m != nil || fs != nil {
			t.Errorf("Decode(kind %v) = %v, %v, %v; want ErrOptions", kind, m, fs, err)
		}
	}
}

// TestMapDecoderAllocs checks the point of a MapDecoder: once it has
// decoded a map, decoding it again allocates nothing.
func TestMapDecoderAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 16 GiB map")
	}
	bm := bigMapOnce()
	md, err := NewMapDecoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	decode := func() {
		if m, fs, err := md.Decode(bm.mem, MapRadix, bm.root); err != nil || len(fs) > 0 || len(m.Runs) != bigMapRuns {
			t.Fatalf("Decode: %v, %v", err, fs)
		}
	}
	decode()
	if n := testing.AllocsPerRun(20, decode); n != 0 {
		t.Errorf("%v allocations per decode, want 0", n)
	}
}
