package main

import (
	"regexp"
	"strconv"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/physmem"
)

// The locator's limits on boot FDTs it reads while looking for /chosen
// (kho/locate.go): one is read whole up to 1 MiB, all of them up to
// 64 MiB. carve keeps no more than the locator read.
const (
	maxChosenFDT    = 1 << 20
	chosenFDTBudget = 64 << 20
)

// chosenEvidence is the locator's evidence line for a root named by a boot
// FDT it found in memory. kho.Candidate has no field for that FDT's
// address; this line is the only place it is given.
var chosenEvidence = regexp.MustCompile(`^boot FDT at (0x[0-9a-f]+): /chosen linux,kho-fdt = <`)

// keepChosen records, for a root named by /chosen linux,kho-fdt in a boot
// FDT in memory, that boot FDT and what the locator reads through it (the
// root, the linux,kho-scratch array), so the carved core's root is still
// named by it. Each address from the evidence is checked by locating with
// the FDT read there as the boot FDT: it is kept only if it names c again.
func keepChosen(o *options, mem physmem.Memory, rec *physmem.Recorder, c *kho.Candidate) {
	var budget uint64
	for _, e := range c.Evidence {
		m := chosenEvidence.FindStringSubmatch(e)
		if m == nil {
			continue
		}
		addr, err := strconv.ParseUint(m[1], 0, 64)
		if err != nil {
			continue
		}
		blob, ok := readBootFDT(mem, addr, &budget)
		if !ok || !namesRoot(mem, o, blob, c.Addr) {
			o.note("boot FDT at %#x: it does not name the root at %#x through /chosen on a second read; not kept", addr, c.Addr)
			continue
		}
		rec.Add(addr, uint64(len(blob)))
		namesRoot(rec, o, blob, c.Addr) // records the root and scratch array as the locator reads them
	}
}

// readBootFDT reads the FDT at addr whole, within the locator's limits;
// budget counts the bytes read so far.
func readBootFDT(mem physmem.Memory, addr uint64, budget *uint64) ([]byte, bool) {
	var hdr [fdt.SizePrefixLen]byte
	if _, err := mem.ReadAt(hdr[:], addr); err != nil {
		return nil, false
	}
	magic, total, _ := fdt.SizePrefix(hdr[:])
	if magic != fdt.Magic || total > maxChosenFDT || *budget+uint64(total) > chosenFDTBudget {
		return nil, false
	}
	*budget += uint64(total)
	blob, err := physmem.Read(mem, addr, int(total), maxChosenFDT)
	return blob, err == nil
}

// namesRoot reports whether bootFDT's /chosen names the KHO root at root
// in mem, as the locator sees it (no scan).
func namesRoot(mem physmem.Memory, o *options, bootFDT []byte, root uint64) bool {
	cands, _, err := kho.Locate(mem, &kho.LocateOptions{BootFDT: bootFDT, Scan: kho.ScanNever, PageSize: o.pageSize})
	if err != nil {
		return false
	}
	for _, c := range cands {
		if c.Addr == root && c.Role == kho.RoleIncoming {
			return true
		}
	}
	return false
}
