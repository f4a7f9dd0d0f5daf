package fdt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
)

// Writer builds a blob sequentially: reservations at any time, then the
// root BeginNode(""), its properties, its children, EndNode, and Finish.
// Every call checks what a strict reader checks (names, duplicate or
// unit-colliding siblings, properties before subnodes, one root), so a
// finished blob always decodes; the first error sticks and is returned by
// every later call.
type Writer struct {
	// Version (16 or 17, default 17), LastCompVersion (default 16) and
	// BootCPUID go to the header.
	Version         uint32
	LastCompVersion uint32
	BootCPUID       uint32

	rsv      []Reservation
	st       []byte // structure block without FDT_END
	strs     []byte
	strIdx   map[string]uint32
	indexed  int // strs[:indexed] is in strIdx
	depth    int
	dups     *dupChecker // sibling names of the open nodes
	rootDone bool
	sawChild bool
	err      error

	// Replaying a decoded layout: NOPs by token ordinal, block order, gaps.
	nops   []int32
	ord    int32
	layout *layout
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer { return &Writer{} }

func (w *Writer) fail(format string, args ...any) error {
	if w.err == nil {
		w.err = &Error{Offset: -1, Msg: fmt.Sprintf(format, args...), Err: ErrWriter}
	}
	return w.err
}

// AddReservation appends a memory reservation entry. A zero size would
// end the map early and is refused.
func (w *Writer) AddReservation(address, size uint64) error {
	if w.err != nil {
		return w.err
	}
	if size == 0 {
		return w.fail("reservation at %#x with size 0", address)
	}
	w.rsv = append(w.rsv, Reservation{address, size})
	return nil
}

func (w *Writer) tag(t uint32) {
	for len(w.nops) > 0 && w.nops[0] == w.ord {
		w.st = binary.BigEndian.AppendUint32(w.st, tagNop)
		w.nops = w.nops[1:]
	}
	w.ord++
	w.st = binary.BigEndian.AppendUint32(w.st, t)
}

func (w *Writer) pad() {
	for len(w.st)%4 != 0 {
		w.st = append(w.st, 0)
	}
}

// BeginNode opens a node; the first call opens the root, whose name must
// be empty.
func (w *Writer) BeginNode(name string) error {
	if w.err != nil {
		return w.err
	}
	if w.rootDone {
		return w.fail("BeginNode(%q) after the root node was closed", name)
	}
	if w.depth == 0 {
		if name != "" {
			return w.fail("root node named %q, want empty", name)
		}
	} else if msg := checkNodeName([]byte(name)); msg != "" {
		return w.fail("node name %q: %s", name, msg)
	}
	// Node offsets must fit the duplicate checker's int32 fields.
	if uint64(len(w.st))+8+uint64(len(name)) > maxBlobSize {
		return w.fail("BeginNode(%q) does not fit in a blob after %d structure bytes", name, len(w.st))
	}
	if w.dups == nil {
		w.dups = &dupChecker{seed: maphash.MakeSeed()}
		w.dups.resize(16)
	}
	w.tag(tagBeginNode)
	off := len(w.st) - 4
	w.st = append(w.st, name...)
	w.dups.data = w.st // the checker reads sibling names back from here
	if code, _ := w.dups.begin(off, w.st[off+4:]); code != "" {
		return w.fail("node %q collides with a sibling (%s)", name, code)
	}
	w.st = append(w.st, 0)
	w.pad()
	w.depth++
	w.sawChild = false
	return nil
}

// EndNode closes the open node.
func (w *Writer) EndNode() error {
	if w.err != nil {
		return w.err
	}
	if w.depth == 0 {
		return w.fail("EndNode with no open node")
	}
	w.tag(tagEndNode)
	w.dups.end()
	w.depth--
	w.sawChild = true
	if w.depth == 0 {
		w.rootDone = true
	}
	return nil
}

// Property adds a property to the open node, before any subnode. The value
// is copied.
func (w *Writer) Property(name string, value []byte) error {
	return w.property(name, value, -1)
}

// property adds a property, naming it by nameOff in the strings table when
// the string there is name (a decoded layout), else by the first copy of
// name in the table, else by a new string at the end.
func (w *Writer) property(name string, value []byte, nameOff int64) error {
	if w.err != nil {
		return w.err
	}
	if w.depth == 0 {
		return w.fail("Property(%q) outside any node", name)
	}
	if w.sawChild {
		return w.fail("Property(%q) after a subnode", name)
	}
	if msg := checkPropName([]byte(name)); msg != "" {
		return w.fail("property name %q: %s", name, msg)
	}
	if uint64(len(w.st))+12+uint64(len(value)) > maxBlobSize {
		return w.fail("Property(%q): value of %d bytes does not fit in a blob after %d structure bytes", name, len(value), len(w.st))
	}
	off, ok := uint32(0), false
	if nameOff >= 0 && nameOff < int64(len(w.strs)) {
		s := w.strs[nameOff:]
		if len(s) > len(name) && s[len(name)] == 0 && string(s[:len(name)]) == name {
			off, ok = uint32(nameOff), true
		}
	}
	if !ok {
		off = w.stringOffset(name)
	}
	w.tag(tagProp)
	w.st = binary.BigEndian.AppendUint32(w.st, uint32(len(value)))
	w.st = binary.BigEndian.AppendUint32(w.st, off)
	w.st = append(w.st, value...)
	w.pad()
	return nil
}

// stringOffset finds or adds name in the strings table.
func (w *Writer) stringOffset(name string) uint32 {
	if w.strIdx == nil {
		w.strIdx = make(map[string]uint32)
	}
	// Index strings present (a replayed table) that are not indexed yet;
	// the first copy of a string wins.
	for w.indexed < len(w.strs) {
		i := bytes.IndexByte(w.strs[w.indexed:], 0)
		if i < 0 {
			break
		}
		s := string(w.strs[w.indexed : w.indexed+i])
		if _, dup := w.strIdx[s]; !dup {
			w.strIdx[s] = uint32(w.indexed)
		}
		w.indexed += i + 1
	}
	if off, ok := w.strIdx[name]; ok {
		return off
	}
	off := uint32(len(w.strs))
	w.strs = append(w.strs, name...)
	w.strs = append(w.strs, 0)
	if w.indexed == int(off) {
		w.strIdx[name] = off
		w.indexed = len(w.strs)
	}
	return off
}

// Finish closes the blob and returns it. The Writer must have written one
// root node and closed it.
func (w *Writer) Finish() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if !w.rootDone {
		if w.depth > 0 {
			return nil, w.fail("Finish with %d nodes open", w.depth)
		}
		return nil, w.fail("Finish without a root node")
	}
	w.tag(tagEnd)
	version, last := w.Version, w.LastCompVersion
	if version == 0 {
		version = 17
	}
	if last == 0 && w.layout == nil {
		last = 16 // a decoded tree's 0 is kept: the blob said so
	}
	if version != 16 && version != 17 {
		return nil, w.fail("version %d, want 16 or 17", version)
	}
	if last > version {
		return nil, w.fail("last_comp_version %d above version %d", last, version)
	}
	hsize := headerSizeV17
	if version < 17 {
		hsize = headerSizeV16
	}

	rsv := make([]byte, 0, 16*(len(w.rsv)+1))
	for _, r := range w.rsv {
		rsv = binary.BigEndian.AppendUint64(rsv, r.Address)
		rsv = binary.BigEndian.AppendUint64(rsv, r.Size)
	}
	rsv = append(rsv, make([]byte, 16)...)
	blocks := [numBlocks][]byte{blockMemRsv: rsv, blockStruct: w.st, blockStrings: w.strs}
	align := [numBlocks]int{blockMemRsv: 8, blockStruct: 4, blockStrings: 1}

	order := [numBlocks]int{blockMemRsv, blockStruct, blockStrings}
	var gaps [numBlocks + 1]int
	if w.layout != nil {
		order, gaps = w.layout.order, w.layout.gaps
	}
	out := make([]byte, hsize, hsize+len(rsv)+len(w.st)+len(w.strs)+64)
	var offs [numBlocks]int
	for i, k := range order {
		out = append(out, make([]byte, gaps[i])...)
		for len(out)%align[k] != 0 {
			out = append(out, 0)
		}
		offs[k] = len(out)
		out = append(out, blocks[k]...)
	}
	out = append(out, make([]byte, gaps[numBlocks])...)
	if len(out) > maxBlobSize {
		return nil, w.fail("blob of %d bytes too large", len(out))
	}
	for i, v := range [...]uint32{Magic, uint32(len(out)), uint32(offs[blockStruct]), uint32(offs[blockStrings]),
		uint32(offs[blockMemRsv]), version, last, w.BootCPUID, uint32(len(w.strs))} {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	if version >= 17 {
		binary.BigEndian.PutUint32(out[36:], uint32(len(w.st)))
	} else if w.layout != nil && min(offs[0], offs[1], offs[2]) >= headerSizeV17 {
		copy(out[headerSizeV16:], w.layout.v16Slot[:])
	}
	w.err = &Error{Offset: -1, Msg: "Writer already finished", Err: ErrWriter}
	return out, nil
}

// Encode writes the tree as a blob, reusing the decoded layout: for a tree
// decoded from a valid blob and not changed since, the bytes are identical.
func (t *Tree) Encode() ([]byte, error) {
	if t == nil || t.Root == nil {
		return nil, &Error{Offset: -1, Msg: "tree has no root node", Err: ErrWriter}
	}
	w := &Writer{Version: t.Version, LastCompVersion: t.LastCompVersion, BootCPUID: t.BootCPUID}
	if w.Version == 0 {
		w.Version = 17
	}
	if w.LastCompVersion == 0 && t.layout == nil {
		w.LastCompVersion = 16
	}
	if t.layout != nil {
		w.layout = t.layout
		w.nops = t.layout.nops
		w.strs = append([]byte(nil), t.layout.strings...)
	} else if w.Version < 17 {
		w.layout = &layout{order: [numBlocks]int{blockMemRsv, blockStruct, blockStrings}, gaps: [numBlocks + 1]int{4}}
	}
	for _, r := range t.Reservations {
		if err := w.AddReservation(r.Address, r.Size); err != nil {
			return nil, err
		}
	}
	if err := walk(t.Root, func(n *Node, _ int) error { return w.open(n) }, func(*Node, int) error { return w.EndNode() }); err != nil {
		return nil, err
	}
	return w.Finish()
}

func (w *Writer) open(n *Node) error {
	if err := w.BeginNode(n.Name); err != nil {
		return err
	}
	for i := range n.Props {
		p := &n.Props[i]
		if err := w.property(p.Name, p.Value, int64(p.nameOff)-1); err != nil {
			return err
		}
	}
	return nil
}
