package format

import (
	"fmt"
	"strings"
)

// The catalogue: every KHO/LUO/memfd/FLB layout the kernel has shipped, used
// inside a merged series, or posted, as data. Offsets are written here once;
// the codecs in this package read and write through these tables, and the BTF
// check compares them with a kernel's types. Facts come from the kernel
// sources as summarised in the project's ABI notes (spec/abi.md).

func u16f(name string, off int, doc string) Field {
	return Field{Name: name, Offset: off, Size: 2, Type: FieldU16, Doc: doc}
}
func u32f(name string, off int, doc string) Field {
	return Field{Name: name, Offset: off, Size: 4, Type: FieldU32, Doc: doc}
}
func u64f(name string, off int, doc string) Field {
	return Field{Name: name, Offset: off, Size: 8, Type: FieldU64, Doc: doc}
}
func physf(name string, off int, doc string) Field {
	return Field{Name: name, Offset: off, Size: 8, Type: FieldPhys, Doc: doc}
}
func charsf(name string, off, size int, doc string) Field {
	return Field{Name: name, Offset: off, Size: size, Type: FieldChars, Doc: doc}
}
func structf(name string, off, size int, of, doc string) Field {
	return Field{Name: name, Offset: off, Size: size, Type: FieldStruct, Struct: of, Doc: doc}
}
func arrayf(name string, off int, elem FieldType, elemSize, count int, doc string) Field {
	return Field{Name: name, Offset: off, Size: elemSize * count, Type: FieldArray, Elem: elem, Count: count, Doc: doc}
}
func structArrayf(name string, off int, of string, elemSize, count int, doc string) Field {
	return Field{Name: name, Offset: off, Size: elemSize * count, Type: FieldArray, Elem: FieldStruct, Struct: of, Count: count, Doc: doc}
}
func bitsf(name string, off, size, bitOff, bitSize int, doc string) Field {
	return Field{Name: name, Offset: off, Size: size, Type: FieldU64, BitOffset: bitOff, BitSize: bitSize, Doc: doc}
}

var (
	luoRawVersions = []string{"luo-v2", "luo-v3", "luo-v4", "luo-v5"}
	khoRadixUsers  = []string{"kho-v2", "kho-v3", "kho-v4", "radix-v1"}
)

// luoSer is one variant of struct luo_ser; clen is the length of the
// compatible array (0 for luo-v2, which has none).
func luoSer(name, compat string, clen int, st Status, since, until, doc string) *Format {
	var fields []Field
	if clen > 0 {
		fields = append(fields, charsf("compatible", 0, clen, "LUO_ABI_COMPATIBLE, NUL-padded to 8-byte alignment"))
	}
	fields = append(fields,
		u64f("liveupdate_num", clen, "incoming value + 1"),
		physf("sessions_pa", clen+8, "luo-v4+: first session block; 0 = no sessions"),
		physf("flbs_pa", clen+16, "FLB page (luo_flb_header_ser); 0 = none"),
	)
	return &Format{
		Name: name, CName: "luo_ser", Kind: KindStruct, Compatible: compat,
		Status: st, Since: since, Until: until, PageSize: PageAny, Size: clen + 24, Packed: true,
		Fields: fields, Doc: doc,
	}
}

func kvRoot(name, compat string, st Status, since, until, sub string, withSize bool, doc string) *Format {
	child := []Prop{{Name: sub, Type: PropU64Native, Required: true, Doc: "phys of the preserved blob"}}
	if withSize {
		child = append(child, Prop{Name: "blob-size", Type: PropU64Native, Required: true, Doc: "blob length in bytes"})
	}
	mapDoc := "phys of the radix root node; must be non-zero"
	if compat == "kho-v1" {
		mapDoc = "phys of the first khoser_mem_chunk; 0 = no preserved memory"
	}
	return &Format{
		Name: name, Kind: KindFDT, Compatible: compat, Status: st, Since: since, Until: until,
		Nodes: []Node{
			{Path: "/", Compatible: compat, Props: []Prop{
				{Name: "compatible", Type: PropString, Required: true},
				{Name: "preserved-memory-map", Type: PropU64Native, Required: true, Doc: mapDoc},
			}, Doc: "one preserved page"},
			{Path: "/<name>", Props: child, Doc: "one subnode per KHO user (LUO, kexec-metadata, memblock, ...)"},
		},
		Doc: doc,
	}
}

// memfdV2Fields is memfd_luo_ser as memfd-v2 lays it out; the posted
// vmalloc-v1 composite keeps the same layout. Each call returns a fresh
// slice so no two formats share one.
func memfdV2Fields() []Field {
	return []Field{
		u64f("pos", 0, "file position"),
		u64f("size", 8, "i_size"),
		u32f("seals", 16, "F_SEAL_* bits, subset of 0x3f"),
		u32f("flags", 20, "must be 0"),
		u64f("nr_folios", 24, "entries of the folio array"),
		structf("folios", 32, 16, "vmalloc", "vmalloc array of memfd_luo_folio_ser"),
	}
}

// build returns the catalogue for page size ps, in presentation order.
func build(ps PageSize) []*Format {
	g := mustGeometry(ps)
	p := int(ps)
	return []*Format{
		// Generic container.
		{Name: "fdt", Kind: KindFDT, Status: StatusMainline, Since: "-", Doc: "any flattened device tree blob (decoded by package fdt)"},

		// Boot handoff.
		{Name: "setup-data", CName: "setup_data", Kind: KindStruct, Status: StatusMainline, Since: "6.16",
			PageSize: PageAny, Size: 16, Fields: []Field{
				physf("next", 0, "next setup_data node, 0 = end"),
				u32f("type", 8, "SETUP_KEXEC_KHO (10) for KHO"),
				u32f("len", 12, "payload length; 32 for kho_data"),
				{Name: "data", Offset: 16, Size: 0, Type: FieldBytes, Doc: "payload (flexible array)"},
			}, Doc: "x86 boot_params setup_data node header (the header predates KHO; type 10 since 6.16)"},
		{Name: "kho-data", CName: "kho_data", Kind: KindStruct, Status: StatusMainline, Since: "6.16",
			PageSize: PageAny, Size: KHODataSize, Packed: true, Fields: []Field{
				physf("fdt_addr", 0, "phys of the KHO root FDT page"),
				u64f("fdt_size", 8, "PAGE_SIZE"),
				physf("scratch_addr", 16, "phys of the kho_scratch array"),
				u64f("scratch_size", 24, "byte size of the array (count = size/16)"),
			}, Doc: "x86 SETUP_KEXEC_KHO setup_data payload"},
		{Name: "scratch", CName: "kho_scratch", Kind: KindStruct, Status: StatusMainline, Since: "6.16",
			PageSize: PageAny, Size: ScratchSize, Fields: []Field{
				physf("addr", 0, "start of a scratch region"),
				u64f("size", 8, "length in bytes"),
			}, Doc: "one element of the scratch array (index 0 lowmem, 1 global, then one per node)"},
		{Name: "chosen", Kind: KindFDT, Status: StatusMainline, Since: "6.16", Nodes: []Node{
			{Path: "/chosen", Props: []Prop{
				{Name: "linux,kho-fdt", Type: PropAddrSize, Required: true, Doc: "one <addr size> pair: root FDT page"},
				{Name: "linux,kho-scratch", Type: PropAddrSize, Required: true, Doc: "one <addr size> pair: scratch array"},
			}},
		}, Doc: "boot-DT handoff on devicetree architectures (standard big-endian cells)"},

		// KHO root versions.
		kvRoot("kho-root-v1", "kho-v1", StatusMainline, "6.16", "7.0", "fdt", false, "KHO root, chunk-list memory map, sub-FDTs"),
		kvRoot("kho-root-v2", "kho-v2", StatusMainline, "7.1", "7.1", "preserved-data", false, "KHO root, radix memory map"),
		kvRoot("kho-root-v3", "kho-v3", StatusMainline, "7.1", "7.1", "preserved-data", true, "KHO root with blob-size (raw blobs)"),
		func() *Format {
			f := kvRoot("kho-root", "kho-v4", StatusMainline, "7.2-rc1", "", "preserved-data", true, "KHO root (current in 7.2/7.3): block ABI")
			f.Aliases = []string{"kho-root-v4"}
			return f
		}(),
		kvRoot("kho-root-composite", "kho-v4;radix-v1;vmalloc-v1", StatusPosted, "RFC 2026-06-05", "", "preserved-data", true, "granular-compatibility RFC: kho-v4 + radix-v1 + vmalloc-v1"),

		// kho-v1 memory map.
		{Name: "kho-v1-chunk-header", CName: "khoser_mem_chunk_hdr", Kind: KindStruct, Compatible: "kho-v1",
			Status: StatusMainline, Since: "6.16", Until: "7.0", PageSize: PageAny, Size: KhoserChunkHeaderSize, Fields: []Field{
				physf("next", 0, "next chunk, 0 = end"),
				u32f("order", 8, "page order of every bitmap in this chunk"),
				u32f("num_elms", 12, "used entries of bitmaps[]"),
			}},
		{Name: "kho-v1-bitmap-ptr", CName: "khoser_mem_bitmap_ptr", Kind: KindStruct, Compatible: "kho-v1",
			Status: StatusMainline, Since: "6.16", Until: "7.0", PageSize: PageAny, Size: BitmapPtrSize, Fields: []Field{
				physf("phys_start", 0, "address of bit 0"),
				physf("bitmap", 8, "phys of a kho_mem_phys_bits page"),
			}},
		{Name: "kho-v1-chunk", CName: "khoser_mem_chunk", Kind: KindStruct, Compatible: "kho-v1",
			Status: StatusMainline, Since: "6.16", Until: "7.0", PageSize: ps, Size: p, Fields: []Field{
				structf("hdr", 0, KhoserChunkHeaderSize, "kho-v1-chunk-header", ""),
				structArrayf("bitmaps", KhoserChunkHeaderSize, "kho-v1-bitmap-ptr", BitmapPtrSize, g.KhoserBitmapSize, "KHOSER_BITMAP_SIZE entries"),
			}, Doc: "one page of the kho-v1 preserved-memory chunk list (not preserved itself)"},
		{Name: "kho-v1-bitmap", CName: "kho_mem_phys_bits", Kind: KindStruct, Compatible: "kho-v1",
			Status: StatusMainline, Since: "6.18", Until: "7.0", PageSize: ps, Size: p, Fields: []Field{
				{Name: "preserve", Offset: 0, Size: p, Type: FieldBitmap, Count: g.PreserveBits, Doc: "PRESERVE_BITS bits"},
			}, Doc: "one page; bit b: block at phys_start + (b << (order+PAGE_SHIFT)) is preserved " +
				"(page-sized since commit a2fff99f92da, Oct 2025)"},
		{Name: "kho-v1-bitmap-512", CName: "kho_mem_phys_bits", Kind: KindStruct, Compatible: "kho-v1",
			Status: StatusMainline, Since: "6.16", Until: "6.17", PageSize: PageAny, Size: PreserveBits616 / 8, Fields: []Field{
				{Name: "preserve", Offset: 0, Size: PreserveBits616 / 8, Type: FieldBitmap, Count: PreserveBits616, Doc: "PRESERVE_BITS = 512*8 bits"},
			}, Doc: "the original 512-byte slab bitmap (same kho-v1 compatible): each covers 4096 << order pages " +
				"and is only 512-byte aligned"},

		// Radix memory map (kho-v2+).
		{Name: "radix-node", CName: "kho_radix_node", Kind: KindStruct, Compatible: "kho-v2", UsedBy: khoRadixUsers,
			Status: StatusMainline, Since: "7.1", PageSize: ps, Size: p, Fields: []Field{
				arrayf("table", 0, FieldPhys, 8, g.Radix.TableEntries(), "child node phys, 0 = empty"),
			}, Doc: fmt.Sprintf("radix table node, levels %d..1 (not preserved)", g.Radix.RootLevel())},
		{Name: "radix-leaf", CName: "kho_radix_leaf", Kind: KindStruct, Compatible: "kho-v2", UsedBy: khoRadixUsers,
			Status: StatusMainline, Since: "7.1", PageSize: ps, Size: p, Fields: []Field{
				{Name: "bitmap", Offset: 0, Size: p, Type: FieldBitmap, Count: g.Radix.LeafBits(), Doc: "one bit per key, level 0"},
			}, Doc: "radix leaf bitmap (not preserved)"},

		// vmalloc preservation.
		{Name: "vmalloc", CName: "kho_vmalloc", Kind: KindStruct, UsedBy: []string{"kho-v1", "kho-v2", "kho-v3", "kho-v4", "vmalloc-v1"},
			Status: StatusMainline, Since: "6.18", PageSize: PageAny, Size: 16, Fields: []Field{
				physf("first", 0, "first kho_vmalloc_chunk, 0 = empty"),
				u32f("total_pages", 8, "order-0 pages in the area"),
				u16f("flags", 12, "KHO_VMALLOC_ALLOC 0x1, KHO_VMALLOC_HUGE_VMAP 0x2"),
				u16f("order", 14, "page order of each run"),
			}, Doc: "descriptor of a preserved vmalloc area, embedded by its user"},
		{Name: "vmalloc-chunk-header", CName: "kho_vmalloc_hdr", Kind: KindStruct, UsedBy: []string{"kho-v1", "kho-v2", "kho-v3", "kho-v4", "vmalloc-v1"},
			Status: StatusMainline, Since: "6.18", PageSize: PageAny, Size: 8, Fields: []Field{
				physf("next", 0, "next chunk, 0 = end"),
			}},
		{Name: "vmalloc-chunk", CName: "kho_vmalloc_chunk", Kind: KindStruct, UsedBy: []string{"kho-v1", "kho-v2", "kho-v3", "kho-v4", "vmalloc-v1"},
			Status: StatusMainline, Since: "6.18", PageSize: ps, Size: p, Fields: []Field{
				structf("hdr", 0, 8, "vmalloc-chunk-header", ""),
				arrayf("phys", 8, FieldPhys, 8, g.VmallocSize, "run starts, ended by the first 0 or the array end"),
			}, Doc: "one preserved page of a vmalloc area's run list"},

		// Generic blocks (7.2+).
		{Name: "block-header", CName: "kho_block_header_ser", Kind: KindStruct, Compatible: "kho-v4", UsedBy: []string{"kho-v4", "block-v1", "kho-block-v1"},
			Status: StatusMainline, Since: "7.2-rc1", PageSize: PageAny, Size: BlockHeaderSize, Packed: true, Fields: []Field{
				physf("next", 0, "next block, 0 = end"),
				u64f("count", 8, "entries in this block, 1..per-block max"),
			}, Doc: "head of one preserved block page; entries follow at 16"},

		// memblock reserve_mem.
		{Name: "memblock", Kind: KindFDT, Compatible: "memblock-v1", Status: StatusMainline, Since: "6.16", Nodes: []Node{
			{Path: "/", Compatible: "memblock-v1", Props: []Prop{{Name: "compatible", Type: PropString, Required: true}}},
			{Path: "/<name>", Compatible: "reserve-mem-v1", Props: []Prop{
				{Name: "compatible", Type: PropString, Required: true},
				{Name: "start", Type: PropU64Native, Required: true, Doc: "region start"},
				{Name: "size", Type: PropU64Native, Required: true, Doc: "region size"},
			}, Doc: "one node per reserve_mem= region, named after it (<= 15 chars)"},
		}, Doc: "sub-FDT under KHO node \"memblock\""},
		{Name: "reserve-mem", Kind: KindFDT, Compatible: "reserve-mem-v1", Status: StatusMainline, Since: "6.16", Nodes: []Node{
			{Path: "/<name>", Compatible: "reserve-mem-v1", Props: []Prop{
				{Name: "compatible", Type: PropString, Required: true},
				{Name: "start", Type: PropU64Native, Required: true},
				{Name: "size", Type: PropU64Native, Required: true},
			}},
		}, Doc: "a reserve_mem child node of the memblock sub-FDT"},

		// kexec metadata.
		{Name: "kexec-metadata", CName: "kho_kexec_metadata", Kind: KindStruct, Status: StatusMainline, Since: "7.1",
			PageSize: PageAny, Size: KexecMetadataSize, Packed: true, Fields: []Field{
				u32f("version", 0, "KHO_KEXEC_METADATA_VERSION (1)"),
				charsf("previous_release", 4, UTSReleaseLen, "uname release of the kexec'ing kernel"),
				u32f("kexec_count", 69, "kexec boots since cold boot"),
			}, Doc: "raw blob under KHO node \"kexec-metadata\" (blob-size 73); versioned by its version field"},

		// LUO as an FDT.
		{Name: "luo-fdt-v1", Kind: KindFDT, Compatible: "luo-v1", Status: StatusMainline, Since: "6.19", Until: "7.1", Nodes: []Node{
			{Path: "/", Compatible: "luo-v1", Props: []Prop{
				{Name: "compatible", Type: PropString, Required: true},
				{Name: "liveupdate-number", Type: PropU64Native, Required: true, Doc: "previous value + 1"},
			}},
			{Path: "/luo-session", Compatible: "luo-session-v2", Props: []Prop{
				{Name: "compatible", Type: PropString, Required: true, Doc: "luo-session-v2 (luo-session-v1 inside the 6.19 series only)"},
				{Name: "luo-session-header", Type: PropU64Native, Required: true, Doc: "phys of the 16-page session array"},
			}},
			{Path: "/luo-flb", Compatible: "luo-flb-v1", Props: []Prop{
				{Name: "compatible", Type: PropString, Required: true},
				{Name: "luo-flb-header", Type: PropU64Native, Required: true, Doc: "phys of the FLB page"},
			}, Doc: "7.0+; required by 7.0/7.1 receivers"},
		}, Doc: "LUO state as a one-page FDT under KHO node \"LUO\""},
		{Name: "luo-fdt-v2", Kind: KindFDT, Compatible: "luo-v2", Status: StatusSeriesInternal, Since: "remove-limits series patch 03", Until: "patch 04", Nodes: []Node{
			{Path: "/", Compatible: "luo-v2", Props: []Prop{
				{Name: "compatible", Type: PropString, Required: true},
				{Name: "luo-abi-header", Type: PropU64Native, Required: true, Doc: "phys of the 24-byte luo_ser"},
			}},
		}},

		// luo_ser variants.
		luoSer("luo-ser-v2", "luo-v2", 0, StatusSeriesInternal, "remove-limits series patch 03", "patch 04", "no compatible field; pointed to by luo-abi-header"),
		luoSer("luo-ser-v3", "luo-v3", 8, StatusSeriesInternal, "remove-limits series patch 04", "patch 09", "raw blob; sessions in the luo-v1 array"),
		luoSer("luo-ser-v4", "luo-v4", 8, StatusSeriesInternal, "remove-limits series patch 09", "patch 10", "sessions in blocks, files in arrays"),
		func() *Format {
			f := luoSer("luo-ser", "luo-v5", LUOCompatLen, StatusMainline, "7.2-rc1", "", "raw blob under KHO node \"LUO\" (blob-size 32)")
			f.Aliases = []string{"luo-ser-v5"}
			return f
		}(),
		luoSer("luo-ser-v5-block-v1", "luo-v5;block-v1", 16, StatusPosted, "RFC 2026-06-05", "", "granular-compatibility RFC"),
		luoSer("luo-ser-v3-kho-block-v1", "luo-v3-kho-block-v1", 24, StatusPosted, "remove-limits v5/v6", "", "dropped in v7"),
		luoSer("luo-ser-v4-kho-block-v1", "luo-v4-kho-block-v1", 24, StatusPosted, "remove-limits v5/v6", "", "dropped in v7"),

		// Sessions.
		{Name: "session-header", CName: "luo_session_header_ser", Kind: KindStruct, Compatible: "luo-session-v2", UsedBy: []string{"luo-session-v1", "luo-session-v2", "luo-v2", "luo-v3"},
			Status: StatusMainline, Since: "6.19", Until: "7.1", PageSize: PageAny, Size: SessionHeaderSize, Packed: true, Fields: []Field{
				u64f("count", 0, "luo_session_ser entries following at 8"),
			}},
		{Name: "session-ser-v1", CName: "luo_session_ser", Kind: KindStruct, Compatible: "luo-session-v1",
			Status: StatusSeriesInternal, Since: "6.19 development", Until: "6.19 development", PageSize: PageAny, Size: 64, Packed: true, Fields: []Field{
				charsf("name", 0, SessionNameLen, "session name, NUL-terminated"),
			}},
		{Name: "session-ser", CName: "luo_session_ser", Kind: KindStruct, Compatible: "luo-session-v2", UsedBy: append([]string{"luo-session-v2"}, luoRawVersions...),
			Status: StatusMainline, Since: "6.19", PageSize: PageAny, Size: SessionSerSize, Packed: true, Fields: []Field{
				charsf("name", 0, SessionNameLen, "session name, NUL-terminated"),
				structf("file_set_ser", 64, 16, "file-set", "the session's files"),
			}},
		{Name: "file-set", CName: "luo_file_set_ser", Kind: KindStruct, UsedBy: append([]string{"luo-session-v2"}, luoRawVersions...),
			Status: StatusMainline, Since: "6.19", PageSize: PageAny, Size: 16, Packed: true, Fields: []Field{
				physf("files", 0, "<= luo-v4: file array; luo-v5: first file block; 0 = none"),
				u64f("count", 8, "files serialized for this session"),
			}},
		{Name: "file-ser", CName: "luo_file_ser", Kind: KindStruct, UsedBy: append([]string{"luo-session-v2"}, luoRawVersions...),
			Status: StatusMainline, Since: "6.19", PageSize: PageAny, Size: FileSerSize, Packed: true, Fields: []Field{
				charsf("compatible", 0, HandleCompatLen, "file handler compatible (memfd-v2)"),
				u64f("data", 48, "handler handle (memfd: phys of memfd_luo_ser)"),
				u64f("token", 56, "user token"),
			}},

		// FLB.
		{Name: "flb-header", CName: "luo_flb_header_ser", Kind: KindStruct, Compatible: "luo-flb-v1", UsedBy: append([]string{"luo-flb-v1"}, luoRawVersions...),
			Status: StatusMainline, Since: "7.0", PageSize: PageAny, Size: FLBHeaderSize, Packed: true, Fields: []Field{
				u64f("pgcnt", 0, "pages incl. header (1); never read by mainline"),
				u64f("count", 8, "luo_flb_ser entries following at 16"),
			}},
		{Name: "flb-ser", CName: "luo_flb_ser", Kind: KindStruct, Compatible: "luo-flb-v1", UsedBy: append([]string{"luo-flb-v1"}, luoRawVersions...),
			Status: StatusMainline, Since: "7.0", PageSize: PageAny, Size: FLBSerSize, Packed: true, Fields: []Field{
				charsf("name", 0, FLBCompatLen, "FLB compatible"),
				u64f("data", 48, "FLB preserve() handle"),
				u64f("count", 56, "outgoing refcount at serialization"),
			}},

		// Containers.
		{Name: "luo-flb", Kind: KindContainer, Compatible: "luo-flb-v1", UsedBy: append([]string{"luo-flb-v1"}, luoRawVersions...),
			Status: StatusMainline, Since: "7.0", PageSize: ps, Header: "flb-header", Entry: "flb-ser",
			Capacity: g.FLBMax, Bytes: p * LUOFLBPgCnt, Doc: "the FLB page: luo_flb_header_ser + count luo_flb_ser (LUO_FLB_MAX)"},
		{Name: "session-block", Kind: KindContainer, Compatible: "luo-v5", UsedBy: []string{"luo-v4", "luo-v5"},
			Status: StatusMainline, Since: "7.2-rc1", PageSize: ps, Header: "block-header", Entry: "session-ser",
			Capacity: g.SessionsPerBlock, Bytes: p, Doc: "one block of the session chain"},
		{Name: "file-block", Kind: KindContainer, Compatible: "luo-v5",
			Status: StatusMainline, Since: "7.2-rc1", PageSize: ps, Header: "block-header", Entry: "file-ser",
			Capacity: g.FilesPerBlock, Bytes: p, Doc: "one block of a session's file chain"},
		{Name: "session-array-v1", Kind: KindContainer, Compatible: "luo-session-v2", UsedBy: []string{"luo-session-v2", "luo-v2", "luo-v3"},
			Status: StatusMainline, Since: "6.19", Until: "7.1", PageSize: ps, Header: "session-header", Entry: "session-ser",
			Capacity: g.SessionMax, Bytes: LUOSessionPgCnt * p, Doc: "16-page session array (LUO_SESSION_MAX)"},
		{Name: "file-array-v1", Kind: KindContainer, Compatible: "luo-session-v2", UsedBy: []string{"luo-session-v2", "luo-v2", "luo-v3", "luo-v4"},
			Status: StatusMainline, Since: "6.19", Until: "7.1", PageSize: ps, Entry: "file-ser",
			Capacity: g.FileMax, Bytes: LUOFilePgCnt * p, Doc: "2-page file array without header (LUO_FILE_MAX); count from file_set_ser"},

		// memfd.
		{Name: "memfd-v1", CName: "memfd_luo_ser", Kind: KindStruct, Compatible: "memfd-v1",
			Status: StatusMainline, Since: "6.19", Until: "7.0", PageSize: PageAny, Size: 40, Packed: true, Fields: []Field{
				u64f("pos", 0, "file position"),
				u64f("size", 8, "i_size"),
				u64f("nr_folios", 16, "entries of the folio array"),
				structf("folios", 24, 16, "vmalloc", "vmalloc array of memfd_luo_folio_ser"),
			}},
		{Name: "memfd-v2", CName: "memfd_luo_ser", Kind: KindStruct, Compatible: "memfd-v2",
			Status: StatusMainline, Since: "7.1", PageSize: PageAny, Size: 48, Packed: true, Fields: memfdV2Fields()},
		{Name: "memfd-v2-vmalloc-v1", CName: "memfd_luo_ser", Kind: KindStruct, Compatible: "memfd-v2;vmalloc-v1",
			Status: StatusPosted, Since: "RFC 2026-06-05", PageSize: PageAny, Size: 48, Packed: true, Fields: memfdV2Fields(), Doc: "granular-compatibility RFC: the memfd-v2 layout under a composite compatible"},
		{Name: "folio", CName: "memfd_luo_folio_ser", Kind: KindStruct, UsedBy: []string{"memfd-v1", "memfd-v2"},
			Status: StatusMainline, Since: "6.19", PageSize: PageAny, Size: FolioSerSize, Packed: true, Fields: []Field{
				bitsf("pfn", 0, 8, 0, 52, "page frame number, 0 = empty slot"),
				bitsf("flags", 0, 8, 52, 12, "bit0 DIRTY, bit1 UPTODATE"),
				u64f("index", 8, "page-cache index"),
			}, Doc: "one element of a memfd folio array"},
	}
}

// catalogues holds one catalogue per supported page size.
var catalogues = func() map[PageSize][]*Format {
	m := make(map[PageSize][]*Format, len(PageSizes))
	base := build(Page4K)
	m[Page4K] = base
	for _, ps := range PageSizes[1:] {
		fs := build(ps)
		// Layouts that do not depend on the page size are one shared entry, so
		// a decoded value's Format() is the same pointer in every catalogue.
		for i, f := range fs {
			if f.PageSize == PageAny {
				fs[i] = base[i]
			}
		}
		m[ps] = fs
	}
	return m
}()

// All returns the catalogue for 4 KiB pages in presentation order. The
// formats are shared: do not modify them.
func All() []*Format { return catalogues[Page4K] }

// AllFor returns the catalogue for page size ps, or nil if ps is unsupported.
func AllFor(ps PageSize) []*Format { return catalogues[ps] }

// Lookup finds a format by catalogue name or alias, assuming 4 KiB pages.
func Lookup(name string) (*Format, error) { return LookupFor(name, Page4K) }

// LookupFor finds a format by name or alias in the catalogue for page size ps.
func LookupFor(name string, ps PageSize) (*Format, error) {
	for _, f := range catalogues[ps] {
		if f.Name == name {
			return f, nil
		}
		for _, a := range f.Aliases {
			if a == name {
				return f, nil
			}
		}
	}
	if !ps.valid() {
		return nil, fmt.Errorf("format: %q: page size %d: %w", name, uint32(ps), ErrPageSize)
	}
	return nil, fmt.Errorf("format: %q: %w", name, ErrUnknownFormat)
}

// Names lists every catalogue name (not aliases) in order.
func Names() []string {
	var s []string
	for _, f := range All() {
		s = append(s, f.Name)
	}
	return s
}

// ByCompatible returns the formats (4 KiB catalogue) whose Compatible is
// exactly compat, in catalogue order, or, if there are none, those whose UsedBy
// lists it. A composite compatible matches only an entry spelled the same way.
func ByCompatible(compat string) ([]*Format, error) {
	var out []*Format
	for _, f := range All() {
		if f.Compatible == compat {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		for _, f := range All() {
			for _, u := range f.UsedBy {
				if u == compat {
					out = append(out, f)
					break
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("format: compatible %q: %w", compat, ErrUnknownFormat)
	}
	return out, nil
}

// mustLookup is for the package's own codecs, whose names are fixed.
func mustLookup(name string, ps PageSize) *Format {
	f, err := LookupFor(name, ps)
	if err != nil {
		panic(err)
	}
	return f
}

// String gives "name (compatible, status since)".
func (f *Format) String() string {
	var b strings.Builder
	b.WriteString(f.Name)
	b.WriteString(" (")
	if f.Compatible != "" {
		b.WriteString(f.Compatible + ", ")
	}
	b.WriteString(f.Status.String())
	if f.Since != "" {
		b.WriteString(" " + f.Since)
	}
	b.WriteString(")")
	return b.String()
}
