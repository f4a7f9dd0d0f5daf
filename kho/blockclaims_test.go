package kho

import (
	"math/rand/v2"
	"testing"
)

// TestBlockClaimsBrute checks blockClaims against a direct overlap test on
// random claim sequences, near 0 and near the top of the 64-bit space,
// with orders up to 63: a claim is refused exactly when it overlaps an
// accepted one, and the conflict names an accepted claim it overlaps.
func TestBlockClaimsBrute(t *testing.T) {
	type block struct {
		start uint64
		order uint
	}
	overlap := func(a, b block) bool {
		aEnd, bEnd := a.start+(1<<a.order-1), b.start+(1<<b.order-1) // last units: no wrap
		return a.start <= bEnd && b.start <= aEnd
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 3000 {
		var c blockClaims[int]
		var accepted, tried []block
		var conflicts []blockConflict[int]
		base := uint64(0)
		if trial%2 == 1 {
			base = ^uint64(0) - 1<<20 + 1 // the top 2^20 units
		}
		maxOrder := 8
		if trial%10 == 9 {
			maxOrder = 63
		}
		for i := 0; i < 12; i++ {
			o := uint(rng.IntN(maxOrder + 1))
			var start uint64
			if o >= 20 {
				start = rng.Uint64() &^ (1<<o - 1)
			} else {
				start = (base + uint64(rng.IntN(1<<20))) &^ (1<<o - 1)
			}
			b := block{start, o}
			want := true
			for _, a := range accepted {
				if overlap(a, b) {
					want = false
				}
			}
			conflict, ok := c.claim(b.start, b.order, len(accepted))
			tried, conflicts = append(tried, b), append(conflicts, conflict)
			if ok != want {
				t.Fatalf("trial %d: claim %+v after %+v: ok %v, want %v", trial, b, accepted, ok, want)
			}
			if !ok {
				if a := accepted[conflict.value]; !overlap(a, b) {
					t.Fatalf("trial %d: claim %+v: conflict names %+v, which it does not overlap", trial, b, a)
				}
				continue
			}
			accepted = append(accepted, b)
		}
		// The same claims in the same order name the same conflicts,
		// whatever order the map iterates in.
		var again blockClaims[int]
		n := 0
		for i, b := range tried {
			conflict, ok := again.claim(b.start, b.order, n)
			if ok {
				n++
			}
			if conflict != conflicts[i] {
				t.Fatalf("trial %d: claim %+v after %+v: conflict %+v, then %+v", trial, b, tried[:i], conflicts[i], conflict)
			}
		}
	}
}
