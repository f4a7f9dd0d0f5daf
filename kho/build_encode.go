package kho

import (
	"encoding/binary"
	"fmt"
)

// Byte layouts the builder writes, as abi.md gives them (x86-64, packed,
// little-endian). They are kept in this one file so that they can be
// replaced by package format's codecs without touching the layout code.

const (
	encBlockHeaderSize   = 16 // kho_block_header_ser
	encSessionEntrySize  = 80 // luo_session_ser (luo-session-v2 and later)
	encFileEntrySize     = 64 // luo_file_ser
	encFlbHeaderSize     = 16 // luo_flb_header_ser
	encFlbEntrySize      = 64 // luo_flb_ser
	encLuoSerSize        = 32 // luo_ser for "luo-v5"
	encMemfdV1Size       = 40
	encMemfdV2Size       = 48
	encFolioEntrySize    = 16 // memfd_luo_folio_ser
	encKexecMetadataSize = 73 // kho_kexec_metadata
	encKhoDataSize       = 32 // x86 kho_data
	encSetupDataHdrSize  = 16 // x86 setup_data header
	encScratchEntrySize  = 16 // kho_scratch

	encSessionNameLen  = 64 // LIVEUPDATE_SESSION_NAME_LENGTH
	encFileCompatLen   = 48 // LIVEUPDATE_HNDL_COMPAT_LENGTH
	encFlbNameLen      = 48 // LIVEUPDATE_FLB_COMPAT_LENGTH
	encLuoCompatLen    = 8  // LUO_ABI_COMPAT_LEN for "luo-v5"
	encReleaseFieldLen = 65 // __NEW_UTS_LEN + 1

	encVmallocFlagAlloc  = 0x1 // KHO_VMALLOC_ALLOC
	encFolioFlagsWritten = 0x3 // MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE
	encFolioPFNBits      = 52

	encSetupKexecKHO = 10 // SETUP_KEXEC_KHO

	// boot_params (the x86 "zero page") offsets, from
	// arch/x86/include/uapi/asm/bootparam.h: setup_header starts at 0x1f1.
	encBootParamsBootFlag  = 0x1fe // u16 0xAA55
	encBootParamsHeader    = 0x202 // u32 "HdrS"
	encBootParamsSetupData = 0x250 // u64 head of the setup_data list
	encBootFlagMagic       = 0xaa55
	encHdrSMagic           = 0x53726448 // "HdrS" little-endian
)

var bldLE = binary.LittleEndian

// encPutCString copies s into a fixed field of n bytes with a NUL terminator,
// refusing (rather than truncating, as strscpy would) a string that does not
// fit: a builder that silently changed names would break round trips.
func encPutCString(dst []byte, s string, n int, what string) error {
	if len(s) >= n {
		return fmt.Errorf("kho: build: %s %q is %d bytes, the field holds at most %d plus NUL", what, s, len(s), n-1)
	}
	copy(dst[:n], s)
	clear(dst[len(s):n])
	return nil
}

func encPutBlockHeader(b []byte, next, count uint64) {
	bldLE.PutUint64(b[0:], next)
	bldLE.PutUint64(b[8:], count)
}

func encPutSessionEntry(b []byte, name string, files, count uint64) error {
	if err := encPutCString(b, name, encSessionNameLen, "session name"); err != nil {
		return err
	}
	bldLE.PutUint64(b[64:], files)
	bldLE.PutUint64(b[72:], count)
	return nil
}

func encPutFileEntry(b []byte, compat string, data, token uint64) error {
	if err := encPutCString(b, compat, encFileCompatLen, "file compatible"); err != nil {
		return err
	}
	bldLE.PutUint64(b[48:], data)
	bldLE.PutUint64(b[56:], token)
	return nil
}

func encPutFLBEntry(b []byte, name string, data, count uint64) error {
	if err := encPutCString(b, name, encFlbNameLen, "FLB name"); err != nil {
		return err
	}
	bldLE.PutUint64(b[48:], data)
	bldLE.PutUint64(b[56:], count)
	return nil
}

func encPutLUOSer(b []byte, compat string, num, sessions, flbs uint64) error {
	if err := encPutCString(b, compat, encLuoCompatLen, "luo_ser compatible"); err != nil {
		return err
	}
	bldLE.PutUint64(b[8:], num)
	bldLE.PutUint64(b[16:], sessions)
	bldLE.PutUint64(b[24:], flbs)
	return nil
}

func encPutVmalloc(b []byte, v Vmalloc) {
	bldLE.PutUint64(b[0:], v.First)
	bldLE.PutUint32(b[8:], v.TotalPages)
	bldLE.PutUint16(b[12:], v.Flags)
	bldLE.PutUint16(b[14:], v.Order)
}

// encPutMemfd writes memfd_luo_ser: v1 (40 bytes) or v2 (48 bytes).
func encPutMemfd(b []byte, v2 bool, m *Memfd) {
	bldLE.PutUint64(b[0:], m.Pos)
	bldLE.PutUint64(b[8:], m.Size)
	if v2 {
		bldLE.PutUint32(b[16:], m.Seals)
		bldLE.PutUint32(b[20:], m.Flags)
		bldLE.PutUint64(b[24:], uint64(len(m.Folios)))
		encPutVmalloc(b[32:], m.FoliosMap)
		return
	}
	bldLE.PutUint64(b[16:], uint64(len(m.Folios)))
	encPutVmalloc(b[24:], m.FoliosMap)
}

func encPutFolio(b []byte, f Folio) {
	bldLE.PutUint64(b[0:], f.PFN&(1<<encFolioPFNBits-1)|uint64(f.Flags)<<encFolioPFNBits)
	bldLE.PutUint64(b[8:], f.Index)
}

func encPutKexecMetadata(b []byte, k *KexecMetadata) error {
	bldLE.PutUint32(b[0:], k.Version)
	if err := encPutCString(b[4:], k.PreviousRelease, encReleaseFieldLen, "previous_release"); err != nil {
		return err
	}
	bldLE.PutUint32(b[69:], k.KexecCount)
	return nil
}
