package kho

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/kho/physmem"
)

const flbTestPage = 0x10000

type flbTestEntry struct {
	name        string // written verbatim, 48 bytes at most (no NUL added when 48)
	data, count uint64
}

// flbMemory returns 1 MiB of RAM from 0 with an FLB page at flbTestPage.
func flbMemory(t *testing.T, pgcnt, count uint64, entries ...flbTestEntry) *physmem.Sparse {
	t.Helper()
	m := new(physmem.Sparse)
	if err := m.AddRange(0, 1<<20, physmem.Present); err != nil {
		t.Fatal(err)
	}
	page := make([]byte, 4096)
	bldLE.PutUint64(page[0:], pgcnt)
	bldLE.PutUint64(page[8:], count)
	for i, e := range entries {
		b := page[16+64*i:]
		copy(b[:48], e.name)
		bldLE.PutUint64(b[48:], e.data)
		bldLE.PutUint64(b[56:], e.count)
	}
	if err := m.WriteAt(page, flbTestPage); err != nil {
		t.Fatal(err)
	}
	return m
}

func threeFLBs() []flbTestEntry {
	return []flbTestEntry{
		{"liveupdate-test-flb-v0", 0xfeedf00dcafebee0, 1},
		{"liveupdate-test-flb-v1", 0xfeedf00dcafebee1, 2},
		{"liveupdate-test-flb-v2", 0xfeedf00dcafebee2, 3},
	}
}

// flbSummary is the part of a result a table states.
type flbSummary struct {
	Err      Errno
	Found    bool
	Index    int
	Data     uint64
	Refcount int64
	PastPage bool
	Effects  []Effect
}

func summarize(r FLBResult) flbSummary {
	s := flbSummary{Err: r.Err, Found: r.Found, Index: r.Index, Data: r.Data, Refcount: r.Refcount, PastPage: r.PastPage}
	for _, i := range r.Impacts {
		s.Effects = append(s.Effects, i.Effect)
	}
	return s
}

func codesOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Severity.String()+" "+f.Code)
	}
	return out
}

var allModels = []KernelModel{Hardened, Mainline70, Mainline71, Mainline72, Mainline73}

func TestRetrieveFLB(t *testing.T) {
	unterminated := strings.Repeat("x", 48)
	tests := []struct {
		name     string
		mem      func(t *testing.T) *physmem.Sparse
		addr     uint64
		lookup   string
		opts     *FLBOptions
		findings []string
		want     map[KernelModel]flbSummary // models not listed: as the entry for Mainline72
	}{
		{
			name:   "valid",
			mem:    func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 3, threeFLBs()...) },
			lookup: "liveupdate-test-flb-v1",
			want: map[KernelModel]flbSummary{
				Hardened:   {Found: true, Index: 1, Data: 0xfeedf00dcafebee1, Refcount: 2},
				Mainline72: {Found: true, Index: 1, Data: 0xfeedf00dcafebee1, Refcount: 2},
			},
		},
		{
			name:   "valid, name absent",
			mem:    func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 3, threeFLBs()...) },
			lookup: "pci-v1",
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: ENOENT, Index: -1},
				Mainline72: {Err: ENOENT, Index: -1},
			},
		},
		{
			name:     "count 64, early match",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 64, threeFLBs()...) },
			lookup:   "liveupdate-test-flb-v0",
			findings: []string{"error flb.count-exceeds-page"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Found: true, Data: 0xfeedf00dcafebee0, Refcount: 1},
			},
		},
		{
			name:     "count 64, no match: the scan reads past the page",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 64, threeFLBs()...) },
			lookup:   "pci-v1",
			findings: []string{"error flb.count-exceeds-page"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Err: ENOENT, Index: -1, PastPage: true, Effects: []Effect{EffectOutOfBounds}},
			},
		},
		{
			name:     "count 2^31: the scan is not followed to the end",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 1<<31, threeFLBs()...) },
			lookup:   "pci-v1",
			opts:     &FLBOptions{MaxScan: 300},
			findings: []string{"error flb.count-exceeds-page"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Err: ENOENT, Index: -1, PastPage: true, Effects: []Effect{EffectOutOfBounds, EffectOutOfBounds}},
			},
		},
		{
			name:     "count runs off the end of memory",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 1<<40, threeFLBs()...) },
			lookup:   "pci-v1",
			opts:     &FLBOptions{MaxScan: 1 << 20},
			findings: []string{"error flb.count-exceeds-page"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Err: ENOENT, Index: -1, PastPage: true, Effects: []Effect{EffectOutOfBounds, EffectOutOfBounds}},
			},
		},
		{
			name:     "entry count 0",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 1, flbTestEntry{"a", 7, 0}) },
			lookup:   "a",
			findings: []string{"error flb.entry-count-zero"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline70: {Found: true, Data: 7, Effects: []Effect{EffectLeak}},
				Mainline71: {Found: true, Data: 7, Effects: []Effect{EffectLeak}},
				Mainline72: {Found: true, Data: 7, Effects: []Effect{EffectLeak}},
			},
		},
		{
			name:     "entry count 2^32+1 narrows to 1",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 1, flbTestEntry{"a", 7, 1<<32 + 1}) },
			lookup:   "a",
			findings: []string{"error flb.entry-count-too-large"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline70: {Found: true, Data: 7, Refcount: 1<<32 + 1},
				Mainline71: {Found: true, Data: 7, Refcount: 1<<32 + 1},
				Mainline72: {Found: true, Data: 7, Refcount: 1, Effects: []Effect{EffectUseAfterFree}},
			},
		},
		{
			name:     "entry count 2^31 narrows negative",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 1, flbTestEntry{"a", 7, 1 << 31}) },
			lookup:   "a",
			findings: []string{"error flb.entry-count-too-large"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline70: {Found: true, Data: 7, Refcount: 1 << 31},
				Mainline71: {Found: true, Data: 7, Refcount: 1 << 31},
				Mainline72: {Found: true, Data: 7, Refcount: -1 << 31, Effects: []Effect{EffectLeak}},
			},
		},
		{
			name:     "entry count 2^63 is a negative long",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 1, flbTestEntry{"a", 7, 1 << 63}) },
			lookup:   "a",
			findings: []string{"error flb.entry-count-too-large"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline70: {Found: true, Data: 7, Refcount: -1 << 63, Effects: []Effect{EffectLeak}},
				Mainline71: {Found: true, Data: 7, Refcount: -1 << 63, Effects: []Effect{EffectLeak}},
				Mainline72: {Found: true, Data: 7, Effects: []Effect{EffectLeak}}, // low 32 bits are 0
			},
		},
		{
			name: "duplicate names: first match wins",
			mem: func(t *testing.T) *physmem.Sparse {
				return flbMemory(t, 1, 2, flbTestEntry{"dup", 1, 1}, flbTestEntry{"dup", 2, 5})
			},
			lookup:   "dup",
			findings: []string{"error flb.name-duplicate"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Found: true, Data: 1, Refcount: 1},
			},
		},
		{
			name: "unterminated name cannot match; later entry still found",
			mem: func(t *testing.T) *physmem.Sparse {
				return flbMemory(t, 1, 2, flbTestEntry{unterminated, 1, 1}, flbTestEntry{"b", 2, 1})
			},
			lookup:   "b",
			findings: []string{"error flb.name-unterminated"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Found: true, Index: 1, Data: 2, Refcount: 1},
			},
		},
		{
			name: "unterminated name looked up by its 47-byte prefix",
			mem: func(t *testing.T) *physmem.Sparse {
				return flbMemory(t, 1, 1, flbTestEntry{unterminated, 1, 1})
			},
			lookup:   unterminated[:47],
			findings: []string{"error flb.name-unterminated"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Err: ENOENT, Index: -1},
			},
		},
		{
			name:     "empty name",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 1, flbTestEntry{"", 1, 1}) },
			lookup:   "a",
			findings: []string{"error flb.name-empty"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Err: ENOENT, Index: -1},
			},
		},
		{
			name:     "pgcnt 0",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 0, 3, threeFLBs()...) },
			lookup:   "liveupdate-test-flb-v0",
			findings: []string{"error flb.pgcnt-invalid"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Found: true, Data: 0xfeedf00dcafebee0, Refcount: 1},
			},
		},
		{
			name:     "pgcnt 2 is only a warning",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 2, 3, threeFLBs()...) },
			lookup:   "liveupdate-test-flb-v0",
			findings: []string{"warning flb.pgcnt-invalid"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Found: true, Data: 0xfeedf00dcafebee0, Refcount: 1},
				Mainline72: {Found: true, Data: 0xfeedf00dcafebee0, Refcount: 1},
			},
		},
		{
			name:   "zero pointer",
			mem:    func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 3, threeFLBs()...) },
			addr:   0,
			lookup: "liveupdate-test-flb-v0",
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: ENODATA, Index: -1},
				Mainline70: {Err: ENOENT, Index: -1, Effects: []Effect{EffectOutOfBounds}}, // page 0 read as the table
				Mainline71: {Err: ENOENT, Index: -1, Effects: []Effect{EffectOutOfBounds}},
				Mainline72: {Err: ENODATA, Index: -1},
			},
		},
		{
			name:   "unaligned pointer",
			mem:    func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 3, threeFLBs()...) },
			addr:   flbTestPage + 8,
			lookup: "liveupdate-test-flb-v0",
			// read 8 bytes late: count 3 becomes pgcnt, name bytes the count
			findings: []string{"error ptr.unaligned", "warning flb.pgcnt-invalid", "error flb.count-exceeds-page"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Err: ENOENT, Index: -1, PastPage: true, Effects: []Effect{EffectOutOfBounds, EffectOutOfBounds}},
			},
			opts: &FLBOptions{MaxScan: 100},
		},
		{
			name:     "pointer outside memory",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 3, threeFLBs()...) },
			addr:     1 << 30,
			lookup:   "liveupdate-test-flb-v0",
			findings: []string{"error ptr.absent"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Err: ENODATA, Index: -1, Effects: []Effect{EffectOutOfBounds}},
			},
		},
		{
			name:     "page not preserved",
			mem:      func(t *testing.T) *physmem.Sparse { return flbMemory(t, 1, 3, threeFLBs()...) },
			lookup:   "liveupdate-test-flb-v0",
			opts:     &FLBOptions{Preserved: []Block{{Addr: 0x20000}}},
			findings: []string{"error ptr.unpreserved"},
			want: map[KernelModel]flbSummary{
				Hardened:   {Err: EINVAL, Index: -1, Effects: []Effect{EffectRejected}},
				Mainline72: {Found: true, Data: 0xfeedf00dcafebee0, Refcount: 1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := tc.mem(t)
			addr := tc.addr
			if addr == 0 && tc.name != "zero pointer" {
				addr = flbTestPage
			}
			for _, m := range allModels {
				want, ok := tc.want[m]
				if !ok {
					want = tc.want[Mainline72]
				}
				r, fs := RetrieveFLB(mem, addr, tc.lookup, m, tc.opts)
				if diff := cmp.Diff(want, summarize(r)); diff != "" {
					t.Errorf("%v: result (-want +got):\n%s\nimpacts: %v", m, diff, r.Impacts)
				}
				if diff := cmp.Diff(tc.findings, codesOf(fs)); diff != "" {
					t.Errorf("%v: findings (-want +got):\n%s", m, diff)
				}
			}
		})
	}
}

func TestFindingsAreLocated(t *testing.T) {
	mem := flbMemory(t, 1, 2, flbTestEntry{"dup", 1, 1}, flbTestEntry{"dup", 2, 0})
	fs := CheckFLBPage(mem, flbTestPage, nil)
	want := []Finding{
		{Code: "flb.name-duplicate", Path: "/LUO/flbs[1]", Addr: flbTestPage + 16 + 64},
		{Code: "flb.entry-count-zero", Path: "/LUO/flbs[1]", Addr: flbTestPage + 16 + 64},
	}
	if diff := cmp.Diff(want, fs, cmp.FilterPath(func(p cmp.Path) bool {
		n := p.Last().String()
		return n == ".Severity" || n == ".Message" || n == ".Kernel"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, f := range fs {
		if f.Message == "" || f.Severity != Error {
			t.Errorf("finding %v: want an Error with a message", f)
		}
	}
}

func TestMainlineRelease(t *testing.T) {
	for _, m := range []KernelModel{Mainline70, Mainline71, Mainline72, Mainline73} {
		got, err := Mainline(m.String())
		if err != nil || got != m {
			t.Errorf("Mainline(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := Mainline("6.19"); !errors.Is(err, ErrOptions) {
		t.Errorf("Mainline(6.19): %v, want ErrOptions (6.19 has no FLBs)", err)
	}
	if _, err := Mainline("hardened"); err == nil {
		t.Error("Mainline(hardened) succeeded; it is no release")
	}
}

// simSummary is the part of an outcome a table states.
type simSummary struct {
	RetrieveCalls, FinishCalls int
	Finished                   bool
	Effects                    []Effect
	Warnings                   int
}

func summarizeSim(o FLBOutcome) simSummary {
	s := simSummary{RetrieveCalls: o.RetrieveCalls, FinishCalls: o.FinishCalls, Finished: o.Finished}
	for _, i := range o.Impacts {
		s.Effects = append(s.Effects, i.Effect)
	}
	for _, e := range o.Log {
		if strings.Contains(e.Warn, "WARN") || strings.HasPrefix(e.Warn, "refcount_t") {
			s.Warnings++
		}
	}
	return s
}

func TestSimulateFLBFiles(t *testing.T) {
	clean := simSummary{RetrieveCalls: 1, FinishCalls: 1, Finished: true}
	tests := []struct {
		name          string
		count         uint64
		files         int
		retrieveFirst bool
		want          map[KernelModel]simSummary // missing: clean
	}{
		{name: "count matches the files, retrieved first", count: 2, files: 2, retrieveFirst: true},
		{
			name: "files finished before any retrieve", count: 2, files: 2,
			want: map[KernelModel]simSummary{
				// the hardened model loaded the count up front and retrieves at the last put
				Mainline70: {Effects: []Effect{EffectLeak}},
				Mainline71: {Effects: []Effect{EffectLeak}},
				Mainline72: {Effects: []Effect{EffectLeak, EffectLeak}, Warnings: 2},
				Mainline73: {Effects: []Effect{EffectLeak, EffectLeak}, Warnings: 2},
			},
		},
		{
			name: "count smaller than the files", count: 1, files: 3, retrieveFirst: true,
			want: map[KernelModel]simSummary{
				Hardened:   {RetrieveCalls: 1, FinishCalls: 1, Finished: true, Effects: []Effect{EffectUseAfterFree}},
				Mainline70: {RetrieveCalls: 1, FinishCalls: 1, Finished: true, Effects: []Effect{EffectUseAfterFree}},
				Mainline71: {RetrieveCalls: 1, FinishCalls: 1, Finished: true, Effects: []Effect{EffectUseAfterFree}},
				Mainline72: {RetrieveCalls: 1, FinishCalls: 1, Finished: true, Effects: []Effect{EffectUseAfterFree, EffectUseAfterFree}, Warnings: 2},
				Mainline73: {RetrieveCalls: 1, FinishCalls: 1, Finished: true, Effects: []Effect{EffectUseAfterFree, EffectUseAfterFree}, Warnings: 2},
			},
		},
		{
			name: "count larger than the files", count: 5, files: 2, retrieveFirst: true,
			want: map[KernelModel]simSummary{
				Hardened:   {RetrieveCalls: 1, Effects: []Effect{EffectLeak}},
				Mainline70: {RetrieveCalls: 1, Effects: []Effect{EffectLeak}},
				Mainline71: {RetrieveCalls: 1, Effects: []Effect{EffectLeak}},
				Mainline72: {RetrieveCalls: 1, Effects: []Effect{EffectLeak}},
				Mainline73: {RetrieveCalls: 1, Effects: []Effect{EffectLeak}},
			},
		},
		{
			name: "count 0", count: 0, files: 1, retrieveFirst: true,
			want: map[KernelModel]simSummary{
				Hardened:   {Effects: []Effect{EffectRejected, EffectLeak}},
				Mainline70: {RetrieveCalls: 1, Effects: []Effect{EffectLeak, EffectLeak}},
				Mainline71: {RetrieveCalls: 1, Effects: []Effect{EffectLeak, EffectLeak}},
				// count-0 load, the increment from 0, the decrement of the saturated count, no finish
				Mainline72: {RetrieveCalls: 1, Effects: []Effect{EffectLeak, EffectLeak, EffectLeak, EffectLeak}, Warnings: 3},
				Mainline73: {RetrieveCalls: 1, Effects: []Effect{EffectLeak, EffectLeak, EffectLeak, EffectLeak}, Warnings: 3},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := flbMemory(t, 1, 1, flbTestEntry{"f", 9, tc.count})
			for _, m := range allModels {
				want, ok := tc.want[m]
				if !ok {
					want = clean
				}
				o := SimulateFLBFiles(mem, flbTestPage, "f", m, nil, tc.files, tc.retrieveFirst, nil)
				if diff := cmp.Diff(want, summarizeSim(o)); diff != "" {
					t.Errorf("%v (-want +got):\n%s\nimpacts %v\nlog %+v", m, diff, o.Impacts, o.Log)
				}
			}
		})
	}
}

// TestFLBRetrieveFailure checks the sticky status: a failed retrieve() is
// re-run by the next caller before 7.2 and remembered from 7.2 on.
func TestFLBRetrieveFailure(t *testing.T) {
	mem := flbMemory(t, 1, 1, flbTestEntry{"f", 9, 2})
	for _, tc := range []struct {
		model    KernelModel
		second   Errno
		calls    int
		doubleUF bool
	}{
		{Hardened, EINVAL, 1, false},
		{Mainline70, 0, 2, true},
		{Mainline71, 0, 2, true},
		{Mainline72, EINVAL, 1, false},
		{Mainline73, EINVAL, 1, false},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			s := NewFLBSim(mem, flbTestPage, "f", tc.model, nil)
			calls := 0
			s.Retrieve = func(data uint64) Errno {
				if data != 9 {
					t.Errorf("retrieve(%#x), want 9", data)
				}
				calls++
				if calls == 1 {
					return EINVAL
				}
				return 0
			}
			if err := s.Get(); err != EINVAL {
				t.Fatalf("first get = %v, want EINVAL", err)
			}
			if err := s.Get(); err != tc.second {
				t.Errorf("second get = %v, want %v", err, tc.second)
			}
			o := s.Outcome()
			if o.RetrieveCalls != tc.calls {
				t.Errorf("retrieve() ran %d times, want %d", o.RetrieveCalls, tc.calls)
			}
			uaf := false
			for _, i := range o.Impacts {
				uaf = uaf || i.Effect == EffectUseAfterFree
			}
			if uaf != tc.doubleUF {
				t.Errorf("double-free risk reported = %v, want %v (%v)", uaf, tc.doubleUF, o.Impacts)
			}
		})
	}
}

// TestFLBNotFoundNotSticky checks that ENOENT is returned again and again
// without calling retrieve().
func TestFLBNotFoundNotSticky(t *testing.T) {
	mem := flbMemory(t, 1, 1, flbTestEntry{"f", 9, 2})
	for _, m := range allModels {
		s := NewFLBSim(mem, flbTestPage, "other", m, nil)
		for i := 0; i < 3; i++ {
			if err := s.Get(); err != ENOENT {
				t.Errorf("%v: get %d = %v, want ENOENT", m, i, err)
			}
		}
		if o := s.Outcome(); o.RetrieveCalls != 0 {
			t.Errorf("%v: retrieve() ran %d times", m, o.RetrieveCalls)
		}
	}
}

// TestFLBFinishOnce checks that finish() runs once and later calls find
// no object.
func TestFLBFinishOnce(t *testing.T) {
	mem := flbMemory(t, 1, 1, flbTestEntry{"f", 9, 1})
	for _, m := range allModels {
		s := NewFLBSim(mem, flbTestPage, "f", m, nil)
		if err := s.Get(); err != 0 {
			t.Fatalf("%v: get = %v", m, err)
		}
		s.Put()
		s.FinishFile()
		if err := s.Get(); err != ENODATA {
			t.Errorf("%v: get after finish = %v, want ENODATA", m, err)
		}
		if o := s.Outcome(); o.FinishCalls != 1 {
			t.Errorf("%v: finish() ran %d times", m, o.FinishCalls)
		}
	}
}

// TestFLBModelOnBuiltPage runs the models over the FLB page the builder
// lays out from the vectors' values.
func TestFLBModelOnBuiltPage(t *testing.T) {
	b, err := Build(vectorHandover(), nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := &FLBOptions{Preserved: b.Preserved}
	for _, m := range allModels {
		r, fs := RetrieveFLB(b.Mem, b.Handover.LUO.FLBsAddr, "liveupdate-test-flb-v2", m, opts)
		if len(fs) != 0 || !r.Found || r.Data != 0xfeedf00dcafebee2 || r.Refcount != 1 {
			t.Errorf("%v: %+v, findings %v", m, r, fs)
		}
		o := SimulateFLBFiles(b.Mem, b.Handover.LUO.FLBsAddr, "liveupdate-test-flb-v2", m, opts, 1, true, nil)
		if !o.Finished || len(o.Impacts) != 0 {
			t.Errorf("%v: outcome %+v", m, o)
		}
	}
}
