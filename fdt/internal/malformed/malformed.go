package malformed

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Case is one blob and the outcome it must have.
type Case struct {
	Name string // file name without .dtb
	Data []byte
	// Strict is the sentinel strict decoding must wrap ("ErrLayout"...), or
	// "ok". Offset is where the error must point (-1: not checked).
	Strict string
	Offset int
	// Lenient is the sentinel lenient decoding must wrap, or "ok"; Findings
	// are the finding codes it must report, in order.
	Lenient  string
	Findings []string
	Desc     string // what the case is and where it comes from
}

// Tokens and the offsets of the canonical layout build() produces.
const (
	tagBegin = 1
	tagEndN  = 2
	tagProp  = 3
	tagNop   = 4
	tagEnd   = 9

	hdrSize   = 40
	rsvOff    = 40
	structOff = 56 // after one 16-byte terminator
)

type words []byte

func (w words) u32(v ...uint32) words {
	for _, x := range v {
		w = binary.BigEndian.AppendUint32(w, x)
	}
	return w
}

func (w words) begin(name string) words {
	w = w.u32(tagBegin)
	w = append(w, name...)
	w = append(w, 0)
	for len(w)%4 != 0 {
		w = append(w, 0)
	}
	return w
}

func (w words) end() words { return w.u32(tagEndN) }

func (w words) prop(nameoff uint32, value string) words {
	w = w.u32(tagProp, uint32(len(value)), nameoff)
	w = append(w, value...)
	for len(w)%4 != 0 {
		w = append(w, 0)
	}
	return w
}

// strs is the strings block every case uses.
const strs = "compatible\x00reg\x00"

const (
	offCompatible = 0
	offReg        = 11
)

// body is a small valid structure block: / { compatible; a { reg; }; };
func body() words {
	return words{}.begin("").prop(offCompatible, "khokit\x00").begin("a").prop(offReg, "\x00\x00\x00\x01").end().end().u32(tagEnd)
}

// build lays out header, reservation map (entries then terminator),
// structure and strings blocks canonically.
func build(st words, strings string, rsv ...uint64) []byte {
	b := make([]byte, hdrSize)
	for i := 0; i+1 < len(rsv); i += 2 {
		b = binary.BigEndian.AppendUint64(b, rsv[i])
		b = binary.BigEndian.AppendUint64(b, rsv[i+1])
	}
	b = append(b, make([]byte, 16)...)
	so := len(b)
	b = append(b, st...)
	stro := len(b)
	b = append(b, strings...)
	hdr := []uint32{0xd00dfeed, uint32(len(b)), uint32(so), uint32(stro), rsvOff, 17, 16, 0, uint32(len(strings)), uint32(len(st))}
	for i, v := range hdr {
		binary.BigEndian.PutUint32(b[4*i:], v)
	}
	return b
}

// Header field offsets.
const (
	fTotal    = 4
	fStruct   = 8
	fStrings  = 12
	fRsv      = 16
	fVersion  = 20
	fLastComp = 24
	fSizeStr  = 32
	fSizeSt   = 36
)

func set(b []byte, off int, v uint32) []byte {
	b = append([]byte(nil), b...)
	binary.BigEndian.PutUint32(b[off:], v)
	return b
}

// Cases returns every case, valid ones included.
func Cases() []Case {
	base := build(body(), strs)
	stEnd := structOff + len(body())
	strOff := stEnd
	// Offsets inside body(): root BEGIN at 56, compatible PROP at 64,
	// a BEGIN at 84, reg PROP at 92, END_NODE a at 108, END_NODE / at 112,
	// FDT_END at 116.
	const (
		propCompat = structOff + 8
		nodeA      = structOff + 28
		propReg    = structOff + 36
	)

	var cs []Case
	add := func(c Case) { cs = append(cs, c) }
	fails := func(name, sentinel string, off int, data []byte, desc string) {
		add(Case{Name: name, Data: data, Strict: sentinel, Offset: off, Lenient: sentinel, Desc: desc})
	}

	// Valid inputs a reader must accept.
	add(Case{Name: "valid-base", Data: base, Strict: "ok", Offset: -1, Lenient: "ok", Desc: "the valid blob the other cases are mutations of"})
	add(Case{Name: "valid-nop-after-root", Strict: "ok", Offset: -1, Lenient: "ok",
		Data: build(body()[:len(body())-4].u32(tagNop, tagNop, tagEnd), strs),
		Desc: "NOPs between the root's END_NODE and FDT_END are valid (libfdt caf7465 fixed rejecting them; hardening §1 #12)"})
	add(Case{Name: "valid-nops-everywhere", Strict: "ok", Offset: -1, Lenient: "ok",
		Data: build(words{}.u32(tagNop).begin("").u32(tagNop).prop(offCompatible, "khokit\x00").u32(tagNop).
			begin("a").prop(offReg, "").u32(tagNop).end().u32(tagNop).end().u32(tagNop, tagEnd), strs),
		Desc: "NOPs before the root, between properties, between nodes; an empty property (libfdt f57e7df, hardening §1 #13)"})
	add(Case{Name: "valid-reservations", Strict: "ok", Offset: -1, Lenient: "ok",
		Data: build(body(), strs, 0x1000, 0x2000, 0xffffffff_fffff000, 0x1000),
		Desc: "two reservation entries before the terminator"})
	add(Case{Name: "valid-strings-reordered", Strict: "ok", Offset: -1, Lenient: "ok",
		Data: build(words{}.begin("").prop(11, "khokit\x00").begin("a").prop(0, "\x00\x00\x00\x01").end().end().u32(tagEnd), "reg\x00unused\x00compatible\x00"),
		Desc: "strings block not in first-use order, with an unused string, as the kernel's KHO FDT has"})
	add(Case{Name: "valid-unit-addresses", Strict: "ok", Offset: -1, Lenient: "ok",
		Data: build(words{}.begin("").begin("foo@1").end().begin("foo@2").end().begin("bar").end().end().u32(tagEnd), strs),
		Desc: "siblings foo@1 and foo@2 differ in unit address: no collision"})
	add(Case{Name: "valid-alias-loop", Strict: "ok", Offset: -1, Lenient: "ok",
		Data: build(words{}.begin("").begin("aliases").prop(offCompatible, "/aliases\x00").end().end().u32(tagEnd), strs),
		Desc: "an alias naming its own node (libfdt 79b9e32 recursed on such loops): the container decoder resolves no aliases, so it is just a string"})

	// Header (hardening §1 #3, §3).
	fails("short-0", "ErrTruncated", 0, nil, "empty input")
	fails("short-4", "ErrTruncated", 0, base[:4], "4 bytes: magic only (libfdt 3e3138b read past short buffers)")
	fails("short-24", "ErrTruncated", 0, base[:24], "24 bytes: header cut before last_comp_version")
	fails("short-39", "ErrTruncated", 0, base[:39], "39 bytes: v17 header one byte short")
	fails("bad-magic", "ErrMagic", 0, set(base, 0, 0xedfe0dd0), "byte-swapped magic")
	fails("version-15", "ErrVersion", fVersion, set(base, fVersion, 15), "version 15")
	fails("version-18", "ErrVersion", fVersion, set(set(base, fVersion, 18), fLastComp, 16), "version 18")
	fails("last-comp-18", "ErrVersion", fLastComp, set(base, fLastComp, 18), "last_comp_version 18 > 17")
	fails("totalsize-39", "ErrLayout", fTotal, set(base, fTotal, 39), "totalsize smaller than the header")
	fails("totalsize-2g", "ErrLayout", fTotal, set(base, fTotal, 0x80000000), "totalsize above 2^31")
	add(Case{Name: "totalsize-past-buffer", Data: set(base, fTotal, uint32(len(base)+4096)), Strict: "ErrTruncated", Offset: len(base),
		Lenient: "ok", Findings: []string{"fdt.truncated-tail"},
		Desc: "totalsize claims 4 KiB more than the buffer holds; nothing needed is missing"})

	// Block layout (§1 #1, #11; §3).
	fails("rsvmap-unaligned", "ErrLayout", fRsv, set(base, fRsv, 44), "off_mem_rsvmap 44 not 8-byte aligned (dtc#178)")
	fails("rsvmap-in-header", "ErrLayout", fRsv, set(base, fRsv, 32), "off_mem_rsvmap inside the header")
	fails("rsvmap-past-total", "ErrLayout", fRsv, set(base, fRsv, uint32(len(base)+8)), "off_mem_rsvmap past totalsize")
	fails("struct-unaligned", "ErrLayout", fStruct, set(base, fStruct, structOff+2), "off_dt_struct not 4-byte aligned")
	fails("struct-in-header", "ErrLayout", fStruct, set(base, fStruct, 36), "off_dt_struct inside the v17 header")
	fails("struct-past-total", "ErrLayout", fSizeSt, set(base, fSizeSt, uint32(len(base))), "structure block runs past totalsize")
	fails("struct-size-wraps", "ErrLayout", fSizeSt, set(base, fSizeSt, 0xffffffff-structOff+5), "off_dt_struct + size_dt_struct wraps at 2^32 (libfdt 2e53f9d)")
	fails("strings-past-total", "ErrLayout", fStrings, set(base, fSizeStr, uint32(len(strs)+1)), "strings block runs past totalsize")
	fails("strings-size-wraps", "ErrLayout", fStrings, set(base, fSizeStr, 0xffffffff-uint32(strOff)+2), "off_dt_strings + size_dt_strings wraps at 2^32")
	fails("strings-offset-huge", "ErrLayout", fStrings, set(base, fStrings, 0xfffffff0), "off_dt_strings near 2^32")
	fails("struct-empty-at-strings", "ErrStructure", strOff, set(set(base, fStruct, uint32(strOff)), fSizeSt, 0),
		"empty structure block where the strings block starts: even lenient mode must not read strings as tokens")
	fails("blocks-overlap", "ErrLayout", fStruct, set(base, fStrings, uint32(stEnd-8)), "strings block overlaps the structure block")
	{
		// dtc#178's 72-byte PoC, word for word: off_dt_struct 0x32.
		poc := words{}.u32(0xd00dfeed, 0x48, 0x32, 0x48, 0x28, 0x11, 0x10, 0, 0, 0x10,
			0, 0, 0, 0, 1, 0, 2, 9)
		fails("dtc178-struct-0x32", "ErrLayout", fStruct, poc, "dtc#178 PoC (72 bytes): off_dt_struct 0x32 not 4-byte aligned (libfdt 8d15a63)")
	}

	// Reservation map (§1 #10, u-root).
	{
		b := build(body(), strs, 1, 1)
		b = b[:rsvOff]
		for len(b) < 0x1000 {
			b = binary.BigEndian.AppendUint64(b, 0x1000)
		}
		b = set(b, fTotal, uint32(len(b)))
		b = set(b, fStruct, 0x800)
		b = set(b, fStrings, 0x900)
		b = set(b, fSizeStr, 0)
		b = set(b, fSizeSt, 0)
		fails("rsvmap-unterminated", "ErrReservations", rsvOff+(len(b)-rsvOff)/16*16, b, "reservation map never terminated before totalsize (libfdt 47d7c01, u-root loops to EOF)")
	}
	fails("rsvmap-zero-size-entry", "ErrReservations", rsvOff, build(body(), strs, 0x1000, 0), "entry with address 0x1000 and size 0 in place of the terminator")

	// Structure block tokens (§1 #4-#7, §3).
	bad := func(name, sentinel string, off int, st words, desc string) {
		fails(name, sentinel, off, build(st, strs), desc)
	}
	bad("two-roots", "ErrStructure", structOff+12, words{}.begin("").end().begin("").end().u32(tagEnd), "two root nodes (libfdt 4ca61f8, CVE-2021-27097)")
	bad("named-root", "ErrName", structOff, words{}.begin("x").end().u32(tagEnd), "root node named \"x\" (libfdt a2def54)")
	bad("end-node-at-depth-0", "ErrStructure", structOff, words{}.end().u32(tagEnd), "END_NODE with no open node")
	bad("missing-end", "ErrStructure", structOff+12, words{}.begin("").end(), "no FDT_END token")
	bad("end-inside-node", "ErrStructure", structOff+8, words{}.begin("").u32(tagEnd), "FDT_END with the root still open")
	bad("no-root", "ErrStructure", structOff, words{}.u32(tagEnd), "FDT_END before any node")
	bad("unknown-token", "ErrStructure", structOff+8, words{}.begin("").u32(7).end().u32(tagEnd), "unknown token 7")
	bad("prop-len-fffffff0", "ErrStructure", structOff+8, words{}.begin("").u32(tagProp, 0xfffffff0, 0).end().u32(tagEnd), "property length 0xfffffff0 (libfdt 7359034)")
	bad("prop-past-struct", "ErrStructure", structOff+8, words{}.begin("").u32(tagProp, 16, 0).end().u32(tagEnd), "property value runs past the structure block end")
	bad("nameoff-past-strings", "ErrStrings", structOff+8, words{}.begin("").prop(uint32(len(strs)), "").end().u32(tagEnd), "nameoff equal to size_dt_strings")
	bad("nameoff-huge", "ErrStrings", structOff+8, words{}.begin("").prop(0xfffffff0, "").end().u32(tagEnd), "nameoff 0xfffffff0")
	fails("prop-name-unterminated", "ErrStrings", structOff+8, build(words{}.begin("").prop(0, "").end().u32(tagEnd), "compatible"), "strings block ends without the name's NUL")
	bad("prop-after-subnode", "ErrStructure", structOff+20, words{}.begin("").begin("a").end().prop(0, "").end().u32(tagEnd), "property after a subnode")
	bad("prop-outside-node", "ErrStructure", structOff, words{}.prop(0, "").begin("").end().u32(tagEnd), "property before the root node")
	{
		st := words{}.begin("").u32(tagBegin)
		st = append(st, "abc"...)
		fails("node-name-unterminated", "ErrName", structOff+8, build(st, strs), "BEGIN_NODE name runs to the block end without NUL (libfdt fda71da)")
	}
	bad("node-name-bad-char", "ErrName", structOff+8, words{}.begin("").begin("a b").end().end().u32(tagEnd), "node name with a space")
	bad("node-name-two-at", "ErrName", structOff+8, words{}.begin("").begin("a@1@2").end().end().u32(tagEnd), "node name with two '@'")
	bad("node-name-empty", "ErrName", structOff+8, words{}.begin("").begin("").end().end().u32(tagEnd), "empty non-root node name")
	fails("prop-name-bad-char", "ErrName", structOff+8, build(words{}.begin("").prop(0, "").end().u32(tagEnd), "bad\nname\x00"), "property name with a newline")
	fails("prop-name-empty", "ErrName", structOff+8, build(words{}.begin("").prop(0, "").end().u32(tagEnd), "\x00"), "empty property name")
	fails("data-after-end", "ErrStructure", stEnd, set(build(append(body(), 0, 0, 0, 0), strs), fSizeSt, uint32(len(body())+4)), "zero word after FDT_END inside size_dt_struct")
	{
		st := words{}.begin("")
		for range 64 {
			st = st.begin("n")
		}
		bad("depth-65", "ErrLimit", structOff+64*8, st, "nesting 65 deep: one over the default depth limit (u-root recurses without one)")
	}

	// Duplicates (§1 U-Boot lesson, §3).
	add(Case{Name: "duplicate-node", Strict: "ErrDuplicate", Offset: structOff + 20, Lenient: "ok", Findings: []string{"fdt.duplicate-node"},
		Data: build(words{}.begin("").begin("LUO").end().begin("LUO").end().end().u32(tagEnd), strs),
		Desc: "two sibling nodes named LUO: KHO looks subnodes up by name, first match wins"})
	add(Case{Name: "unit-collision", Strict: "ErrDuplicate", Offset: structOff + 24, Lenient: "ok", Findings: []string{"fdt.unit-collision"},
		Data: build(words{}.begin("").begin("LUO@1").end().begin("LUO").end().end().u32(tagEnd), strs),
		Desc: "LUO@1 beside LUO: libfdt's lookup of \"LUO\" matches either (CVE-2021-27138 shape)"})

	// Quirks lenient mode tolerates.
	add(Case{Name: "struct-size-short-4", Strict: "ErrStructure", Offset: stEnd - 4, Lenient: "ok", Findings: []string{"fdt.struct-size-short"},
		Data: set(base, fSizeSt, uint32(len(body())-4)), Desc: "size_dt_struct 4 bytes short: FDT_END lies just outside the block (seen from mkimage on a ChromeOS FIT, fwupd#8135)"})
	add(Case{Name: "padding-node-name", Strict: "ErrPadding", Offset: nodeA + 6, Lenient: "ok", Findings: []string{"fdt.nonzero-padding"},
		Data: func() []byte { b := append([]byte(nil), base...); b[nodeA+6] = 0xaa; return b }(),
		Desc: "non-zero byte in the padding after a node name"})
	add(Case{Name: "padding-prop-value", Strict: "ErrPadding", Offset: propCompat + 19, Lenient: "ok", Findings: []string{"fdt.nonzero-padding"},
		Data: func() []byte { b := append([]byte(nil), base...); b[propCompat+19] = 0x55; return b }(),
		Desc: "non-zero byte in the padding after a property value"})
	add(Case{Name: "padding-tail", Strict: "ErrPadding", Offset: len(base) + 3, Lenient: "ok", Findings: []string{"fdt.nonzero-padding"},
		Data: func() []byte {
			b := append(append([]byte(nil), base...), 0, 0, 0, 0xff)
			return set(b, fTotal, uint32(len(b)))
		}(),
		Desc: "non-zero byte in free space between the strings block and totalsize (left by an in-place editor)"})
	add(Case{Name: "truncated-strings", Strict: "ErrTruncated", Offset: len(base) - 4, Lenient: "ok",
		Findings: []string{"fdt.truncated-tail", "fdt.missing-string"}, Data: base[:len(base)-4],
		Desc: "last 4 bytes of the strings block missing: the reg property's name is lost (the kernel's 233-byte kho/out/fdt has the same shape)"})
	fails("truncated-struct", "ErrTruncated", -1, base[:propReg+4], "buffer ends inside the structure block: needed bytes missing")
	fails("truncated-rsvmap", "ErrTruncated", -1, build(body(), strs, 1, 1)[:hdrSize+8], "buffer ends inside the reservation map")

	return cs
}

// Table renders the cases as the tab-separated table the tests read.
func Table(cs []Case) string {
	var b strings.Builder
	b.WriteString("# file\tstrict\toffset\tlenient\tfindings\tdescription\n")
	for _, c := range cs {
		off := "-"
		if c.Offset >= 0 {
			off = fmt.Sprintf("%#x", c.Offset)
		}
		f := "-"
		if len(c.Findings) > 0 {
			f = strings.Join(c.Findings, ",")
		}
		fmt.Fprintf(&b, "%s.dtb\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Strict, off, c.Lenient, f, c.Desc)
	}
	return b.String()
}
