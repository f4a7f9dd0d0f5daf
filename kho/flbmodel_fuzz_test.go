package kho

import (
	"testing"

	"github.com/khokit/khokit/kho/physmem"
)

// FuzzRetrieveFLB feeds arbitrary FLB pages to every model. Invariants: no
// panic; a page the hardened model accepts is one where every mainline
// release finds the same entry with the same data; a simulation of the
// stored count of files finishes the FLB exactly once under the hardened
// model.
func FuzzRetrieveFLB(f *testing.F) {
	seed := func(pgcnt, count uint64, es ...flbTestEntry) []byte {
		page := make([]byte, 4096)
		bldLE.PutUint64(page[0:], pgcnt)
		bldLE.PutUint64(page[8:], count)
		for i, e := range es {
			copy(page[16+64*i:][:48], e.name)
			bldLE.PutUint64(page[16+64*i+48:], e.data)
			bldLE.PutUint64(page[16+64*i+56:], e.count)
		}
		return page
	}
	f.Add(seed(1, 3, threeFLBs()...), "liveupdate-test-flb-v1")
	f.Add(seed(1, 64, threeFLBs()...), "x")
	f.Add(seed(1, 2, flbTestEntry{"d", 1, 1}, flbTestEntry{"d", 2, 2}), "d")
	f.Add(seed(0, 1, flbTestEntry{"a", 1, 0}), "a")
	f.Add(seed(1, 1, flbTestEntry{"a", 1, 1<<32 + 1}), "a")
	f.Fuzz(func(t *testing.T, page []byte, name string) {
		if len(page) > 8192 {
			page = page[:8192]
		}
		m := new(physmem.Sparse)
		if err := m.AddRange(0, 128<<10, physmem.Present); err != nil {
			t.Fatal(err)
		}
		if err := m.WriteAt(page, flbTestPage); err != nil {
			t.Fatal(err)
		}
		opts := &FLBOptions{MaxScan: 512}
		hr, hfs := RetrieveFLB(m, flbTestPage, name, Hardened, opts)
		for _, model := range []KernelModel{Mainline70, Mainline71, Mainline72, Mainline73} {
			r, _ := RetrieveFLB(m, flbTestPage, name, model, opts)
			if hasError(hfs) || !hr.Found {
				continue
			}
			if !r.Found || r.Index != hr.Index || r.Data != hr.Data || r.Count != hr.Count {
				t.Fatalf("%v: %+v, hardened accepted %+v", model, r, hr)
			}
		}
		if hr.Found {
			o := SimulateFLBFiles(m, flbTestPage, name, Hardened, opts, int(min(hr.Count, 64)), true, nil)
			if hr.Count <= 64 && (o.FinishCalls != 1 || !o.Finished) {
				t.Fatalf("hardened: count %d files finished, finish() ran %d times", hr.Count, o.FinishCalls)
			}
		}
	})
}
