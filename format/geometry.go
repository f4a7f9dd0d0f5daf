package format

import "fmt"

// Constants of the handover ABI that do not depend on the page size.
const (
	SetupKexecKHO        = 10         // x86 setup_data type SETUP_KEXEC_KHO
	SetupDataHeaderSize  = 16         // struct setup_data without data[]
	KHOPageMagic         = 0x4b484f50 // "KHOP", in page->private of restored pages (new kernel only)
	KHOMaxBlocks         = 10000      // KHO_MAX_BLOCKS: blocks per chain on restore (7.2+)
	KexecMetadataVersion = 1          // KHO_KEXEC_METADATA_VERSION
	LUOFLBPgCnt          = 1          // LUO_FLB_PGCNT: pages of the FLB region
	// LUOSessionPgCnt is LUO_SESSION_PGCNT (luo_session.c, up to 7.1): the
	// pages of the luo-v1 .. luo-v3 session array, preserved as one folio.
	LUOSessionPgCnt = 16
	// LUOFilePgCnt is LUO_FILE_PGCNT (luo_file.c, up to 7.1): the pages of
	// each session's file array before file blocks, preserved as one folio.
	LUOFilePgCnt        = 2
	SessionNameLen      = 64 // LIVEUPDATE_SESSION_NAME_LENGTH (incl. NUL)
	HandleCompatLen     = 48 // LIVEUPDATE_HNDL_COMPAT_LENGTH
	FLBCompatLen        = 48 // LIVEUPDATE_FLB_COMPAT_LENGTH
	UTSReleaseLen       = 65 // __NEW_UTS_LEN + 1
	DefaultMaxPageOrder = 10 // MAX_PAGE_ORDER with the x86-64 defaults
	// PreserveBits616 is PRESERVE_BITS of the kho-v1 bitmaps before commit
	// a2fff99f92da ("kho: increase metadata bitmap size to PAGE_SIZE", 6.18):
	// 512-byte bitmaps, any page size. Geometry.PreserveBits is the later value.
	PreserveBits616 = 512 * 8

	VmallocAlloc    = 0x1 // KHO_VMALLOC_ALLOC
	VmallocHugeVmap = 0x2 // KHO_VMALLOC_HUGE_VMAP
	VmallocAllFlags = VmallocAlloc | VmallocHugeVmap

	FolioDirty    = 0x1 // MEMFD_LUO_FOLIO_DIRTY
	FolioUptodate = 0x2 // MEMFD_LUO_FOLIO_UPTODATE
	FolioAllFlags = FolioDirty | FolioUptodate

	MemfdAllSeals = 0x3f // MEMFD_LUO_ALL_SEALS: F_SEAL_SEAL|SHRINK|GROW|WRITE|FUTURE_WRITE|EXEC

	// Well-known KHO subnode names.
	NodeLUO           = "LUO"
	NodeKexecMetadata = "kexec-metadata"
	NodeMemblock      = "memblock"
)

// Geometry holds the page-size-dependent constants of the ABI.
type Geometry struct {
	PageSize PageSize
	// kho-v1 memory map
	KhoserBitmapSize int // KHOSER_BITMAP_SIZE: bitmap pointers per chunk page
	PreserveBits     int // PRESERVE_BITS: bits per kho_mem_phys_bits page (6.18+; see PreserveBits616)
	// vmalloc
	VmallocSize int // KHO_VMALLOC_SIZE: phys entries per chunk page
	// blocks (7.2+): entries per block page
	SessionsPerBlock int // luo_session_ser (80 bytes)
	FilesPerBlock    int // luo_file_ser (64 bytes)
	// LUO
	FLBMax     int // LUO_FLB_MAX
	SessionMax int // LUO_SESSION_MAX (luo-v1 only; 16-page session array)
	FileMax    int // LUO_FILE_MAX (luo-v1 only; 2-page file array)
	Radix      RadixGeometry
}

// GeometryFor returns the constants for page size p.
func GeometryFor(p PageSize) (Geometry, error) {
	if !p.valid() {
		return Geometry{}, fmt.Errorf("format: page size %d: %w", uint32(p), ErrPageSize)
	}
	ps := int(p)
	r, _ := RadixFor(p)
	return Geometry{
		PageSize:         p,
		KhoserBitmapSize: (ps - KhoserChunkHeaderSize) / BitmapPtrSize,
		PreserveBits:     ps * 8,
		VmallocSize:      (ps - 8) / 8,
		SessionsPerBlock: (ps - BlockHeaderSize) / SessionSerSize,
		FilesPerBlock:    (ps - BlockHeaderSize) / FileSerSize,
		FLBMax:           (LUOFLBPgCnt*ps - FLBHeaderSize) / FLBSerSize,
		SessionMax:       (LUOSessionPgCnt*ps - SessionHeaderSize) / SessionSerSize,
		FileMax:          LUOFilePgCnt * ps / FileSerSize,
		Radix:            r,
	}, nil
}

// mustGeometry is for the page sizes of PageSizes only.
func mustGeometry(p PageSize) Geometry {
	g, err := GeometryFor(p)
	if err != nil {
		panic(err)
	}
	return g
}
