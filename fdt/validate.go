package fdt

import (
	"bytes"
	"hash/maphash"
	"sync"
)

// Validate checks data as Decode does — header, layout, reservation map,
// every token, names, string references, limits and duplicate sibling
// names — without building a tree. It does not allocate on valid input
// (scratch space for the duplicate check is pooled).
func Validate(data []byte, opts *Options) error {
	var it Iterator
	if err := it.Reset(data, opts); err != nil {
		return err
	}
	lenient, _ := opts.resolve()
	d := getDupChecker(it.data)
	defer putDupChecker(d)
	for it.Next() {
		tok := it.Token()
		switch tok.Kind {
		case TokenBeginNode:
			if code, prev := d.begin(tok.Offset, tok.Name); code != "" && !lenient {
				return it.duplicateError(tok, code, prev)
			}
		case TokenEndNode:
			d.end()
		}
	}
	return it.Err()
}

func (it *Iterator) duplicateError(tok *Token, code string, prev int) error {
	what := "duplicate sibling node"
	if code == FindUnitCollision {
		what = "sibling names differ only by a unit address, so a lookup by name is ambiguous:"
	}
	return it.fail(tok.Offset, ErrDuplicate, "", "%s %q (first at %#x)", what, tok.Name, prev)
}

// dupChecker finds siblings with equal names, and "foo" beside "foo@unit"
// (a lookup of "foo" matches either, first one wins). It keeps an
// open-addressing hash set keyed by (parent, name) that grows with the
// number of nodes seen, so its cost is linear in the blob.
type dupChecker struct {
	data    []byte
	seed    maphash.Seed
	parents []int32 // ordinal of each open node
	nextOrd int32
	table   []dupEntry
	spare   []dupEntry // live entries while the table grows
	used    int
}

type dupEntry struct {
	parent int32 // ordinal+1 of the parent; 0 = empty slot
	base   bool  // entry is the part before '@' of a name with a unit
	off    int32 // offset of the name's BEGIN_NODE (name at off+4)
	n      int32 // name length
}

var dupPool = sync.Pool{New: func() any { return &dupChecker{seed: maphash.MakeSeed()} }}

func getDupChecker(data []byte) *dupChecker {
	d := dupPool.Get().(*dupChecker)
	d.data = data
	d.parents = d.parents[:0]
	d.nextOrd = 0
	d.used = 0
	d.resize(16)
	return d
}

func putDupChecker(d *dupChecker) {
	d.data = nil
	dupPool.Put(d)
}

// resize makes the table n empty slots, reusing the backing array.
func (d *dupChecker) resize(n int) {
	if cap(d.table) >= n {
		d.table = d.table[:n]
		clear(d.table)
	} else {
		d.table = make([]dupEntry, n)
	}
	d.used = 0
}

// begin records node name (its BEGIN_NODE at off) under the current parent
// and returns a finding code and the earlier sibling's offset when it
// collides with one.
func (d *dupChecker) begin(off int, name []byte) (code string, prev int) {
	ord := d.nextOrd
	d.nextOrd++
	if len(d.parents) > 0 {
		parent := d.parents[len(d.parents)-1] + 1
		at := bytes.IndexByte(name, '@')
		if p, ok := d.lookup(parent, false, name); ok {
			code, prev = FindDuplicateNode, p
		} else if at >= 0 {
			if p, ok := d.lookup(parent, false, name[:at]); ok {
				code, prev = FindUnitCollision, p
			}
		} else if p, ok := d.lookup(parent, true, name); ok {
			code, prev = FindUnitCollision, p
		}
		if code == "" {
			d.insert(parent, false, off, len(name))
			if at >= 0 {
				if _, ok := d.lookup(parent, true, name[:at]); !ok {
					d.insert(parent, true, off, at)
				}
			}
		}
	}
	d.parents = append(d.parents, ord)
	return code, prev
}

func (d *dupChecker) end() {
	if len(d.parents) > 0 {
		d.parents = d.parents[:len(d.parents)-1]
	}
}

func (d *dupChecker) hash(parent int32, base bool, name []byte) uint64 {
	h := maphash.Bytes(d.seed, name)
	h ^= uint64(parent) * 0x9e3779b97f4a7c15
	if base {
		h ^= 0xff51afd7ed558ccd
	}
	return h ^ h>>29
}

func (d *dupChecker) nameOf(e dupEntry) []byte {
	return d.data[e.off+4 : e.off+4+e.n]
}

func (d *dupChecker) lookup(parent int32, base bool, name []byte) (int, bool) {
	mask := uint64(len(d.table) - 1)
	for i := d.hash(parent, base, name) & mask; ; i = (i + 1) & mask {
		e := d.table[i]
		if e.parent == 0 {
			return 0, false
		}
		if e.parent == parent && e.base == base && bytes.Equal(d.nameOf(e), name) {
			return int(e.off), true
		}
	}
}

func (d *dupChecker) insert(parent int32, base bool, off, n int) {
	if 2*(d.used+1) > len(d.table) {
		d.grow()
	}
	e := dupEntry{parent: parent, base: base, off: int32(off), n: int32(n)}
	d.place(e)
}

func (d *dupChecker) place(e dupEntry) {
	mask := uint64(len(d.table) - 1)
	i := d.hash(e.parent, e.base, d.nameOf(e)) & mask
	for d.table[i].parent != 0 {
		i = (i + 1) & mask
	}
	d.table[i] = e
	d.used++
}

func (d *dupChecker) grow() {
	d.spare = d.spare[:0]
	for _, e := range d.table {
		if e.parent != 0 {
			d.spare = append(d.spare, e)
		}
	}
	d.resize(2 * len(d.table))
	for _, e := range d.spare {
		d.place(e)
	}
}
