package fdt

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// valueKind is how a value reads best.
type valueKind uint8

const (
	valueEmpty   valueKind = iota
	valueStrings           // one or more printable NUL-terminated strings
	valueCells             // a whole number of 32-bit cells
	valueBytes             // anything else
)

// classify guesses a value's type the way dtc does when it decompiles: text
// when every byte is printable and every string non-empty, else cells when
// the length allows, else bytes.
func classify(v []byte) valueKind {
	if len(v) == 0 {
		return valueEmpty
	}
	if isStringList(v) {
		return valueStrings
	}
	if len(v)%4 == 0 {
		return valueCells
	}
	return valueBytes
}

func isStringList(v []byte) bool {
	if v[len(v)-1] != 0 || v[0] == 0 {
		return false
	}
	for i, c := range v {
		if c == 0 {
			if v[i-1] == 0 {
				return false
			}
			continue
		}
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// quoteDTS returns s as a DTS string literal (printable ASCII only).
func quoteDTS(s []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// formatValue writes v as DTS value syntax: "a", "b" / <0x1 0x2> / [01 02];
// wide pads cells to eight hex digits.
func formatValue(b *bufio.Writer, v []byte, wide bool) {
	switch classify(v) {
	case valueStrings:
		for i, s := range strings.Split(string(v[:len(v)-1]), "\x00") {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteDTS([]byte(s)))
		}
	case valueCells:
		b.WriteByte('<')
		for i := 0; i < len(v); i += 4 {
			if i > 0 {
				b.WriteByte(' ')
			}
			if wide {
				fmt.Fprintf(b, "0x%08x", binary.BigEndian.Uint32(v[i:]))
			} else {
				fmt.Fprintf(b, "%#x", binary.BigEndian.Uint32(v[i:]))
			}
		}
		b.WriteByte('>')
	case valueBytes:
		b.WriteByte('[')
		for i, c := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(b, "%02x", c)
		}
		b.WriteByte(']')
	}
}

// walk calls enter for each node in depth-first order and leave after its
// subtree, with an explicit stack (no recursion, whatever the depth). A
// nil child stops it with an error: nothing can write or print it.
func walk(root *Node, enter, leave func(n *Node, depth int) error) error {
	type frame struct {
		n    *Node
		next int
	}
	if root == nil {
		return &Error{Offset: -1, Msg: "tree has no root node", Err: ErrStructure}
	}
	if err := enter(root, 0); err != nil {
		return err
	}
	stack := []frame{{n: root}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next < len(f.n.Children) {
			c := f.n.Children[f.next]
			f.next++
			if c == nil {
				// Only a hand-built tree has a nil child, and it has no
				// parent links for Path: name the parent from the stack.
				var ps paths
				for d, fr := range stack {
					ps.enter(fr.n.Name, d)
				}
				return &Error{Offset: -1, Path: ps[len(ps)-1], Msg: fmt.Sprintf("child %d is nil", f.next-1), Err: ErrStructure}
			}
			if err := enter(c, len(stack)); err != nil {
				return err
			}
			stack = append(stack, frame{n: c})
			continue
		}
		if err := leave(f.n, len(stack)-1); err != nil {
			return err
		}
		stack = stack[:len(stack)-1]
	}
	return nil
}

// paths holds the path of each open node during a walk, so printers name
// nodes of hand-built trees (which have no parent links) correctly too.
type paths []string

// enter returns the path of the node at depth with the given name.
func (s *paths) enter(name string, depth int) string {
	p := "/"
	switch {
	case depth == 1:
		p += name
	case depth > 1:
		p = (*s)[depth-1] + "/" + name
	}
	*s = append((*s)[:depth], p)
	return p
}

// WriteDTS writes t as devicetree source that dtc compiles back to the same
// tree: strings as "..", clean cells as <..>, other values as [..]. An
// 8-byte value also gets a comment with its little-endian u64 reading (KHO
// stores u64 properties in CPU byte order). Findings are written as
// comments at the top.
func WriteDTS(w io.Writer, t *Tree) error {
	b := bufio.NewWriter(w)
	b.WriteString("/dts-v1/;\n")
	for _, f := range t.Findings {
		fmt.Fprintf(b, "// finding: %s\n", f)
	}
	if len(t.Reservations) > 0 {
		b.WriteByte('\n')
	}
	for _, r := range t.Reservations {
		fmt.Fprintf(b, "/memreserve/ %#x %#x;\n", r.Address, r.Size)
	}
	b.WriteByte('\n')
	// Indentation stops growing at 16 levels so a deep tree's source stays
	// linear in its size.
	const tabs = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"
	indent := func(d int) { b.WriteString(tabs[:min(d, len(tabs))]) }
	err := walk(t.Root, func(n *Node, d int) error {
		if d > 0 && len(n.Props) == 0 && len(n.Children) == 0 {
			indent(d)
			fmt.Fprintf(b, "%s {\n", n.Name)
			return nil
		}
		indent(d)
		if d == 0 {
			b.WriteString("/ {\n")
		} else {
			fmt.Fprintf(b, "%s {\n", n.Name)
		}
		for _, p := range n.Props {
			if p.Name == "" {
				return &Error{Offset: p.Offset(), Path: n.Path(), Msg: "property without a name (lost in a truncated blob) cannot be written as DTS", Err: ErrName}
			}
			indent(d + 1)
			b.WriteString(p.Name)
			if len(p.Value) > 0 {
				b.WriteString(" = ")
				formatValue(b, p.Value, false)
			}
			b.WriteByte(';')
			if len(p.Value) == 8 {
				fmt.Fprintf(b, " /* u64 le %#x */", binary.LittleEndian.Uint64(p.Value))
			}
			b.WriteByte('\n')
		}
		return nil
	}, func(n *Node, d int) error {
		indent(d)
		b.WriteString("};\n")
		return nil
	})
	if err != nil {
		return err
	}
	return b.Flush()
}

// WriteText writes t as one line per node and property, each with its blob
// offset: node paths, strings quoted, cells in hex, and the little-endian
// u64 reading of 8-byte values.
func WriteText(w io.Writer, t *Tree) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "fdt version %d (last compatible %d), boot cpu %d, %d reservations\n",
		t.Version, t.LastCompVersion, t.BootCPUID, len(t.Reservations))
	for _, r := range t.Reservations {
		fmt.Fprintf(b, "reserve %#x size %#x\n", r.Address, r.Size)
	}
	off := func(o int64) string {
		if o < 0 {
			return "     -"
		}
		return fmt.Sprintf("%#06x", o)
	}
	var ps paths
	err := walk(t.Root, func(n *Node, d int) error {
		fmt.Fprintf(b, "%s %s\n", off(n.Offset()), ps.enter(n.Name, d))
		for _, p := range n.Props {
			name := p.Name
			if name == "" {
				name = "<name missing>"
				if o, ok := p.NameOffset(); ok {
					name = fmt.Sprintf("<name missing: nameoff %#x>", o)
				}
			}
			fmt.Fprintf(b, "%s   %s", off(p.Offset()), name)
			if len(p.Value) > 0 {
				b.WriteString(" = ")
				formatValue(b, p.Value, true)
			}
			if len(p.Value) == 8 {
				fmt.Fprintf(b, "  u64le=%#x", binary.LittleEndian.Uint64(p.Value))
			}
			b.WriteByte('\n')
		}
		return nil
	}, func(*Node, int) error { return nil })
	if err != nil {
		return err
	}
	for _, f := range t.Findings {
		fmt.Fprintf(b, "finding: %s\n", f)
	}
	return b.Flush()
}

// WriteJSON writes t as one JSON object: header fields, reservations,
// findings and the node tree. Each property carries its raw value in hex
// and, where they apply, its strings, cells and little-endian u64 reading.
func WriteJSON(w io.Writer, t *Tree) error {
	b := bufio.NewWriter(w)
	q := func(s string) string { v, _ := json.Marshal(s); return string(v) }
	fmt.Fprintf(b, `{"version":%d,"last_comp_version":%d,"boot_cpuid":%d,"reservations":[`, t.Version, t.LastCompVersion, t.BootCPUID)
	for i, r := range t.Reservations {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, `{"address":%d,"size":%d}`, r.Address, r.Size)
	}
	b.WriteString(`],"findings":[`)
	for i, f := range t.Findings {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, `{"offset":%d,"path":%s,"code":%s,"message":%s}`, f.Offset, q(f.Path), q(f.Code), q(f.Message))
	}
	b.WriteString(`],"root":`)
	var children []int // children written so far at each open depth
	var ps paths
	err := walk(t.Root, func(n *Node, d int) error {
		if d > 0 {
			if children[d-1] > 0 {
				b.WriteByte(',')
			}
			children[d-1]++
		}
		children = append(children[:d], 0)
		fmt.Fprintf(b, `{"name":%s,"path":%s,"offset":%d,"properties":[`, q(n.Name), q(ps.enter(n.Name, d)), n.Offset())
		for i, p := range n.Props {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(b, `{"name":%s,"offset":%d,"length":%d,"hex":"%x"`, q(p.Name), p.Offset(), len(p.Value), p.Value)
			switch classify(p.Value) {
			case valueStrings:
				list, _ := p.Strings()
				v, _ := json.Marshal(list)
				fmt.Fprintf(b, `,"strings":%s`, v)
			case valueCells:
				cells, _ := p.Cells()
				b.WriteString(`,"cells":[`)
				for j, c := range cells {
					if j > 0 {
						b.WriteByte(',')
					}
					b.WriteString(strconv.FormatUint(uint64(c), 10))
				}
				b.WriteByte(']')
			}
			if len(p.Value) == 8 {
				fmt.Fprintf(b, `,"u64le":%d`, binary.LittleEndian.Uint64(p.Value))
			}
			b.WriteByte('}')
		}
		b.WriteString(`],"children":[`)
		return nil
	}, func(*Node, int) error {
		b.WriteString("]}")
		return nil
	})
	if err != nil {
		return err
	}
	b.WriteString("}\n")
	return b.Flush()
}
