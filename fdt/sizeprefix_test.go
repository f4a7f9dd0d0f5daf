package fdt

import "testing"

func TestSizePrefix(t *testing.T) {
	kernel := readTestdata(t, "kernel/kho_in_fdt_stage2.dtb")
	for _, tt := range []struct {
		name         string
		data         []byte
		magic, total uint32
		ok           bool
	}{
		{"kernel blob", kernel, Magic, 285, true},
		{"prefix only", kernel[:SizePrefixLen], Magic, 285, true},
		{"one byte short", kernel[:SizePrefixLen-1], 0, 0, false},
		{"empty", nil, 0, 0, false},
		// No checks: a wrong magic and a bad version come back as they are.
		{"not an FDT", []byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0x10, 0, 0xff}, 0xdeadbeef, 0x1000, true},
	} {
		magic, total, ok := SizePrefix(tt.data)
		if magic != tt.magic || total != tt.total || ok != tt.ok {
			t.Errorf("%s: SizePrefix = %#x, %d, %v; want %#x, %d, %v", tt.name, magic, total, ok, tt.magic, tt.total, tt.ok)
		}
	}
	if h, err := ReadHeader(kernel[:HeaderSize]); err != nil || h.Size() != HeaderSize {
		t.Errorf("ReadHeader(HeaderSize bytes of a v17 blob) = %+v, %v", h, err)
	}
}
