package fdt_test

import (
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/fdt/fdttest"
)

// bigTree is the generated ~1 MiB blob with ~10k nodes the benchmarks
// and bench/fdtcompare share.
func bigTree(tb testing.TB) []byte {
	tb.Helper()
	data, err := fdttest.GenerateTree(100, 100)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func benchBlobs(b *testing.B) []struct {
	name string
	data []byte
} {
	return []struct {
		name string
		data []byte
	}{
		{"kernel-285B", fdt.ReadTestdata(b, "kernel/kho_in_fdt_stage2.dtb")},
		{"generated-1MiB-10k-nodes", bigTree(b)},
	}
}

// BenchmarkValidateWalk validates a blob and walks every token: the
// Iterator walk, then Validate (which adds the duplicate-name check).
func BenchmarkValidateWalk(b *testing.B) {
	for _, bb := range benchBlobs(b) {
		b.Run(bb.name+"/iterator", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.data)))
			var it fdt.Iterator
			for b.Loop() {
				if err := it.Reset(bb.data, nil); err != nil {
					b.Fatal(err)
				}
				props := 0
				for it.Next() {
					if it.Token().Kind == fdt.TokenProperty {
						props += len(it.Token().Value)
					}
				}
				if err := it.Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bb.name+"/Validate", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.data)))
			for b.Loop() {
				if err := fdt.Validate(bb.data, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bb := range benchBlobs(b) {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.data)))
			for b.Loop() {
				if _, err := fdt.Decode(bb.data, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bb := range benchBlobs(b) {
		tree, err := fdt.Decode(bb.data, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.data)))
			for b.Loop() {
				if _, err := tree.Encode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestValidateAllocs pins the zero-allocation property outside benchmarks.
func TestValidateAllocs(t *testing.T) {
	data := fdt.ReadTestdata(t, "kernel/kho_in_fdt_stage2.dtb")
	big := bigTree(t)
	fdt.Validate(big, nil) // warm the scratch pool
	for name, blob := range map[string][]byte{"kernel": data, "big": big} {
		if n := testing.AllocsPerRun(20, func() {
			if err := fdt.Validate(blob, nil); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: Validate allocates %v times per run", name, n)
		}
		// A caller-owned Validator needs no pool: after one blob as large,
		// it does not allocate even when GC has run.
		var v fdt.Validator
		if err := v.Validate(big, nil); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.GC()
		if n := testing.AllocsPerRun(20, func() {
			if err := v.Reset(blob, nil); err != nil {
				t.Fatal(err)
			}
			for v.Next() {
			}
			if err := v.Err(); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: Validator walk allocates %v times per run", name, n)
		}
		var it fdt.Iterator
		if n := testing.AllocsPerRun(20, func() {
			it.Reset(blob, nil)
			for it.Next() {
			}
		}); n != 0 {
			t.Errorf("%s: Iterator walk allocates %v times per run", name, n)
		}
	}
}

// TestValidatorWalk checks that a Validator visits exactly the tokens an
// Iterator does, on the kernel's blob and a large generated one.
func TestValidatorWalk(t *testing.T) {
	var v fdt.Validator
	for name, blob := range map[string][]byte{
		"kernel": fdt.ReadTestdata(t, "kernel/kho_in_fdt_stage2.dtb"),
		"big":    bigTree(t),
	} {
		var want, got []fdt.Token
		var it fdt.Iterator
		if err := it.Reset(blob, nil); err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			want = append(want, *it.Token())
		}
		if err := v.Reset(blob, nil); err != nil {
			t.Fatal(err)
		}
		for v.Next() {
			got = append(got, *v.Token())
		}
		if it.Err() != nil || v.Err() != nil {
			t.Fatalf("%s: iterator error %v, validator error %v", name, it.Err(), v.Err())
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: Validator tokens differ from Iterator's (-iterator +validator):\n%s", name, d)
		}
		if v.Header() != it.Header() || v.NumReservations() != it.NumReservations() {
			t.Errorf("%s: header or reservations differ", name)
		}
	}
}
