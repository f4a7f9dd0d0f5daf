package fdt

import (
	"fmt"
	"runtime"
	"testing"
)

// bigTree builds a ~1 MiB blob with ~10k nodes: 100 groups of 100 nodes,
// each with two strings, two cells and an 8-byte value.
func bigTree(tb testing.TB) []byte {
	tb.Helper()
	w := NewWriter()
	w.BeginNode("")
	w.Property("compatible", []byte("khokit,bench\x00"))
	blob := make([]byte, 8)
	for g := range 100 {
		w.BeginNode(fmt.Sprintf("group@%x", g))
		w.Property("#address-cells", []byte{0, 0, 0, 1})
		for n := range 100 {
			w.BeginNode(fmt.Sprintf("node@%x", n))
			w.Property("compatible", []byte("khokit,bench-node\x00"))
			w.Property("reg", []byte{0, 0, 0, byte(n), 0, 0, 0x10, 0})
			w.Property("data", blob)
			w.Property("status", []byte("okay\x00"))
			w.EndNode()
		}
		w.EndNode()
	}
	w.EndNode()
	data, err := w.Finish()
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
		{"kernel-285B", readTestdata(b, "kernel/kho_in_fdt_stage2.dtb")},
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
			var it Iterator
			for b.Loop() {
				if err := it.Reset(bb.data, nil); err != nil {
					b.Fatal(err)
				}
				props := 0
				for it.Next() {
					if it.Token().Kind == TokenProperty {
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
				if err := Validate(bb.data, nil); err != nil {
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
				if _, err := Decode(bb.data, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bb := range benchBlobs(b) {
		tree, err := Decode(bb.data, nil)
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
	data := readTestdata(t, "kernel/kho_in_fdt_stage2.dtb")
	big := bigTree(t)
	Validate(big, nil) // warm the scratch pool
	for name, blob := range map[string][]byte{"kernel": data, "big": big} {
		if n := testing.AllocsPerRun(20, func() {
			if err := Validate(blob, nil); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: Validate allocates %v times per run", name, n)
		}
		// A caller-owned Validator needs no pool: after one blob as large,
		// it does not allocate even when GC has run.
		var v Validator
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
		var it Iterator
		if n := testing.AllocsPerRun(20, func() {
			it.Reset(blob, nil)
			for it.Next() {
			}
		}); n != 0 {
			t.Errorf("%s: Iterator walk allocates %v times per run", name, n)
		}
	}
}
