package kho

import (
	"fmt"

	"github.com/khokit/khokit/kho/physmem"
)

// A MapDecoder decodes preserved-memory maps on their own, without the
// root FDT and subtrees around them, with the checks [DecodeRoot] makes of
// its map. It keeps its memory from one Decode to the next: an agent that
// checks radix maps (kho-v2 on) again and again, or a fuzz loop, then
// allocates next to nothing per map, where a decode of a whole handover
// allocates the map's runs each time (32 KB for 2,000 runs). So do kho-v1
// chunk lists, but for the messages of findings: unless
// Options.KHOv1Bitmap names the bitmap size, one says which was read.
//
// Until it is dropped, it holds on to the memory of the largest maps it
// decoded: the largest result, for chunk lists the most runs in list
// order, and for each order the longest list of runs of that order a
// walk made (radix and chunk walks each their own, so up to 64 and
// MaxPageOrder+1 lists), each up to Options.MaxRuns runs and one leaf's
// or bitmap's worth past it (PageSize*4 runs), at 16 bytes a run; and
// merge buffers of up to 65,536 runs each.
//
// A MapDecoder is not safe for concurrent use.
type MapDecoder struct {
	opts    Options
	geo     geometry
	scr     scratchSet // opts.Scratch, sorted once
	h       Handover   // the map and findings of the last Decode
	runs    []Run      // the largest Runs so far, for the next map's
	counts  map[string]int
	scratch *radixScratch
	chunks  *chunkScratch
	d       decoder // kept here, not made per Decode: it escapes
}

// NewMapDecoder returns a MapDecoder with opts (nil means the defaults).
// It fails only when opts are invalid (ErrOptions).
func NewMapDecoder(opts *Options) (*MapDecoder, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &MapDecoder{opts: o, geo: newGeometry(o.PageSize), scr: newScratchSet(o.Scratch)}, nil
}

// Decode decodes the map at addr in mem: a kho-v1 chunk list (MapChunk)
// or a kho-v2 and later radix tree (MapRadix). It returns the map and
// the findings about it, as DecodeRoot would report them for a root
// naming that map, except that it does not judge whether the map can
// vouch for a handover (the map.unusable finding).
//
// The map, its Runs and the findings are valid until the next call of
// Decode, which reuses their memory: copy what must outlive it. A kind
// other than MapChunk and MapRadix is an error wrapping ErrOptions.
func (md *MapDecoder) Decode(mem physmem.Memory, kind MapKind, addr uint64) (*MemoryMap, []Finding, error) {
	if kind != MapChunk && kind != MapRadix {
		return nil, nil, fmt.Errorf("%w: map kind %v", ErrOptions, kind)
	}
	clear(md.counts)
	md.h = Handover{
		MemoryMap: MemoryMap{Addr: addr, Kind: kind, Runs: md.runs[:0]},
		Findings:  md.h.Findings[:0],
	}
	d := &md.d
	*d = decoder{mem: mem, opts: md.opts, geo: md.geo, scr: md.scr, h: &md.h, codeCounts: md.counts}
	if kind == MapChunk {
		if md.chunks == nil {
			md.chunks = newChunkScratch(md.geo)
		}
		d.decodeChunksWith(addr, md.chunks)
	} else {
		if md.scratch == nil {
			md.scratch = newRadixScratch(md.geo)
		}
		d.decodeRadixWith(addr, md.scratch)
	}
	d.finish()
	md.counts = d.codeCounts
	d.mem = nil // do not pin the caller's memory
	if cap(md.h.MemoryMap.Runs) > cap(md.runs) {
		md.runs = md.h.MemoryMap.Runs[:0]
	}
	return &md.h.MemoryMap, md.h.Findings, nil
}
