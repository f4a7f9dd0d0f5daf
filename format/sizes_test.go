package format

import "testing"

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
