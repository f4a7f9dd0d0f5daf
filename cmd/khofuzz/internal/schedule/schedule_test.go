package schedule

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestShares(t *testing.T) {
	tests := []struct {
		name    string
		targets []Target
		want    []float64
	}{
		{"nothing found: even split", []Target{{}, {}, {}, {}}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"one hot target", []Target{{Rate: 3}, {}, {}}, []float64{0.5/3 + 0.5, 0.5 / 3, 0.5 / 3}},
		{"rates in proportion", []Target{{Rate: 3}, {Rate: 1}}, []float64{0.25 + 0.375, 0.25 + 0.125}},
		{"retired get nothing", []Target{{Rate: 3, Retired: true}, {Rate: 1}, {}}, []float64{0, 0.25 + 0.5, 0.25}},
		{"all retired", []Target{{Retired: true}}, []float64{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(0)
			s.Targets = tt.targets
			got := s.Shares()
			if d := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-12)); d != "" {
				t.Errorf("Shares mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// simulate runs the scheduler for n one-second slices; found(i, slice)
// says how many new inputs target i finds in a slice.
func simulate(s *Scheduler, n int, found func(i, slice int) int) []int {
	picks := make([]int, len(s.Targets))
	for k := 0; k < n; k++ {
		i := s.Next()
		if i < 0 {
			break
		}
		picks[i]++
		s.Record(i, time.Second, found(i, k))
	}
	return picks
}

func TestNextFavoursNewCoverage(t *testing.T) {
	s := New(4)
	picks := simulate(s, 400, func(i, _ int) int {
		if i == 2 {
			return 5
		}
		return 0
	})
	// Target 2 should get its floor (1/8) plus everything else (1/2):
	// 5/8 of 400 slices; the others their floor, 1/8 each.
	want := []int{50, 50, 250, 50}
	for i := range want {
		if math.Abs(float64(picks[i]-want[i])) > 2 {
			t.Errorf("picks = %v, want about %v", picks, want)
			break
		}
	}
}

func TestNextEveryTargetFirst(t *testing.T) {
	s := New(3)
	s.Targets[1].Retired = true
	var order []int
	for k := 0; k < 2; k++ {
		i := s.Next()
		order = append(order, i)
		s.Record(i, time.Second, 100)
	}
	if d := cmp.Diff([]int{0, 2}, order); d != "" {
		t.Errorf("first picks (-want +got):\n%s", d)
	}
}

// A target that stops finding coverage loses its extra share to the one
// that starts.
func TestRateDecays(t *testing.T) {
	s := New(2)
	simulate(s, 20, func(i, _ int) int {
		if i == 0 {
			return 10
		}
		return 0
	})
	before := s.Shares()[0]
	simulate(s, 40, func(i, _ int) int {
		if i == 1 {
			return 10
		}
		return 0
	})
	after := s.Shares()
	if !(before > 0.7 && after[0] < 0.3 && after[1] > 0.7) {
		t.Errorf("shares did not follow the yield: target 0 had %.2f, now %.2f / %.2f", before, after[0], after[1])
	}
}

func TestNextAllRetired(t *testing.T) {
	s := New(2)
	s.Retire(0)
	s.Retire(1)
	if i := s.Next(); i != -1 {
		t.Errorf("Next with every target retired = %d, want -1", i)
	}
}

func TestRecord(t *testing.T) {
	s := New(1)
	s.Record(0, 2*time.Second, 4) // 2/s
	s.Record(0, 2*time.Second, 0) // 0/s → 0.5*0 + 0.5*2
	want := Target{Spent: 4 * time.Second, Slices: 2, NewInteresting: 4, Rate: 1}
	if d := cmp.Diff(want, s.Targets[0]); d != "" {
		t.Errorf("Record mismatch (-want +got):\n%s", d)
	}
}
