package image

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/khokit/khokit/kho/physmem"
)

// Segment is one PT_LOAD written by [WriteELFSegments]: MemSize bytes of
// physical memory from Start, of which the first FileSize are stored
// (read from the memory) and the rest read back as zeros.
type Segment struct {
	Start    uint64
	MemSize  uint64
	FileSize uint64
}

// WriteELFSegments writes an ELF64 core file holding exactly segs, one
// PT_LOAD each, in order and not merged: a carved image keeps each page's
// read part without the zeros between pages. segs must be sorted by Start,
// must not overlap, and each FileSize must be at most its MemSize.
// opts.TrimZeros is ignored (the caller chose the file sizes).
func WriteELFSegments(w io.Writer, m physmem.Memory, segs []Segment, opts *ELFOptions) error {
	var o ELFOptions
	if opts != nil {
		o = *opts
	}
	if o.ByteOrder == nil {
		o.ByteOrder = binary.LittleEndian
	}
	if o.Machine == 0 {
		o.Machine = elf.EM_X86_64
	}
	var prevEnd uint64
	for i, s := range segs {
		end := s.Start + s.MemSize
		switch {
		case s.MemSize == 0:
			return fmt.Errorf("image: segment %d at %#x is empty", i, s.Start)
		case end < s.Start:
			return fmt.Errorf("image: segment %d at %#x wraps the address space", i, s.Start)
		case s.FileSize > s.MemSize:
			return fmt.Errorf("image: segment %d at %#x stores %#x bytes of %#x", i, s.Start, s.FileSize, s.MemSize)
		case i > 0 && s.Start < prevEnd:
			return fmt.Errorf("image: segment %d at %#x overlaps or precedes the one before", i, s.Start)
		}
		prevEnd = end
	}
	var note []byte
	if o.VMCoreInfo != nil {
		note = appendNote(nil, o.ByteOrder, "VMCOREINFO", 0, o.VMCoreInfo)
	}
	phnum := uint64(len(segs))
	if note != nil {
		phnum++
	}
	if phnum > MaxSegments {
		return fmt.Errorf("image: %d segments exceed the limit of %d", phnum, MaxSegments)
	}
	xnum := phnum >= pnXNum
	phoff := uint64(elf64HeaderSize)
	noteOff := phoff + phnum*elf64PhdrSize
	shoff := noteOff + uint64(len(note))
	dataOff := shoff
	if xnum {
		dataOff += elf64ShdrSize
	}
	bo := o.ByteOrder
	bw := bufio.NewWriterSize(w, copyChunk)
	h := append([]byte(nil), elf.ELFMAG...)
	h = append(h, byte(elf.ELFCLASS64), dataByte(bo), byte(elf.EV_CURRENT), byte(elf.ELFOSABI_NONE))
	h = append(h, make([]byte, 8)...)
	h = bo.AppendUint16(h, uint16(elf.ET_CORE))
	h = bo.AppendUint16(h, uint16(o.Machine))
	h = bo.AppendUint32(h, uint32(elf.EV_CURRENT))
	h = bo.AppendUint64(h, 0) // e_entry
	h = bo.AppendUint64(h, phoff)
	if xnum {
		h = bo.AppendUint64(h, shoff)
	} else {
		h = bo.AppendUint64(h, 0)
	}
	h = bo.AppendUint32(h, 0) // e_flags
	h = bo.AppendUint16(h, elf64HeaderSize)
	h = bo.AppendUint16(h, elf64PhdrSize)
	if xnum {
		h = bo.AppendUint16(h, pnXNum)
		h = bo.AppendUint16(h, elf64ShdrSize)
		h = bo.AppendUint16(h, 1) // e_shnum
	} else {
		h = bo.AppendUint16(h, uint16(phnum))
		h = bo.AppendUint16(h, 0)
		h = bo.AppendUint16(h, 0)
	}
	h = bo.AppendUint16(h, 0) // e_shstrndx
	phdr := func(typ elf.ProgType, flags elf.ProgFlag, off, paddr, filesz, memsz, align uint64) {
		h = bo.AppendUint32(h, uint32(typ))
		h = bo.AppendUint32(h, uint32(flags))
		h = bo.AppendUint64(h, off)
		h = bo.AppendUint64(h, 0) // p_vaddr: physical dumps have no virtual mapping
		h = bo.AppendUint64(h, paddr)
		h = bo.AppendUint64(h, filesz)
		h = bo.AppendUint64(h, memsz)
		h = bo.AppendUint64(h, align)
	}
	if note != nil {
		phdr(elf.PT_NOTE, 0, noteOff, 0, uint64(len(note)), uint64(len(note)), 4)
	}
	if _, err := bw.Write(h); err != nil {
		return err
	}
	off := dataOff
	for _, s := range segs {
		h = h[:0]
		phdr(elf.PT_LOAD, elf.PF_R|elf.PF_W|elf.PF_X, off, s.Start, s.FileSize, s.MemSize, 0)
		if _, err := bw.Write(h); err != nil {
			return err
		}
		off += s.FileSize
	}
	if _, err := bw.Write(note); err != nil {
		return err
	}
	if xnum {
		sh := make([]byte, elf64ShdrInfoOff, elf64ShdrSize)
		sh = bo.AppendUint32(sh, uint32(phnum))
		if _, err := bw.Write(sh[:elf64ShdrSize]); err != nil {
			return err
		}
	}
	for _, s := range segs {
		if err := copyMemory(bw, m, s.Start, s.FileSize); err != nil {
			return err
		}
	}
	return bw.Flush()
}
