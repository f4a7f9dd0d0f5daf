package kho_test

import (
	"errors"
	"fmt"
	"io"

	"github.com/khokit/khokit/kho"
)

// Read a decoded memfd from a handover of unknown origin: OpenMemfd
// refuses a memfd that is mostly holes before any byte is read, and the
// map's totals say how much memory the handover preserves.
func ExampleOpenMemfd() {
	h := &kho.Handover{Compatible: "kho-v4", LUO: &kho.LUO{Compatible: "luo-v5", Sessions: []kho.Session{{
		Name: "demo", Files: []kho.File{{Compatible: "memfd-v2", Memfd: &kho.Memfd{}}},
	}}}}
	b, err := kho.Build(h, &kho.BuildOptions{Contents: map[kho.FileID][]byte{{Session: 0, File: 0}: []byte("hello")}})
	if err != nil {
		panic(err)
	}
	got, err := kho.Decode(b.Mem, b.RootAddr, &kho.Options{Scratch: b.Scratch})
	if err != nil {
		panic(err)
	}
	blocks, bytes := got.MemoryMap.Totals()
	fmt.Printf("%d blocks, %d bytes preserved in %d ranges\n", blocks, bytes, len(got.MemoryMap.PreservedRanges()))

	m := got.LUO.Sessions[0].Files[0].Memfd
	r, err := kho.OpenMemfd(b.Mem, m, got.MemoryMap.PageSize, kho.DefaultMaxMemfdHoles)
	if err != nil {
		panic(err)
	}
	data, err := io.ReadAll(r)
	fmt.Printf("%q %v\n", data, err)

	m.Size = 1 << 40 // as a hostile image might claim
	_, err = kho.OpenMemfd(b.Mem, m, got.MemoryMap.PageSize, kho.DefaultMaxMemfdHoles)
	fmt.Println(errors.Is(err, kho.ErrMemfdHoles))
	// Output:
	// 9 blocks, 36864 bytes preserved in 2 ranges
	// "hello" <nil>
	// true
}
