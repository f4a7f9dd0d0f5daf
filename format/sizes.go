package format

// Byte sizes of the fixed-size structs of the catalogue. The catalogue
// entries are written with these constants, so code that needs a size at
// compile time (an array length, a page-layout computation) uses the same
// value the codecs read and write through.
const (
	KHODataSize           = 32 // struct kho_data, the x86 SETUP_KEXEC_KHO payload
	ScratchSize           = 16 // struct kho_scratch, one scratch-array element
	KhoserChunkHeaderSize = 16 // struct khoser_mem_chunk_hdr; bitmap pointers follow it
	BitmapPtrSize         = 16 // struct khoser_mem_bitmap_ptr
	BlockHeaderSize       = 16 // struct kho_block_header_ser; entries follow it
	KexecMetadataSize     = 73 // struct kho_kexec_metadata (packed)
	SessionHeaderSize     = 8  // struct luo_session_header_ser (luo-v1 .. luo-v3)
	SessionSerSize        = 80 // struct luo_session_ser (luo-session-v2 and later)
	FileSerSize           = 64 // struct luo_file_ser
	FLBHeaderSize         = 16 // struct luo_flb_header_ser; entries follow it
	FLBSerSize            = 64 // struct luo_flb_ser
	FolioSerSize          = 16 // struct memfd_luo_folio_ser

	// LUOCompatLen is LUO_ABI_COMPAT_LEN for "luo-v5", the current
	// LUO_ABI_COMPATIBLE: sizeof("luo-v5") rounded up to 8.
	LUOCompatLen = 8
	// LUOSerSize is struct luo_ser for "luo-v5": compatible[LUOCompatLen]
	// and three u64s.
	LUOSerSize = LUOCompatLen + 24
)
