package kho_test

import (
	"fmt"

	"github.com/khokit/khokit/kho"
)

// Ask what each kernel does with an FLB entry whose count is 0.
func ExampleRetrieveFLB() {
	h := &kho.Handover{Compatible: "kho-v4", LUO: &kho.LUO{Compatible: "luo-v5", LiveupdateNumber: 1,
		FLBs: []kho.FLB{{Name: "pci-v1", Data: 0x5000, Count: 0}}}}
	b, err := kho.Build(h, nil)
	if err != nil {
		panic(err)
	}
	for _, m := range []kho.KernelModel{kho.Hardened, kho.Mainline71, kho.Mainline73} {
		r, findings := kho.RetrieveFLB(b.Mem, b.Handover.LUO.FLBsAddr, "pci-v1", m, nil)
		fmt.Printf("%s: err %v found %v refcount %d findings %d\n", m, r.Err, r.Found, r.Refcount, len(findings))
		for _, i := range r.Impacts {
			fmt.Printf("  %s: %s\n", i.Effect, i.Detail)
		}
	}
	// Output:
	// hardened: err EINVAL found false refcount 0 findings 1
	//   rejected: the FLB page fails validation; every retrieve returns -EINVAL and no FLB is finished
	// 7.1: err 0 found true refcount 0 findings 1
	//   leak: count 0: the first dependent file's finish decrements it to -1; finish() never runs
	// 7.3: err 0 found true refcount 0 findings 1
	//   leak: count 0: get_incoming's increment from 0 WARNs and saturates; finish() never runs
}

// Finish two files that depend on an FLB whose stored count is 1.
func ExampleSimulateFLBFiles() {
	h := &kho.Handover{Compatible: "kho-v4", LUO: &kho.LUO{Compatible: "luo-v5", LiveupdateNumber: 1,
		FLBs: []kho.FLB{{Name: "pci-v1", Data: 0x5000, Count: 1}}}}
	b, err := kho.Build(h, nil)
	if err != nil {
		panic(err)
	}
	o := kho.SimulateFLBFiles(b.Mem, b.Handover.LUO.FLBsAddr, "pci-v1", kho.Mainline73, nil, 2, true, nil)
	fmt.Printf("retrieve() %d, finish() %d\n", o.RetrieveCalls, o.FinishCalls)
	for _, i := range o.Impacts {
		fmt.Printf("%s: %s\n", i.Effect, i.Detail)
	}
	// Output:
	// retrieve() 1, finish() 1
	// use-after-free: a put after finish() underflows the refcount: its caller still used the object finish() released
	// use-after-free: finish() ran while other files still depended on the FLB object
}
