package fdttest

import (
	"fmt"

	"github.com/khokit/khokit/fdt"
)

// GenerateTree builds a blob with a root holding groups nodes named
// group@N, each holding nodesPerGroup nodes named node@N with a
// compatible string, a reg pair, an 8-byte zero value and a status
// string. GenerateTree(100, 100) is 1,083,678 bytes with 10,101 nodes and
// 40,101 properties. The error is the Writer's, for counts so large the
// blob would exceed what the format can hold.
func GenerateTree(groups, nodesPerGroup int) ([]byte, error) {
	w := fdt.NewWriter()
	w.BeginNode("")
	w.Property("compatible", []byte("khokit,bench\x00"))
	value := make([]byte, 8)
	for g := range groups {
		w.BeginNode(fmt.Sprintf("group@%x", g))
		w.Property("#address-cells", []byte{0, 0, 0, 1})
		for n := range nodesPerGroup {
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
