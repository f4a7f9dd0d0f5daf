package fdt_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/khokit/khokit/fdt"
)

// Decode the KHO root FDT a kernel received and read a u64 property, which
// KHO stores in CPU byte order (little-endian on x86-64).
func ExampleDecode() {
	data, err := os.ReadFile("../testdata/fdt/kernel/kho_in_fdt_stage2.dtb")
	if err != nil {
		panic(err)
	}
	tree, err := fdt.Decode(data, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	compat, _ := tree.Root.Prop("compatible").String()
	luo := tree.Root.Child("LUO")
	pa, err := luo.Prop("preserved-data").U64In(binary.LittleEndian)
	fmt.Println(compat, luo.Path(), fmt.Sprintf("%#x", pa), err)
	// Output: kho-v4 /LUO 0x3b3000 <nil>
}

// A malformed blob gives a located error that wraps a sentinel.
func ExampleDecode_error() {
	data, _ := os.ReadFile("../testdata/fdt/malformed/duplicate-node.dtb")
	_, err := fdt.Decode(data, nil)
	fmt.Println(err)
	fmt.Println(errors.Is(err, fdt.ErrDuplicate))
	// Output:
	// fdt: offset 0x4c: /: duplicate sibling node "LUO" (first at 0x40)
	// true
}

// Lenient mode reads the kernel's truncated debugfs copy and says what it
// tolerated.
func ExampleOptions_lenient() {
	data, _ := os.ReadFile("../testdata/fdt/kernel/kho_out_fdt_debugfs_233.bin")
	tree, err := fdt.Decode(data, &fdt.Options{Lenient: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tree.Findings[0])
	// Output: fdt.truncated-tail at 0xe9: blob is 233 bytes, header totalsize is 285
}

// Walk every token without allocating.
func ExampleIterator() {
	data, _ := os.ReadFile("../testdata/fdt/kernel/kho_in_fdt_stage2.dtb")
	var it fdt.Iterator
	if err := it.Reset(data, nil); err != nil {
		fmt.Println(err)
		return
	}
	for it.Next() {
		if tok := it.Token(); tok.Kind == fdt.TokenBeginNode {
			fmt.Printf("%#x depth %d %q\n", tok.Offset, tok.Depth, tok.Name)
		}
	}
	fmt.Println(it.Err())
	// Output:
	// 0x38 depth 0 ""
	// 0x68 depth 1 "LUO"
	// 0x9c depth 1 "kexec-metadata"
	// <nil>
}

// Build a blob and print it as DTS.
func ExampleWriter() {
	w := fdt.NewWriter()
	w.AddReservation(0x1000, 0x2000)
	w.BeginNode("")
	w.Property("compatible", []byte("kho-v4\x00"))
	w.BeginNode("LUO")
	w.Property("blob-size", binary.LittleEndian.AppendUint64(nil, 32))
	w.EndNode()
	w.EndNode()
	blob, err := w.Finish()
	if err != nil {
		fmt.Println(err)
		return
	}
	tree, _ := fdt.Decode(blob, nil)
	fdt.WriteDTS(os.Stdout, tree)
	// Output:
	// /dts-v1/;
	//
	// /memreserve/ 0x1000 0x2000;
	//
	// / {
	// 	compatible = "kho-v4";
	// 	LUO {
	// 		blob-size = <0x20000000 0x0>; /* u64 le 0x20 */
	// 	};
	// };
}

// Validate a blob completely and list its nodes in one pass. A Validator
// kept by the caller reuses its scratch space, so walking further blobs
// does not allocate.
func ExampleValidator() {
	data, err := os.ReadFile("../testdata/fdt/kernel/kho_in_fdt_stage2.dtb")
	if err != nil {
		panic(err)
	}
	var v fdt.Validator
	if err := v.Reset(data, nil); err != nil {
		fmt.Println(err)
		return
	}
	for v.Next() {
		if tok := v.Token(); tok.Kind == fdt.TokenBeginNode {
			fmt.Printf("%d %q\n", tok.Depth, tok.Name)
		}
	}
	fmt.Println(v.Err())

	dup, _ := os.ReadFile("../testdata/fdt/malformed/duplicate-node.dtb")
	fmt.Println(v.Validate(dup, nil))
	// Output:
	// 0 ""
	// 1 "LUO"
	// 1 "kexec-metadata"
	// <nil>
	// fdt: offset 0x4c: /: duplicate sibling node "LUO" (first at 0x40)
}
