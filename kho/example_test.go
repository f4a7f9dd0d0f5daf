package kho_test

import (
	"fmt"
	"io"

	"github.com/khokit/khokit/kho"
)

// Lay a small handover out with the builder, decode it back, and read a
// preserved memfd's contents through its folios.
func ExampleDecode() {
	desc := &kho.Handover{
		Compatible: "kho-v4",
		LUO: &kho.LUO{Compatible: "luo-v5", LiveupdateNumber: 1, Sessions: []kho.Session{{
			Name:  "vm-1",
			Files: []kho.File{{Compatible: "memfd-v2", Token: 0x1234, Memfd: &kho.Memfd{}}},
		}}},
	}
	built, err := kho.Build(desc, &kho.BuildOptions{Contents: map[kho.FileID][]byte{{Session: 0, File: 0}: []byte("guest memory")}})
	if err != nil {
		panic(err)
	}

	h, err := kho.Decode(built.Mem, built.RootAddr, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Compatible, h.MemoryMap.Kind, h.LUO.Compatible, len(h.Findings), "findings")
	for _, s := range h.LUO.Sessions {
		for _, f := range s.Files {
			b, _ := io.ReadAll(kho.MemfdContents(built.Mem, f.Memfd, 4096))
			fmt.Printf("%s token %#x %s: %q\n", s.Name, f.Token, f.Compatible, b)
		}
	}

	// Make file_set_ser.count disagree with the file chain and decode again:
	// a finding, with what released kernels do with such bytes.
	var count [8]byte
	count[0] = 2
	_ = built.Mem.WriteAt(count[:], built.Layout.SessionBlocks[0]+16+72)
	h, _ = kho.Decode(built.Mem, built.RootAddr, nil)
	for _, f := range h.Findings {
		fmt.Println(f.Severity, f.Code, f.Path)
		for _, k := range f.Kernel {
			fmt.Printf("  %s: %s\n", k.Releases, k.Effect)
		}
	}
	// Output:
	// kho-v4 radix luo-v5 0 findings
	// vm-1 token 0x1234 memfd-v2: "guest memory"
	// error file.count-mismatch /LUO/sessions[0]/files
	//   7.2-7.3: rejected
}
