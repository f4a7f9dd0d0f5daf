package image

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/khokit/khokit/kho/physmem"
)

// ELFOptions tunes [WriteELF]. The zero value writes a little-endian x86-64
// core without notes.
type ELFOptions struct {
	ByteOrder  binary.AppendByteOrder // binary.LittleEndian (default) or binary.BigEndian
	Machine    elf.Machine            // default EM_X86_64
	VMCoreInfo []byte                 // when non-nil, written as a "VMCOREINFO" note
	// TrimZeros stores each segment's trailing zero bytes as p_memsz beyond
	// p_filesz instead of writing them.
	TrimZeros bool
}

// copyChunk is the buffer size writers copy memory with.
const copyChunk = 64 << 10

// WriteELF writes an ELF64 core file holding the present ranges of m
// listed in ranges (other states are skipped): one PT_LOAD per contiguous
// run, and PN_XNUM with a section header 0 when there are more than 65534
// program headers.
func WriteELF(w io.Writer, m physmem.Memory, ranges []physmem.Range, opts *ELFOptions) error {
	o := opts.withDefaults()
	runs := mergeRuns(ranges)
	segs := make([]Segment, len(runs))
	for i, r := range runs {
		segs[i] = Segment{Start: r.Start, MemSize: r.Size, FileSize: r.Size}
		if o.TrimZeros {
			n, err := nonZeroPrefix(m, r)
			if err != nil {
				return err
			}
			segs[i].FileSize = n
		}
	}
	return writeCore(w, m, segs, o)
}

// withDefaults returns a copy of opts (nil means the zero value) with the
// byte order and machine filled in.
func (opts *ELFOptions) withDefaults() ELFOptions {
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
	return o
}

// writeCore writes the ELF64 core file both writers produce: the header,
// a PT_NOTE for o.VMCoreInfo when set, one PT_LOAD per segment in order,
// the note, section header 0 when PN_XNUM is needed, then each segment's
// stored bytes read from m.
func writeCore(w io.Writer, m physmem.Memory, segs []Segment, o ELFOptions) error {
	var note []byte
	if o.VMCoreInfo != nil {
		note = appendNote(nil, o.ByteOrder, "VMCOREINFO", 0, o.VMCoreInfo)
	}
	phnum := uint64(len(segs))
	if note != nil {
		phnum++
	}
	if phnum > MaxSegments {
		return fmt.Errorf("image: %d segments exceed the limit of %d: %w", phnum, MaxSegments, ErrInvalidArgument)
	}
	xnum := phnum >= pnXNum
	phoff := uint64(elf64HeaderSize)
	noteOff := phoff + phnum*elf64PhdrSize
	shoff := noteOff + uint64(len(note))
	dataOff := shoff
	if xnum {
		dataOff += elf64ShdrSize
	}

	bw := bufio.NewWriterSize(w, copyChunk)
	bo := o.ByteOrder
	var h []byte
	h = append(h, elf.ELFMAG...)
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

func dataByte(bo binary.AppendByteOrder) byte {
	if bo == binary.BigEndian {
		return byte(elf.ELFDATA2MSB)
	}
	return byte(elf.ELFDATA2LSB)
}

// appendNote appends one ELF note with 4-byte alignment, as Linux writes
// core notes.
func appendNote(b []byte, bo binary.AppendByteOrder, name string, typ uint32, desc []byte) []byte {
	b = bo.AppendUint32(b, uint32(len(name)+1))
	b = bo.AppendUint32(b, uint32(len(desc)))
	b = bo.AppendUint32(b, typ)
	b = append(b, name...)
	b = append(b, make([]byte, align4(uint64(len(name)+1))-uint64(len(name)))...)
	b = append(b, desc...)
	return append(b, make([]byte, align4(uint64(len(desc)))-uint64(len(desc)))...)
}

// mergeRuns returns the present ranges, with adjacent ones joined.
func mergeRuns(ranges []physmem.Range) []physmem.Range {
	var out []physmem.Range
	for _, r := range ranges {
		if r.State != physmem.Present || r.Size == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End() == r.Start {
			out[n-1].Size += r.Size
			continue
		}
		out = append(out, r)
	}
	return out
}

// copyMemory writes n bytes of m from addr.
func copyMemory(w io.Writer, m physmem.Memory, addr, n uint64) error {
	buf := make([]byte, copyChunk)
	for n > 0 {
		c := buf[:min(n, copyChunk)]
		if _, err := m.ReadAt(c, addr); err != nil {
			return err
		}
		if _, err := w.Write(c); err != nil {
			return err
		}
		addr, n = addr+uint64(len(c)), n-uint64(len(c))
	}
	return nil
}

// nonZeroPrefix returns the length of r up to its last non-zero byte.
func nonZeroPrefix(m physmem.Memory, r physmem.Range) (uint64, error) {
	buf := make([]byte, copyChunk)
	for end := r.Size; end > 0; {
		c := buf[:min(end, copyChunk)]
		start := end - uint64(len(c))
		if _, err := m.ReadAt(c, r.Start+start); err != nil {
			return 0, err
		}
		if t := len(bytes.TrimRight(c, "\x00")); t > 0 {
			return start + uint64(t), nil
		}
		end = start
	}
	return 0, nil
}
