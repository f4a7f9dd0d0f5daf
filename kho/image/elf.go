package image

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/khokit/khokit/kho/physmem"
)

// MaxSegments bounds the program headers an ELF core may declare (QEMU
// dumps have been seen with 65843); beyond it NewELF fails with ErrLimit.
const MaxSegments = 1 << 22

const (
	elf64HeaderSize  = 64
	elf64PhdrSize    = 56
	elf64ShdrSize    = 64
	pnXNum           = 0xffff // e_phnum escape: the count is in section 0's sh_info
	phdrReadBatch    = 1024
	elf64ShdrInfoOff = 44
)

// ELF is an ELF64 core file (ET_CORE) read as physical memory: each
// PT_LOAD places p_filesz file bytes at p_paddr, followed by zeros up to
// p_memsz. Overlapping segments are cut so the lower-addressed one wins;
// bytes missing from a truncated file are absent. Both are findings.
type ELF struct {
	mem        *extentMemory
	ByteOrder  binary.ByteOrder
	Machine    elf.Machine
	Loads      int    // PT_LOAD headers in the file
	Notes      []Note // from every PT_NOTE, in file order
	VMCoreInfo *VMCoreInfo
	Findings   []error // *FormatError values: problems worked around
}

// ReadAt implements [physmem.Memory].
func (f *ELF) ReadAt(p []byte, addr uint64) (int, error) { return f.mem.ReadAt(p, addr) }

// Ranges implements [physmem.Memory].
func (f *ELF) Ranges() []physmem.Range { return f.mem.Ranges() }

// StoredRanges implements [physmem.Storer]: the loaded bytes the file
// holds, without the zeros a segment implies past its p_filesz.
func (f *ELF) StoredRanges() []physmem.Range { return f.mem.StoredRanges() }

// NewELF reads the headers and notes of the ELF64 core file r of size
// bytes. Page contents are read on demand.
func NewELF(r io.ReaderAt, size int64) (*ELF, error) {
	var hdr [elf64HeaderSize]byte
	if err := readAtFull(r, hdr[:], 0, "the ELF header"); err != nil {
		return nil, err
	}
	if string(hdr[:4]) != elf.ELFMAG {
		return nil, formatErr(0, ErrWrongFormat, "no ELF magic", nil)
	}
	if c := elf.Class(hdr[elf.EI_CLASS]); c != elf.ELFCLASS64 {
		return nil, formatErr(elf.EI_CLASS, ErrUnsupported, "only ELF64 core files are read, not", c)
	}
	f := &ELF{}
	switch d := elf.Data(hdr[elf.EI_DATA]); d {
	case elf.ELFDATA2LSB:
		f.ByteOrder = binary.LittleEndian
	case elf.ELFDATA2MSB:
		f.ByteOrder = binary.BigEndian
	default:
		return nil, formatErr(elf.EI_DATA, ErrFormat, "unknown ELF data encoding", d)
	}
	b := readBuf{hdr[16:], f.ByteOrder}
	typ := elf.Type(b.uint16())
	f.Machine = elf.Machine(b.uint16())
	b.skip(4 + 8) // e_version, e_entry
	phoff, shoff := b.uint64(), b.uint64()
	b.skip(4 + 2) // e_flags, e_ehsize
	phentsize, phnum, shentsize := uint64(b.uint16()), uint64(b.uint16()), uint64(b.uint16())
	if typ != elf.ET_CORE {
		return nil, formatErr(16, ErrWrongFormat, "ELF file is not a core dump (a vmlinux or program?): e_type", typ)
	}
	if phentsize < elf64PhdrSize {
		return nil, formatErr(54, ErrFormat, "e_phentsize below 56", phentsize)
	}
	if phnum == pnXNum {
		// More than 65534 headers: the count is in section header 0.
		if shoff == 0 || shentsize < elf64ShdrSize {
			return nil, formatErr(56, ErrFormat, fmt.Sprintf("e_phnum is PN_XNUM but there is no section header 0 (e_shoff %#x, e_shentsize %d)", shoff, shentsize), nil)
		}
		if shoff > uint64(size) || uint64(size)-shoff < elf64ShdrSize {
			return nil, formatErr(40, ErrTruncated, "section header 0 (for PN_XNUM) lies past the end of the file", shoff)
		}
		var sh [4]byte
		if err := readAtFull(r, sh[:], int64(shoff)+elf64ShdrInfoOff, "section header 0"); err != nil {
			return nil, err
		}
		phnum = uint64(f.ByteOrder.Uint32(sh[:]))
	}
	if phnum > MaxSegments {
		return nil, formatErr(56, ErrLimit, fmt.Sprintf("%d program headers exceed the limit of %d", phnum, MaxSegments), nil)
	}
	if phoff > uint64(size) || phnum*phentsize > uint64(size)-phoff {
		return nil, formatErr(int64(min(phoff, 1<<62)), ErrTruncated, fmt.Sprintf("%d program headers of %d bytes run past the end of the %#x-byte file", phnum, phentsize, size), nil)
	}

	var ext []extent
	nr := noteReader{r: r, fileSize: size, bo: f.ByteOrder}
	type noteSeg struct {
		off  int64
		size uint64
	}
	var notes []noteSeg
	buf := make([]byte, min(phnum, phdrReadBatch)*phentsize)
	for i := uint64(0); i < phnum; i += phdrReadBatch {
		n := min(phnum-i, phdrReadBatch)
		batch := buf[:n*phentsize]
		base := int64(phoff + i*phentsize)
		if err := readAtFull(r, batch, base, "the program headers"); err != nil {
			return nil, err
		}
		for j := uint64(0); j < n; j++ {
			at := base + int64(j*phentsize)
			p := readBuf{batch[j*phentsize:], f.ByteOrder}
			ptype := elf.ProgType(p.uint32())
			p.skip(4) // p_flags
			off, _, paddr, filesz, memsz := p.uint64(), p.uint64(), p.uint64(), p.uint64(), p.uint64()
			switch ptype {
			case elf.PT_NOTE:
				if off > 1<<62 {
					f.Findings = append(f.Findings, formatErr(at, ErrTruncated, "PT_NOTE offset past the end of the file", off))
					continue
				}
				notes = append(notes, noteSeg{int64(off), filesz})
			case elf.PT_LOAD:
				f.Loads++
				ext = f.addLoad(ext, at, size, off, paddr, filesz, memsz)
			}
		}
	}
	for _, ns := range notes {
		nr.walk(ns.off, ns.size)
	}
	f.Notes, f.VMCoreInfo = nr.notes, nr.vmcore
	f.Findings = append(f.Findings, nr.findings...)
	ext = clipExtents(ext, func(e extent, prevEnd uint64) {
		f.Findings = append(f.Findings, formatErr(e.off, ErrFormat, fmt.Sprintf("PT_LOAD at physical %#x overlaps the segment ending at %#x; the overlap is read from the earlier segment", e.start, prevEnd), nil))
	})
	ext = f.limitAliasing(ext, size)
	f.mem = newExtentMemory(r, ext)
	return f, nil
}

// limitAliasing drops segments once the file bytes they map add up to more
// than twice the file: many PT_LOAD headers may name the same file bytes
// (a /proc/vmcore maps kernel text twice, which stays well inside), but a
// hostile header table would make every scan of the image quadratic in
// its size.
func (f *ELF) limitAliasing(ext []extent, size int64) []extent {
	budget := 2*uint64(size) + 1<<20
	var mapped uint64
	for i, e := range ext {
		if mapped += e.fileSize; mapped > budget {
			f.Findings = append(f.Findings, formatErr(e.off, ErrLimit, fmt.Sprintf("PT_LOAD segments map %d or more file bytes, over twice the %d-byte file; segments from physical %#x on are treated as absent", mapped, size, e.start), nil))
			return ext[:i]
		}
	}
	return ext
}

// addLoad appends the extents of one PT_LOAD header at file offset at.
func (f *ELF) addLoad(ext []extent, at, size int64, off, paddr, filesz, memsz uint64) []extent {
	if memsz == 0 {
		return ext
	}
	if paddr+memsz < paddr {
		f.Findings = append(f.Findings, formatErr(at, ErrFormat, fmt.Sprintf("PT_LOAD at physical %#x with p_memsz %#x wraps the address space; skipped", paddr, memsz), nil))
		return ext
	}
	if filesz > memsz {
		f.Findings = append(f.Findings, formatErr(at, ErrFormat, fmt.Sprintf("PT_LOAD at physical %#x has p_filesz %#x above p_memsz %#x; only p_memsz is read", paddr, filesz, memsz), nil))
		filesz = memsz
	}
	avail := filesz
	if off > uint64(size) {
		avail = 0
	} else if left := uint64(size) - off; left < avail {
		avail = left
	}
	if avail < filesz {
		f.Findings = append(f.Findings, formatErr(at, ErrTruncated, fmt.Sprintf("PT_LOAD at physical %#x: the file holds %#x of its %#x bytes; the rest is absent", paddr, avail, filesz), nil))
		if avail > 0 {
			ext = append(ext, extent{start: paddr, size: avail, off: int64(off), fileSize: avail})
		}
		if memsz > filesz {
			ext = append(ext, extent{start: paddr + filesz, size: memsz - filesz})
		}
		return ext
	}
	return append(ext, extent{start: paddr, size: memsz, off: int64(off), fileSize: filesz})
}
