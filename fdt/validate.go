package fdt

import (
	"bytes"
	"hash/maphash"
	"sync"
)

// Validate checks data as Decode does — header, layout, reservation map,
// every token, names, string references, limits and duplicate sibling
// names — without building a tree. Its scratch space comes from a
// sync.Pool, so it usually does not allocate; a caller that must never
// allocate (or that walks the blob anyway) uses a [Validator].
func Validate(data []byte, opts *Options) error {
	v := validatorPool.Get().(*Validator)
	err := v.Validate(data, opts)
	v.release()
	validatorPool.Put(v)
	return err
}

var validatorPool = sync.Pool{New: func() any { return new(Validator) }}

// Validator is an [Iterator] that also checks duplicate sibling names as
// the walk proceeds, so one pass both validates a blob completely and
// visits every token. It keeps its duplicate-name table between blobs:
// once it has seen a blob as large as the next, a Reset and walk of a
// valid blob do not allocate. The zero Validator is ready to use; it must
// not be copied after first use.
//
// In lenient mode a duplicate sibling is reported as a finding; in strict
// mode it stops the walk with an error wrapping [ErrDuplicate].
type Validator struct {
	it  Iterator
	dup dupChecker
}

// Reset prepares the validator for a new blob like [Iterator.Reset].
func (v *Validator) Reset(data []byte, opts *Options) error {
	err := v.it.Reset(data, opts)
	if v.dup.table == nil {
		v.dup.seed = maphash.MakeSeed()
	}
	v.dup.reset(v.it.data)
	return err
}

// Validate checks all of data, as the package-level [Validate] does.
func (v *Validator) Validate(data []byte, opts *Options) error {
	if err := v.Reset(data, opts); err != nil {
		return err
	}
	for v.Next() {
	}
	return v.it.Err()
}

// Next advances to the next token like [Iterator.Next], checking a new
// node's name against its siblings'.
func (v *Validator) Next() bool {
	it := &v.it
	if !it.Next() {
		return false
	}
	switch it.tok.Kind {
	case TokenBeginNode:
		name := it.tokenName()
		if code, prev := v.dup.begin(it.tok.Offset, name); code != "" {
			if !it.lenient {
				it.err = it.duplicateError(it.tok.Offset, name, code, prev)
				it.done = true
				return false
			}
			it.note(it.tok.Offset, it.tok.Offset, code, "sibling %q collides with the node at %#x", name, prev)
		}
	case TokenEndNode:
		v.dup.end()
	}
	return true
}

// Token returns the current token; valid until the next call to Next.
func (v *Validator) Token() *Token { return &v.it.tok }

// Err returns the error that stopped the walk, or nil.
func (v *Validator) Err() error { return v.it.err }

// Header returns the blob's header.
func (v *Validator) Header() Header { return v.it.hdr }

// Findings returns what lenient mode tolerated so far, ending with a
// count of those not kept when there were too many.
func (v *Validator) Findings() []Finding { return v.it.findings.all() }

// NumReservations returns the number of reservation map entries, the
// terminator not counted.
func (v *Validator) NumReservations() int { return v.it.nrsv }

// Reservation returns entry i of the reservation map.
func (v *Validator) Reservation(i int) Reservation { return v.it.Reservation(i) }

// release drops the references to the last blob, so a pooled Validator
// does not keep it alive.
func (v *Validator) release() {
	v.dup.data = nil
	v.it = Iterator{}
}

func (it *Iterator) duplicateError(off int, name []byte, code string, prev int) error {
	what := "duplicate sibling node"
	if code == FindUnitCollision {
		what = "sibling names differ only by a unit address, so a lookup by name is ambiguous:"
	}
	return it.fail(off, ErrDuplicate, "", "%s %q (first at %#x)", what, name, prev)
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
	parent int32  // ordinal+1 of the parent; 0 = empty slot
	off    int32  // offset of the name's BEGIN_NODE (name at off+4)
	n      int32  // name length; baseFlag set for the part before '@'
	h      uint32 // hash, kept so growing needs no rehashing
}

// baseFlag marks an entry that stands for the part before '@' of a name
// with a unit address.
const baseFlag = 1 << 30

// reset empties the checker for a new blob, keeping its table's memory.
func (d *dupChecker) reset(data []byte) {
	d.data = data
	d.parents = d.parents[:0]
	d.nextOrd = 0
	d.resize(16)
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
		hName := d.hash(parent, name)
		var hBase uint32
		if at >= 0 {
			hBase = d.hash(parent, name[:at])
		} else {
			hBase = hName
		}
		if p, ok := d.lookup(hName, parent, 0, name); ok {
			code, prev = FindDuplicateNode, p
		} else if at >= 0 {
			if p, ok := d.lookup(hBase, parent, 0, name[:at]); ok {
				code, prev = FindUnitCollision, p
			}
		} else if p, ok := d.lookup(hName^baseSalt, parent, baseFlag, name); ok {
			code, prev = FindUnitCollision, p
		}
		if code == "" {
			d.insert(dupEntry{parent: parent, off: int32(off), n: int32(len(name)), h: hName})
			if at >= 0 {
				if _, ok := d.lookup(hBase^baseSalt, parent, baseFlag, name[:at]); !ok {
					d.insert(dupEntry{parent: parent, off: int32(off), n: int32(at) | baseFlag, h: hBase ^ baseSalt})
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

// baseSalt separates the hashes of base entries from full-name entries.
const baseSalt = 0x9e3779b9

func (d *dupChecker) hash(parent int32, name []byte) uint32 {
	h := maphash.Bytes(d.seed, name) ^ uint64(parent)*0xff51afd7ed558ccd
	return uint32(h ^ h>>32)
}

func (d *dupChecker) lookup(h uint32, parent int32, flag int32, name []byte) (int, bool) {
	mask := uint32(len(d.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := &d.table[i]
		if e.parent == 0 {
			return 0, false
		}
		if e.h == h && e.parent == parent && e.n&baseFlag == flag && int(e.n&^baseFlag) == len(name) &&
			bytes.Equal(d.data[e.off+4:int(e.off)+4+len(name)], name) {
			return int(e.off), true
		}
	}
}

func (d *dupChecker) insert(e dupEntry) {
	if 2*(d.used+1) > len(d.table) {
		d.grow()
	}
	d.place(e)
}

func (d *dupChecker) place(e dupEntry) {
	mask := uint32(len(d.table) - 1)
	i := e.h & mask
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
	d.resize(4 * len(d.table))
	for _, e := range d.spare {
		d.place(e)
	}
}
