package image

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/khokit/khokit/kho/physmem"
)

// benchImage writes a machine of size bytes of RAM with a few written
// pages to dir in format, and returns its path and two written addresses.
func benchImage(b *testing.B, dir string, format Format, size uint64) (string, [2]uint64) {
	b.Helper()
	var s physmem.Sparse
	if err := s.AddRange(0, size, physmem.Present); err != nil {
		b.Fatal(err)
	}
	addrs := [2]uint64{size / 3 &^ 0xfff, size - 0x2000}
	for i, a := range addrs {
		s.WriteAt(bytes.Repeat([]byte{byte(i + 1)}, 4096), a)
	}
	path := filepath.Join(dir, fmt.Sprintf("%v-%d", format, size))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	switch format {
	case FormatELF:
		err = WriteELF(f, &s, s.Ranges(), nil)
	case FormatKdump:
		_, err = f.Write(benchKdump(b, &s, size))
	case FormatFlattened:
		kd := benchKdump(b, &s, size)
		err = WriteFlattened(f, bytes.NewReader(kd), int64(len(kd)), 4*4096)
	}
	if err != nil {
		b.Fatal(err)
	}
	return path, addrs
}

// benchKdumps caches kdump files by RAM size: compressing every page of a
// 256 MiB machine twice is the slow part of setting up.
var benchKdumps = map[uint64][]byte{}

func benchKdump(b *testing.B, s *physmem.Sparse, size uint64) []byte {
	if kd, ok := benchKdumps[size]; ok {
		return kd
	}
	var kd bytes.Buffer
	if err := WriteKdump(&kd, s, s.Ranges(), &KdumpOptions{Compression: PageZlib}); err != nil {
		b.Fatal(err)
	}
	benchKdumps[size] = kd.Bytes()
	return kd.Bytes()
}

// BenchmarkReadPage reads one page at a known address, alternating between
// two pages so that the kdump reader's one-page cache never hits: the cost
// per read should not grow with the image.
func BenchmarkReadPage(b *testing.B) {
	dir := b.TempDir()
	for _, format := range []Format{FormatELF, FormatKdump, FormatFlattened} {
		for _, size := range []uint64{16 << 20, 256 << 20} {
			b.Run(fmt.Sprintf("%v/%dMiB", format, size>>20), func(b *testing.B) {
				path, addrs := benchImage(b, dir, format, size)
				im, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer im.Close()
				page := make([]byte, 4096)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if _, err := im.Memory.ReadAt(page, addrs[i%2]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if page[0] == 0 {
					b.Fatal("read a zero page")
				}
			})
		}
	}
}

// BenchmarkOpen opens an image: headers only, whatever its size.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	for _, format := range []Format{FormatELF, FormatKdump, FormatFlattened} {
		b.Run(format.String(), func(b *testing.B) {
			path, _ := benchImage(b, dir, format, 256<<20)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				im, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				im.Close()
			}
		})
	}
}
