package fdt

import (
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"unsafe"
)

// Tree is a decoded blob. Tree.Encode writes it back byte for byte when it
// came from a valid blob and was not changed; changed trees keep the
// original layout (block order, gaps, strings table, NOPs) as far as it
// still applies.
type Tree struct {
	Root            *Node
	Reservations    []Reservation
	Version         uint32 // 16 or 17
	LastCompVersion uint32
	BootCPUID       uint32
	// Findings lists what lenient mode tolerated, plus observations that do
	// not make a blob invalid (bytes after totalsize).
	Findings []Finding

	layout *layout
}

// layout is what the bytes say beyond the tree itself.
type layout struct {
	order   [numBlocks]int     // block kinds in file order
	gaps    [numBlocks + 1]int // zero bytes before each block and after the last
	strings []byte             // strings block, verbatim
	v16Slot [4]byte            // v16: the unused size_dt_struct slot, verbatim
	nops    []int32            // for each NOP, the ordinal of the token it precedes
}

// Node is a device tree node. Props come before Children in the blob.
type Node struct {
	Name     string
	Props    []Property
	Children []*Node

	parent *Node
	off    int64 // offset+1 of BEGIN_NODE; 0 when not decoded
}

// Property is a named value. Value aliases the Tree's copy of the blob.
type Property struct {
	Name  string
	Value []byte

	node *Node
	// Offsets fit in 32 bits (totalsize is below 2^31); keeping them small
	// makes a Property 56 bytes instead of 64.
	off     uint32 // offset+1 of the FDT_PROP tag; 0 when not decoded
	nameOff uint32 // nameoff+1 in the original strings block; 0 when none
}

// Prop returns the first property called name, or nil.
func (n *Node) Prop(name string) *Property {
	if n == nil {
		return nil
	}
	for i := range n.Props {
		if n.Props[i].Name == name {
			return &n.Props[i]
		}
	}
	return nil
}

// Child returns the child node called exactly name, or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ChildLikeLibfdt returns the child libfdt's fdt_subnode_offset (and so
// the kernel's KHO lookup) finds for name: the first child called exactly
// name or, when name has no unit address, name@anything. Strict decoding
// rejects the sibling collisions that make the two lookups differ in
// which node they return, but a lone "foo@1" is still found as "foo".
func (n *Node) ChildLikeLibfdt(name string) *Node {
	if n == nil {
		return nil
	}
	unit := strings.IndexByte(name, '@') >= 0
	for _, c := range n.Children {
		if c.Name == name || (!unit && strings.HasPrefix(c.Name, name) && len(c.Name) > len(name) && c.Name[len(name)] == '@') {
			return c
		}
	}
	return nil
}

// Parent returns the node's parent in a decoded tree, nil for the root and
// for nodes built by hand.
func (n *Node) Parent() *Node { return n.parent }

// Offset returns the blob offset of the node's BEGIN_NODE, or -1 when the
// node was not decoded.
func (n *Node) Offset() int64 { return n.off - 1 }

// Path returns the node's full path ("/" for the root, "/a/b" below),
// following parent links of a decoded tree.
func (n *Node) Path() string {
	if n == nil {
		return ""
	}
	var parts []string
	for m := n; m != nil && m.parent != nil; m = m.parent {
		parts = append(parts, m.Name)
	}
	if len(parts) == 0 {
		if n.Name != "" {
			return "/" + n.Name
		}
		return "/"
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// Offset returns the blob offset of the property's FDT_PROP tag, or -1 when
// it was not decoded.
func (p *Property) Offset() int64 { return int64(p.off) - 1 }

// Node returns the node holding a decoded property, or nil.
func (p *Property) Node() *Node { return p.node }

// Lookup returns the node at an absolute path ("/", "/LUO", "/a/b"), or nil.
// Components match node names exactly.
func (t *Tree) Lookup(path string) *Node {
	if t == nil || t.Root == nil || !strings.HasPrefix(path, "/") {
		return nil
	}
	n := t.Root
	for _, c := range strings.Split(strings.Trim(path, "/"), "/") {
		if c == "" {
			continue
		}
		if n = n.Child(c); n == nil {
			return nil
		}
	}
	return n
}

// Decode validates data and returns its tree. On error the tree is nil and
// the error is an *Error wrapping a sentinel. Bytes after totalsize are
// ignored (and reported as a finding).
func Decode(data []byte, opts *Options) (*Tree, error) {
	// The walk's state lives on the stack: the GC is often marking while
	// a large tree is built, and pointer writes into heap objects (every
	// token) then cost a write barrier each. Only the scratch space's
	// memory comes from a pool.
	var v Validator
	var b treeBuilder
	s := scratchPool.Get().(*decodeScratch)
	s.lend(&v, &b)
	defer s.takeBack(&v, &b)
	// Work on a private copy of the blob (no more than totalsize bytes):
	// property values alias it, and the caller may reuse data. A prefix of
	// data fails the checks exactly as data does, once totalsize (the
	// prefix's length) is checked as Reset checks it.
	h, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	_, limits := opts.resolve()
	if err := checkTotalSize(h, limits); err != nil {
		return nil, err
	}
	total := int(h.TotalSize)
	blob := append([]byte(nil), data[:min(len(data), total)]...)
	trailing := len(data) - total
	if err := v.Reset(blob, opts); err != nil {
		return nil, err
	}
	it := &v.it
	it.lengthsOnly = true
	// The Tree and its layout in one allocation.
	tl := new(struct {
		tree   Tree
		layout layout
	})
	t := &tl.tree
	t.Version, t.LastCompVersion, t.BootCPUID = it.hdr.Version, it.hdr.LastCompVersion, it.hdr.BootCPUIDPhys
	t.layout = &tl.layout
	if n := it.NumReservations(); n > 0 {
		t.Reservations = make([]Reservation, n)
		for i := range t.Reservations {
			t.Reservations[i] = it.Reservation(i)
		}
	}
	b.init(it, blob)
	var ord int32
	for v.Next() {
		tok := &it.tok
		switch tok.Kind {
		case TokenNop:
			t.layout.nops = append(t.layout.nops, ord)
			continue
		case TokenBeginNode:
			n := b.beginNode(blob, tok, it.nameLen)
			if t.Root == nil {
				t.Root = n
			}
		case TokenEndNode:
			b.endNode()
		case TokenProperty:
			b.property(blob, tok, it.nameLen, it.valueLen)
		}
		ord++
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	t.layout.fill(it)
	t.Findings = it.Findings()
	if trailing > 0 {
		t.Findings = append(t.Findings, Finding{Offset: int64(it.total), Code: FindTrailingBytes,
			Message: fmt.Sprintf("%d bytes after totalsize ignored", trailing)})
	}
	return t, nil
}

// treeBuilder turns a validated token stream into Nodes and Properties.
// Most of Decode's cost used to be allocation, so nodes, properties and
// child lists are carved from chunks that grow geometrically, every node
// gets exactly sized Props and Children (capacity = length, so an append
// by the caller reallocates instead of overwriting a neighbour), and names
// are substrings of the private blob, so they cost no allocation.
type treeBuilder struct {
	nodes     []Node     // current node chunk, len = nodes handed out
	props     []Property // current property chunk
	propNode  *Node      // node whose properties are being collected, or nil
	propStart int        // where propNode's properties start in props
	children  []*Node    // current child-list chunk
	kids      []*Node    // children of the open nodes, innermost last
	open      []openNode // the open nodes, innermost last
	names     string     // the private blob, read-only, as a string
	strOff    int        // where the strings block starts in it
	nodeHint  int        // first node and child-list chunk size
	propHint  int        // first property chunk size
}

// decodeScratch is the memory Decode reuses between calls: the
// duplicate-name table and the builder's stacks. It holds no reference to
// a tree between calls.
type decodeScratch struct {
	dup  dupChecker
	kids []*Node
	open []openNode
}

var scratchPool = sync.Pool{New: func() any { return &decodeScratch{dup: dupChecker{seed: maphash.MakeSeed()}} }}

// maxPooledKids is the longest child stack the pool keeps (8 bytes an
// entry); a huge blob's is left to the GC.
const maxPooledKids = 1 << 17

func (s *decodeScratch) lend(v *Validator, b *treeBuilder) {
	v.dup = s.dup
	b.kids, b.open = s.kids[:0], s.open[:0]
}

func (s *decodeScratch) takeBack(v *Validator, b *treeBuilder) {
	// Drop every reference into the tree just built.
	clear(b.kids[:cap(b.kids)])
	clear(b.open[:cap(b.open)])
	s.dup = v.dup
	s.dup.data = nil
	s.kids, s.open = b.kids[:0], b.open[:0]
	if cap(s.kids) > maxPooledKids {
		s.kids = nil
	}
	scratchPool.Put(s)
}

type openNode struct {
	n         *Node
	kidsStart int
}

// Chunk sizes: chunks double from a first size bounded by what the
// structure block can hold, up to these many entries, so a small blob gets
// small chunks and the unused tail of the last chunk stays small.
const (
	maxNodeChunk  = 1024
	maxPropChunk  = 2048
	maxChildChunk = 2048
)

func (b *treeBuilder) init(it *Iterator, blob []byte) {
	// Names are substrings of the blob, Decode's private copy: no byte a
	// name covers is ever written, so a string over it is as immutable as
	// a copy would be, without the copy. The caller's buffer is not the
	// copy; the only writable aliases are Property.Value slices (capacity
	// cut at their end), which cover value bytes only, and no name shares
	// a byte with a value (Reset keeps the strings and structure blocks
	// disjoint); Encode copies the strings block before writing to it.
	// TestNamesSurviveWrites checks this.
	b.names = unsafe.String(unsafe.SliceData(blob), len(blob))
	b.strOff = it.strOff
	// First chunk sizes from the structure block size: a node takes at
	// least 12 bytes (BEGIN_NODE, name, END_NODE), a property 12, but
	// real ones take more (the kernel's KHO tree: 57 bytes a node, 16 a
	// property, names and values included), and a small guess costs only
	// one more chunk.
	size := max(min(it.structEnd, len(blob))-it.structOff, 0)
	b.nodeHint = max(size/32, 1)
	b.propHint = max(size/16, 1)
	b.propStart = -1
}

// chunkSize returns the size of the chunk after one of size prev.
func chunkSize(prev, first, limit int) int {
	if prev == 0 {
		return min(first, limit)
	}
	return min(2*prev, limit)
}

func (b *treeBuilder) beginNode(blob []byte, tok *Token, nameLen int) *Node {
	b.endProps()
	if len(b.nodes) == cap(b.nodes) {
		b.nodes = make([]Node, 0, chunkSize(cap(b.nodes), b.nodeHint, maxNodeChunk))
	}
	b.nodes = b.nodes[:len(b.nodes)+1]
	n := &b.nodes[len(b.nodes)-1]
	n.off = int64(tok.Offset) + 1
	n.Name = b.names[tok.Offset+4 : tok.Offset+4+nameLen]
	if len(b.open) > 0 {
		n.parent = b.open[len(b.open)-1].n
		b.kids = append(b.kids, n)
	}
	b.open = append(b.open, openNode{n: n, kidsStart: len(b.kids)})
	return n
}

func (b *treeBuilder) endNode() {
	b.endProps()
	o := b.open[len(b.open)-1]
	b.open = b.open[:len(b.open)-1]
	k := len(b.kids) - o.kidsStart
	if k == 0 {
		return
	}
	if cap(b.children)-len(b.children) < k {
		b.children = make([]*Node, 0, max(k, chunkSize(cap(b.children), b.nodeHint, maxChildChunk)))
	}
	i := len(b.children)
	b.children = append(b.children, b.kids[o.kidsStart:]...)
	o.n.Children = b.children[i : i+k : i+k]
	clear(b.kids[o.kidsStart:])
	b.kids = b.kids[:o.kidsStart]
}

func (b *treeBuilder) property(blob []byte, tok *Token, nameLen, valueLen int) {
	node := b.open[len(b.open)-1].n
	if b.propNode == nil {
		b.propNode, b.propStart = node, len(b.props)
	}
	if len(b.props) == cap(b.props) {
		// Move the node's properties so far to a fresh chunk: they must
		// stay contiguous.
		have := b.props[b.propStart:]
		next := make([]Property, len(have), max(2*len(have), chunkSize(cap(b.props), b.propHint, maxPropChunk)))
		copy(next, have)
		clear(have)
		b.props, b.propStart = next, 0
	}
	// Fields one by one into the zeroed slot: a whole-struct copy would
	// take the slower bulk write barrier while the GC runs.
	b.props = b.props[:len(b.props)+1]
	p := &b.props[len(b.props)-1]
	if nameLen >= 0 {
		start := b.strOff + int(tok.NameOff)
		p.Name = b.names[start : start+nameLen]
	}
	vstart := tok.Offset + 12
	p.Value = blob[vstart : vstart+valueLen : vstart+valueLen]
	p.node = node
	p.off = uint32(tok.Offset) + 1
	p.nameOff = tok.NameOff + 1
}

// endProps hands the collecting node its properties: they all come before
// its first subnode and its END_NODE.
func (b *treeBuilder) endProps() {
	if b.propNode == nil {
		return
	}
	b.propNode.Props = b.props[b.propStart:len(b.props):len(b.props)]
	b.propNode, b.propStart = nil, -1
}

// fill records block order, gap bytes and the strings block of the
// iterator's blob after a complete walk.
func (l *layout) fill(it *Iterator) {
	spans := it.blockSpans()
	kinds := [numBlocks]span{
		blockMemRsv:  {it.rsvOff, it.rsvOff + 16*(it.nrsv+1)},
		blockStruct:  {it.structOff, it.structEnd},
		blockStrings: {it.strOff, it.strEnd},
	}
	for i, s := range spans {
		for k, ks := range kinds {
			if ks == s {
				l.order[i] = k
			}
		}
	}
	// order must be a permutation even if two spans are equal (both empty
	// at one offset cannot happen: the reservation map is never empty).
	// Gaps are kept as lengths (their bytes are zero in a valid blob; the
	// writer writes zeros), clipped to the bytes present so a truncated
	// blob's header cannot make them large.
	avail := func(a, b int) int {
		a, b = min(a, len(it.data)), min(b, len(it.data))
		return max(b-a, 0)
	}
	pos := it.hdr.Size()
	for i, s := range spans {
		l.gaps[i] = avail(pos, s.start)
		pos = max(pos, s.end)
	}
	l.gaps[numBlocks] = avail(pos, it.total)
	// Capacity cut at the end: nothing may append into the blob.
	strEnd := min(it.strEnd, len(it.data))
	l.strings = it.data[min(it.strOff, len(it.data)):strEnd:strEnd]
	if it.versionV16 && spans[0].start >= headerSizeV17 {
		l.v16Slot = [4]byte(it.data[headerSizeV16:headerSizeV17])
	}
}

// NameOffset returns the offset of a decoded property's name in the
// strings block; ok is false for properties not decoded. Useful when the
// name itself was in a missing tail (Name == "", lenient mode).
func (p *Property) NameOffset() (off uint32, ok bool) {
	return p.nameOff - 1, p.nameOff > 0
}

// Walk calls fn for every node in depth-first pre-order (the order of the
// blob), the root at depth 0, without recursion. A non-nil error from fn
// stops the walk and is returned; so does a nil child (ErrStructure).
func (t *Tree) Walk(fn func(n *Node, depth int) error) error {
	if t == nil || t.Root == nil {
		return nil
	}
	return walk(t.Root, fn, func(*Node, int) error { return nil })
}
