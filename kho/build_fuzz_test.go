package kho

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzSpec turns fuzz bytes into a handover and memfd contents: the root
// version, the LUO generation it pairs with, sessions, files, tokens,
// seals, FLBs and contents all come from the bytes.
func fuzzSpec(data []byte) (*Handover, map[FileID][]byte) {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	u64 := func() uint64 {
		var v uint64
		for i := 0; i < 8; i++ {
			v = v<<8 | uint64(next())
		}
		return v
	}
	ver := int(next()%4) + 1
	h := &Handover{Compatible: fmt.Sprintf("kho-v%d", ver)}
	luo := &LUO{Compatible: "luo-v1", LiveupdateNumber: u64()}
	memfd := "memfd-v1"
	if ver >= 2 {
		memfd = "memfd-v2"
	}
	if ver >= 3 {
		h.KexecMetadata = &KexecMetadata{Version: 1, PreviousRelease: "7." + fmt.Sprint(next()%10), KexecCount: uint32(next())}
	}
	if ver == 4 {
		luo.Compatible = "luo-v5"
	}
	contents := map[FileID][]byte{}
	for s := 0; s < int(next()%6); s++ {
		sess := Session{Name: fmt.Sprintf("s%d-%x", s, next())}
		tokens := map[uint64]bool{}
		for f := 0; f < int(next()%80); f++ {
			file := File{Compatible: memfd, Token: u64(), Memfd: &Memfd{Pos: uint64(next())}}
			for tokens[file.Token] {
				file.Token++
			}
			tokens[file.Token] = true
			if memfd == "memfd-v2" {
				file.Memfd.Seals = uint32(next() & 0x3f)
			}
			if n := int(next() % 4); n > 0 {
				c := bytes.Repeat([]byte{next()}, n*1500)
				contents[FileID{s, f}] = c
			}
			sess.Files = append(sess.Files, file)
		}
		luo.Sessions = append(luo.Sessions, sess)
	}
	for i := 0; i < int(next()%5); i++ {
		luo.FLBs = append(luo.FLBs, FLB{Name: fmt.Sprintf("flb-%d", i), Data: u64(), Count: uint64(next()) + 1})
	}
	if next()%2 == 0 {
		h.LUO = luo
	} else {
		contents = nil
	}
	if next()%3 == 0 {
		h.Memblock = &Memblock{Regions: []ReserveMem{{Name: "r", Size: uint64(next()%8+1) * 4096}}}
	}
	return h, contents
}

// FuzzBuild checks the builder against the decoder on generated
// handovers (kho-v1 maps with page or, for odd-length inputs, 512-byte
// bitmaps): Decode(Build(h)) equals the filled-in model, without
// findings, and every memfd reads back its contents.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 7, 5, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 9, 3, 2, 0x41, 1, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 9, 70})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, contents := fuzzSpec(data)
		bo := &BuildOptions{Contents: contents}
		if len(data)%2 == 1 { // kho-v1 maps with 6.16/6.17 bitmaps
			bo.KHOv1Bitmap = KHOv1Bitmap512
		}
		b, got := buildAndDecode(t, h, bo)
		if diff := cmp.Diff(b.Handover, got); diff != "" {
			t.Fatalf("Decode(Build(h)) (-built +decoded):\n%s", diff)
		}
		for id, want := range contents {
			if got.LUO == nil {
				break
			}
			m := got.LUO.Sessions[id.Session].Files[id.File].Memfd
			r := MemfdContents(b.Mem, m, 4096)
			buf := make([]byte, r.Size())
			if _, err := r.ReadAt(buf, 0); err != nil {
				t.Fatalf("%v: %v", id, err)
			}
			if !bytes.Equal(buf, want) {
				t.Fatalf("%v: contents differ", id)
			}
		}
	})
}
