package kho

import (
	"fmt"

	"github.com/khokit/khokit/format"
)

// kho_block_header_ser: {next u64, count u64}, entries follow back to back.
var blockHeaderSize = uint64((format.BlockHeader{}).Format().Size)

// walkBlocks walks a linked-block chain (abi.md §4.4, rule 17) from head
// and returns the entries of entrySize bytes, back to back, with the
// physical address of each. ctx names the
// chain kind for kernel impacts ("sessions", "files"). ok is false when
// the chain is broken; the entries of the blocks before the bad one are
// still returned, as the bytes are there to see.
func (d *decoder) walkBlocks(path, ctx string, head, entrySize, perBlock uint64) (entries []byte, addrs []uint64, ok bool) {
	buf := d.scratchPage(&d.blockBuf)
	n := 0
	for pa := head; pa != 0; n++ {
		bpath := fmt.Sprintf("%s/blocks[%d]", path, n)
		if owner, seen := d.blockOwner[pa]; seen {
			if owner == path {
				d.add("block.cycle", ctx, bpath, pa, "block %#x already in this chain", pa)
			} else {
				d.add("block.shared", ctx, bpath, pa, "block %#x already belongs to %s", pa, owner)
			}
			return entries, addrs, false
		}
		if n >= d.opts.MaxBlocks {
			d.add("block.too-many", ctx, bpath, pa, "chain longer than %d blocks", d.opts.MaxBlocks)
			return entries, addrs, false
		}
		if d.totalBlocks >= d.opts.MaxTotalBlocks {
			d.add("block.total-limit", ctx, bpath, pa, "more than %d blocks in all chains", d.opts.MaxTotalBlocks)
			return entries, addrs, false
		}
		if d.blockOwner == nil {
			d.blockOwner = make(map[uint64]string)
		}
		d.blockOwner[pa] = path
		d.totalBlocks++
		if !d.check(bpath, "block", pa, d.geo.pageSize, need{align: d.geo.pageSize, preserved: true, order: 0, ctx: "block"}) ||
			!d.readInto(bpath, "block", pa, buf) {
			return entries, addrs, false
		}
		h, err := format.DecodeBlockHeader(buf)
		if err != nil {
			d.add("ptr.read-failed", ctx, bpath, pa, "%v", err)
			return entries, addrs, false
		}
		next, count := h.Next, h.Count
		if count == 0 {
			d.add("block.count-zero", ctx, bpath, pa, "block count is 0")
			return entries, addrs, false
		}
		if count > perBlock {
			d.add("block.count-exceeds-block", ctx, bpath, pa, "block count %d > %d entries of %d bytes", count, perBlock, entrySize)
			return entries, addrs, false
		}
		entries = append(entries, buf[blockHeaderSize:blockHeaderSize+count*entrySize]...)
		for i := uint64(0); i < count; i++ {
			addrs = append(addrs, pa+blockHeaderSize+i*entrySize)
		}
		pa = next
	}
	return entries, addrs, true
}
