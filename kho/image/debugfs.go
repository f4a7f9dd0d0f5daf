package image

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"

	"github.com/khokit/khokit/fdt"
	"github.com/khokit/khokit/kho/physmem"
)

// Limits on a debugfs copy: the files are small in every real kernel.
const (
	maxDebugfsFile  = 16 << 20  // bytes per fdt or sub_fdts file
	maxDebugfsBlobs = 4096      // entries of sub_fdts kept, subdirectories included (listCapped)
	maxDebugfsBytes = 256 << 20 // bytes of all sub_fdts files together
)

// Debugfs is a copy of the kernel's /sys/kernel/debug/kho directory (or
// of its in/ or out/ side): the root FDT and the sub_fdts blobs. The files
// carry no addresses, so each blob is placed at the physical address its
// node in the root FDT names (preserved-data, or fdt in older versions);
// the root FDT's own address is unknown and it is kept as bytes.
type Debugfs struct {
	Dir      string // the side directory read, e.g. copy/kho/in
	RootFDT  []byte
	Tree     *fdt.Tree // RootFDT decoded leniently (a truncated out/fdt is accepted)
	Blobs    []DebugfsBlob
	Memory   *physmem.Sparse // the blobs at their addresses, nothing else
	Findings []error
}

// DebugfsBlob is one sub_fdts file and where it was placed.
type DebugfsBlob struct {
	Name     string
	Addr     uint64
	Size     uint64
	BlobSize uint64 // the node's blob-size property, 0 when absent
}

// debugfsCopy is where a debugfs copy is read from: paths inside fsys,
// shown in Dir and errors as show makes them (the OS path for
// OpenDebugfs).
type debugfsCopy struct {
	fsys fs.FS
	show func(p string) string
}

// wrap names p as shown in a path error from fsys (os.DirFS reports its
// own relative name).
func (c debugfsCopy) wrap(p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = c.show(p)
	}
	return err
}

// side finds the directory holding fdt and sub_fdts: the top, kho/<side>,
// or <side>. side "" prefers "in", the handover a kernel received, over
// "out".
func (c debugfsCopy) side(side string) (string, error) {
	sides := []string{side}
	if side == "" {
		sides = []string{"in", "out"}
	}
	var tried []string
	for _, base := range []string{".", "kho"} {
		if side == "" && base == "." && c.isFile("fdt") {
			return ".", nil
		}
		for _, s := range sides {
			p := path.Join(base, s)
			tried = append(tried, c.show(p))
			if fs.ValidPath(p) && c.isFile(path.Join(p, "fdt")) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("image: %s: no kho debugfs copy (looked for fdt in %v): %w", c.show("."), tried, ErrWrongFormat)
}

func (c debugfsCopy) isFile(p string) bool {
	st, err := fs.Stat(c.fsys, p)
	return err == nil && st.Mode().IsRegular()
}

// readSmallFile reads a regular file of at most max bytes. Anything else
// is refused before it is opened: opening a named pipe blocks until a
// writer comes.
func (c debugfsCopy) readSmallFile(p string, max int64) ([]byte, error) {
	st, err := fs.Stat(c.fsys, p)
	if err != nil {
		return nil, c.wrap(p, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("image: %s: not a regular file (%v): %w", c.show(p), st.Mode().Type(), ErrFormat)
	}
	f, err := c.fsys.Open(p)
	if err != nil {
		return nil, c.wrap(p, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, c.wrap(p, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("image: %s: larger than %d bytes: %w", c.show(p), max, ErrLimit)
	}
	return b, nil
}

// readDirBatch is how many directory entries listCapped asks for at once.
const readDirBatch = 256

// listEnd is how a capped listing ended.
type listEnd int

const (
	listDone    listEnd = iota // the directory had no more entries (io.EOF)
	listOverCap                // it had more than the cap: those are not listed
	listStalled                // ReadDir returned no entries and no error: the rest, if any, is unknown
)

// listCapped lists directory p, which may be absent, sorted by name: at
// most limit entries, and how the listing ended. It reads the listing in
// batches and stops after limit+1 entries, so a directory of millions of
// files costs no more memory than limit+1 entries. Which entries are kept
// when there are more is the directory's order. A ReadDir that returns
// nothing and no error (which fs.ReadDirFile rules out) ends the listing
// too, as listStalled, not as a hang.
func (c debugfsCopy) listCapped(p string, limit int) (entries []fs.DirEntry, end listEnd, err error) {
	st, err := fs.Stat(c.fsys, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, listDone, nil
	}
	if err != nil {
		return nil, listDone, c.wrap(p, err)
	}
	if !st.IsDir() { // opening a named pipe would block
		return nil, listDone, fmt.Errorf("image: %s: not a directory (%v): %w", c.show(p), st.Mode().Type(), ErrFormat)
	}
	f, err := c.fsys.Open(p)
	if err != nil {
		return nil, listDone, c.wrap(p, err)
	}
	defer f.Close()
	dir, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, listDone, fmt.Errorf("image: %s: cannot be listed (%T has no ReadDir): %w", c.show(p), f, ErrUnsupported)
	}
	for len(entries) <= limit {
		batch, err := dir.ReadDir(min(readDirBatch, limit+1-len(entries)))
		entries = append(entries, batch[:min(len(batch), limit+1-len(entries))]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, listDone, c.wrap(p, err)
		}
		if len(batch) == 0 {
			end = listStalled
			break
		}
	}
	if len(entries) > limit {
		entries, end = entries[:limit], listOverCap
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, end, nil
}

// OpenDebugfs reads a debugfs copy in directory dir: dir itself,
// dir/kho/<side> or dir/<side>. side is "in", "out", or "" for in when
// present, else out.
func OpenDebugfs(dir, side string) (*Debugfs, error) {
	root := dir
	if root == "" {
		root = "."
	}
	return openDebugfs(debugfsCopy{fsys: os.DirFS(root), show: func(p string) string {
		if p == "." {
			return dir
		}
		return filepath.Join(dir, filepath.FromSlash(p))
	}}, side)
}

// OpenDebugfsFS reads a debugfs copy from fsys, as OpenDebugfs does from a
// directory: its top, kho/<side> or <side> holds fdt and sub_fdts. Dir
// and the errors name paths inside fsys. It lets a copy come from an
// archive or from memory (testing/fstest.MapFS) without touching disk.
func OpenDebugfsFS(fsys fs.FS, side string) (*Debugfs, error) {
	return openDebugfs(debugfsCopy{fsys: fsys, show: func(p string) string { return p }}, side)
}

func openDebugfs(c debugfsCopy, side string) (*Debugfs, error) {
	sideDir, err := c.side(side)
	if err != nil {
		return nil, err
	}
	d := &Debugfs{Dir: c.show(sideDir), Memory: &physmem.Sparse{}}
	fdtPath := path.Join(sideDir, "fdt")
	d.RootFDT, err = c.readSmallFile(fdtPath, maxDebugfsFile)
	if err != nil {
		return nil, err
	}
	d.Tree, err = fdt.Decode(d.RootFDT, &fdt.Options{Lenient: true})
	if err != nil {
		return nil, fmt.Errorf("image: %s: root FDT: %w", c.show(fdtPath), err)
	}
	subDir := path.Join(sideDir, "sub_fdts")
	entries, end, err := c.listCapped(subDir, maxDebugfsBlobs)
	if err != nil {
		return nil, err
	}
	// The listing's finding goes first, before those of the blobs, but
	// its counts are known only once they are read.
	// The files are read whole: together they get a byte budget, so that
	// 4096 files of 16 MiB are not 64 GiB in memory.
	subdirs, read, unread := 0, 0, 0
	budget := int64(maxDebugfsBytes)
	for _, e := range entries {
		switch {
		case e.IsDir():
			subdirs++
		case budget <= 0:
			unread++
		default:
			if n, ok := d.addBlob(c, path.Join(subDir, e.Name()), e.Name(), min(maxDebugfsFile, budget)); ok {
				read++
				budget -= n
			}
		}
	}
	if unread > 0 {
		d.Findings = append(d.Findings, fmt.Errorf("image: %s: sub_fdts files hold more than %d bytes together; %d files not read: %w", d.Dir, maxDebugfsBytes, unread, ErrLimit))
	}
	switch end {
	case listOverCap:
		d.Findings = slices.Insert(d.Findings, 0, fmt.Errorf("image: %s: sub_fdts lists more than %d entries; only the first %d it listed are kept, sorted by name: %d files read, %d subdirectories (counted, skipped): %w",
			d.Dir, maxDebugfsBlobs, maxDebugfsBlobs, read, subdirs, ErrLimit))
	case listStalled:
		d.Findings = slices.Insert(d.Findings, 0, fmt.Errorf("image: %s: listing sub_fdts stopped returning entries after %d, with no end of directory: any not listed are not read: %w",
			d.Dir, len(entries), ErrTruncated))
	}
	sort.Slice(d.Blobs, func(i, j int) bool { return d.Blobs[i].Addr < d.Blobs[j].Addr })
	return d, nil
}

// addBlob places sub_fdts/name (at p in c), a file of at most max
// bytes, at the address its node gives; problems are findings and the
// blob is left out. It reports whether the file's bytes were read,
// placed or not, and how many.
func (d *Debugfs) addBlob(c debugfsCopy, p, name string, max int64) (n int64, read bool) {
	shown := c.show(p)
	finding := func(format string, args ...any) {
		d.Findings = append(d.Findings, fmt.Errorf("image: %s: %s: %w", shown, fmt.Sprintf(format, args...), ErrFormat))
	}
	data, err := c.readSmallFile(p, max)
	if err != nil {
		d.Findings = append(d.Findings, err)
		return 0, false
	}
	n, read = int64(len(data)), true
	node := d.Tree.Root.Child(name)
	if node == nil {
		finding("the root FDT has no node %q; blob not placed", name)
		return
	}
	b := DebugfsBlob{Name: name, Size: uint64(len(data))}
	addrProp := node.Prop("preserved-data")
	if addrProp == nil {
		addrProp = node.Prop("fdt") // kho-v1..v3 name
	}
	sizeProp := node.Prop("blob-size")
	if addrProp == nil && sizeProp == nil {
		addrProp, sizeProp = inferUnnamed(node, uint64(len(data)))
		if addrProp != nil {
			finding("property names lost with the truncated root FDT; took the 8-byte property other than blob-size %d as preserved-data", len(data))
		}
	}
	if addrProp == nil { // blob-size alone says nothing of where
		finding("node /%s has no preserved-data property; blob not placed", name)
		return
	}
	if b.Addr, err = addrProp.U64In(binary.LittleEndian); err != nil {
		finding("%v; blob not placed", err)
		return
	}
	if sizeProp != nil {
		if b.BlobSize, err = sizeProp.U64In(binary.LittleEndian); err != nil {
			finding("%v", err)
		} else if b.BlobSize != b.Size {
			finding("blob-size %d but the file holds %d bytes", b.BlobSize, b.Size)
		}
	}
	if b.Size == 0 {
		return
	}
	if err := d.Memory.AddRange(b.Addr, b.Size, physmem.Present); err != nil {
		finding("blob at %#x: %v; not placed", b.Addr, err)
		return
	}
	if err := d.Memory.WriteAt(data, b.Addr); err != nil {
		finding("%v", err)
		return
	}
	d.Blobs = append(d.Blobs, b)
	return
}

// inferUnnamed handles a node whose property names were lost (the
// truncated out/fdt quirk): with exactly two unnamed 8-byte properties,
// one equal to the blob's file size, that one is blob-size and the other
// preserved-data. Anything less certain returns nil.
func inferUnnamed(n *fdt.Node, fileSize uint64) (addr, size *fdt.Property) {
	var cands []*fdt.Property
	for i := range n.Props {
		if p := &n.Props[i]; p.Name == "" && len(p.Value) == 8 {
			cands = append(cands, p)
		}
	}
	if len(cands) != 2 {
		return nil, nil
	}
	v0, _ := cands[0].U64In(binary.LittleEndian)
	v1, _ := cands[1].U64In(binary.LittleEndian)
	switch {
	case v0 == fileSize && v1 != fileSize:
		return cands[1], cands[0]
	case v1 == fileSize && v0 != fileSize:
		return cands[0], cands[1]
	}
	return nil, nil
}
