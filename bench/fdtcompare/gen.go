package fdtcompare

import "github.com/khokit/khokit/fdt/fdttest"

// GeneratedTree is fdttest.GenerateTree(100, 100): a deterministic blob of
// 1,083,678 bytes with 10,101 nodes and 40,101 properties, the same tree
// the fdt package's own benchmarks measure, so the numbers line up.
func GeneratedTree() ([]byte, error) {
	return fdttest.GenerateTree(100, 100)
}
