package format

import (
	"errors"
	"testing"
)

// TestSizes ties each size constant to its catalogue entry and to the value
// spec/abi.md gives for the kernel struct, so a change to either shows.
func TestSizes(t *testing.T) {
	for _, tt := range []struct {
		name      string // catalogue name
		size, abi int
	}{
		{"kho-data", KHODataSize, 32},
		{"scratch", ScratchSize, 16},
		{"setup-data", SetupDataHeaderSize, 16},
		{"kho-v1-chunk-header", KhoserChunkHeaderSize, 16},
		{"kho-v1-bitmap-ptr", BitmapPtrSize, 16},
		{"block-header", BlockHeaderSize, 16},
		{"kexec-metadata", KexecMetadataSize, 73},
		{"session-header", SessionHeaderSize, 8},
		{"session-ser", SessionSerSize, 80},
		{"file-ser", FileSerSize, 64},
		{"flb-header", FLBHeaderSize, 16},
		{"flb-ser", FLBSerSize, 64},
		{"folio", FolioSerSize, 16},
		{"luo-ser", LUOSerSize, 32},
	} {
		f, err := Lookup(tt.name)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if f.Size != tt.size || tt.size != tt.abi {
			t.Errorf("%s: catalogue size %d, constant %d, abi.md %d", tt.name, f.Size, tt.size, tt.abi)
		}
	}
	if f := LUORoot("luo-v5").Field("compatible"); f == nil || f.Size != LUOCompatLen {
		t.Errorf("luo-v5 compatible field %+v, want %d bytes", f, LUOCompatLen)
	}
}

// TestLUOPageCounts ties LUO_SESSION_PGCNT, LUO_FILE_PGCNT and LUO_FLB_PGCNT
// to abi.md and to the container sizes of every page size's catalogue.
func TestLUOPageCounts(t *testing.T) {
	for _, tt := range []struct {
		name       string // container
		pgcnt, abi int
	}{
		{"session-array-v1", LUOSessionPgCnt, 16},
		{"file-array-v1", LUOFilePgCnt, 2},
		{"luo-flb", LUOFLBPgCnt, 1},
	} {
		if tt.pgcnt != tt.abi {
			t.Errorf("%s: page count %d, abi.md %d", tt.name, tt.pgcnt, tt.abi)
		}
		for _, ps := range PageSizes {
			f, err := LookupFor(tt.name, ps)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if f.Bytes != tt.pgcnt*int(ps) {
				t.Errorf("%s at %v: %d bytes, want %d pages", tt.name, ps, f.Bytes, tt.pgcnt)
			}
		}
	}
}

func TestPageSizeOf(t *testing.T) {
	for _, tt := range []struct {
		n    uint64
		want PageSize
		ok   bool
	}{
		{4096, Page4K, true},
		{16384, Page16K, true},
		{65536, Page64K, true},
		{0, 0, false},
		{8192, 0, false},
		{1<<32 | 4096, 0, false}, // truncates to 4096 as a uint32
	} {
		got, err := PageSizeOf(tt.n)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrPageSize)) {
			t.Errorf("PageSizeOf(%#x) = %v, %v; want %v, ok %v", tt.n, got, err, tt.want, tt.ok)
		}
	}
}
