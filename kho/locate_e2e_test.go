package kho

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/khokit/khokit/kho/physmem"
)

// TestLocateE2EDumps runs the locator over the real-kernel dumps the e2e
// harness leaves in e2eDumpDir (post-kexec and at-kexec, ELF and
// kdump). It checks what real-kernel.md says a 7.3.4 post-kexec image
// holds: one incoming root named by setup_data, the new kernel's outgoing
// root with a kexec count one higher, and nothing else taken for the
// incoming handover.
func TestLocateE2EDumps(t *testing.T) {
	dir := e2eDumpDir()
	for _, name := range []string{"post-kexec.elf", "post-kexec.kdump", "at-kexec.elf", "at-kexec.kdump"} {
		t.Run(name, func(t *testing.T) {
			im := openE2EImage(t, filepath.Join(dir, name))
			start := time.Now()
			cs, fs, err := Locate(im.Memory, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: scan took %v", name, time.Since(start))
			for _, c := range cs {
				t.Logf("  %#x %s %s kexec=%d sessions=%#x scratch=%#x: %s %v", c.Addr, c.Role, c.Compatible, c.KexecCount, c.LUOSessions, c.Scratch, c.Reason, c.Evidence)
			}
			for _, f := range fs {
				t.Logf("  finding %v", f)
			}
			in, ok := Incoming(cs)
			if !ok {
				t.Fatalf("no incoming handover among %d candidates", len(cs))
			}
			// Post-kexec, luo_ser is freed and the radix map overwritten
			// (real-kernel.md): the decode shows what is left, not a failure.
			if h, err := Decode(im.Memory, in.Addr, &Options{Scratch: in.Scratch}); err != nil {
				t.Errorf("decoding the located root: %v", err)
			} else {
				files := 0
				if h.LUO != nil {
					for _, s := range h.LUO.Sessions {
						files += len(s.Files)
					}
				}
				codes := map[string]int{}
				for _, f := range h.Findings {
					codes[f.Code]++
				}
				t.Logf("  decoded: %s, LUO %v, %d files, findings %v", h.Compatible, h.LUO != nil, files, codes)
				if h.LUO != nil {
					e2eFLBs(t, im.Memory, h, files)
				}
			}
			switch name[:len("post-kexec")] {
			case "post-kexec":
				if in.Role != RoleIncoming || in.Handoff == nil {
					t.Errorf("post-kexec: incoming %#x is %v, not named by setup_data", in.Addr, in.Role)
				}
				for _, c := range cs {
					if c.Role == RoleOutgoing && c.KexecCount != in.KexecCount+1 {
						t.Errorf("outgoing %#x has kexec count %d, incoming %d", c.Addr, c.KexecCount, in.KexecCount)
					}
				}
			default:
				// At kexec the first kernel's own root is the handover; the
				// boot_params staged for the next kernel are not at their
				// destination yet.
				t.Logf("at-kexec: handover %#x (%v)", in.Addr, in.Role)
			}
		})
	}
}

// e2eFLBs runs the FLB models on a real FLB page: the test FLBs of the
// LUO test module, each counted once per preserved memfd.
func e2eFLBs(t *testing.T, mem physmem.Memory, h *Handover, files int) {
	for _, f := range h.LUO.FLBs {
		for _, m := range []KernelModel{Hardened, Mainline70, Mainline71, Mainline72, Mainline73} {
			r, fs := RetrieveFLB(mem, h.LUO.FLBsAddr, f.Name, m, nil)
			o := SimulateFLBFiles(mem, h.LUO.FLBsAddr, f.Name, m, nil, files, true, nil)
			t.Logf("  FLB %s under %v: found %v count %d, %d findings; %d files finished: finish() %d, impacts %v",
				f.Name, m, r.Found, r.Count, len(fs), files, o.FinishCalls, o.Impacts)
			if uint64(files) == f.Count && (!r.Found || o.FinishCalls != 1 || len(o.Impacts) != 0) {
				t.Errorf("FLB %s under %v: a count equal to the files must retrieve and finish once cleanly", f.Name, m)
			}
		}
	}
}
