package format

import "fmt"

// Status says where a format version lives.
type Status uint8

const (
	StatusMainline       Status = iota + 1 // in a tagged Linux release (Format.Since names it)
	StatusSeriesInternal                   // an intermediate step inside a merged series, never released
	StatusPosted                           // posted on the lists, not merged
)

// String returns the name of the value.
func (s Status) String() string {
	switch s {
	case StatusMainline:
		return "mainline"
	case StatusSeriesInternal:
		return "series-internal"
	case StatusPosted:
		return "posted"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Kind says how a format is laid out.
type Kind uint8

const (
	KindStruct    Kind = iota + 1 // a fixed-size C struct (Fields)
	KindContainer                 // an optional header struct followed by Count fixed entries
	KindFDT                       // a flattened device tree (Nodes); decoded by package fdt
)

// String returns the name of the value.
func (k Kind) String() string {
	switch k {
	case KindStruct:
		return "struct"
	case KindContainer:
		return "container"
	case KindFDT:
		return "fdt"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// FieldType is the type of one struct field. All integers are little-endian
// (CPU byte order of the x86-64 and arm64 kernels that produce them).
type FieldType uint8

const (
	FieldU8     FieldType = iota + 1
	FieldU16              // little-endian
	FieldU32              // little-endian
	FieldU64              // little-endian
	FieldPhys             // u64 physical address, 0 = none
	FieldChars            // char[Size], NUL-terminated by the writer (strscpy)
	FieldArray            // Count elements of Elem (or of the struct Struct)
	FieldStruct           // a nested struct, described by the catalogue entry Struct
	FieldBitmap           // a Linux bitmap: bit n in u64 word n/64, bit n%64
	FieldBytes            // raw bytes (flexible array members: Size 0)
)

// String returns the name of the value.
func (t FieldType) String() string {
	switch t {
	case FieldU8:
		return "u8"
	case FieldU16:
		return "u16"
	case FieldU32:
		return "u32"
	case FieldU64:
		return "u64"
	case FieldPhys:
		return "phys"
	case FieldChars:
		return "chars"
	case FieldArray:
		return "array"
	case FieldStruct:
		return "struct"
	case FieldBitmap:
		return "bitmap"
	case FieldBytes:
		return "bytes"
	}
	return fmt.Sprintf("FieldType(%d)", uint8(t))
}

// PageSize is the kernel PAGE_SIZE a layout assumes. KHO does not support a
// handover between kernels of different page sizes.
type PageSize uint32

const (
	PageAny PageSize = 0 // the layout does not depend on the page size
	Page4K  PageSize = 4 << 10
	Page16K PageSize = 16 << 10
	Page64K PageSize = 64 << 10
)

// PageSizes lists the supported page sizes in ascending order.
var PageSizes = []PageSize{Page4K, Page16K, Page64K}

// String returns the name of the value.
func (p PageSize) String() string {
	switch p {
	case PageAny:
		return "any"
	case Page4K:
		return "4KiB"
	case Page16K:
		return "16KiB"
	case Page64K:
		return "64KiB"
	}
	return fmt.Sprintf("PageSize(%d)", uint32(p))
}

// Shift is PAGE_SHIFT, or 0 for an unsupported page size.
func (p PageSize) Shift() uint {
	switch p {
	case Page4K:
		return 12
	case Page16K:
		return 14
	case Page64K:
		return 16
	}
	return 0
}

func (p PageSize) valid() bool { return p.Shift() != 0 }

// PageSizeOf returns n as a PageSize if it is one of PageSizes, and fails
// with ErrPageSize otherwise (0 included, and values beyond 32 bits, which a
// plain conversion would truncate).
func PageSizeOf(n uint64) (PageSize, error) {
	if p := PageSize(n); uint64(p) == n && p.valid() {
		return p, nil
	}
	return 0, fmt.Errorf("format: page size %d: %w", n, ErrPageSize)
}

// pageOf is the catalogue f's nested structs come from: its own page size,
// or the 4 KiB one for a layout that does not depend on it.
func pageOf(f *Format) PageSize {
	if f.PageSize == PageAny {
		return Page4K
	}
	return f.PageSize
}

// Field is one member of a struct as the kernel declares it.
type Field struct {
	Name   string    // kernel member name
	Offset int       // byte offset within the struct
	Size   int       // byte size (of the storage unit, for bitfields)
	Type   FieldType // how the bytes are read
	Elem   FieldType // element type of a FieldArray
	Count  int       // element count of a FieldArray
	Struct string    // catalogue name of the nested struct (FieldStruct, or array of structs)
	// BitOffset and BitSize describe a C bitfield within the little-endian
	// storage unit at Offset; BitSize 0 means the field is not a bitfield.
	BitOffset, BitSize int
	Doc                string
}

// PropType is the type of an FDT property value.
type PropType uint8

const (
	PropString    PropType = iota + 1 // NUL-terminated string (compatible)
	PropU64Native                     // 8 bytes, CPU byte order (not DT big-endian cells)
	PropAddrSize                      // big-endian <addr size> cells per #address-cells/#size-cells
)

// String returns the name of the value.
func (t PropType) String() string {
	switch t {
	case PropString:
		return "string"
	case PropU64Native:
		return "u64-native"
	case PropAddrSize:
		return "addr-size-cells"
	}
	return fmt.Sprintf("PropType(%d)", uint8(t))
}

// Prop is one property of an FDT node.
type Prop struct {
	Name     string
	Type     PropType
	Required bool
	Doc      string
}

// Node is one node of an FDT format. Path "/<name>" stands for a node whose
// name is chosen by the writer (one per preserved user, reserve_mem region...).
type Node struct {
	Path       string
	Compatible string // exact value of the node's compatible property, "" if it has none
	Props      []Prop
	Doc        string
}

// Format is one catalogue entry: a versioned kernel layout, as data.
type Format struct {
	Name       string   // catalogue name (khodump show --as NAME)
	Aliases    []string // other names Lookup accepts
	CName      string   // kernel struct name ("" for FDT formats and containers)
	Kind       Kind
	Compatible string   // the compatible string that versions this layout ("" if none)
	UsedBy     []string // every compatible whose payload uses this layout
	Status     Status
	Since      string   // release ("6.16", "7.2-rc1"), series step or posting that has it
	Until      string   // last release or step that has it, "" if current
	PageSize   PageSize // page size the layout assumes, PageAny if it does not depend on it
	Size       int      // byte size of the struct; 0 for FDT formats and containers
	Packed     bool     // declared __packed
	Fields     []Field  // KindStruct

	// KindContainer: an optional header struct, then entries back to back.
	Header   string // catalogue name of the header struct, "" for none
	Entry    string // catalogue name of the entry struct
	Capacity int    // entries that fit the container at this page size
	Bytes    int    // container size in bytes at this page size

	Nodes []Node // KindFDT
	Doc   string
}

// Field returns the field called name, or nil.
func (f *Format) Field(name string) *Field {
	for i := range f.Fields {
		if f.Fields[i].Name == name {
			return &f.Fields[i]
		}
	}
	return nil
}
