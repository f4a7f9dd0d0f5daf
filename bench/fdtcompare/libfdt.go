package fdtcompare

/*
#cgo LDFLAGS: -lfdt
#include <stddef.h>
#include <libfdt.h>

typedef struct {
	int  err;         // 0 or a negative FDT_ERR_* code
	long nodes;       // nodes visited, root included
	long props;       // properties visited
	long name_bytes;  // sum of node name lengths
	long value_bytes; // sum of property value lengths
} walk_result;

// walk visits every node and every property of an already checked blob
// with libfdt's offset API.
static walk_result walk(const void *blob) {
	walk_result r = {0};
	int depth = 0, node, prop, len;
	for (node = fdt_next_node(blob, -1, &depth); node >= 0 && depth > 0;
	     node = fdt_next_node(blob, node, &depth)) {
		const char *name = fdt_get_name(blob, node, &len);
		if (!name) { r.err = len; return r; }
		r.nodes++;
		r.name_bytes += len;
		for (prop = fdt_first_property_offset(blob, node); prop >= 0;
		     prop = fdt_next_property_offset(blob, prop)) {
			const char *pname;
			if (!fdt_getprop_by_offset(blob, prop, &pname, &len)) { r.err = len; return r; }
			r.props++;
			r.value_bytes += len;
		}
		if (prop != -FDT_ERR_NOTFOUND) { r.err = prop; return r; }
	}
	if (node < 0 && node != -FDT_ERR_NOTFOUND) r.err = node;
	return r;
}

// check_walk is fdt_check_full followed by a full walk, in one cgo call.
static walk_result check_walk(const void *blob, size_t size) {
	walk_result r = {0};
	r.err = fdt_check_full(blob, size);
	if (r.err) return r;
	return walk(blob);
}

// scratch holds the out-parameters of the per-call walk in C memory, so
// that passing their addresses does not move Go variables to the heap.
typedef struct {
	int depth;
	int len;
	const char *name;
} scratch;

static int check_full(const void *blob, size_t size) { return fdt_check_full(blob, size); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// WalkStats is what a full walk saw. All three implementations fill it
// the same way, so their results can be compared.
type WalkStats struct {
	Nodes, Props          int
	NameBytes, ValueBytes int // node name lengths, property value lengths
}

// LibfdtError is a libfdt error code (FDT_ERR_*), negated as libfdt
// returns it.
type LibfdtError int

func (e LibfdtError) Error() string {
	return fmt.Sprintf("libfdt: %s (%d)", C.GoString(C.fdt_strerror(C.int(e))), int(e))
}

func blobPtr(data []byte) unsafe.Pointer {
	if len(data) == 0 {
		return nil
	}
	return unsafe.Pointer(&data[0])
}

// LibfdtCheckFull runs fdt_check_full(data, len(data)).
func LibfdtCheckFull(data []byte) error {
	if rc := C.check_full(blobPtr(data), C.size_t(len(data))); rc != 0 {
		return LibfdtError(rc)
	}
	return nil
}

// LibfdtCheckWalk runs fdt_check_full and then walks every node and
// property with fdt_next_node, fdt_get_name, fdt_first_property_offset,
// fdt_next_property_offset and fdt_getprop_by_offset, all inside one cgo
// call so that the call overhead is paid once.
func LibfdtCheckWalk(data []byte) (WalkStats, error) {
	r := C.check_walk(blobPtr(data), C.size_t(len(data)))
	if r.err != 0 {
		return WalkStats{}, LibfdtError(r.err)
	}
	return WalkStats{Nodes: int(r.nodes), Props: int(r.props), NameBytes: int(r.name_bytes), ValueBytes: int(r.value_bytes)}, nil
}

// CBlob is a copy of a blob in C memory, for the per-call walk: libfdt
// functions called one by one from Go would otherwise each pass a Go
// pointer through the cgo pointer checks.
type CBlob struct {
	p    unsafe.Pointer
	size int
	out  *C.scratch // out-parameters in C memory: no escape, no allocation
}

// NewCBlob copies data into C memory. Free releases it.
func NewCBlob(data []byte) *CBlob {
	return &CBlob{p: C.CBytes(data), size: len(data), out: (*C.scratch)(C.calloc(1, C.size_t(unsafe.Sizeof(C.scratch{}))))}
}

// Free releases the C memory.
func (b *CBlob) Free() {
	C.free(b.p)
	C.free(unsafe.Pointer(b.out))
}

// Visitor receives what a per-call walk sees. depth is 0 for the root.
type Visitor struct {
	Node     func(depth int, name string)
	Property func(depth int, name string, value []byte)
}

// CheckWalkPerCall does what LibfdtCheckWalk does but with one cgo call per
// libfdt function call, as Go code using libfdt through cgo would. With a
// nil Visitor it only counts (no allocation); with one it also copies
// names and values into Go memory for the visitor.
func (b *CBlob) CheckWalkPerCall(v *Visitor) (WalkStats, error) {
	var s WalkStats
	if rc := C.fdt_check_full(b.p, C.size_t(b.size)); rc != 0 {
		return s, LibfdtError(rc)
	}
	o := b.out
	o.depth = 0
	node := C.fdt_next_node(b.p, -1, &o.depth)
	for ; node >= 0 && o.depth > 0; node = C.fdt_next_node(b.p, node, &o.depth) {
		d := int(o.depth) - 1
		name := C.fdt_get_name(b.p, node, &o.len)
		if name == nil {
			return s, LibfdtError(o.len)
		}
		s.Nodes++
		s.NameBytes += int(o.len)
		if v != nil {
			v.Node(d, C.GoStringN(name, o.len))
		}
		prop := C.fdt_first_property_offset(b.p, node)
		for ; prop >= 0; prop = C.fdt_next_property_offset(b.p, prop) {
			val := C.fdt_getprop_by_offset(b.p, prop, &o.name, &o.len)
			if val == nil {
				return s, LibfdtError(o.len)
			}
			s.Props++
			s.ValueBytes += int(o.len)
			if v != nil {
				v.Property(d, C.GoString(o.name), C.GoBytes(val, o.len))
			}
		}
		if prop != -C.FDT_ERR_NOTFOUND {
			return s, LibfdtError(prop)
		}
	}
	if node < 0 && node != -C.FDT_ERR_NOTFOUND {
		return s, LibfdtError(node)
	}
	return s, nil
}
