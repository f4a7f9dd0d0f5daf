package image_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/khokit/khokit/kho/image"
	"github.com/khokit/khokit/kho/physmem"
)

// Write a two-page machine as an ELF core, open it without naming the
// format, and read a string back by physical address.
func ExampleOpen() {
	var mem physmem.Sparse
	mem.AddRange(0x100000, 0x2000, physmem.Present)
	mem.WriteAt([]byte("kho-v4"), 0x101000)

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "vmcore")
	f, _ := os.Create(path)
	if err := image.WriteELF(f, &mem, mem.Ranges(), nil); err != nil {
		fmt.Println(err)
	}
	f.Close()

	im, err := image.Open(path, image.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer im.Close()
	b := make([]byte, 6)
	im.Memory.ReadAt(b, 0x101000)
	fmt.Println(im.Format, im.Memory.Ranges(), string(b))
	_, err = im.Memory.ReadAt(b, 0x200000)
	fmt.Println(err)
	// Output:
	// elf [[0x100000-0x102000) present] kho-v4
	// physical 0x200000 (+0x6): physical memory absent from source
}
