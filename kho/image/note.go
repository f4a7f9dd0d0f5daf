package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Limits on notes, so a hostile note segment costs bounded memory.
const (
	maxNotes        = 4096    // notes listed per image
	maxNoteName     = 256     // bytes of a note name
	maxNoteDesc     = 4096    // descriptors up to this size are loaded
	maxVMCoreInfo   = 1 << 20 // bytes of VMCOREINFO text
	maxNoteDescLoad = 4 << 20 // total descriptor bytes loaded per image
)

// Note is one ELF note: a CORE NT_PRSTATUS per CPU, a "QEMU" CPU state, a
// "VMCOREINFO" text. Desc holds the descriptor when it is at most 4 KiB
// (VMCOREINFO: 1 MiB); larger ones are listed by offset and size only.
type Note struct {
	Name string
	Type elf.NType
	Off  int64  // file offset of the descriptor (for a flattened kdump file, in the kdump file it rebuilds)
	Size uint64 // descriptor size
	Desc []byte
}

func (n Note) String() string {
	if n.Name == "CORE" {
		return fmt.Sprintf("%s %v (%d bytes)", n.Name, n.Type, n.Size)
	}
	return fmt.Sprintf("%s type %d (%d bytes)", n.Name, uint32(n.Type), n.Size)
}

// VMCoreInfo is the kernel's VMCOREINFO text: KEY=VALUE lines such as
// OSRELEASE=7.3.4, PAGESIZE=4096, SYMBOL(init_uts_ns)=ffffffff....
type VMCoreInfo struct {
	Text    string
	Entries []KeyValue // in file order; lines without '=' are left out
}

// KeyValue is one VMCOREINFO line.
type KeyValue struct{ Key, Value string }

// ParseVMCoreInfo splits VMCOREINFO text into its entries. Trailing NULs
// (the note padding) are dropped.
func ParseVMCoreInfo(text []byte) *VMCoreInfo {
	text = bytes.TrimRight(text, "\x00")
	v := &VMCoreInfo{Text: string(text)}
	for line := range strings.SplitSeq(v.Text, "\n") {
		if k, val, ok := strings.Cut(line, "="); ok && k != "" {
			v.Entries = append(v.Entries, KeyValue{k, val})
		}
	}
	return v
}

// Get returns the value of the first entry named key.
func (v *VMCoreInfo) Get(key string) (string, bool) {
	if v == nil {
		return "", false
	}
	for _, e := range v.Entries {
		if e.Key == key {
			return e.Value, true
		}
	}
	return "", false
}

// noteReader walks the notes of file regions, within the package limits.
type noteReader struct {
	r        io.ReaderAt
	fileSize int64
	bo       binary.ByteOrder
	notes    []Note
	vmcore   *VMCoreInfo
	loaded   int
	findings []error
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// walk reads the notes in [off, off+size). A note that does not fit ends
// the walk with a finding: what came before it stays usable.
func (nr *noteReader) walk(off int64, size uint64) {
	if off < 0 || off > nr.fileSize {
		nr.findings = append(nr.findings, formatErr(off, ErrTruncated, "note region starts past the end of the file", nil))
		return
	}
	end := uint64(off) + size
	if size > uint64(nr.fileSize-off) {
		nr.findings = append(nr.findings, formatErr(off, ErrTruncated, fmt.Sprintf("note region of %#x bytes runs past the end of the file", size), nil))
		end = uint64(nr.fileSize)
	}
	var hdr [12]byte
	for pos := uint64(off); end-pos >= 12; {
		if len(nr.notes) >= maxNotes {
			nr.findings = append(nr.findings, formatErr(int64(pos), ErrLimit, fmt.Sprintf("more than %d notes; the rest are not listed", maxNotes), nil))
			return
		}
		if err := readAtFull(nr.r, hdr[:], int64(pos), "a note header"); err != nil {
			nr.findings = append(nr.findings, err)
			return
		}
		b := readBuf{hdr[:], nr.bo}
		namesz, descsz, typ := uint64(b.uint32()), uint64(b.uint32()), b.uint32()
		nameOff := pos + 12
		descOff := nameOff + align4(namesz)
		next := descOff + align4(descsz)
		if next > end { // no overflow: pos < end <= file size < 2^63, and namesz, descsz < 2^32
			nr.findings = append(nr.findings, formatErr(int64(pos), ErrFormat, fmt.Sprintf("note (namesz %d, descsz %d) runs past its segment end %#x", namesz, descsz, end), nil))
			return
		}
		if namesz > maxNoteName {
			nr.findings = append(nr.findings, formatErr(int64(pos), ErrLimit, "note name longer than 256 bytes", namesz))
			return
		}
		name := make([]byte, namesz)
		if err := readAtFull(nr.r, name, int64(nameOff), "a note name"); err != nil {
			nr.findings = append(nr.findings, err)
			return
		}
		n := Note{Name: string(bytes.TrimRight(name, "\x00")), Type: elf.NType(typ), Off: int64(descOff), Size: descsz}
		limit := uint64(maxNoteDesc)
		if n.Name == "VMCOREINFO" {
			limit = maxVMCoreInfo
		}
		if descsz <= limit && nr.loaded+int(descsz) <= maxNoteDescLoad {
			n.Desc = make([]byte, descsz)
			if err := readAtFull(nr.r, n.Desc, int64(descOff), "a note descriptor"); err != nil {
				nr.findings = append(nr.findings, err)
				return
			}
			nr.loaded += int(descsz)
		}
		if n.Name == "VMCOREINFO" {
			switch {
			case n.Desc == nil:
				nr.findings = append(nr.findings, formatErr(int64(descOff), ErrLimit, "VMCOREINFO note too large to load", descsz))
			case nr.vmcore == nil:
				nr.vmcore = ParseVMCoreInfo(n.Desc)
			default:
				nr.findings = append(nr.findings, formatErr(int64(pos), ErrFormat, "second VMCOREINFO note ignored", nil))
			}
		}
		nr.notes = append(nr.notes, n)
		pos = next
	}
}
