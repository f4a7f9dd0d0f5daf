// Command e2etool is the host-side helper of the khokit end-to-end harness
// (e2e/run.sh):
//
//	e2etool expected -console LOG -compat FILE -source "PKG VER" -o expected.json
//	    reassemble the guest's JSON from the serial console and write expected.json
//	e2etool names expected.json
//	    print the session names, one a line
//	e2etool retrieved -console LOG [-expected expected.json]
//	    compare what a verify boot retrieved after the kexec with what it preserved
//	e2etool scan IMAGE.elf
//	    list KHO FDTs (with their nodes and u64 properties), luo_ser, FLB
//	    pages and session/file blocks found in an ELF core by physical address
//
// It is a harness tool, not a decoder: the scan is a quick look at where
// things are, for humans and for checking that a capture is usable.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "expected":
		err = cmdExpected(os.Args[2:])
	case "names":
		err = cmdNames(os.Args[2:])
	case "retrieved":
		err = cmdRetrieved(os.Args[2:])
	case "scan":
		err = cmdScan(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2etool:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: e2etool expected|names|retrieved|scan ... (see go doc ./e2e/e2etool)")
	os.Exit(2)
}
