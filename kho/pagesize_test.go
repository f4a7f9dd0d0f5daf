package kho

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/kho/physmem"
)

// TestPageSizeCapacities checks the per-page limits at each page size: an
// FLB page holds (PAGE_SIZE-16)/64 entries and a session block
// (PAGE_SIZE-16)/80; one more is a finding.
func TestPageSizeCapacities(t *testing.T) {
	for _, tc := range []struct {
		ps              uint64
		flbMax, sessMax uint64
	}{
		{4096, 63, 51},
		{16384, 255, 204},
		{65536, 1023, 819},
	} {
		for _, extra := range []uint64{0, 1} {
			t.Run(fmt.Sprintf("%dK+%d", tc.ps>>10, extra), func(t *testing.T) {
				mem := &physmem.Sparse{}
				if err := mem.AddRange(0, 1<<24, physmem.Present); err != nil {
					t.Fatal(err)
				}
				le := binary.LittleEndian
				flb, sess := tc.ps, 2*tc.ps
				page := make([]byte, tc.ps)
				le.PutUint64(page, 1)
				le.PutUint64(page[8:], tc.flbMax+extra)
				for i := uint64(0); i < tc.flbMax; i++ {
					e := page[16+i*64:]
					copy(e, fmt.Sprintf("flb-%d", i))
					le.PutUint64(e[56:], 1)
				}
				if err := mem.WriteAt(page, flb); err != nil {
					t.Fatal(err)
				}
				page = make([]byte, tc.ps)
				le.PutUint64(page[8:], tc.sessMax+extra)
				for i := uint64(0); i < tc.sessMax; i++ {
					copy(page[16+i*80:], fmt.Sprintf("s-%d", i))
				}
				if err := mem.WriteAt(page, sess); err != nil {
					t.Fatal(err)
				}
				l, fs, err := DecodeLUO(mem, LUO{Compatible: "luo-v5", SessionsAddr: sess, FLBsAddr: flb}, &Options{PageSize: tc.ps})
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				if extra > 0 {
					want = []string{"block.count-exceeds-block", "flb.count-exceeds-page"}
				} else if uint64(len(l.FLBs)) != tc.flbMax || uint64(len(l.Sessions)) != tc.sessMax {
					t.Errorf("%d FLBs, %d sessions; want %d, %d", len(l.FLBs), len(l.Sessions), tc.flbMax, tc.sessMax)
				}
				if d := cmp.Diff(want, handoverCodes(&Handover{Findings: fs})); d != "" {
					t.Errorf("codes (-want +got):\n%s", d)
				}
			})
		}
	}
}
