package kho_test

import (
	"encoding/binary"
	"fmt"

	"github.com/khokit/khokit/fdt"
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

// An arm64 kernel is handed its root by /chosen linux,kho-fdt in its boot
// FDT: a boot FDT in memory that names the root is given as data
// (Candidate.BootFDT, BootFDTSize), with its linux,kho-scratch array
// (BootScratch, BootScratchSize), for a tool that must keep or show it.
func ExampleLocate_bootFDT() {
	b, err := kho.Build(&kho.Handover{Compatible: "kho-v4"}, &kho.BuildOptions{SetupData: true})
	if err != nil {
		panic(err)
	}
	// No x86 handoff: wipe the boot_params page and the setup_data node,
	// keep the scratch array.
	if err := b.Mem.WriteAt(make([]byte, 4096), b.Layout.BootParams); err != nil {
		panic(err)
	}
	if err := b.Mem.WriteAt(make([]byte, 48), b.SetupDataAddr); err != nil {
		panic(err)
	}
	pair := func(addr, size uint64) []byte { // <addr size> in 2+2 cells
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, addr), size)
	}
	w := fdt.NewWriter() // a Writer's errors stick: Finish returns the first
	w.BeginNode("")
	w.Property("#address-cells", []byte{0, 0, 0, 2})
	w.Property("#size-cells", []byte{0, 0, 0, 2})
	w.BeginNode("chosen")
	w.Property("linux,kho-fdt", pair(b.RootAddr, 4096))
	w.Property("linux,kho-scratch", pair(b.Layout.ScratchArray, 16))
	w.EndNode()
	w.EndNode()
	boot, err := w.Finish()
	if err != nil {
		panic(err)
	}
	const bootAt = 200 << 20
	if err := b.Mem.WriteAt(boot, bootAt); err != nil {
		panic(err)
	}
	cands, findings, err := kho.Locate(b.Mem, nil)
	if err != nil {
		panic(err)
	}
	in, ok := kho.Incoming(cands)
	fmt.Println(ok, in.Role, in.Reason, len(findings), "findings")
	fmt.Printf("boot FDT at %#x, %d bytes (as written: %v)\n", in.BootFDT, in.BootFDTSize, in.BootFDTSize == uint64(len(boot)))
	fmt.Printf("scratch array %d bytes, the built one: %v\n", in.BootScratchSize, in.BootScratch == b.Layout.ScratchArray)
	// Output:
	// true incoming named by /chosen linux,kho-fdt 0 findings
	// boot FDT at 0xc800000, 235 bytes (as written: true)
	// scratch array 16 bytes, the built one: true
}
