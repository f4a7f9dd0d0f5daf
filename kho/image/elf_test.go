package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/khokit/khokit/kho/physmem"
)

const testVMCoreInfo = "OSRELEASE=7.3.4\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff82a1b2c0\nno equals sign here\n"

func writeTestELF(t testing.TB, m physmem.Memory, ranges []physmem.Range, opts *ELFOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteELF(&buf, m, ranges, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestELFRoundTrip(t *testing.T) {
	src := testMemory(t)
	for _, tt := range []struct {
		name string
		opts ELFOptions
	}{
		{"little-endian", ELFOptions{}},
		{"big-endian", ELFOptions{ByteOrder: binary.BigEndian, Machine: elf.EM_S390}},
		{"trimmed zeros with note", ELFOptions{TrimZeros: true, VMCoreInfo: []byte(testVMCoreInfo)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := writeTestELF(t, src, src.Ranges(), &tt.opts)
			// The standard library must agree on the headers we wrote.
			ef, err := elf.NewFile(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("debug/elf rejects the file: %v", err)
			}
			if ef.Type != elf.ET_CORE {
				t.Errorf("debug/elf type %v", ef.Type)
			}
			f, err := NewELF(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Findings) != 0 {
				t.Errorf("findings on a clean file: %v", f.Findings)
			}
			wantMachine := tt.opts.Machine
			if wantMachine == 0 {
				wantMachine = elf.EM_X86_64
			}
			if f.Machine != wantMachine || f.Loads != 3 {
				t.Errorf("machine %v, %d loads; want %v, 3", f.Machine, f.Loads, wantMachine)
			}
			compareMemory(t, src, f, src.Ranges())
			wantAddrErr(t, f, 0x300000, 8, 0, 0x300000, physmem.ErrAbsent)
			if tt.opts.VMCoreInfo == nil {
				if f.VMCoreInfo != nil || len(f.Notes) != 0 {
					t.Errorf("notes appeared: %v", f.Notes)
				}
				return
			}
			want := &VMCoreInfo{Text: testVMCoreInfo, Entries: []KeyValue{
				{"OSRELEASE", "7.3.4"}, {"PAGESIZE", "4096"}, {"SYMBOL(init_uts_ns)", "ffffffff82a1b2c0"},
			}}
			if d := cmp.Diff(want, f.VMCoreInfo); d != "" {
				t.Errorf("VMCOREINFO (-want +got):\n%s", d)
			}
			if v, ok := f.VMCoreInfo.Get("PAGESIZE"); !ok || v != "4096" {
				t.Errorf("Get(PAGESIZE) = %q, %v", v, ok)
			}
			// The last bank's data ends at 0x1004800: its 0xb800-byte tail is not stored.
			var full uint64
			for _, r := range presentRanges(src.Ranges()) {
				full += r.Size
			}
			if uint64(len(data)) > full-0xb800+0x1000 {
				t.Errorf("trimmed file is %d bytes for %d bytes of memory: zero tails were written", len(data), full)
			}
		})
	}
}

// funcMemory is memory whose every byte is derived from its address, to
// write images with many segments without holding them.
type funcMemory struct{ ranges []physmem.Range }

func (m funcMemory) ReadAt(p []byte, addr uint64) (int, error) {
	for i := range p {
		a := addr + uint64(i)
		p[i] = byte(a>>4) ^ byte(a>>12)
	}
	return len(p), nil
}

func (m funcMemory) Ranges() []physmem.Range { return m.ranges }

func TestELFPNXNum(t *testing.T) {
	const n = 70000 // past PN_XNUM, as QEMU dumps of fragmented guests are
	var rs []physmem.Range
	for i := range uint64(n) {
		rs = append(rs, physmem.Range{Start: 0x100000 + i*0x20, Size: 0x10, State: physmem.Present})
	}
	m := funcMemory{rs}
	data := writeTestELF(t, m, rs, nil)
	if got := binary.LittleEndian.Uint16(data[56:]); got != 0xffff {
		t.Fatalf("e_phnum = %#x, want PN_XNUM", got)
	}
	f, err := NewELF(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Loads != n {
		t.Errorf("%d loads, want %d", f.Loads, n)
	}
	compareMemory(t, m, f, rs)
}

// elfWithSegments is a little-endian core with two 0x2000-byte segments at
// 0x10000 and 0x20000, and its program header offsets.
func elfWithSegments(t *testing.T) (data []byte, ph [2]int) {
	var s physmem.Sparse
	for _, a := range []uint64{0x10000, 0x20000} {
		if err := s.AddRange(a, 0x2000, physmem.Present); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteAt(bytes.Repeat([]byte{byte(a >> 16)}, 0x2000), a); err != nil {
			t.Fatal(err)
		}
	}
	return writeTestELF(t, &s, s.Ranges(), nil), [2]int{64, 64 + 56}
}

func TestELFHostile(t *testing.T) {
	le := binary.LittleEndian
	type check func(t *testing.T, f *ELF)
	tests := []struct {
		name     string
		patch    func(d []byte, ph [2]int) []byte
		sentinel error // fatal error wanted, or nil
		off      int64
		findings []error // sentinels of the findings wanted
		check    check
	}{
		{
			name: "overlapping segments",
			patch: func(d []byte, ph [2]int) []byte {
				le.PutUint64(d[ph[1]+24:], 0x11000) // second segment starts inside the first
				return d
			},
			findings: []error{ErrFormat},
			check: func(t *testing.T, f *ELF) {
				b := make([]byte, 1)
				f.ReadAt(b, 0x11800)
				if b[0] != 1 {
					t.Errorf("overlap read %#x, want the earlier segment's 0x01", b[0])
				}
				if d := cmp.Diff([]physmem.Range{{Start: 0x10000, Size: 0x3000, State: physmem.Present}}, f.Ranges()); d != "" {
					t.Errorf("ranges (-want +got):\n%s", d)
				}
			},
		},
		{
			name: "filesz above memsz",
			patch: func(d []byte, ph [2]int) []byte {
				le.PutUint64(d[ph[0]+40:], 0x1000) // p_memsz halved
				return d
			},
			findings: []error{ErrFormat},
			check: func(t *testing.T, f *ELF) {
				wantAddrErr(t, f, 0x10ff8, 16, 8, 0x11000, physmem.ErrAbsent)
			},
		},
		{
			name: "memsz above filesz reads zeros",
			patch: func(d []byte, ph [2]int) []byte {
				le.PutUint64(d[ph[0]+40:], 0x4000)
				return d
			},
			check: func(t *testing.T, f *ELF) {
				b := []byte{9, 9}
				if _, err := f.ReadAt(b, 0x11fff); err != nil || !bytes.Equal(b, []byte{1, 0}) {
					t.Errorf("ReadAt = %x, %v; want 0100", b, err)
				}
			},
		},
		{
			name:     "truncated mid-segment",
			patch:    func(d []byte, ph [2]int) []byte { return d[:len(d)-0x1800] },
			findings: []error{ErrTruncated},
			check: func(t *testing.T, f *ELF) {
				wantAddrErr(t, f, 0x207f0, 0x20, 0x10, 0x20800, physmem.ErrAbsent)
			},
		},
		{
			name: "segment wraps the address space",
			patch: func(d []byte, ph [2]int) []byte {
				le.PutUint64(d[ph[1]+24:], ^uint64(0)-0x100)
				return d
			},
			findings: []error{ErrFormat},
		},
		{
			name: "PN_XNUM with a huge sh_info",
			patch: func(d []byte, ph [2]int) []byte {
				le.PutUint16(d[56:], 0xffff)
				le.PutUint64(d[40:], 0x100) // e_shoff
				le.PutUint16(d[58:], 64)
				le.PutUint32(d[0x100+44:], 0xffffffff)
				return d
			},
			sentinel: ErrLimit, off: 56,
		},
		{
			name: "PN_XNUM with a count past the file",
			patch: func(d []byte, ph [2]int) []byte {
				le.PutUint16(d[56:], 0xffff)
				le.PutUint64(d[40:], 0x100)
				le.PutUint16(d[58:], 64)
				le.PutUint32(d[0x100+44:], 1000000)
				return d
			},
			sentinel: ErrTruncated, off: 64,
		},
		{
			name: "PN_XNUM without section headers",
			patch: func(d []byte, ph [2]int) []byte {
				le.PutUint16(d[56:], 0xffff)
				return d
			},
			sentinel: ErrFormat, off: 56,
		},
		{
			name:     "not a core",
			patch:    func(d []byte, ph [2]int) []byte { le.PutUint16(d[16:], uint16(elf.ET_EXEC)); return d },
			sentinel: ErrWrongFormat, off: 16,
		},
		{
			name:     "ELF32",
			patch:    func(d []byte, ph [2]int) []byte { d[elf.EI_CLASS] = byte(elf.ELFCLASS32); return d },
			sentinel: ErrUnsupported, off: elf.EI_CLASS,
		},
		{
			name:     "short header",
			patch:    func(d []byte, ph [2]int) []byte { return d[:40] },
			sentinel: ErrTruncated, off: 40,
		},
		{
			name: "note runs past its segment",
			patch: func(d []byte, ph [2]int) []byte {
				le.PutUint32(d[ph[0]:], uint32(elf.PT_NOTE)) // first segment's data is 0x01 bytes: namesz 0x01010101
				return d
			},
			findings: []error{ErrFormat},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, ph := elfWithSegments(t)
			data = tt.patch(data, ph)
			f, err := NewELF(bytes.NewReader(data), int64(len(data)))
			if tt.sentinel != nil {
				wantFormatErr(t, err, tt.sentinel, tt.off)
				if f != nil {
					t.Error("result alongside an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Findings) != len(tt.findings) {
				t.Fatalf("findings %v; want %d", f.Findings, len(tt.findings))
			}
			for i, s := range tt.findings {
				wantFormatErr(t, f.Findings[i], s, -1)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

// TestELFHugeCountBoundedMemory: a small file claiming millions of
// program headers must fail before allocating for them.
func TestELFHugeCountBoundedMemory(t *testing.T) {
	data, _ := elfWithSegments(t)
	binary.LittleEndian.PutUint16(data[56:], 0xffff)
	binary.LittleEndian.PutUint64(data[40:], 0x100)
	binary.LittleEndian.PutUint16(data[58:], 64)
	binary.LittleEndian.PutUint32(data[0x100+44:], MaxSegments)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := NewELF(bytes.NewReader(data), int64(len(data))); err == nil {
			t.Fatal("accepted")
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
		t.Errorf("10 opens allocated %d bytes", d)
	}
}

func TestELFNoteLimits(t *testing.T) {
	var s physmem.Sparse
	s.AddRange(0x1000, 0x1000, physmem.Present)
	t.Run("too many notes", func(t *testing.T) {
		const notes = maxNotes + 4
		data := writeTestELF(t, &s, s.Ranges(), &ELFOptions{VMCoreInfo: make([]byte, notes*12-24)})
		noteOff := binary.LittleEndian.Uint64(data[64+8:]) // PT_NOTE comes first
		for i := range notes {
			b := data[noteOff+uint64(i)*12:]
			binary.LittleEndian.PutUint32(b, 0)     // namesz
			binary.LittleEndian.PutUint32(b[4:], 0) // descsz
			binary.LittleEndian.PutUint32(b[8:], uint32(elf.NT_PRSTATUS))
		}
		f, err := NewELF(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Notes) != maxNotes || len(f.Findings) != 1 {
			t.Fatalf("%d notes, findings %v", len(f.Notes), f.Findings)
		}
		wantFormatErr(t, f.Findings[0], ErrLimit, int64(noteOff)+maxNotes*12)
		if got := f.Notes[0].String(); got != " type 1 (0 bytes)" {
			t.Errorf("note string %q", got)
		}
	})
	t.Run("VMCOREINFO over 1 MiB", func(t *testing.T) {
		data := writeTestELF(t, &s, s.Ranges(), &ELFOptions{VMCoreInfo: bytes.Repeat([]byte("A=B\n"), maxVMCoreInfo/4+1)})
		f, err := NewELF(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if f.VMCoreInfo != nil || len(f.Notes) != 1 || f.Notes[0].Desc != nil || len(f.Findings) != 1 {
			t.Fatalf("VMCOREINFO %v, notes %v, findings %v", f.VMCoreInfo != nil, f.Notes, f.Findings)
		}
		wantFormatErr(t, f.Findings[0], ErrLimit, -1)
	})
}
