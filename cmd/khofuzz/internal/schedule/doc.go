// Package schedule decides which fuzz target runs next when many share one
// time budget. Each target's share of the time is a guaranteed floor (an
// equal split of MinShare of the budget) plus a part of the rest in
// proportion to how fast it has recently been finding new coverage (an
// exponentially weighted rate of "new interesting" inputs per second).
// Targets are picked by stride scheduling: the one furthest behind its
// share runs next, so the split holds at any point of the budget, not only
// at its end.
package schedule
