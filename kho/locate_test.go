package kho

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/format"
	"github.com/khokit/khokit/kho/physmem"
)

// roleSummary is what the locator tests compare: address, role and the
// source that named it.
type roleSummary struct {
	Addr uint64
	Role Role
}

func roles(cs []Candidate) []roleSummary {
	var out []roleSummary
	for _, c := range cs {
		out = append(out, roleSummary{c.Addr, c.Role})
	}
	return out
}

func findingCodes(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func mustWrite(t *testing.T, m *physmem.Sparse, p []byte, addr uint64) {
	t.Helper()
	if err := m.WriteAt(p, addr); err != nil {
		t.Fatal(err)
	}
}

// postKexec builds what a post-kexec image holds: the incoming handover
// (kexec count 1, named by setup_data when withSetupData), the new
// kernel's outgoing root (count 2, no sessions) and a byte copy of the
// incoming root, the way real-kernel.md describes a 7.3.4 image.
func postKexec(t *testing.T, withSetupData bool) (in *Built, out *Built, copyAt uint64) {
	t.Helper()
	in, err := Build(vectorHandover(), &BuildOptions{SetupData: withSetupData, Contents: map[FileID][]byte{{0, 0}: []byte("hello")}})
	if err != nil {
		t.Fatal(err)
	}
	outH := &Handover{Compatible: "kho-v4",
		LUO:           &LUO{Compatible: "luo-v5", LiveupdateNumber: 2},
		KexecMetadata: &KexecMetadata{Version: 1, PreviousRelease: "7.3.4", KexecCount: 2}}
	out, err = Build(outH, &BuildOptions{Mem: in.Mem, Base: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	copyAt = 100 << 20
	mustWrite(t, in.Mem, readPhys(t, in.Mem, in.RootAddr, 4096), copyAt)
	return in, out, copyAt
}

func TestLocatePostKexec(t *testing.T) {
	in, out, copyAt := postKexec(t, true)
	cs, fs, err := Locate(in.Mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []roleSummary{{in.RootAddr, RoleIncoming}, {out.RootAddr, RoleOutgoing}, {copyAt, RoleCopy}}
	if diff := cmp.Diff(want, roles(cs)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if len(fs) != 0 {
		t.Errorf("findings: %v", fs)
	}
	c := cs[0]
	wantKD := &KHOData{Node: in.SetupDataAddr, Len: 32, FDTAddr: in.RootAddr, FDTSize: 4096, ScratchAddr: in.Layout.ScratchArray, ScratchSize: 16}
	if diff := cmp.Diff(wantKD, c.Handoff); diff != "" {
		t.Errorf("kho_data (-want +got):\n%s", diff)
	}
	if c.KexecCount != 1 || cs[1].KexecCount != 2 || cs[1].LUOSessions != 0 || c.LUOSessions == 0 {
		t.Errorf("kexec counts %d/%d, sessions %#x/%#x", c.KexecCount, cs[1].KexecCount, c.LUOSessions, cs[1].LUOSessions)
	}
	if !strings.Contains(c.Reason, "setup_data") || !strings.Contains(cs[2].Reason, "copy") {
		t.Errorf("reasons: %q / %q", c.Reason, cs[2].Reason)
	}
	got, ok := Incoming(cs)
	if !ok || got.Addr != in.RootAddr {
		t.Errorf("Incoming = %#x, %v; want %#x", got.Addr, ok, in.RootAddr)
	}
	// What the locator names decodes to the handover that was built.
	h, err := Decode(in.Mem, got.Addr, &Options{Scratch: in.Scratch})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in.Handover, h); diff != "" {
		t.Errorf("decoded incoming (-built +decoded):\n%s", diff)
	}
}

func TestLocateScanOnly(t *testing.T) {
	t.Run("one root", func(t *testing.T) {
		b, err := Build(vectorHandover(), nil)
		if err != nil {
			t.Fatal(err)
		}
		cs, fs, err := Locate(b.Mem, nil)
		if err != nil || len(fs) != 0 {
			t.Fatal(err, fs)
		}
		if diff := cmp.Diff([]roleSummary{{b.RootAddr, RoleUnknown}}, roles(cs)); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}
		if got, ok := Incoming(cs); !ok || got.Addr != b.RootAddr {
			t.Errorf("Incoming = %#x, %v", got.Addr, ok)
		}
	})
	t.Run("with outgoing and copy", func(t *testing.T) {
		in, out, copyAt := postKexec(t, false)
		cs, _, err := Locate(in.Mem, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []roleSummary{{in.RootAddr, RoleUnknown}, {out.RootAddr, RoleOutgoing}, {copyAt, RoleCopy}}
		if diff := cmp.Diff(want, roles(cs)); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}
		if got, ok := Incoming(cs); !ok || got.Addr != in.RootAddr {
			t.Errorf("Incoming = %#x, %v; want %#x", got.Addr, ok, in.RootAddr)
		}
	})
	t.Run("boot_params lost, SETUP_KEXEC_KHO node found directly", func(t *testing.T) {
		in, out, copyAt := postKexec(t, true)
		mustWrite(t, in.Mem, make([]byte, 4096), in.Layout.BootParams)
		cs, fs, err := Locate(in.Mem, nil)
		if err != nil || len(fs) != 0 {
			t.Fatal(err, fs)
		}
		want := []roleSummary{{in.RootAddr, RoleIncoming}, {out.RootAddr, RoleOutgoing}, {copyAt, RoleCopy}}
		if diff := cmp.Diff(want, roles(cs)); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}
		if !strings.Contains(cs[0].Reason, "scanning") {
			t.Errorf("reason %q does not say the node was found by scanning", cs[0].Reason)
		}
	})
	t.Run("two unrelated roots", func(t *testing.T) {
		a, err := Build(vectorHandover(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Build(&Handover{Compatible: "kho-v1"}, &BuildOptions{Mem: a.Mem, Base: 64 << 20}); err != nil {
			t.Fatal(err)
		}
		cs, _, err := Locate(a.Mem, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 2 || cs[0].Role != RoleUnknown || cs[1].Role != RoleUnknown {
			t.Fatalf("candidates %+v", roles(cs))
		}
		if got, ok := Incoming(cs); ok {
			t.Errorf("Incoming chose %#x among two unnamed roots", got.Addr)
		}
	})
}

// rewriteNode edits a build's SETUP_KEXEC_KHO node (header and kho_data).
func rewriteNode(t *testing.T, b *Built, f func(node []byte)) {
	t.Helper()
	node := readPhys(t, b.Mem, b.SetupDataAddr, 48)
	f(node)
	mustWrite(t, b.Mem, node, b.SetupDataAddr)
}

func TestLocateHostileSetupData(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(t *testing.T, b *Built)
		codes    []string
		incoming bool // the root is still named by the handoff
	}{
		{
			name: "node loops to itself",
			mutate: func(t *testing.T, b *Built) {
				rewriteNode(t, b, func(n []byte) { bldLE.PutUint64(n, b.SetupDataAddr) })
			},
			codes:    []string{"setup_data.cycle"},
			incoming: true,
		},
		{
			name: "two nodes loop",
			mutate: func(t *testing.T, b *Built) {
				other := b.SetupDataAddr + 64
				hdr := make([]byte, 16)
				bldLE.PutUint64(hdr, b.SetupDataAddr)
				bldLE.PutUint32(hdr[8:], 1) // SETUP_E820_EXT, not ours
				mustWrite(t, b.Mem, hdr, other)
				rewriteNode(t, b, func(n []byte) { bldLE.PutUint64(n, other) })
			},
			codes:    []string{"setup_data.cycle"},
			incoming: true,
		},
		{
			name:     "len 16 < 32",
			mutate:   func(t *testing.T, b *Built) { rewriteNode(t, b, func(n []byte) { bldLE.PutUint32(n[12:], 16) }) },
			codes:    []string{"setup_data.kho-short"},
			incoming: true,
		},
		{
			name: "fdt_addr not a KHO root",
			mutate: func(t *testing.T, b *Built) {
				rewriteNode(t, b, func(n []byte) { bldLE.PutUint64(n[16:], b.Layout.LUO) })
			},
			codes: []string{"setup_data.kho-fdt-invalid"},
		},
		{
			name:     "fdt_size below totalsize",
			mutate:   func(t *testing.T, b *Built) { rewriteNode(t, b, func(n []byte) { bldLE.PutUint64(n[24:], 64) }) },
			codes:    []string{"setup_data.kho-fdt-size"},
			incoming: true,
		},
		{
			name:   "next points outside memory",
			mutate: func(t *testing.T, b *Built) { rewriteNode(t, b, func(n []byte) { bldLE.PutUint64(n, 1<<40) }) },
			codes:  []string{"setup_data.unreadable"},
			// the node itself was read before its next pointer was followed
			incoming: true,
		},
		{
			name: "chain longer than the bound",
			mutate: func(t *testing.T, b *Built) {
				// 300 nodes of another type, then ours is never reached.
				base := b.Layout.ScratchArray + 4096
				for i := uint64(0); i < 300; i++ {
					hdr := make([]byte, 16)
					bldLE.PutUint64(hdr, base+16*(i+1))
					bldLE.PutUint32(hdr[8:], 1)
					mustWrite(t, b.Mem, hdr, base+16*i)
				}
				bp := make([]byte, 8)
				bldLE.PutUint64(bp, base)
				mustWrite(t, b.Mem, bp, b.Layout.BootParams+encBootParamsSetupData)
			},
			codes: []string{"setup_data.too-long"},
			// no chain leads to the node, so the node found by the scan names it
			incoming: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(vectorHandover(), &BuildOptions{SetupData: true})
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(t, b)
			cs, fs, err := Locate(b.Mem, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.codes, findingCodes(fs)); diff != "" {
				t.Errorf("finding codes (-want +got):\n%s", diff)
			}
			for _, f := range fs {
				if f.Addr == 0 || f.Path == "" || f.Message == "" {
					t.Errorf("finding not located: %+v", f)
				}
			}
			role := RoleUnknown
			if tc.incoming {
				role = RoleIncoming
			}
			if diff := cmp.Diff([]roleSummary{{b.RootAddr, role}}, roles(cs)); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocateShortNodeImpact(t *testing.T) {
	b, err := Build(vectorHandover(), &BuildOptions{SetupData: true})
	if err != nil {
		t.Fatal(err)
	}
	rewriteNode(t, b, func(n []byte) { bldLE.PutUint32(n[12:], 8) })
	_, fs, _ := Locate(b.Mem, nil)
	if len(fs) != 1 || len(fs[0].Kernel) != 1 || fs[0].Kernel[0].Effect != EffectOutOfBounds || !strings.Contains(fs[0].Kernel[0].Detail, "add_kho") {
		t.Errorf("findings %+v: want one with the add_kho out-of-bounds impact", fs)
	}
}

func TestLocateGivenRoot(t *testing.T) {
	in, _, _ := postKexec(t, false)
	cs, fs, err := Locate(in.Mem, &LocateOptions{Root: in.RootAddr})
	if err != nil || len(fs) != 0 {
		t.Fatal(err, fs)
	}
	// A known root does not scan: only it is reported.
	if diff := cmp.Diff([]roleSummary{{in.RootAddr, RoleIncoming}}, roles(cs)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	for _, bad := range []uint64{in.Layout.LUO, in.RootAddr + 8, 1 << 40} {
		if _, _, err := Locate(in.Mem, &LocateOptions{Root: bad}); err == nil {
			t.Errorf("root %#x accepted", bad)
		}
	}
	for _, tc := range []struct {
		addr uint64
		want error
	}{{in.Layout.LUO, ErrNotFDT}, {in.RootAddr + 8, ErrNotKHO}, {1 << 40, physmem.ErrAbsent}} {
		if _, _, err := Locate(in.Mem, &LocateOptions{Root: tc.addr}); !errors.Is(err, tc.want) {
			t.Errorf("root %#x: %v, want %v", tc.addr, err, tc.want)
		}
	}
	var ae *physmem.AddrError
	if _, _, err := Locate(in.Mem, &LocateOptions{Root: 1 << 40}); !errors.As(err, &ae) {
		t.Errorf("absent root: %v, want a *physmem.AddrError", err)
	}
}

// bootFDT writes a devicetree with /chosen naming root.
func bootFDT(t testing.TB, addrCells, sizeCells uint32, kho, scratch []byte) []byte {
	t.Helper()
	w := fdt.NewWriter()
	be := func(v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = append(b, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
		}
		return b
	}
	_ = w.BeginNode("")
	_ = w.Property("#address-cells", be(addrCells))
	_ = w.Property("#size-cells", be(sizeCells))
	_ = w.Property("compatible", []byte("linux,dummy-virt\x00"))
	_ = w.BeginNode("chosen")
	_ = w.Property("linux,kho-fdt", kho)
	if scratch != nil {
		_ = w.Property("linux,kho-scratch", scratch)
	}
	_ = w.EndNode()
	_ = w.EndNode()
	blob, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

func TestLocateChosen(t *testing.T) {
	b, err := Build(vectorHandover(), &BuildOptions{SetupData: true})
	if err != nil {
		t.Fatal(err)
	}
	// Keep the scratch array, drop the x86 handoff: /chosen names the root.
	mustWrite(t, b.Mem, make([]byte, 4096), b.Layout.BootParams)
	mustWrite(t, b.Mem, make([]byte, 48), b.SetupDataAddr)
	root, arr := uint32(b.RootAddr), uint32(b.Layout.ScratchArray)
	cells := func(v ...uint32) []byte {
		var out []byte
		for _, x := range v {
			out = append(out, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
		}
		return out
	}
	tests := []struct {
		name     string
		blob     []byte
		inMemory bool
		codes    []string
		role     Role
	}{
		{"2+2 cells", bootFDT(t, 2, 2, cells(0, root, 0, 4096), cells(0, arr, 0, 16)), false, nil, RoleIncoming},
		{"2+1 cells", bootFDT(t, 2, 1, cells(0, root, 4096), cells(0, arr, 16)), false, nil, RoleIncoming},
		{"1+1 cells, in memory", bootFDT(t, 1, 1, cells(root, 4096), cells(arr, 16)), true, nil, RoleIncoming},
		{"size read with address cells (v6.16 bug)", bootFDT(t, 2, 1, cells(0, root, 0, 4096), cells(0, arr, 16)), false, []string{"chosen.kho-fdt-length"}, RoleUnknown},
		{"no scratch property", bootFDT(t, 2, 2, cells(0, root, 0, 4096), nil), false, []string{"chosen.kho-scratch-missing"}, RoleIncoming},
		{"scratch pair of 2+2 cells in a 2+1 tree", bootFDT(t, 2, 1, cells(0, root, 4096), cells(0, arr, 0, 16)), false, []string{"chosen.kho-scratch-length"}, RoleIncoming},
		{"scratch array of 17 bytes", bootFDT(t, 2, 1, cells(0, root, 4096), cells(0, arr, 17)), false, []string{"scratch.size-unaligned"}, RoleIncoming},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := &LocateOptions{BootFDT: tc.blob}
			if tc.inMemory {
				mustWrite(t, b.Mem, tc.blob, 200<<20)
				defer mustWrite(t, b.Mem, make([]byte, len(tc.blob)), 200<<20)
				opts = nil
			}
			cs, fs, err := Locate(b.Mem, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.codes, findingCodes(fs)); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]roleSummary{{b.RootAddr, tc.role}}, roles(cs)); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
			if tc.role != RoleIncoming {
				return
			}
			if !strings.Contains(cs[0].Reason, "/chosen") {
				t.Errorf("reason %q", cs[0].Reason)
			}
			if want := b.Scratch; tc.codes == nil && !cmp.Equal(want, cs[0].Scratch) {
				t.Errorf("scratch %v, want %v", cs[0].Scratch, want)
			}
		})
	}
}

// bootFDTFields is what a Candidate says of the boot FDT naming it.
type bootFDTFields struct {
	Role                         Role
	BootFDT, BootFDTSize         uint64
	BootScratch, BootScratchSize uint64
}

// TestLocateBootFDTFields: a root named by /chosen linux,kho-fdt in a boot
// FDT in memory gives that FDT's address and size, and its
// linux,kho-scratch, as data; a boot FDT the caller passes has no address
// and gives none.
func TestLocateBootFDTFields(t *testing.T) {
	const at, at2 = 200 << 20, 201 << 20 // in the built RAM
	cells := func(v ...uint32) []byte {
		var out []byte
		for _, x := range v {
			out = append(out, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
		}
		return out
	}
	type placed struct {
		addr uint64
		blob []byte
	}
	// namedByFirst: the first FDT placed names the root and its
	// 16-byte scratch array.
	namedByFirst := func(b *Built, mem []placed) bootFDTFields {
		return bootFDTFields{RoleIncoming, at, uint64(len(mem[0].blob)), b.Layout.ScratchArray, 16}
	}
	tests := []struct {
		name      string
		keepX86   bool // keep the setup_data handoff
		given     func(root, arr uint32) []byte
		inMemory  func(root, arr uint32) []placed
		want      func(b *Built, mem []placed) bootFDTFields
		wantCodes []string
	}{
		{name: "2+2 cells in memory",
			inMemory: func(root, arr uint32) []placed {
				return []placed{{at, bootFDT(t, 2, 2, cells(0, root, 0, 4096), cells(0, arr, 0, 16))}}
			},
			want: namedByFirst},
		{name: "1+1 cells in memory",
			inMemory: func(root, arr uint32) []placed {
				return []placed{{at, bootFDT(t, 1, 1, cells(root, 4096), cells(arr, 16))}}
			},
			want: namedByFirst},
		{name: "scratch size as written",
			inMemory: func(root, arr uint32) []placed {
				return []placed{{at, bootFDT(t, 2, 1, cells(0, root, 4096), cells(0, arr, 17))}}
			},
			want: func(b *Built, mem []placed) bootFDTFields {
				return bootFDTFields{RoleIncoming, at, uint64(len(mem[0].blob)), b.Layout.ScratchArray, 17}
			},
			wantCodes: []string{"scratch.size-unaligned"}},
		{name: "no linux,kho-scratch",
			inMemory: func(root, arr uint32) []placed {
				return []placed{{at, bootFDT(t, 2, 2, cells(0, root, 0, 4096), nil)}}
			},
			want: func(b *Built, mem []placed) bootFDTFields {
				return bootFDTFields{Role: RoleIncoming, BootFDT: at, BootFDTSize: uint64(len(mem[0].blob))}
			},
			wantCodes: []string{"chosen.kho-scratch-missing"}},
		{name: "linux,kho-scratch of the wrong length",
			inMemory: func(root, arr uint32) []placed {
				return []placed{{at, bootFDT(t, 2, 2, cells(0, root, 0, 4096), cells(0, arr, 16))}}
			},
			want: func(b *Built, mem []placed) bootFDTFields {
				return bootFDTFields{Role: RoleIncoming, BootFDT: at, BootFDTSize: uint64(len(mem[0].blob))}
			},
			wantCodes: []string{"chosen.kho-scratch-length"}},
		{name: "given, not in memory",
			given: func(root, arr uint32) []byte { return bootFDT(t, 2, 2, cells(0, root, 0, 4096), cells(0, arr, 0, 16)) },
			want:  func(*Built, []placed) bootFDTFields { return bootFDTFields{Role: RoleIncoming} }},
		{name: "given and in memory",
			given: func(root, arr uint32) []byte { return bootFDT(t, 2, 2, cells(0, root, 0, 4096), nil) },
			inMemory: func(root, arr uint32) []placed {
				return []placed{{at, bootFDT(t, 2, 2, cells(0, root, 0, 4096), cells(0, arr, 0, 16))}}
			},
			want:      namedByFirst,
			wantCodes: []string{"chosen.kho-scratch-missing"}},
		{name: "two in memory: the first",
			inMemory: func(root, arr uint32) []placed {
				return []placed{
					{at2, bootFDT(t, 2, 2, cells(0, root, 0, 4096), nil)},
					{at, bootFDT(t, 1, 1, cells(root, 4096), cells(arr, 16))},
				}
			},
			want: func(b *Built, mem []placed) bootFDTFields {
				return bootFDTFields{RoleIncoming, at, uint64(len(mem[1].blob)), b.Layout.ScratchArray, 16}
			},
			wantCodes: []string{"chosen.kho-scratch-missing"}},
		{name: "x86 handoff too", keepX86: true,
			inMemory: func(root, arr uint32) []placed {
				return []placed{{at, bootFDT(t, 2, 2, cells(0, root, 0, 4096), cells(0, arr, 0, 16))}}
			},
			want: namedByFirst},
		{name: "size read with address cells (v6.16 bug)",
			inMemory: func(root, arr uint32) []placed {
				return []placed{{at, bootFDT(t, 2, 1, cells(0, root, 0, 4096), cells(0, arr, 16))}}
			},
			want:      func(*Built, []placed) bootFDTFields { return bootFDTFields{Role: RoleUnknown} },
			wantCodes: []string{"chosen.kho-fdt-length"}},
		{name: "names another address",
			inMemory: func(root, arr uint32) []placed {
				return []placed{{at, bootFDT(t, 2, 2, cells(0, root+4096, 0, 4096), cells(0, arr, 0, 16))}}
			},
			want:      func(*Built, []placed) bootFDTFields { return bootFDTFields{Role: RoleUnknown} },
			wantCodes: []string{"chosen.kho-fdt-invalid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(vectorHandover(), &BuildOptions{SetupData: true})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.keepX86 {
				mustWrite(t, b.Mem, make([]byte, 4096), b.Layout.BootParams)
				mustWrite(t, b.Mem, make([]byte, 48), b.SetupDataAddr)
			}
			root, arr := uint32(b.RootAddr), uint32(b.Layout.ScratchArray)
			var mem []placed
			if tc.inMemory != nil {
				mem = tc.inMemory(root, arr)
			}
			for _, p := range mem {
				mustWrite(t, b.Mem, p.blob, p.addr)
			}
			opts := &LocateOptions{Scan: ScanAlways}
			if tc.given != nil {
				opts.BootFDT = tc.given(root, arr)
			}
			cs, fs, err := Locate(b.Mem, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantCodes, findingCodes(fs)); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
			if len(cs) != 1 || cs[0].Addr != b.RootAddr {
				t.Fatalf("candidates %v, want the root at %#x alone", roles(cs), b.RootAddr)
			}
			c := cs[0]
			got := bootFDTFields{c.Role, c.BootFDT, c.BootFDTSize, c.BootScratch, c.BootScratchSize}
			if diff := cmp.Diff(tc.want(b, mem), got); diff != "" {
				t.Errorf("boot FDT fields (-want +got):\n%s", diff)
			}
			if (c.Handoff != nil) != tc.keepX86 {
				t.Errorf("Handoff %+v, want one: %v", c.Handoff, tc.keepX86)
			}
		})
	}
}

// TestLocateScratch checks the scratch array the handoff names (rule 9).
func TestLocateScratch(t *testing.T) {
	tests := []struct {
		name    string
		entries []ScratchRegion // written over the built array; nil keeps it
		size    uint64          // kho_data.scratch_size; 0 keeps it
		codes   []string
	}{
		{name: "as built"},
		{name: "empty", size: 8, codes: []string{"scratch.size-unaligned", "scratch.empty"}},
		{name: "too many", size: 16 * 5000, codes: []string{"scratch.too-many"}},
		{name: "zero size entry", entries: []ScratchRegion{{0x8000000, 0}, {0x9000000, 0x1000}}, codes: []string{"scratch.entry-empty"}},
		{name: "all zero (staged, at kexec)", entries: make([]ScratchRegion, 3), codes: []string{"scratch.all-zero"}},
		{name: "unaligned", entries: []ScratchRegion{{0x8000100, 0x1000}}, codes: []string{"scratch.entry-unaligned"}},
		{name: "wraps", entries: []ScratchRegion{{^uint64(0) &^ 4095, 0x2000}}, codes: []string{"scratch.entry-overflow"}},
		{name: "not RAM", entries: []ScratchRegion{{1 << 40, 0x1000}}, codes: []string{"scratch.entry-not-ram"}},
		{name: "covers the root", entries: []ScratchRegion{{0, 16 << 20}}, codes: []string{"scratch.covers-root"}},
		{name: "overlap", entries: []ScratchRegion{{0x8000000, 0x2000}, {0x8001000, 0x2000}}, codes: []string{"scratch.entry-overlap"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(vectorHandover(), &BuildOptions{SetupData: true})
			if err != nil {
				t.Fatal(err)
			}
			if tc.entries != nil {
				arr := make([]byte, 16*len(tc.entries))
				for i, e := range tc.entries {
					bldLE.PutUint64(arr[16*i:], e.Addr)
					bldLE.PutUint64(arr[16*i+8:], e.Size)
				}
				mustWrite(t, b.Mem, arr, b.Layout.ScratchArray)
				tc.size = uint64(len(arr))
			}
			if tc.size != 0 {
				rewriteNode(t, b, func(n []byte) { bldLE.PutUint64(n[40:], tc.size) })
			}
			cs, fs, err := Locate(b.Mem, nil)
			if err != nil || len(cs) != 1 || cs[0].Role != RoleIncoming {
				t.Fatalf("%v %v", roles(cs), err)
			}
			if diff := cmp.Diff(tc.codes, findingCodes(fs)); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
			if tc.entries != nil && tc.codes[0] != "scratch.all-zero" && !cmp.Equal(tc.entries, cs[0].Scratch) {
				t.Errorf("scratch %v, want every entry %v", cs[0].Scratch, tc.entries)
			}
			if tc.name == "as built" && !cmp.Equal(b.Scratch, cs[0].Scratch) {
				t.Errorf("scratch %v, built %v", cs[0].Scratch, b.Scratch)
			}
		})
	}
}

// flakyMemory fails reads that touch one page, like a dump that lost it.
type flakyMemory struct {
	physmem.Memory
	bad   uint64
	reads int
	max   int // largest read
}

func (f *flakyMemory) ReadAt(p []byte, addr uint64) (int, error) {
	f.reads++
	f.max = max(f.max, len(p))
	if addr < f.bad+4096 && f.bad < addr+uint64(len(p)) {
		return 0, &physmem.AddrError{Addr: f.bad, Size: uint64(len(p)), Err: physmem.ErrExcluded}
	}
	return f.Memory.ReadAt(p, addr)
}

func TestLocateStreams(t *testing.T) {
	b, err := Build(vectorHandover(), &BuildOptions{SetupData: true})
	if err != nil {
		t.Fatal(err)
	}
	// An unreadable page in the same chunk as the root.
	mem := &flakyMemory{Memory: b.Mem, bad: b.RootAddr + 4096}
	var calls int
	var last, total uint64
	cs, _, err := Locate(mem, &LocateOptions{ChunkSize: 256 << 10, Progress: func(done, tot uint64) {
		if done < last {
			t.Errorf("progress went back: %d after %d", done, last)
		}
		calls++
		last, total = done, tot
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]roleSummary{{b.RootAddr, RoleIncoming}}, roles(cs)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if total != 256<<20 || last != total || calls != 1024 {
		t.Errorf("progress: %d calls, last %d of %d", calls, last, total)
	}
	if mem.max > 256<<10 {
		t.Errorf("largest read %d bytes, above the chunk size", mem.max)
	}
}

func TestLocateIgnoresInvalidFDTs(t *testing.T) {
	b, err := Build(vectorHandover(), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := readPhys(t, b.Mem, b.RootAddr, 4096)
	for i, mutate := range []func([]byte){
		func(p []byte) { p[0x4c] = 'X' },                      // compatible "Xho-v4"
		func(p []byte) { bldLE.PutUint32(p[4:], 0x7fffffff) }, // totalsize huge
		func(p []byte) { p[0x40] = 0xff },                     // broken structure token
	} {
		p := bytes.Clone(root)
		mutate(p)
		mustWrite(t, b.Mem, p, uint64(120+i)<<20)
	}
	cs, _, err := Locate(b.Mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]roleSummary{{b.RootAddr, RoleUnknown}}, roles(cs)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
}

func BenchmarkLocateScan(b *testing.B) {
	built, err := Build(vectorHandover(), &BuildOptions{SetupData: true})
	if err != nil {
		b.Fatal(err)
	}
	// Make every page present with data so the scan reads real bytes.
	page := bytes.Repeat([]byte{0x5a}, 4096)
	for a := uint64(0); a < 256<<20; a += 4096 {
		if physmem.StateOf(built.Mem, a, 4096) == physmem.Present {
			if p := readPhys(&testing.T{}, built.Mem, a, 4096); bytes.Equal(p, make([]byte, 4096)) {
				_ = built.Mem.WriteAt(page, a)
			}
		}
	}
	b.Run("locate", func(b *testing.B) {
		b.SetBytes(256 << 20)
		for i := 0; i < b.N; i++ {
			if _, _, err := Locate(built.Mem, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The limit: reading the same memory in the same chunks, no scan.
	b.Run("read-limit", func(b *testing.B) {
		b.SetBytes(256 << 20)
		buf := make([]byte, 1<<20)
		for i := 0; i < b.N; i++ {
			for a := uint64(0); a < 256<<20; a += uint64(len(buf)) {
				if _, err := built.Mem.ReadAt(buf, a); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestLocateHostileMemory: memory built to make the locator work hard or
// wrap around must end quickly with bounded findings.
func TestLocateHostileMemory(t *testing.T) {
	t.Run("every page an FDT header", func(t *testing.T) {
		m := new(physmem.Sparse)
		if err := m.AddRange(0, 32<<20, physmem.Present); err != nil {
			t.Fatal(err)
		}
		hdr := make([]byte, 64)
		copy(hdr, []byte{0xd0, 0x0d, 0xfe, 0xed, 0x00, 0x10, 0x00, 0x00}) // totalsize 1 MiB
		copy(hdr[40:], "linux,kho-fdt")
		for a := uint64(0); a < 32<<20; a += 4096 {
			mustWrite(t, m, hdr, a)
		}
		cs, fs, err := Locate(m, &LocateOptions{MaxHits: 1000})
		if err != nil || len(cs) != 0 {
			t.Fatalf("candidates %v, err %v", cs, err)
		}
		if diff := cmp.Diff([]string{"locate.scan-truncated", "locate.fdt-budget"}, findingCodes(fs)); diff != "" {
			t.Errorf("codes (-want +got):\n%s", diff)
		}
	})
	t.Run("ranges at the top of the address space and unaligned", func(t *testing.T) {
		m := new(physmem.Sparse)
		top := ^uint64(0) - 3*4096 + 1 // ends at 2^64-1
		for _, r := range []physmem.Range{{Start: 0x1001, Size: 0x3000}, {Start: top, Size: 3*4096 - 1}} {
			if err := m.AddRange(r.Start, r.Size, physmem.Present); err != nil {
				t.Fatal(err)
			}
		}
		node := make([]byte, 48)
		bldLE.PutUint32(node[8:], 10)
		bldLE.PutUint32(node[12:], 32)
		bldLE.PutUint64(node[16:], top) // points at the top range: not an FDT
		mustWrite(t, m, node, top+16)
		var done, total uint64
		cs, fs, err := Locate(m, &LocateOptions{Progress: func(d, t uint64) { done, total = d, t }})
		if err != nil || len(cs) != 0 || len(fs) != 0 {
			t.Fatalf("candidates %v, findings %v, err %v", cs, fs, err)
		}
		// A scan reads only the bytes the memory stores (physmem.ScanRanges):
		// here the one page written at the top.
		if done != total || total != 4096 {
			t.Errorf("progress %d of %d, want 4096 of 4096", done, total)
		}
	})
	t.Run("setup_data node pointing at itself as the FDT", func(t *testing.T) {
		b, err := Build(vectorHandover(), &BuildOptions{SetupData: true})
		if err != nil {
			t.Fatal(err)
		}
		rewriteNode(t, b, func(n []byte) { bldLE.PutUint64(n[16:], b.SetupDataAddr&^4095) })
		cs, fs, err := Locate(b.Mem, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"setup_data.kho-fdt-invalid"}, findingCodes(fs)); diff != "" {
			t.Errorf("codes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]roleSummary{{b.RootAddr, RoleUnknown}}, roles(cs)); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}
	})
}

// TestLocateKnownBootParams: with the boot_params address known, the
// locator names the root without reading the rest of memory.
func TestLocateKnownBootParams(t *testing.T) {
	in, _, _ := postKexec(t, true)
	mem := &flakyMemory{Memory: in.Mem, bad: 1 << 40}
	cs, fs, err := Locate(mem, &LocateOptions{BootParams: in.Layout.BootParams, Progress: func(d, t uint64) { panic("scanned") }})
	if err != nil || len(fs) != 0 {
		t.Fatal(err, fs)
	}
	if diff := cmp.Diff([]roleSummary{{in.RootAddr, RoleIncoming}}, roles(cs)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if mem.reads > 16 || mem.max > 4096 {
		t.Errorf("%d reads, largest %d bytes: more than following the chain needs", mem.reads, mem.max)
	}
	// ScanAlways also finds the outgoing root and the copy.
	cs, _, err = Locate(in.Mem, &LocateOptions{BootParams: in.Layout.BootParams, Scan: ScanAlways})
	if err != nil || len(cs) != 3 {
		t.Fatalf("ScanAlways: %v, %v", roles(cs), err)
	}
	// ScanNever with nothing known finds nothing.
	cs, _, err = Locate(in.Mem, &LocateOptions{Scan: ScanNever})
	if err != nil || len(cs) != 0 {
		t.Fatalf("ScanNever: %v, %v", roles(cs), err)
	}
}

// TestLocateBootParamsAtChunkEdge: the scan finds a boot_params page
// whatever chunk its boot_flag and its "HdrS" fall in; here boot_params
// starts 0x200 bytes before a page, so with 4 KiB chunks boot_flag ends
// one chunk and "HdrS" starts the next.
func TestLocateBootParamsAtChunkEdge(t *testing.T) {
	b, err := Build(vectorHandover(), &BuildOptions{SetupData: true})
	if err != nil {
		t.Fatal(err)
	}
	head := readPhys(t, b.Mem, b.Layout.BootParams, encBootParamsSetupData+8)
	mustWrite(t, b.Mem, make([]byte, 4096), b.Layout.BootParams)
	const page = 100 << 20 // free RAM
	mustWrite(t, b.Mem, head, page-0x200)
	for _, chunk := range []int{4096, 0} {
		cs, fs, err := Locate(b.Mem, &LocateOptions{ChunkSize: chunk})
		if err != nil || len(fs) != 0 {
			t.Fatal(err, fs)
		}
		if diff := cmp.Diff([]roleSummary{{b.RootAddr, RoleIncoming}}, roles(cs)); diff != "" {
			t.Errorf("chunk %d: roles (-want +got):\n%s", chunk, diff)
		}
		if want := "named by x86 setup_data SETUP_KEXEC_KHO node"; len(cs) > 0 && cs[0].Reason != want {
			t.Errorf("chunk %d: reason %q, want %q (the boot_params page was not found)", chunk, cs[0].Reason, want)
		}
	}
}

func TestLocateOptionBounds(t *testing.T) {
	b, err := Build(vectorHandover(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Locate(b.Mem, &LocateOptions{PageSize: 5000}); !errors.Is(err, format.ErrPageSize) {
		t.Errorf("page size 5000: %v, want format.ErrPageSize", err)
	}
	mem := &flakyMemory{Memory: b.Mem, bad: 1 << 40}
	cs, _, err := Locate(mem, &LocateOptions{ChunkSize: 1 << 40})
	if err != nil || len(cs) != 1 {
		t.Fatalf("%v, %v", roles(cs), err)
	}
	if mem.max > locMaxChunk {
		t.Errorf("read %d bytes at once, above the %d cap", mem.max, locMaxChunk)
	}
}

// TestLocateCopyOfLowest checks that with no handoff every copy names the
// lowest-address root with its bytes as the original, not another copy.
func TestLocateCopyOfLowest(t *testing.T) {
	in, _, copyAt := postKexec(t, false)
	second := copyAt - 4<<20
	mustWrite(t, in.Mem, readPhys(t, in.Mem, in.RootAddr, 4096), second)
	cs, _, err := Locate(in.Mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("byte-identical copy of the root at %#x", in.RootAddr)
	for _, c := range cs {
		if c.Addr == copyAt || c.Addr == second {
			if c.Role != RoleCopy || c.Reason != want {
				t.Errorf("root %#x: %v %q, want %v %q", c.Addr, c.Role, c.Reason, RoleCopy, want)
			}
		}
	}
	if in.RootAddr >= second {
		t.Fatalf("root %#x is not below the copies", in.RootAddr)
	}
}
