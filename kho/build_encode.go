package kho

import (
	"encoding/binary"
	"fmt"

	"github.com/khokit/khokit/format"
)

// The builder's encoders: thin wrappers over package format's codecs. The
// struct sizes and name lengths are package format's constants; only the x86
// boot-protocol offsets, which format does not describe, are kept here.

const (
	// boot_params (the x86 "zero page") offsets, from
	// arch/x86/include/uapi/asm/bootparam.h: setup_header starts at 0x1f1.
	encBootParamsBootFlag  = 0x1fe // u16 0xAA55
	encBootParamsHeader    = 0x202 // u32 "HdrS"
	encBootParamsSetupData = 0x250 // u64 head of the setup_data list
	encBootFlagMagic       = 0xaa55
	encHdrSMagic           = 0x53726448 // "HdrS" little-endian
)

var bldLE = binary.LittleEndian

// encPut encodes v with package format's codec (the catalogue is the one
// place a field's offset is written) into the start of dst.
func encPut(dst []byte, v format.Struct) error {
	b, err := v.Append(nil)
	if err != nil {
		return fmt.Errorf("kho: build: %w", err)
	}
	if len(b) > len(dst) {
		return fmt.Errorf("kho: build: %T is %d bytes, room for %d", v, len(b), len(dst))
	}
	copy(dst, b)
	return nil
}

// encCString is s as a NUL-padded char[n], refusing (rather than
// truncating, as strscpy would) a string that does not fit: a builder that
// silently changed names would break round trips.
func encCString(s string, n int, what string) (format.CString, error) {
	c, err := format.MakeCString(s, n)
	if err != nil {
		return nil, fmt.Errorf("kho: build: %s %q is %d bytes, the field holds at most %d plus NUL", what, s, len(s), n-1)
	}
	return c, nil
}

func encPutBlockHeader(b []byte, next, count uint64) {
	// A 16-byte header always encodes and always fits a block page.
	_ = encPut(b, format.BlockHeader{Next: next, Count: count})
}

func encPutSessionEntry(b []byte, name string, files, count uint64) error {
	n, err := encCString(name, format.SessionNameLen, "session name")
	if err != nil {
		return err
	}
	return encPut(b, format.SessionSer{Name: n, FileSet: format.FileSetSer{Files: files, Count: count}})
}

func encPutFileEntry(b []byte, compat string, data, token uint64) error {
	c, err := encCString(compat, format.HandleCompatLen, "file compatible")
	if err != nil {
		return err
	}
	return encPut(b, format.FileSer{Compatible: c, Data: data, Token: token})
}

func encPutFLBHeader(b []byte, pgcnt, count uint64) error {
	return encPut(b, format.FLBHeader{PgCnt: pgcnt, Count: count})
}

func encPutFLBEntry(b []byte, name string, data, count uint64) error {
	n, err := encCString(name, format.FLBCompatLen, "FLB name")
	if err != nil {
		return err
	}
	return encPut(b, format.FLBSer{Name: n, Data: data, Count: count})
}

func encPutLUOSer(b []byte, compat string, num, sessions, flbs uint64) error {
	c, err := encCString(compat, format.LUOCompatLen, "luo_ser compatible")
	if err != nil {
		return err
	}
	return encPut(b, format.LUOSer{Compatible: c, LiveupdateNum: num, SessionsPA: sessions, FLBsPA: flbs})
}

func encVmalloc(v Vmalloc) format.Vmalloc {
	return format.Vmalloc{First: v.First, TotalPages: v.TotalPages, Flags: v.Flags, Order: v.Order}
}

// encPutMemfd writes memfd_luo_ser: v1 (40 bytes) or v2 (48 bytes).
func encPutMemfd(b []byte, v2 bool, m *Memfd) error {
	if v2 {
		return encPut(b, format.MemfdSerV2{Pos: m.Pos, Size: m.Size, Seals: m.Seals, Flags: m.Flags,
			NrFolios: uint64(len(m.Folios)), Folios: encVmalloc(m.FoliosMap)})
	}
	return encPut(b, format.MemfdSerV1{Pos: m.Pos, Size: m.Size, NrFolios: uint64(len(m.Folios)), Folios: encVmalloc(m.FoliosMap)})
}

func encPutFolio(b []byte, f Folio) error {
	return encPut(b, format.FolioSer{PFN: f.PFN, Flags: f.Flags, Index: f.Index})
}

func encPutKexecMetadata(b []byte, k *KexecMetadata) error {
	r, err := encCString(k.PreviousRelease, format.UTSReleaseLen, "previous_release")
	if err != nil {
		return err
	}
	return encPut(b, format.KexecMetadata{Version: k.Version, PreviousRelease: r, KexecCount: k.KexecCount})
}
