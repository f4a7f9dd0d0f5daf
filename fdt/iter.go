package fdt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Structure block tags.
const (
	tagBeginNode = 0x1
	tagEndNode   = 0x2
	tagProp      = 0x3
	tagNop       = 0x4
	tagEnd       = 0x9
)

// TokenKind says what a Token is.
type TokenKind uint8

const (
	TokenBeginNode TokenKind = iota + 1 // FDT_BEGIN_NODE: Name is the node name
	TokenEndNode                        // FDT_END_NODE
	TokenProperty                       // FDT_PROP: Name and Value
	TokenNop                            // FDT_NOP
)

func (k TokenKind) String() string {
	switch k {
	case TokenBeginNode:
		return "BEGIN_NODE"
	case TokenEndNode:
		return "END_NODE"
	case TokenProperty:
		return "PROP"
	case TokenNop:
		return "NOP"
	}
	return fmt.Sprintf("TokenKind(%d)", uint8(k))
}

// Token is one item of the structure block. Name and Value alias the input.
type Token struct {
	Kind   TokenKind
	Offset int // offset of the tag in the blob
	// Depth of the node the token belongs to: the root's BEGIN_NODE,
	// properties and END_NODE have depth 0, its children's 1.
	Depth int
	// Name is the node name (empty for the root) or property name. For a
	// property whose name lies in a missing tail (lenient mode) it is nil.
	Name    []byte
	Value   []byte // property value
	NameOff uint32 // property: offset of its name in the strings block
}

// Iterator walks a blob's structure block token by token, validating as it
// goes, without allocating. Reset (or NewIterator) checks the header, the
// block layout and the reservation map; Next checks every token. A walk
// that ends with Err() == nil has checked everything Validate checks except
// duplicate sibling names.
type Iterator struct {
	data    []byte // the blob, cut to min(len, totalsize)
	hdr     Header
	lenient bool
	limits  Limits

	total      int // totalsize
	rsvOff     int
	nrsv       int
	structOff  int
	structEnd  int // declared end (v17) or reach (v16)
	reach      int // furthest the walk may go in lenient mode
	strOff     int
	strEnd     int
	versionV16 bool

	pos      int
	depth    int // open nodes
	rootDone bool
	sawChild bool
	done     bool
	extended bool // lenient: walked past a short size_dt_struct
	nodes    int
	props    int

	tok Token
	err error
	// lengthsOnly (set by Decode) leaves tok.Name and tok.Value nil and
	// records their lengths here instead.
	lengthsOnly       bool
	nameLen, valueLen int
	findings          findingList
	paths             pathCache
	names             [32]nameCacheEntry // property names already checked, by nameoff
}

// nameCacheEntry remembers that the string at off is a valid property
// name n-1 bytes long (n == 0: empty slot).
type nameCacheEntry struct {
	off uint32
	n   int32
}

// pathCache is where pathAt's last walk stopped: the offset and the names
// of the nodes open there.
type pathCache struct {
	p     int
	stack []string
}

// NewIterator returns an iterator over data, or the first layout error.
func NewIterator(data []byte, opts *Options) (*Iterator, error) {
	it := new(Iterator)
	if err := it.Reset(data, opts); err != nil {
		return nil, err
	}
	return it, nil
}

// Reset prepares the iterator for a new blob: it checks the header, the
// block layout and the reservation map, and positions the walk before the
// first token. Reset on a caller-owned Iterator does not allocate.
func (it *Iterator) Reset(data []byte, opts *Options) error {
	lenient, limits := opts.resolve()
	*it = Iterator{lenient: lenient, limits: limits}
	err := it.reset(data)
	it.err = err
	if err != nil {
		it.done = true
	}
	return err
}

func (it *Iterator) reset(data []byte) error {
	h, err := parseHeader(data)
	if err != nil {
		return err
	}
	it.hdr = h
	hsize := h.Size()
	it.versionV16 = h.Version < 17
	if err := checkTotalSize(h, it.limits); err != nil {
		return err
	}
	total := int(h.TotalSize)
	it.total = total
	if len(data) < total {
		if !it.lenient {
			return errAt(len(data), ErrTruncated, "blob is %d bytes, header totalsize is %d", len(data), total)
		}
		it.note(len(data), -1, FindTruncatedTail, "blob is %d bytes, header totalsize is %d", len(data), total)
	} else {
		data = data[:total]
	}
	it.data = data

	// Block offsets and sizes, in 64-bit arithmetic so nothing wraps.
	if h.OffMemRsvmap%8 != 0 {
		return errAt(16, ErrLayout, "off_mem_rsvmap %#x not 8-byte aligned", h.OffMemRsvmap)
	}
	if h.OffMemRsvmap < uint32(hsize) || uint64(h.OffMemRsvmap) > uint64(total) {
		return errAt(16, ErrLayout, "off_mem_rsvmap %#x outside [%#x, totalsize %#x]", h.OffMemRsvmap, hsize, total)
	}
	if h.OffDtStruct%4 != 0 {
		return errAt(8, ErrLayout, "off_dt_struct %#x not 4-byte aligned", h.OffDtStruct)
	}
	if h.OffDtStruct < uint32(hsize) || uint64(h.OffDtStruct) > uint64(total) {
		return errAt(8, ErrLayout, "off_dt_struct %#x outside [%#x, totalsize %#x]", h.OffDtStruct, hsize, total)
	}
	if !it.versionV16 && uint64(h.OffDtStruct)+uint64(h.SizeDtStruct) > uint64(total) {
		return errAt(36, ErrLayout, "structure block [%#x, +%#x) ends past totalsize %#x", h.OffDtStruct, h.SizeDtStruct, total)
	}
	if h.OffDtStrings < uint32(hsize) || uint64(h.OffDtStrings)+uint64(h.SizeDtStrings) > uint64(total) {
		return errAt(12, ErrLayout, "strings block [%#x, +%#x) outside [%#x, totalsize %#x]", h.OffDtStrings, h.SizeDtStrings, hsize, total)
	}
	it.structOff = int(h.OffDtStruct)
	it.strOff = int(h.OffDtStrings)
	it.strEnd = it.strOff + int(h.SizeDtStrings)
	it.rsvOff = int(h.OffMemRsvmap)

	// Reservation map: 16-byte entries up to a (0, 0) terminator, which must
	// lie inside totalsize. The loop is bounded by the bytes, not the data.
	n := 0
	for p := it.rsvOff; ; p += 16 {
		if p+16 > total {
			return errAt(p, ErrReservations, "reservation map from %#x has no terminator before totalsize %#x", it.rsvOff, total)
		}
		if p+16 > len(data) {
			return errAt(len(data), ErrTruncated, "reservation map entry at %#x lies past the %d-byte buffer", p, len(data))
		}
		b := readBuf(data[p : p+16])
		addr, size := b.uint64(), b.uint64()
		if size == 0 {
			if addr != 0 {
				return errAt(p, ErrReservations, "reservation entry with address %#x and size 0 (a terminator must be all zero)", addr)
			}
			break
		}
		n++
	}
	it.nrsv = n
	rsv := span{it.rsvOff, it.rsvOff + 16*(n+1)}
	str := span{it.strOff, it.strEnd}

	// The structure block: declared in v17; in v16 it reaches to the next
	// block or totalsize and its real end is known only after the walk.
	reach := total
	for _, s := range [...]span{rsv, str} {
		// A block starting where the structure block does bounds it too
		// unless it is empty.
		if (s.start > it.structOff || (s.start == it.structOff && s.end > s.start)) && s.start < reach {
			reach = s.start
		}
	}
	if it.versionV16 {
		for _, s := range [...]span{rsv, str} {
			if s.start <= it.structOff && it.structOff < s.end {
				return errAt(8, ErrLayout, "off_dt_struct %#x inside %s [%#x, %#x)", it.structOff, blockName(s, rsv), s.start, s.end)
			}
		}
		it.structEnd = reach
	} else {
		st := span{it.structOff, it.structOff + int(h.SizeDtStruct)}
		it.structEnd = st.end
		if st.overlaps(rsv) {
			return errAt(8, ErrLayout, "structure block [%#x, %#x) overlaps the reservation map [%#x, %#x)", st.start, st.end, rsv.start, rsv.end)
		}
		if st.overlaps(str) {
			return errAt(8, ErrLayout, "structure block [%#x, %#x) overlaps the strings block [%#x, %#x)", st.start, st.end, str.start, str.end)
		}
	}
	if rsv.overlaps(str) {
		return errAt(12, ErrLayout, "strings block [%#x, %#x) overlaps the reservation map [%#x, %#x)", str.start, str.end, rsv.start, rsv.end)
	}
	it.reach = reach
	it.pos = it.structOff
	return nil
}

func blockName(s, rsv span) string {
	if s == rsv {
		return blockNames[blockMemRsv]
	}
	return blockNames[blockStrings]
}

// Header returns the blob's header.
func (it *Iterator) Header() Header { return it.hdr }

// NumReservations returns the number of reservation map entries, the
// terminator not counted.
func (it *Iterator) NumReservations() int { return it.nrsv }

// Reservation returns entry i of the reservation map.
func (it *Iterator) Reservation(i int) Reservation {
	b := readBuf(it.data[it.rsvOff+16*i:])
	return Reservation{Address: b.uint64(), Size: b.uint64()}
}

// Token returns the current token; valid until the next call to Next.
func (it *Iterator) Token() *Token { return &it.tok }

// Err returns the error that stopped the walk, or nil.
func (it *Iterator) Err() error { return it.err }

// Findings returns what lenient mode tolerated so far, ending with a
// count of those not kept when there were too many.
func (it *Iterator) Findings() []Finding { return it.findings.all() }

// Next advances to the next token and reports whether there is one. It
// returns false at FDT_END or on an error (see Err).
func (it *Iterator) Next() bool {
	if it.done {
		return false
	}
	if err := it.next(); err != nil {
		it.err = err
		it.done = true
		return false
	}
	return !it.done
}

// setToken fills in the current token field by field: assigning a whole
// Token takes the bulk write barrier whenever the GC is marking, which
// made Decode (which allocates, so the GC runs) measurably slower.
func (it *Iterator) setToken(kind TokenKind, off, depth int, name, value []byte, nameoff uint32) {
	t := &it.tok
	t.Kind, t.Offset, t.Depth, t.NameOff = kind, off, depth, nameoff
	if it.lengthsOnly {
		// Decode: the name and value are found from the offset and these
		// lengths, so no pointer is stored (each would cost a write
		// barrier while the GC marks, which it often does during Decode).
		it.nameLen, it.valueLen = len(name), len(value)
		if name == nil {
			it.nameLen = -1
		}
		return
	}
	t.Name, t.Value = name, value
}

// tokenName returns the current token's name in either mode.
func (it *Iterator) tokenName() []byte {
	if !it.lengthsOnly {
		return it.tok.Name
	}
	switch {
	case it.nameLen < 0:
		return nil
	case it.tok.Kind == TokenBeginNode:
		return it.data[it.tok.Offset+4 : it.tok.Offset+4+it.nameLen]
	}
	start := it.strOff + int(it.tok.NameOff)
	return it.data[start : start+it.nameLen]
}

// need checks that n bytes at p lie inside the structure block and the buffer.
func (it *Iterator) need(p, n int, what string) error {
	if p+n > it.structEnd {
		if it.lenient && !it.versionV16 && p+n <= it.reach {
			if !it.extended {
				it.extended = true
				it.note(it.structEnd, p, FindStructSizeShort, "size_dt_struct %d ends before the token stream does", it.hdr.SizeDtStruct)
			}
			it.structEnd = it.reach
		} else {
			return it.fail(p, ErrStructure, "", "%s at %#x runs past the end of the structure block at %#x", what, p, it.structEnd)
		}
	}
	if p+n > len(it.data) {
		return it.fail(p, ErrTruncated, "", "%s at %#x lies past the end of the %d-byte buffer", what, p, len(it.data))
	}
	return nil
}

func (it *Iterator) next() error {
	for {
		p := it.pos
		if err := it.need(p, 4, "token"); err != nil {
			return err
		}
		tag := binary.BigEndian.Uint32(it.data[p:])
		switch tag {
		case tagNop:
			it.pos = p + 4
			it.setToken(TokenNop, p, it.depth-1, nil, nil, 0)
			return nil
		case tagBeginNode:
			return it.beginNode(p)
		case tagEndNode:
			if it.depth == 0 {
				return it.fail(p, ErrStructure, "", "END_NODE with no open node")
			}
			it.depth--
			it.setToken(TokenEndNode, p, it.depth, nil, nil, 0)
			if it.depth == 0 {
				it.rootDone = true
			}
			it.sawChild = true
			it.pos = p + 4
			return nil
		case tagProp:
			return it.property(p)
		case tagEnd:
			if it.depth != 0 {
				return it.fail(p, ErrStructure, "", "FDT_END inside an open node (%d left open)", it.depth)
			}
			if !it.rootDone {
				return it.fail(p, ErrStructure, "", "FDT_END before any root node")
			}
			end := p + 4
			if !it.versionV16 && end != it.structEnd {
				return it.fail(end, ErrStructure, "", "%d bytes after FDT_END inside the structure block", it.structEnd-end)
			}
			it.structEnd = end
			it.done = true
			return it.checkGaps()
		default:
			return it.fail(p, ErrStructure, "", "unknown token %#x", tag)
		}
	}
}

func (it *Iterator) beginNode(p int) error {
	if it.rootDone {
		return it.fail(p, ErrStructure, "", "second root node")
	}
	if it.depth+1 > it.limits.MaxDepth {
		return it.fail(p, ErrLimit, "", "nesting deeper than %d", it.limits.MaxDepth)
	}
	if it.nodes+1 > it.limits.MaxNodes {
		return it.fail(p, ErrLimit, "", "more than %d nodes", it.limits.MaxNodes)
	}
	nameStart := p + 4
	lim := it.structEnd
	if it.lenient && !it.versionV16 {
		lim = it.reach
	}
	if lim > len(it.data) {
		lim = len(it.data)
	}
	if nameStart > lim {
		nameStart = lim
	}
	i := bytes.IndexByte(it.data[nameStart:lim], 0)
	if i < 0 {
		if lim == len(it.data) && len(it.data) < it.structEnd {
			return it.fail(p, ErrTruncated, "", "node name at %#x lies past the end of the %d-byte buffer", nameStart, len(it.data))
		}
		return it.fail(p, ErrName, "", "node name at %#x not NUL-terminated inside the structure block", nameStart)
	}
	name := it.data[nameStart : nameStart+i]
	if it.depth == 0 {
		if len(name) != 0 {
			return it.fail(p, ErrName, "", "root node named %q, want empty", name)
		}
	} else if msg := checkNodeName(name); msg != "" {
		return it.fail(p, ErrName, "", "node name %q: %s", name, msg)
	}
	next := align4(nameStart + i + 1)
	if err := it.need(p, next-p, "node name"); err != nil {
		return err
	}
	if err := it.padding(nameStart+i+1, next); err != nil {
		return err
	}
	it.setToken(TokenBeginNode, p, it.depth, name, nil, 0)
	it.depth++
	it.nodes++
	it.sawChild = false
	it.pos = next
	return nil
}

func (it *Iterator) property(p int) error {
	if err := it.need(p, 12, "property header"); err != nil {
		return err
	}
	if it.depth == 0 {
		return it.fail(p, ErrStructure, "", "property outside any node")
	}
	if it.sawChild {
		return it.fail(p, ErrStructure, "", "property after a subnode")
	}
	if it.props+1 > it.limits.MaxProperties {
		return it.fail(p, ErrLimit, "", "more than %d properties", it.limits.MaxProperties)
	}
	vlen := binary.BigEndian.Uint32(it.data[p+4:])
	nameoff := binary.BigEndian.Uint32(it.data[p+8:])
	if end := uint64(p) + 12 + uint64(vlen); end > uint64(it.reach) || end > uint64(it.total) {
		return it.fail(p, ErrStructure, "", "property length %#x runs past the structure block end %#x", vlen, it.structEnd)
	}
	vstart := p + 12
	vend := vstart + int(vlen)
	next := align4(vend)
	if err := it.need(p, next-p, "property value"); err != nil {
		return err
	}
	name, err := it.stringAt(p, nameoff)
	if err != nil {
		return err
	}
	if err := it.padding(vend, next); err != nil {
		return err
	}
	it.setToken(TokenProperty, p, it.depth-1, name, it.data[vstart:vend:vend], nameoff)
	it.props++
	it.pos = next
	return nil
}

// stringAt returns the property name at nameoff in the strings block.
func (it *Iterator) stringAt(p int, nameoff uint32) ([]byte, error) {
	if uint64(nameoff) >= uint64(it.strEnd-it.strOff) {
		return nil, it.fail(p, ErrStrings, "", "property nameoff %#x outside the %d-byte strings block", nameoff, it.strEnd-it.strOff)
	}
	start := it.strOff + int(nameoff)
	if c := &it.names[nameoff%uint32(len(it.names))]; c.n > 0 && c.off == nameoff {
		return it.data[start : start+int(c.n)-1], nil
	}
	lim := min(it.strEnd, len(it.data))
	if start >= lim {
		return it.missingString(p, nameoff)
	}
	i := bytes.IndexByte(it.data[start:lim], 0)
	if i < 0 {
		if lim < it.strEnd {
			return it.missingString(p, nameoff)
		}
		return nil, it.fail(p, ErrStrings, "", "property name at nameoff %#x not NUL-terminated inside the strings block", nameoff)
	}
	name := it.data[start : start+i]
	if msg := checkPropName(name); msg != "" {
		return nil, it.fail(p, ErrName, "", "property name %q: %s", name, msg)
	}
	it.names[nameoff%uint32(len(it.names))] = nameCacheEntry{off: nameoff, n: int32(i) + 1}
	return name, nil
}

func (it *Iterator) missingString(p int, nameoff uint32) ([]byte, error) {
	if !it.lenient {
		return nil, it.fail(p, ErrTruncated, "", "property name at nameoff %#x lies past the %d-byte buffer", nameoff, len(it.data))
	}
	it.note(p, p, FindMissingString, "property name at nameoff %#x lies in the missing tail", nameoff)
	return nil, nil
}

// padding checks that data[from:to] is zero.
func (it *Iterator) padding(from, to int) error {
	for q := from; q < to; q++ {
		if it.data[q] != 0 {
			if !it.lenient {
				return it.fail(q, ErrPadding, "", "padding byte %#02x at %#x", it.data[q], q)
			}
			it.note(q, q, FindNonzeroPadding, "padding byte %#02x", it.data[q])
			return nil
		}
	}
	return nil
}

// checkGaps checks that bytes not in any block (between the header and the
// blocks, between blocks, up to totalsize) are zero.
func (it *Iterator) checkGaps() error {
	blocks := it.blockSpans()
	pos := it.hdr.Size()
	if it.versionV16 {
		// Bytes 36..40 are the v17 size_dt_struct field, which v16
		// readers ignore; producers may leave a value there.
		pos = min(headerSizeV17, blocks[0].start)
	}
	for _, b := range blocks {
		if b.start > pos {
			if err := it.padding(pos, min(b.start, len(it.data))); err != nil {
				return err
			}
		}
		pos = max(pos, b.end)
	}
	return it.padding(min(pos, len(it.data)), len(it.data))
}

// blockSpans returns the three blocks sorted by position (empty ones
// first on ties), using the structure block's real end.
func (it *Iterator) blockSpans() [numBlocks]span {
	b := [numBlocks]span{
		{it.rsvOff, it.rsvOff + 16*(it.nrsv+1)},
		{it.structOff, it.structEnd},
		{it.strOff, it.strEnd},
	}
	// insertion sort of three
	for i := 1; i < numBlocks; i++ {
		for j := i; j > 0 && lessSpan(b[j], b[j-1]); j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
	return b
}

func lessSpan(a, b span) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	return a.end-a.start < b.end-b.start
}

func align4(n int) int { return (n + 3) &^ 3 }

// fail builds a located error; the path costs a second walk, paid only on
// the error path.
func (it *Iterator) fail(off int, sentinel error, prop string, format string, args ...any) error {
	return &Error{Offset: int64(off), Path: it.pathAt(off), Property: prop, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// pathAt returns the path of the node open at offset off, by walking the
// already-validated tokens before it. The walk resumes where the previous
// call stopped when off is further on, so the findings of one walk cost
// linear time in total.
func (it *Iterator) pathAt(off int) string {
	c := &it.paths
	if c.p == 0 || off < c.p {
		c.p, c.stack = it.structOff, c.stack[:0]
	}
	p := c.p
walk:
	for p < off && p+4 <= len(it.data) {
		switch binary.BigEndian.Uint32(it.data[p:]) {
		case tagBeginNode:
			i := bytes.IndexByte(it.data[p+4:], 0)
			if i < 0 || p+4+i >= off {
				break walk // off is inside this token; stay at its start
			}
			c.stack = append(c.stack, string(it.data[p+4:p+4+i]))
			p = align4(p + 4 + i + 1)
		case tagEndNode:
			if len(c.stack) > 0 {
				c.stack = c.stack[:len(c.stack)-1]
			}
			p += 4
		case tagProp:
			if p+12 > len(it.data) {
				break walk
			}
			p = align4(p + 12 + int(binary.BigEndian.Uint32(it.data[p+4:])))
		default:
			p += 4
		}
	}
	c.p = p
	if len(c.stack) == 0 {
		return ""
	}
	return "/" + strings.Join(c.stack[1:], "/")
}

// Node and property name characters (devicetree specification 2.2.1, 2.2.4).
var nodeNameChars, propNameChars [256]bool

func init() {
	for c := '0'; c <= '9'; c++ {
		nodeNameChars[c], propNameChars[c] = true, true
	}
	for c := 'a'; c <= 'z'; c++ {
		nodeNameChars[c], propNameChars[c] = true, true
		nodeNameChars[c-'a'+'A'], propNameChars[c-'a'+'A'] = true, true
	}
	for _, c := range ",._+-" {
		nodeNameChars[c], propNameChars[c] = true, true
	}
	propNameChars['?'], propNameChars['#'] = true, true
}

// checkNodeName returns why name is not a valid node name, or "".
func checkNodeName(name []byte) string {
	if len(name) == 0 {
		return "empty"
	}
	at := -1
	for i, c := range name {
		if c == '@' {
			if at >= 0 {
				return "more than one '@'"
			}
			at = i
			continue
		}
		if !nodeNameChars[c] {
			return fmt.Sprintf("character %q not allowed", c)
		}
	}
	if at == 0 {
		return "empty node name before '@'"
	}
	if at == len(name)-1 {
		return "empty unit address after '@'"
	}
	return ""
}

// checkPropName returns why name is not a valid property name, or "".
func checkPropName(name []byte) string {
	if len(name) == 0 {
		return "empty"
	}
	for _, c := range name {
		if !propNameChars[c] {
			return fmt.Sprintf("character %q not allowed", c)
		}
	}
	return ""
}

// findingList caps how many findings are kept (all codes together), so a
// hostile blob cannot turn every byte into a recorded finding.
type findingList struct {
	list       []Finding
	suppressed int
}

// all returns the kept findings and, when some were not kept, a
// FindSuppressed finding that counts them.
func (f *findingList) all() []Finding {
	if f.suppressed == 0 {
		return f.list
	}
	return append(f.list[:len(f.list):len(f.list)], Finding{Offset: -1, Code: FindSuppressed,
		Message: fmt.Sprintf("%d more findings not recorded", f.suppressed)})
}

const maxFindings = 256

// note records a finding at off; pathOff (or -1) says which node to name.
// The path is worked out only for findings that are kept.
func (it *Iterator) note(off, pathOff int, code, format string, args ...any) {
	if len(it.findings.list) >= maxFindings {
		it.findings.suppressed++
		return
	}
	path := ""
	if pathOff >= 0 {
		path = it.pathAt(pathOff)
	}
	it.findings.list = append(it.findings.list, Finding{Offset: int64(off), Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}
