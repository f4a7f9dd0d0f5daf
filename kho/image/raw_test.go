package image

import (
	"bytes"
	"errors"
	"testing"

	"github.com/khokit/khokit/kho/physmem"
)

func TestRawRoundTrip(t *testing.T) {
	src := testMemory(t)
	ranges := src.Ranges()
	var buf bytes.Buffer
	layout, err := WriteRaw(&buf, src, ranges)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewRawRanges(bytes.NewReader(buf.Bytes()), int64(buf.Len()), layout)
	if err != nil {
		t.Fatal(err)
	}
	compareMemory(t, src, m, ranges)
	wantAddrErr(t, m, 0xa0000-8, 16, 8, 0xa0000, physmem.ErrAbsent)
	wantAddrErr(t, m, 0x300000, 1, 0, 0x300000, physmem.ErrAbsent) // excluded ranges are not written
}

func TestRawBase(t *testing.T) {
	data := bytes.Repeat([]byte{1, 2, 3, 4}, 1024)
	m, err := NewRaw(bytes.NewReader(data), int64(len(data)), 0x80000000)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := m.ReadAt(got, 0x80000ffc); err != nil || !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Errorf("ReadAt = %x, %v", got, err)
	}
	wantAddrErr(t, m, 0x7ffffffe, 4, 0, 0x7ffffffe, physmem.ErrAbsent)
	wantAddrErr(t, m, 0x80000ffe, 4, 2, 0x80001000, physmem.ErrAbsent)
}

func TestRawRangesRejects(t *testing.T) {
	r := bytes.NewReader(make([]byte, 0x2000))
	tests := []struct {
		name     string
		ranges   []RawRange
		sentinel error
		off      int64
	}{
		{"past end", []RawRange{{Off: 0x1000, Start: 0, Size: 0x1001}}, ErrTruncated, 0x1000},
		{"negative offset", []RawRange{{Off: -1, Start: 0, Size: 1}}, ErrTruncated, -1},
		{"overlap", []RawRange{{Off: 0, Start: 0x1000, Size: 0x1000}, {Off: 0x1000, Start: 0x1800, Size: 0x800}}, ErrFormat, 0x1000},
		{"wraps", []RawRange{{Off: 0, Start: ^uint64(0) - 10, Size: 0x100}}, physmem.ErrOverflow, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRawRanges(r, 0x2000, tt.ranges)
			if tt.sentinel == physmem.ErrOverflow {
				if !errors.Is(err, physmem.ErrOverflow) {
					t.Errorf("error %v; want %v", err, physmem.ErrOverflow)
				}
				return
			}
			wantFormatErr(t, err, tt.sentinel, tt.off)
		})
	}
}
