package kho

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/khokit/khokit/kho/physmem"
)

// BenchmarkRecover measures the recovery scan against the cost of reading
// the same memory once (the read limit): on a built 16 MiB memory, and on
// the real post-kexec dumps when present ($KHOKIT_E2E_DUMPS or the
// harness's default). Each "read" sub-benchmark reads every present range
// in 1 MiB chunks, as the scan does.
func BenchmarkRecover(b *testing.B) {
	b.Run("built-16MiB", func(b *testing.B) {
		t := &testing.T{}
		built := recBuild(t)
		benchRecover(b, built.Mem, built.RootAddr)
	})
	for _, name := range []string{"post-kexec.elf", "post-kexec.kdump"} {
		b.Run(name, func(b *testing.B) {
			im, in := openIncoming(b, filepath.Join(e2eDumpDir(), name))
			benchRecover(b, im.Memory, in.Addr)
		})
	}
}

func benchRecover(b *testing.B, mem physmem.Memory, root uint64) {
	var total int64
	for _, r := range mem.Ranges() {
		if r.State == physmem.Present {
			total += int64(r.Size)
		}
	}
	b.Run("read", func(b *testing.B) {
		b.SetBytes(total)
		buf := make([]byte, 1<<20)
		for b.Loop() {
			for _, r := range mem.Ranges() {
				if r.State != physmem.Present {
					continue
				}
				for a := r.Start; a < r.End(); a += uint64(len(buf)) {
					n := min(uint64(len(buf)), r.End()-a)
					mem.ReadAt(buf[:n], a)
				}
			}
		}
	})
	h, err := Decode(mem, root, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("recover", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			hc := *h
			hc.Findings = slices.Clone(h.Findings)
			rec, err := RecoverLUO(mem, &hc, nil, nil)
			if err != nil || rec == nil || len(hc.LUO.Sessions) == 0 {
				b.Fatalf("nothing recovered: %v", err)
			}
		}
	})
}
