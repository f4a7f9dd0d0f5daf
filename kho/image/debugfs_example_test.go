package image_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing/fstest"

	"github.com/khokit/khokit/kho/image"
)

// Read a debugfs copy held in memory: a real kernel's incoming root FDT and
// its kexec-metadata blob, laid out as /sys/kernel/debug/kho/in is. The
// blob is placed at the address the root FDT gives it.
func ExampleOpenDebugfsFS() {
	vec := filepath.Join("..", "..", "testdata", "vectors", "linux-7.3.4-x86_64")
	root, err := os.ReadFile(filepath.Join(vec, "kho_in_fdt_stage2.dtb"))
	if err != nil {
		fmt.Println(err)
		return
	}
	kexec, err := os.ReadFile(filepath.Join(vec, "kexec_metadata_in.bin"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fsys := fstest.MapFS{
		"kho/in/fdt":                     {Data: root},
		"kho/in/sub_fdts/kexec-metadata": {Data: kexec},
	}
	d, err := image.OpenDebugfsFS(fsys, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Dir, len(d.Findings), "findings")
	for _, b := range d.Blobs {
		fmt.Printf("%s at %#x, %d bytes\n", b.Name, b.Addr, b.Size)
	}
	// Output:
	// kho/in 0 findings
	// kexec-metadata at 0x1f6000, 73 bytes
}
