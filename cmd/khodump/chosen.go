package main

import (
	"github.com/khokit/khokit/kho"
	"github.com/khokit/khokit/kho/physmem"
)

// keepChosen records, for a root named by /chosen linux,kho-fdt in a boot
// FDT in memory, what the locator read through it: the boot FDT itself
// (Candidate.BootFDT, BootFDTSize) and the array its linux,kho-scratch
// names (BootScratch, BootScratchSize), so the carved core's root is still
// named by it and decodes with the same scratch. The locator gives both as
// it found them; nothing is read or located again. The sizes are still
// bounded as the locator bounds what it reads: a Candidate is plain data.
func keepChosen(o *options, rec *physmem.Recorder, c *kho.Candidate) {
	if c.BootFDTSize == 0 {
		return // no boot FDT in memory names the root
	}
	if c.BootFDTSize > kho.MaxBootFDTSize {
		o.note("boot FDT at %#x: %d bytes, more than the %d the locator reads: not kept", c.BootFDT, c.BootFDTSize, kho.MaxBootFDTSize)
		return
	}
	rec.Add(c.BootFDT, c.BootFDTSize)
	keepScratchArray(o, rec, "linux,kho-scratch in the boot FDT", c.BootFDT, c.BootScratch, c.BootScratchSize)
}
