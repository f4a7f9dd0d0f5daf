package kho_test

import (
	"fmt"

	"github.com/khokit/khokit/kho"
)

// Recover the sessions of a handover whose luo_ser page was reused, as in
// an image taken after the kexec.
func ExampleRecoverLUO() {
	h := &kho.Handover{
		Compatible: "kho-v4",
		LUO: &kho.LUO{Compatible: "luo-v5", LiveupdateNumber: 1, Sessions: []kho.Session{{
			Name:  "vm-1",
			Files: []kho.File{{Compatible: "memfd-v2", Token: 7, Memfd: &kho.Memfd{}}},
		}}, FLBs: []kho.FLB{{Name: "liveupdate-test-flb-v0", Data: 1, Count: 1}}},
	}
	b, err := kho.Build(h, &kho.BuildOptions{Contents: map[kho.FileID][]byte{{Session: 0, File: 0}: []byte("guest RAM")}})
	if err != nil {
		panic(err)
	}
	// The new kernel frees luo_ser early in boot; its page is reused.
	if err := b.Mem.WriteAt(make([]byte, 4096), b.Layout.LUO); err != nil {
		panic(err)
	}
	got, err := kho.Decode(b.Mem, b.RootAddr, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("needs recovery:", kho.NeedsRecovery(got))
	rec, err := kho.RecoverLUO(b.Mem, got, nil, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("lost:", rec.Lost)
	for _, o := range append(rec.Sessions, rec.FLBs...) {
		fmt.Printf("%v at %#x: %v\n", o.Kind, o.Addr, o.Verdict)
	}
	f := got.LUO.Sessions[0].Files[0]
	data := make([]byte, f.Memfd.Size)
	kho.MemfdContents(b.Mem, f.Memfd, 4096).ReadAt(data, 0)
	fmt.Printf("session %q token %d: %q; FLB %s\n", got.LUO.Sessions[0].Name, f.Token, data, got.LUO.FLBs[0].Name)
	// Output:
	// needs recovery: true
	// lost: [luo_ser.liveupdate_num luo_ser.sessions_pa luo_ser.flbs_pa]
	// session-chain at 0x104000: chosen
	// flb-page at 0x103000: chosen
	// session "vm-1" token 7: "guest RAM"; FLB liveupdate-test-flb-v0
}
