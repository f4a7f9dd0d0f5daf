package kho

import "fmt"

// Handover is everything decoded from one KHO root: the model a decoder
// returns and, with addresses left zero, the description the builder lays
// out. Physical addresses are those the producing kernel wrote.
type Handover struct {
	RootAddr      uint64 // physical address of the root FDT; 0 when decoded from bytes alone
	Compatible    string // root compatible, e.g. "kho-v4"
	MemoryMap     MemoryMap
	Subtrees      []Subtree // one per root subnode, in FDT order
	LUO           *LUO
	KexecMetadata *KexecMetadata
	Memblock      *Memblock
	Findings      []Finding
}

// MemoryMap is the preserved-memory map: where it starts and the blocks it
// declares preserved.
//
// The decoder fills Runs, not Blocks: a map describing gigabytes in order-0
// pages holds millions of blocks, and consecutive blocks of one order
// collapse into one Run. Blocks is for callers that list blocks one by one
// (the builder's input); All iterates both.
type MemoryMap struct {
	Addr     uint64  // value of preserved-memory-map
	Kind     MapKind // chunk list (kho-v1) or radix tree (kho-v2 and later)
	Blocks   []Block // sorted by Addr; overlapping blocks are findings, not entries
	Runs     []Run   // sorted by Addr, not overlapping, maximal (up to 2^32-1 blocks)
	PageSize uint64  // page size the orders refer to; 0 means 4096
}

// Run is Count consecutive preserved blocks of 2^Order pages each, the
// first at Addr. Count is 32 bits, keeping a Run at 16 bytes (a large map
// holds thousands): a longer stretch is several Runs, each full but the
// last.
type Run struct {
	Addr  uint64
	Count uint32
	Order uint8
}

// MapKind says which encoding a memory map uses.
type MapKind uint8

const (
	MapNone  MapKind = iota
	MapChunk         // kho-v1 khoser_mem_chunk list
	MapRadix         // kho-v2+ radix tree
)

func (k MapKind) String() string {
	switch k {
	case MapNone:
		return "none"
	case MapChunk:
		return "chunks"
	case MapRadix:
		return "radix"
	}
	return fmt.Sprintf("MapKind(%d)", uint8(k))
}

// Block is one preserved run of 2^Order pages starting at Addr.
type Block struct {
	Addr  uint64
	Order uint8
}

// Subtree is one subnode of the KHO root: a named blob handed over.
type Subtree struct {
	Name   string
	Addr   uint64 // preserved-data (kho-v2+) or fdt (kho-v1)
	Size   uint64 // blob-size (kho-v3+); for FDT blobs without it, the FDT totalsize
	Format string // catalogue name of the decoded format, or "unknown"
	Raw    []byte // the blob's bytes when its format is unknown (bounded), else nil
}

// LUO is the Live Update Orchestrator state.
type LUO struct {
	Compatible       string // "luo-v1" (FDT) or the luo_ser compatible, e.g. "luo-v5"
	Addr             uint64 // the LUO subtree's blob
	LiveupdateNumber uint64
	SessionsAddr     uint64 // first session block (luo-v4+) or session header (luo-v1)
	FLBsAddr         uint64 // FLB header page; 0 = none
	Sessions         []Session
	FLBs             []FLB
	// Recovered is set when the state was found by its contents rather
	// than through luo_ser's pointers (RecoverLUO): after the kexec.
	Recovered *Recovery
}

// Session is one preserved LUO session.
type Session struct {
	Name      string
	Files     []File
	FilesAddr uint64 // file_set_ser.files: first file block (luo-v5) or file array
	FileCount uint64 // file_set_ser.count as written
}

// File is one preserved file of a session.
type File struct {
	Compatible string // file handler, e.g. "memfd-v2"
	Data       uint64 // opaque handler handle (memfd: physical address of memfd_luo_ser)
	Token      uint64
	Memfd      *Memfd // decoded when Compatible names a memfd handler
}

// Memfd is a preserved memfd's metadata and folios.
type Memfd struct {
	Pos       uint64
	Size      uint64
	Seals     uint32 // memfd-v2 only
	Flags     uint32 // memfd-v2 only
	Folios    []Folio
	FoliosMap Vmalloc // the vmalloc area holding the folio array
}

// Vmalloc describes a preserved vmalloc area (struct kho_vmalloc).
type Vmalloc struct {
	First      uint64
	TotalPages uint32
	Flags      uint16
	Order      uint16
}

// Folio is one preserved page-cache folio of a memfd.
type Folio struct {
	PFN   uint64
	Flags uint16
	Index uint64
	Order uint8 // from the memory map's block at PFN; 0 when the map is unknown
}

// FLB is one File-Lifecycle-Bound object handed over.
type FLB struct {
	Name  string
	Data  uint64
	Count uint64
}

// KexecMetadata is the kexec-metadata blob.
type KexecMetadata struct {
	Version         uint32
	PreviousRelease string
	KexecCount      uint32
}

// Memblock is the memblock sub-FDT: reserve_mem regions handed over.
type Memblock struct {
	Compatible string
	Regions    []ReserveMem
}

// ReserveMem is one reserve_mem region.
type ReserveMem struct {
	Name        string
	Compatible  string
	Start, Size uint64
}
