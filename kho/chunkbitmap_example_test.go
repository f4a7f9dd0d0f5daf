package kho_test

import (
	"fmt"

	"github.com/khokit/khokit/kho"
)

// A kho-v1 map written by Linux 6.16 or 6.17 has 512-byte bitmaps. The
// decoder sees it from the chunk elements and says so; naming the size
// with Options.KHOv1Bitmap decodes it without asking.
func ExampleKHOv1BitmapSize() {
	h := &kho.Handover{Compatible: "kho-v1", Memblock: &kho.Memblock{Regions: []kho.ReserveMem{{Name: "trace", Size: 3 * 4096}}}}
	b, err := kho.Build(h, &kho.BuildOptions{KHOv1Bitmap: kho.KHOv1Bitmap512})
	if err != nil {
		panic(err)
	}
	for _, size := range []kho.KHOv1BitmapSize{kho.KHOv1BitmapDetect, kho.KHOv1Bitmap512} {
		got, err := kho.Decode(b.Mem, b.RootAddr, &kho.Options{KHOv1Bitmap: size})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d runs", size, len(got.MemoryMap.Runs))
		for _, f := range got.Findings {
			fmt.Printf(", %s %s", f.Severity, f.Code)
		}
		fmt.Println()
	}
	// Output:
	// detect: 3 runs, info chunk.bitmap-512
	// 512: 3 runs
}
