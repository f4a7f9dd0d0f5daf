package fdt

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// valueError reports a malformed value of p.
func (p *Property) valueError(format string, args ...any) error {
	path := ""
	if p.node != nil {
		path = p.node.Path()
	}
	return &Error{Offset: p.Offset(), Path: path, Property: p.Name, Msg: fmt.Sprintf(format, args...), Err: ErrValue}
}

func (p *Property) wantLen(n int, what string) error {
	if len(p.Value) != n {
		return p.valueError("value is %d bytes, want %d (%s)", len(p.Value), n, what)
	}
	return nil
}

// U32 returns the value as one big-endian cell.
func (p *Property) U32() (uint32, error) {
	if err := p.wantLen(4, "one cell"); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(p.Value), nil
}

// U64 returns the value as two big-endian cells, high cell first.
func (p *Property) U64() (uint64, error) {
	if err := p.wantLen(8, "two cells"); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(p.Value), nil
}

// U64In returns the value, exactly 8 bytes, as a u64 in the given byte
// order. KHO stores its u64 properties in CPU byte order
// (binary.LittleEndian on x86-64 and arm64), not as FDT cells.
func (p *Property) U64In(order binary.ByteOrder) (uint64, error) {
	if err := p.wantLen(8, "a u64"); err != nil {
		return 0, err
	}
	return order.Uint64(p.Value), nil
}

// String returns the value as exactly one NUL-terminated string with no
// NUL inside.
func (p *Property) String() (string, error) {
	v := p.Value
	if len(v) == 0 || v[len(v)-1] != 0 {
		return "", p.valueError("value of %d bytes is not a NUL-terminated string", len(v))
	}
	if i := bytes.IndexByte(v, 0); i != len(v)-1 {
		return "", p.valueError("value holds more than one string (NUL at byte %d of %d)", i, len(v))
	}
	return string(v[:len(v)-1]), nil
}

// Strings returns the value as a list of NUL-terminated strings. Empty
// strings inside the list are kept; an empty value or a missing final NUL
// is an error.
func (p *Property) Strings() ([]string, error) {
	v := p.Value
	if len(v) == 0 || v[len(v)-1] != 0 {
		return nil, p.valueError("value of %d bytes is not a NUL-terminated string list", len(v))
	}
	list := make([]string, 0, bytes.Count(v, []byte{0}))
	for len(v) > 0 {
		i := bytes.IndexByte(v, 0)
		list = append(list, string(v[:i]))
		v = v[i+1:]
	}
	return list, nil
}

// Cells returns the value as big-endian 32-bit cells.
func (p *Property) Cells() ([]uint32, error) {
	if len(p.Value)%4 != 0 {
		return nil, p.valueError("value of %d bytes is not a whole number of cells", len(p.Value))
	}
	cells := make([]uint32, len(p.Value)/4)
	for i := range cells {
		cells[i] = binary.BigEndian.Uint32(p.Value[4*i:])
	}
	return cells, nil
}

// Reg is one (address, size) pair of a reg-like property.
type Reg struct {
	Address uint64
	Size    uint64
}

// Regs returns the value as (address, size) pairs of addressCells and
// sizeCells cells each (as given by the parent's #address-cells and
// #size-cells). Each count must be 0, 1 or 2 and not both 0; the value must
// hold a whole number of pairs.
func (p *Property) Regs(addressCells, sizeCells int) ([]Reg, error) {
	if addressCells < 0 || addressCells > 2 || sizeCells < 0 || sizeCells > 2 || addressCells+sizeCells == 0 {
		return nil, p.valueError("unsupported cell counts: %d address, %d size", addressCells, sizeCells)
	}
	entry := 4 * (addressCells + sizeCells)
	if len(p.Value)%entry != 0 {
		return nil, p.valueError("value of %d bytes is not a whole number of %d-byte (address, size) pairs", len(p.Value), entry)
	}
	regs := make([]Reg, len(p.Value)/entry)
	v := p.Value
	for i := range regs {
		regs[i].Address = readCells(v, addressCells)
		v = v[4*addressCells:]
		regs[i].Size = readCells(v, sizeCells)
		v = v[4*sizeCells:]
	}
	return regs, nil
}

func readCells(v []byte, n int) uint64 {
	var x uint64
	for i := range n {
		x = x<<32 | uint64(binary.BigEndian.Uint32(v[4*i:]))
	}
	return x
}
