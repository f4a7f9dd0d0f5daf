package fdtcompare

import (
	"fmt"

	"github.com/khokit/khokit/fdt"
)

// GeneratedTree builds, with fdt.Writer, a deterministic blob of 1,083,678
// bytes with 10,101 nodes and 40,101 properties: a root with 100 groups of
// 100 nodes, each node with a string list, a reg pair, an 8-byte value and
// a status string. It has the shape of the fdt package's own benchmark
// tree, so the numbers line up.
func GeneratedTree() ([]byte, error) {
	w := fdt.NewWriter()
	w.BeginNode("")
	w.Property("compatible", []byte("khokit,bench\x00"))
	value := make([]byte, 8)
	for g := range 100 {
		w.BeginNode(fmt.Sprintf("group@%x", g))
		w.Property("#address-cells", []byte{0, 0, 0, 1})
		for n := range 100 {
			w.BeginNode(fmt.Sprintf("node@%x", n))
			w.Property("compatible", []byte("khokit,bench-node\x00"))
			w.Property("reg", []byte{0, 0, 0, byte(n), 0, 0, 0x10, 0})
			w.Property("data", value)
			w.Property("status", []byte("okay\x00"))
			w.EndNode()
		}
		w.EndNode()
	}
	w.EndNode()
	// The Writer's first error sticks and Finish returns it.
	return w.Finish()
}
