package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

const pageSize = 4096

// physELF reads guest physical memory from an ELF core's PT_LOAD segments.
type physELF struct {
	f    *os.File
	segs []*elf.Prog
}

func openPhys(path string) (*physELF, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p := &physELF{f: f}
	for _, prog := range ef.Progs {
		if prog.Type == elf.PT_LOAD && prog.Filesz > 0 {
			p.segs = append(p.segs, prog)
		}
	}
	return p, nil
}

// read returns n bytes at physical address pa, or an error when they are not
// all in the image.
func (p *physELF) read(pa uint64, n int) ([]byte, error) {
	for _, s := range p.segs {
		if pa >= s.Paddr && pa-s.Paddr < s.Filesz && uint64(n) <= s.Filesz-(pa-s.Paddr) {
			b := make([]byte, n)
			_, err := p.f.ReadAt(b, int64(s.Off+pa-s.Paddr))
			return b, err
		}
	}
	return nil, fmt.Errorf("physical range %#x+%#x not in the image", pa, n)
}

func cmdScan(args []string) error {
	if len(args) != 1 {
		return errors.New("scan wants one ELF core file")
	}
	p, err := openPhys(args[0])
	if err != nil {
		return err
	}
	defer p.f.Close()
	const block = 1 << 20
	buf := make([]byte, block)
	for _, s := range p.segs {
		for off := uint64(0); off < s.Filesz; off += block {
			n := min(block, s.Filesz-off)
			if _, err := p.f.ReadAt(buf[:n], int64(s.Off+off)); err != nil && err != io.EOF {
				return err
			}
			for po := uint64(0); po+pageSize <= n; po += pageSize {
				scanPage(p, s.Paddr+off+po, buf[po:po+pageSize])
			}
		}
	}
	return nil
}

var le = binary.LittleEndian

func scanPage(p *physELF, pa uint64, pg []byte) {
	switch {
	case binary.BigEndian.Uint32(pg) == 0xd00dfeed:
		scanFDT(p, pa)
	case bytes.HasPrefix(pg, []byte("luo-v")):
		fmt.Printf("%#x luo_ser compatible=%q liveupdate_num=%d sessions_pa=%#x flbs_pa=%#x\n",
			pa, cstr(pg[:8]), le.Uint64(pg[8:]), le.Uint64(pg[16:]), le.Uint64(pg[24:]))
	default:
		if s := flbPage(pg); s != "" {
			fmt.Printf("%#x FLB page %s\n", pa, s)
		} else if s := block(pg, 80, 64, "session"); s != "" {
			fmt.Printf("%#x session block %s\n", pa, s)
		} else if s := block(pg, 64, 48, "file"); s != "" {
			fmt.Printf("%#x file block %s\n", pa, s)
		}
	}
}

// cstr returns the NUL-terminated string at the start of b ("" without NUL).
func cstr(b []byte) string {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return ""
	}
	return string(b[:i])
}

func printableName(b []byte) (string, bool) {
	s := cstr(b)
	if s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "", false
		}
	}
	// The rest of the field is NUL padding in every LUO structure seen.
	for _, c := range b[len(s):] {
		if c != 0 {
			return "", false
		}
	}
	return s, true
}

// flbPage recognises luo_flb_header_ser{pgcnt,count} + luo_flb_ser{name[48],data,count}[count].
func flbPage(pg []byte) string {
	pgcnt, count := le.Uint64(pg), le.Uint64(pg[8:])
	if pgcnt < 1 || pgcnt > 16 || count < 1 || count > 63 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "pgcnt=%d count=%d", pgcnt, count)
	for i := uint64(0); i < count; i++ {
		e := pg[16+i*64 : 16+(i+1)*64]
		name, ok := printableName(e[:48])
		if !ok || !strings.Contains(name, "flb") {
			return ""
		}
		fmt.Fprintf(&sb, "\n    %s data=%#x count=%d", name, le.Uint64(e[48:]), le.Uint64(e[56:]))
	}
	return sb.String()
}

// block recognises a kho_block_header_ser{next,count} page of session
// (80-byte entries: name[64], files, count) or file (64-byte entries:
// compatible[48], data, token) entries.
func block(pg []byte, entry, nameLen int, kind string) string {
	next, count := le.Uint64(pg), le.Uint64(pg[8:])
	perBlock := uint64((pageSize - 16) / entry)
	if next%pageSize != 0 || count < 1 || count > perBlock {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "next=%#x count=%d", next, count)
	for i := uint64(0); i < count; i++ {
		e := pg[16+i*uint64(entry) : 16+(i+1)*uint64(entry)]
		name, ok := printableName(e[:nameLen])
		if !ok {
			return ""
		}
		a, b := le.Uint64(e[nameLen:]), le.Uint64(e[nameLen+8:])
		if kind == "session" {
			if a%pageSize != 0 || (a == 0) != (b == 0) {
				return ""
			}
			fmt.Fprintf(&sb, "\n    %q files=%#x count=%d", name, a, b)
		} else {
			if a == 0 || a%pageSize != 0 || !strings.Contains(name, "-v") {
				return ""
			}
			fmt.Fprintf(&sb, "\n    %s data=%#x token=%#x", name, a, b)
		}
	}
	return sb.String()
}

// scanFDT prints a KHO FDT: its nodes and their properties.
func scanFDT(p *physELF, pa uint64) {
	hdr, err := p.read(pa, 40)
	if err != nil {
		return
	}
	be := binary.BigEndian
	total := be.Uint32(hdr[4:])
	if total < 40 || total > 1<<20 {
		return
	}
	b, err := p.read(pa, int(total))
	if err != nil {
		return
	}
	offStruct, offStrings := be.Uint32(b[8:]), be.Uint32(b[12:])
	sizeStrings, sizeStruct := be.Uint32(b[32:]), be.Uint32(b[36:])
	if uint64(offStruct)+uint64(sizeStruct) > uint64(total) || uint64(offStrings)+uint64(sizeStrings) > uint64(total) {
		return
	}
	st := b[offStruct : offStruct+sizeStruct]
	strs := b[offStrings : offStrings+sizeStrings]
	var lines []string
	var path []string
	var rootCompat string
	var subBlobs []struct {
		node string
		pa   uint64
	}
	for i := 0; i+4 <= len(st); {
		tok := be.Uint32(st[i:])
		i += 4
		switch tok {
		case 1: // FDT_BEGIN_NODE
			name := cstr(st[i:])
			i += (len(name) + 1 + 3) &^ 3
			path = append(path, name)
			lines = append(lines, "  /"+strings.Join(path[1:], "/"))
		case 2: // FDT_END_NODE
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		case 3: // FDT_PROP
			if i+8 > len(st) {
				return
			}
			l, no := be.Uint32(st[i:]), be.Uint32(st[i+4:])
			i += 8
			if uint64(i)+uint64(l) > uint64(len(st)) || no >= uint32(len(strs)) {
				return
			}
			v := st[i : i+int(l)]
			i += (int(l) + 3) &^ 3
			name := cstr(strs[no:])
			desc := fmt.Sprintf("% x", v)
			switch {
			case name == "compatible":
				desc = fmt.Sprintf("%q", strings.TrimRight(string(v), "\x00"))
				if len(path) == 1 {
					rootCompat = strings.TrimRight(string(v), "\x00")
				}
			case l == 8:
				desc = fmt.Sprintf("%#x (LE u64)", le.Uint64(v))
				if name == "preserved-data" {
					subBlobs = append(subBlobs, struct {
						node string
						pa   uint64
					}{path[len(path)-1], le.Uint64(v)})
				}
			}
			lines = append(lines, fmt.Sprintf("    %s = %s", name, desc))
		case 4: // FDT_NOP
		case 9: // FDT_END
			i = len(st)
		default:
			return
		}
	}
	if !strings.HasPrefix(rootCompat, "kho-") {
		return
	}
	fmt.Printf("%#x KHO FDT %q totalsize=%d\n%s\n", pa, rootCompat, total, strings.Join(lines, "\n"))
	for _, sb := range subBlobs {
		switch sb.node {
		case "kexec-metadata":
			if m, err := p.read(sb.pa, 73); err == nil {
				fmt.Printf("    -> kexec-metadata @%#x: version=%d previous_release=%q kexec_count=%d\n",
					sb.pa, le.Uint32(m), cstr(m[4:69]), le.Uint32(m[69:]))
			}
		case "LUO":
			if m, err := p.read(sb.pa, 32); err == nil {
				fmt.Printf("    -> LUO @%#x: compatible=%q liveupdate_num=%d sessions_pa=%#x flbs_pa=%#x\n",
					sb.pa, cstr(m[:8]), le.Uint64(m[8:]), le.Uint64(m[16:]), le.Uint64(m[24:]))
			}
		}
	}
}
