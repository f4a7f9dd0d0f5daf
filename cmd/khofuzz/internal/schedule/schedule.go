package schedule

import "time"

// Defaults for a Scheduler's tuning knobs.
const (
	// DefaultMinShare is the part of the budget split evenly over all
	// targets regardless of their yield.
	DefaultMinShare = 0.5
	// DefaultDecay is the weight of the newest slice in a target's rate.
	DefaultDecay = 0.5
)

// Target is the scheduler's view of one fuzz target.
type Target struct {
	// Spent is the fuzzing time the target has had.
	Spent time.Duration
	// Slices counts the slices it has run.
	Slices int
	// NewInteresting totals the inputs it added to its corpus.
	NewInteresting int
	// Rate is the recent new-interesting rate per second.
	Rate float64
	// Retired targets (crashed, failed to build) are never picked again.
	Retired bool
}

// Scheduler rotates n targets.
type Scheduler struct {
	// MinShare in [0,1] is split evenly as every target's floor.
	MinShare float64
	// Decay in (0,1] is how much of a target's rate the newest slice sets.
	Decay   float64
	Targets []Target
}

// New returns a scheduler for n targets with the default knobs.
func New(n int) *Scheduler {
	return &Scheduler{MinShare: DefaultMinShare, Decay: DefaultDecay, Targets: make([]Target, n)}
}

// Shares returns each target's share of the time; the shares of the active
// targets sum to 1 and retired targets get 0.
func (s *Scheduler) Shares() []float64 {
	shares := make([]float64, len(s.Targets))
	active := 0
	var total float64
	for _, t := range s.Targets {
		if !t.Retired {
			active++
			total += t.Rate
		}
	}
	if active == 0 {
		return shares
	}
	minShare := s.MinShare
	if total == 0 {
		minShare = 1 // nothing is finding coverage: split evenly
	}
	for i, t := range s.Targets {
		if t.Retired {
			continue
		}
		shares[i] = minShare / float64(active)
		if total > 0 {
			shares[i] += (1 - minShare) * t.Rate / total
		}
	}
	return shares
}

// Next returns the index of the target to run, or -1 when every target is
// retired. Targets that never ran go first, in order; after that the
// target whose spent time is smallest relative to its share.
func (s *Scheduler) Next() int {
	for i, t := range s.Targets {
		if !t.Retired && t.Slices == 0 {
			return i
		}
	}
	shares := s.Shares()
	best, bestLag := -1, 0.0
	for i, t := range s.Targets {
		if t.Retired || shares[i] <= 0 {
			continue
		}
		lag := t.Spent.Seconds() / shares[i]
		if best < 0 || lag < bestLag {
			best, bestLag = i, lag
		}
	}
	return best
}

// Record adds the outcome of a slice of target i: how long it fuzzed and
// how many new interesting inputs it found.
func (s *Scheduler) Record(i int, d time.Duration, newInteresting int) {
	t := &s.Targets[i]
	rate := 0.0
	if d > 0 {
		rate = float64(newInteresting) / d.Seconds()
	}
	if t.Slices == 0 {
		t.Rate = rate
	} else {
		t.Rate = s.Decay*rate + (1-s.Decay)*t.Rate
	}
	t.Spent += d
	t.Slices++
	t.NewInteresting += newInteresting
}

// Retire removes target i from the rotation.
func (s *Scheduler) Retire(i int) { s.Targets[i].Retired = true }
