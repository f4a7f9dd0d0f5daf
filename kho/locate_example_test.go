package kho_test

import (
	"fmt"

	"github.com/khokit/khokit/kho"
)

// Find the handover in a memory that holds it with its x86 setup_data.
func ExampleLocate() {
	b, err := kho.Build(&kho.Handover{Compatible: "kho-v4"}, &kho.BuildOptions{SetupData: true})
	if err != nil {
		panic(err)
	}
	cands, findings, err := kho.Locate(b.Mem, nil)
	if err != nil {
		panic(err)
	}
	for _, c := range cands {
		fmt.Printf("%#x %s %s: %s\n", c.Addr, c.Role, c.Compatible, c.Reason)
	}
	in, ok := kho.Incoming(cands)
	fmt.Println(len(findings), "findings; incoming:", ok, in.Addr == b.RootAddr)
	// Output:
	// 0x100000 incoming kho-v4: named by x86 setup_data SETUP_KEXEC_KHO node
	// 0 findings; incoming: true true
}
