package kho_test

import (
	"fmt"

	"github.com/khokit/khokit/kho"
)

// Decode a handover's preserved-memory map on its own, twice with one
// MapDecoder: the second decode reuses the first one's memory.
func ExampleMapDecoder() {
	built, err := kho.Build(&kho.Handover{
		Compatible: "kho-v4",
		LUO:        &kho.LUO{Compatible: "luo-v5", Sessions: []kho.Session{{Name: "vm-1"}}},
	}, nil)
	if err != nil {
		panic(err)
	}
	h, err := kho.Decode(built.Mem, built.RootAddr, nil)
	if err != nil {
		panic(err)
	}

	md, err := kho.NewMapDecoder(nil)
	if err != nil {
		panic(err)
	}
	for range 2 {
		m, findings, err := md.Decode(built.Mem, h.MemoryMap.Kind, h.MemoryMap.Addr)
		if err != nil {
			panic(err)
		}
		blocks, bytes := m.Totals()
		fmt.Println(m.Kind, len(m.Runs), "runs,", blocks, "blocks,", bytes, "bytes,", len(findings), "findings")
	}

	// A pointer that is not page-aligned is a finding, not an error.
	_, findings, _ := md.Decode(built.Mem, kho.MapRadix, h.MemoryMap.Addr+8)
	for _, f := range findings {
		fmt.Println(f.Severity, f.Code)
	}
	// Output:
	// radix 2 runs, 4 blocks, 16384 bytes, 0 findings
	// radix 2 runs, 4 blocks, 16384 bytes, 0 findings
	// error ptr.unaligned
}
