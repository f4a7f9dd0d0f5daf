package kho

import (
	"cmp"
	"math/bits"
	"slices"
)

// blockClaims records claims of aligned power-of-two blocks of a 64-bit
// space (pages of physical memory, indices of a page cache) and finds the
// earlier claim a new one overlaps. Two such blocks overlap only when one
// holds the other, so a claim looks up the blocks that would hold it, at
// the orders claimed so far, and the mark that smaller claims left on its
// own block. Marks are kept only at orders claimed so far: the first claim
// of a new order marks the blocks of that order holding earlier, smaller
// claims, in one pass over the claims (at most 64 such passes). Any other
// claim costs a few map operations per order in use, however large its
// block.
type blockClaims[V any] struct {
	claims map[blockKey]V // a claimed block, or a block holding smaller claims (inside) → a claim's value
	orders uint64         // bit o: a block of order o was claimed
}

type blockKey struct {
	start  uint64
	order  uint8
	inside bool
}

// blockConflict is the earlier claim a refused one overlaps. When holds,
// that claim's block (start, order) holds the refused one; otherwise the
// refused block holds it, and value is one of the claims inside (the one
// its mark names: not always the lowest, but the same for the same claims
// in the same order).
type blockConflict[V any] struct {
	value V
	holds bool
	start uint64
	order uint
}

// claim records the block of 2^order units at start (a multiple of
// 2^order; order below 64) with v, unless it overlaps an earlier claim:
// then it records nothing and returns that claim, ok false.
func (c *blockClaims[V]) claim(start uint64, order uint, v V) (conflict blockConflict[V], ok bool) {
	if c.claims == nil {
		c.claims = make(map[blockKey]V)
	}
	order = min(order, 63)
	for os := c.orders >> order; os != 0; os &= os - 1 {
		o := order + uint(bits.TrailingZeros64(os))
		at := start &^ (1<<o - 1)
		if w, seen := c.claims[blockKey{start: at, order: uint8(o)}]; seen {
			return blockConflict[V]{value: w, holds: true, start: at, order: o}, false
		}
	}
	if c.orders&(1<<order) == 0 {
		c.addOrder(order)
	}
	if w, seen := c.claims[blockKey{start: start, order: uint8(order), inside: true}]; seen {
		return blockConflict[V]{value: w}, false
	}
	c.claims[blockKey{start: start, order: uint8(order)}] = v
	for os := c.orders >> (order + 1); os != 0; os &= os - 1 {
		o := order + 1 + uint(bits.TrailingZeros64(os))
		k := blockKey{start: start &^ (1<<o - 1), order: uint8(o), inside: true}
		if _, marked := c.claims[k]; marked {
			break // and so are the larger blocks holding it
		}
		c.claims[k] = v
	}
	return blockConflict[V]{}, true
}

// addOrder makes order one of the claimed orders: the blocks of that order
// holding earlier, smaller claims get their marks, each with the value of
// the claim at the lowest start inside it, so that what a conflict names
// does not depend on map order.
func (c *blockClaims[V]) addOrder(order uint) {
	c.orders |= 1 << order
	if c.orders&(1<<order-1) == 0 {
		return // no smaller claims
	}
	var inside []blockKey
	for k := range c.claims {
		if !k.inside && uint(k.order) < order {
			inside = append(inside, k)
		}
	}
	slices.SortFunc(inside, func(a, b blockKey) int { return cmp.Compare(a.start, b.start) })
	for _, k := range inside {
		m := blockKey{start: k.start &^ (1<<order - 1), order: uint8(order), inside: true}
		if _, marked := c.claims[m]; !marked {
			c.claims[m] = c.claims[k]
		}
	}
}

// len is the number of map entries the claims take, marks included.
func (c *blockClaims[V]) len() int { return len(c.claims) }
