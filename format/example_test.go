package format_test

import (
	"fmt"
	"os"

	"github.com/khokit/khokit/format"
)

// Decode the FLB page a 7.3.4 kernel handed over, and encode it back.
func ExampleDecodeFLBPage() {
	b, err := os.ReadFile("../testdata/vectors/linux-7.3.4-x86_64/flb_block_0x3b8000.bin")
	if err != nil {
		fmt.Println(err)
		return
	}
	page, err := format.DecodeFLBPage(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("pgcnt %d, count %d\n", page.Header.PgCnt, page.Header.Count)
	for _, e := range page.Entries {
		fmt.Printf("%s data=%#x count=%d terminated=%v\n", e.Name, e.Data, e.Count, e.Name.Terminated())
	}
	enc, _ := format.Encode(page)
	fmt.Println("re-encoded bytes equal:", string(enc) == string(b))
	// Output:
	// pgcnt 1, count 3
	// liveupdate-test-flb-v0 data=0xfeedf00dcafebee0 count=1 terminated=true
	// liveupdate-test-flb-v1 data=0xfeedf00dcafebee1 count=1 terminated=true
	// liveupdate-test-flb-v2 data=0xfeedf00dcafebee2 count=1 terminated=true
	// re-encoded bytes equal: true
}

// A radix key for an order-9 (2 MiB) block at 4 KiB pages, its path through
// the tree, and back.
func ExampleRadixGeometry_Key() {
	g, _ := format.RadixFor(format.Page4K)
	key, err := g.Key(0x40200000, 9, format.DefaultMaxPageOrder)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("key %#x, depth %d\n", key, g.Depth)
	for level := g.RootLevel(); level >= 0; level-- {
		fmt.Printf("level %d index %d\n", level, g.Index(key, level))
	}
	pa, order, err := g.Decode(key, format.DefaultMaxPageOrder)
	fmt.Printf("pa %#x order %d err %v\n", pa, order, err)
	// Output:
	// key 0x80000000201, depth 6
	// level 5 index 0
	// level 4 index 2
	// level 3 index 0
	// level 2 index 0
	// level 1 index 0
	// level 0 index 513
	// pa 0x40200000 order 9 err <nil>
}

// Look a format up by the name khodump show --as takes and list its fields.
func ExampleLookup() {
	f, err := format.Lookup("luo-ser")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f, f.Size, "bytes")
	for _, fl := range f.Fields {
		fmt.Printf("%3d %2d %-6v %s\n", fl.Offset, fl.Size, fl.Type, fl.Name)
	}
	// Output:
	// luo-ser (luo-v5, mainline 7.2-rc1) 32 bytes
	//   0  8 chars  compatible
	//   8  8 u64    liveupdate_num
	//  16  8 phys   sessions_pa
	//  24  8 phys   flbs_pa
}

func ExampleParseCompat() {
	c, err := format.ParseCompat("kho-v4;radix-v1;vmalloc-v1")
	fmt.Println(c.Base, c.Components, c.Has("radix-v1"), err)
	_, err = format.ParseCompat("kho-v4;vmalloc-v1;radix-v1")
	fmt.Println(err)
	// Output:
	// kho-v4 [radix-v1 vmalloc-v1] true <nil>
	// format: compatible "kho-v4;vmalloc-v1;radix-v1": component "radix-v1" not after "vmalloc-v1" (must be alphabetical, no repeats): malformed compatible
}
