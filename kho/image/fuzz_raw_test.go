package image

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// rawFuzzInput is the fuzz layout of FuzzRaw: a range count, that many
// {off i64, start u64, size u64} little-endian triples, then the file.
func rawFuzzInput(file []byte, ranges ...RawRange) []byte {
	in := []byte{byte(len(ranges))}
	for _, r := range ranges {
		in = binary.LittleEndian.AppendUint64(in, uint64(r.Off))
		in = binary.LittleEndian.AppendUint64(in, r.Start)
		in = binary.LittleEndian.AppendUint64(in, r.Size)
	}
	return append(in, file...)
}

// FuzzRaw lays a raw file out in physical memory by hostile ranges
// (negative or past-the-end offsets, overflowing or overlapping physical
// ranges). An error means a nil memory; a memory keeps the Memory contract
// and every range reads back as its slice of the file.
func FuzzRaw(f *testing.F) {
	file := bytes.Repeat([]byte("raw dump bytes "), 40)
	f.Add(rawFuzzInput(file, RawRange{Off: 0, Start: 0x1000, Size: uint64(len(file))}))
	f.Add(rawFuzzInput(file, RawRange{Off: 0, Start: 0x1000, Size: 0x100}, RawRange{Off: 0x100, Start: 0x8000, Size: 0x100}))
	f.Add(rawFuzzInput(file, RawRange{Off: 0x10, Start: 0x1000, Size: 0x100}, RawRange{Off: 0, Start: 0x1080, Size: 0x100}))         // overlap
	f.Add(rawFuzzInput(file, RawRange{Off: -1, Start: 0, Size: 1}, RawRange{Off: 0, Start: ^uint64(0) - 4, Size: 0x10}))             // hostile
	f.Add(rawFuzzInput(file, RawRange{Off: int64(len(file)), Start: 0x2000, Size: 0}, RawRange{Off: 1, Start: 0, Size: ^uint64(0)})) // empty, huge
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 1 {
			return
		}
		n := min(int(in[0]), 8, (len(in)-1)/24)
		ranges := make([]RawRange, n)
		for i := range ranges {
			b := in[1+24*i:]
			ranges[i] = RawRange{Off: int64(binary.LittleEndian.Uint64(b)), Start: binary.LittleEndian.Uint64(b[8:]), Size: binary.LittleEndian.Uint64(b[16:])}
		}
		file := in[1+24*n:]
		m, err := NewRawRanges(bytes.NewReader(file), int64(len(file)), ranges)
		if err != nil {
			if m != nil {
				t.Fatalf("error %v with a memory", err)
			}
			return
		}
		exercise(t, m)
		for _, r := range ranges {
			if r.Size == 0 {
				continue
			}
			k := min(r.Size, 64)
			got := make([]byte, k)
			if _, err := m.ReadAt(got, r.Start); err != nil {
				t.Fatalf("range %+v: %v", r, err)
			}
			if want := file[r.Off : uint64(r.Off)+k]; !bytes.Equal(got, want) {
				t.Fatalf("range %+v reads %q, want %q", r, got, want)
			}
			last := r.Start + r.Size - k
			if _, err := m.ReadAt(got, last); err != nil {
				t.Fatalf("range %+v end: %v", r, err)
			}
			if want := file[uint64(r.Off)+r.Size-k : uint64(r.Off)+r.Size]; !bytes.Equal(got, want) {
				t.Fatalf("range %+v end reads %q, want %q", r, got, want)
			}
		}
	})
}
