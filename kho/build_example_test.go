package kho_test

import (
	"fmt"

	"github.com/khokit/khokit/kho"
)

// Build a kho-v4 handover with one memfd, decode it back, and read the
// memfd's contents.
func ExampleBuild() {
	h := &kho.Handover{
		Compatible: "kho-v4",
		LUO: &kho.LUO{Compatible: "luo-v5", LiveupdateNumber: 1, Sessions: []kho.Session{{
			Name:  "demo",
			Files: []kho.File{{Compatible: "memfd-v2", Token: 0x1234, Memfd: &kho.Memfd{}}},
		}}},
		KexecMetadata: &kho.KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1},
	}
	b, err := kho.Build(h, &kho.BuildOptions{Contents: map[kho.FileID][]byte{{Session: 0, File: 0}: []byte("hello")}})
	if err != nil {
		panic(err)
	}
	got, err := kho.Decode(b.Mem, b.RootAddr, nil)
	if err != nil {
		panic(err)
	}
	f := got.LUO.Sessions[0].Files[0]
	data := make([]byte, f.Memfd.Size)
	kho.MemfdContents(b.Mem, f.Memfd, 4096).ReadAt(data, 0)
	fmt.Printf("root %#x %s, %d preserved blocks, %d findings\n", b.RootAddr, got.Compatible, len(b.Preserved), len(got.Findings))
	fmt.Printf("session %q file token %#x: %q\n", got.LUO.Sessions[0].Name, f.Token, data)
	// Output:
	// root 0x100000 kho-v4, 10 preserved blocks, 0 findings
	// session "demo" file token 0x1234: "hello"
}
