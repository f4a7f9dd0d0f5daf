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

// Decode the incoming handover Locate found, with the scratch regions its
// handoff names: Candidate.Scratch is Options.Scratch's type.
func ExampleLocate_decode() {
	b, err := kho.Build(&kho.Handover{Compatible: "kho-v4", KexecMetadata: &kho.KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 1}},
		&kho.BuildOptions{SetupData: true})
	if err != nil {
		panic(err)
	}
	cands, _, err := kho.Locate(b.Mem, nil)
	if err != nil {
		panic(err)
	}
	in, ok := kho.Incoming(cands)
	if !ok {
		panic("no incoming handover")
	}
	h, err := kho.Decode(b.Mem, in.Addr, &kho.Options{Scratch: in.Scratch})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(in.Scratch), "scratch regions; as built:", fmt.Sprint(in.Scratch) == fmt.Sprint(b.Scratch))
	fmt.Println(h.KexecMetadata.PreviousRelease, len(h.Findings), "findings")
	// Output:
	// 1 scratch regions; as built: true
	// 7.3.4 0 findings
}
