package kho

import (
	"encoding/binary"
	"fmt"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/format"
)

var kexecMetadataSize = (format.KexecMetadata{}).Format().Size

// decodeKexecMetadata checks a kexec-metadata blob (rule 16).
func (d *decoder) decodeKexecMetadata(path string, addr uint64, blob []byte) *KexecMetadata {
	// The kernel's order: room for the version, the version, then the size.
	if len(blob) < 4 {
		d.add("kexec.blob-too-small", "", path, addr, "blob-size %d < %d", len(blob), kexecMetadataSize)
		return nil
	}
	if v := binary.LittleEndian.Uint32(blob); v != format.KexecMetadataVersion {
		d.add("kexec.version-unknown", "", path, addr, "version %d, want %d", v, format.KexecMetadataVersion)
		return nil
	}
	v, err := format.DecodeKexecMetadata(blob)
	if err != nil {
		d.add("kexec.blob-too-small", "", path, addr, "blob-size %d < %d: %v", len(blob), kexecMetadataSize, err)
		return nil
	}
	if !v.PreviousRelease.Terminated() {
		d.add("kexec.release-unterminated", "", path, addr, "previous_release %q has no NUL within %d bytes", v.PreviousRelease.String(), len(v.PreviousRelease))
		return nil
	}
	return &KexecMetadata{Version: v.Version, PreviousRelease: v.PreviousRelease.String(), KexecCount: v.KexecCount}
}

// decodeMemblock checks the memblock sub-FDT (rule 15, structurally: the
// names the new kernel will ask for are not known here).
func (d *decoder) decodeMemblock(path string, addr uint64, blob []byte) *Memblock {
	t, err := d.decodeFDT(blob)
	if err != nil {
		d.add("memblock.fdt-invalid", "", path, addr, "%v", err)
		return nil
	}
	d.reportQuirks(path, addr, t)
	if c, ok := singleString(t.Root.Prop("compatible")); !ok || c != "memblock-v1" {
		d.add("memblock.compatible", "", path, addr, "compatible %s, want \"memblock-v1\"", describeCompat(t.Root.Prop("compatible")))
		return nil
	}
	mb := &Memblock{Compatible: "memblock-v1"}
	for _, n := range t.Root.Children {
		rpath := path + "/" + n.Name
		if len(n.Name) > 15 {
			d.add("memblock.region-name", "", rpath, 0, "name %q is longer than 15 characters", n.Name)
		}
		if c, ok := singleString(n.Prop("compatible")); !ok || c != "reserve-mem-v1" {
			d.add("memblock.region-compatible", "", rpath, 0, "compatible %s, want \"reserve-mem-v1\"", describeCompat(n.Prop("compatible")))
			continue
		}
		start, err1 := u64Prop(n, "start")
		size, err2 := u64Prop(n, "size")
		if err1 != nil || err2 != nil {
			d.add("memblock.region-property", "", rpath, 0, "start/size: %v", firstErr(err1, err2))
			continue
		}
		if start%d.geo.pageSize != 0 {
			d.add("memblock.region-unaligned", "", rpath, start, "start %#x is not page-aligned", start)
			continue
		}
		if size != 0 && !d.check(rpath, "reserve_mem region", start, size, need{align: 1, preserved: true, order: -1}) {
			continue
		}
		mb.Regions = append(mb.Regions, ReserveMem{Name: n.Name, Compatible: "reserve-mem-v1", Start: start, Size: size})
	}
	return mb
}

// singleString returns a property holding exactly one string.
func singleString(p *fdt.Property) (string, bool) {
	if p == nil {
		return "", false
	}
	s, err := p.String()
	return s, err == nil
}

func describeCompat(p *fdt.Property) string {
	if p == nil {
		return "missing"
	}
	if ss, err := p.Strings(); err == nil {
		return fmt.Sprintf("%q", ss)
	}
	return fmt.Sprintf("% x", p.Value)
}

// u64Prop reads a KHO u64 property: exactly 8 bytes, CPU (little-endian)
// byte order.
func u64Prop(n *fdt.Node, name string) (uint64, error) {
	p := n.Prop(name)
	if p == nil {
		return 0, fmt.Errorf("%s missing", name)
	}
	v, err := p.U64In(binary.LittleEndian)
	if err != nil {
		return 0, fmt.Errorf("%s is %d bytes, want 8", name, len(p.Value))
	}
	return v, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
