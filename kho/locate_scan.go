package kho

import (
	"bytes"
	"encoding/binary"
	"iter"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/format"
)

// locScan is what one streaming pass over memory found: page-aligned FDT
// headers, boot_params pages ("HdrS" at 0x202, 16-byte aligned, as kexec
// and the kernel place them) and 16-byte aligned setup_data headers of
// type SETUP_KEXEC_KHO whose fdt_addr is page-aligned. Each list is
// capped; contents are validated afterwards.
type locScan struct {
	fdts       []uint64
	bootParams []uint64
	nodes      []uint64
}

// hdrSBytes is the boot protocol header magic "HdrS" as stored;
// setupKHOType is SETUP_KEXEC_KHO as a little-endian u32.
var (
	hdrSBytes    = [4]byte{'H', 'd', 'r', 'S'}
	setupKHOType = [4]byte{format.SetupKexecKHO, 0, 0, 0}
)

// Where the scan reads a SETUP_KEXEC_KHO node, relative to its setup_data
// header: the header's type and len, then kho_data's fdt_addr after it.
var (
	locSetupTypeOff = int(fieldOffset((format.SetupData{}).Format(), "type"))
	locSetupLenOff  = int(fieldOffset((format.SetupData{}).Format(), "len"))
	locFDTAddrOff   = format.SetupDataHeaderSize + int(fieldOffset((format.KHOData{}).Format(), "fdt_addr"))
)

// scan streams every present range through scanChunk (see scanPresent).
func (l *locator) scan() *locScan {
	s := &locScan{}
	truncated := false
	scanPresent(l.mem, l.o.PageSize, l.o.ChunkSize, true, func(a uint64, chunk []byte) {
		truncated = l.scanChunk(s, chunk, a) || truncated
	}, l.o.Progress)
	if truncated {
		l.find("locate.scan-truncated", "/", 0, "more than %d hits of one kind; the rest were not examined", l.o.MaxHits)
	}
	return s
}

// scanChunk looks at one chunk starting at physical address a; it reports
// whether a list hit its cap.
func (l *locator) scanChunk(s *locScan, chunk []byte, a uint64) bool {
	ps := l.o.PageSize
	capped := false
	add := func(list *[]uint64, v uint64) {
		if appendCapped(list, v, l.o.MaxHits) {
			capped = true
		}
	}
	for off := uint64(0); off+4 <= uint64(len(chunk)); off += ps {
		if binary.BigEndian.Uint32(chunk[off:]) == fdt.Magic {
			add(&s.fdts, a+off)
		}
	}
	le := binary.LittleEndian
	// boot_params: "HdrS" at base+0x202 with base 16-byte aligned, that
	// is 2 bytes into a 16-byte slot.
	for off := range slotMatches(chunk, hdrSBytes[:], encBootParamsHeader%16) {
		pa := a + uint64(off)
		if pa < encBootParamsHeader {
			continue
		}
		base := pa - encBootParamsHeader
		// boot_flag lies 4 bytes before "HdrS": in the chunk unless the
		// match is at its very start.
		var flag [2]byte
		if f := off - (encBootParamsHeader - encBootParamsBootFlag); f >= 0 {
			copy(flag[:], chunk[f:])
		} else if _, err := l.mem.ReadAt(flag[:], base+encBootParamsBootFlag); err != nil {
			continue
		}
		if le.Uint16(flag[:]) == encBootFlagMagic {
			add(&s.bootParams, base)
		}
	}
	// SETUP_KEXEC_KHO headers: type 10 as a u32 at locSetupTypeOff (8)
	// into a 16-byte slot.
	for off := range slotMatches(chunk, setupKHOType[:], locSetupTypeOff) {
		slot := off - locSetupTypeOff
		if slot+locSetupLenOff+4 > len(chunk) {
			continue // len lies in the next chunk; a node straddling chunks is page-crossing, not kexec's
		}
		if n := le.Uint32(chunk[slot+locSetupLenOff:]); n < format.KHODataSize || n > locSetupDataMaxLen {
			continue
		}
		var fdtAddr uint64
		if slot+locFDTAddrOff+8 <= len(chunk) {
			fdtAddr = le.Uint64(chunk[slot+locFDTAddrOff:])
		} else {
			var b [8]byte
			if _, err := l.mem.ReadAt(b[:], a+uint64(slot+locFDTAddrOff)); err != nil {
				continue
			}
			fdtAddr = le.Uint64(b[:])
		}
		if fdtAddr != 0 && fdtAddr%ps == 0 {
			add(&s.nodes, a+uint64(slot))
		}
	}
	return capped
}

// slotMatches yields the offsets of pat in chunk that lie at byte inSlot
// of a 16-byte slot. bytes.Index finds the candidates (vectorised; the
// patterns are rare in memory), the slot check the rest.
func slotMatches(chunk, pat []byte, inSlot int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < len(chunk); {
			j := bytes.Index(chunk[i:], pat)
			if j < 0 {
				return
			}
			off := i + j
			i = off + 1
			if off%16 == inSlot && !yield(off) {
				return
			}
		}
	}
}
