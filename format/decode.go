package format

import "fmt"

// codecs maps a catalogue name to its decoder. It is filled in init, not in a
// variable initializer, because the decoders refer to the catalogue.
var codecs map[string]func([]byte, PageSize) (Struct, error)

func wrap[T Struct](dec func([]byte) (T, error)) func([]byte, PageSize) (Struct, error) {
	return wrapPage(func(b []byte, _ PageSize) (T, error) { return dec(b) })
}

func wrapPage[T Struct](dec func([]byte, PageSize) (T, error)) func([]byte, PageSize) (Struct, error) {
	return func(b []byte, ps PageSize) (Struct, error) {
		v, err := dec(b, ps)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

func init() {
	codecs = map[string]func([]byte, PageSize) (Struct, error){
		"setup-data":              wrap(DecodeSetupData),
		"kho-data":                wrap(DecodeKHOData),
		"scratch":                 wrap(DecodeScratchArray),
		"kho-v1-chunk-header":     wrap(DecodeKhoserChunkHeader),
		"kho-v1-bitmap-ptr":       wrap(DecodeBitmapPtr),
		"kho-v1-chunk":            wrapPage(DecodeKhoserChunk),
		"kho-v1-bitmap":           wrapPage(DecodePhysBits),
		"kho-v1-bitmap-512":       wrap(DecodePhysBits512),
		"radix-node":              wrapPage(DecodeRadixNode),
		"radix-leaf":              wrapPage(DecodeRadixLeaf),
		"vmalloc":                 wrap(DecodeVmalloc),
		"vmalloc-chunk":           wrapPage(DecodeVmallocChunk),
		"vmalloc-chunk-header":    wrap(DecodeVmallocChunkHeader),
		"block-header":            wrap(DecodeBlockHeader),
		"kexec-metadata":          wrap(DecodeKexecMetadata),
		"luo-ser-v2":              wrap(DecodeLUOSerV2),
		"luo-ser-v3":              wrap(DecodeLUOSer),
		"luo-ser-v4":              wrap(DecodeLUOSer),
		"luo-ser":                 wrap(DecodeLUOSer),
		"luo-ser-v5-block-v1":     wrap(DecodeLUOSer),
		"luo-ser-v3-kho-block-v1": wrap(DecodeLUOSer),
		"luo-ser-v4-kho-block-v1": wrap(DecodeLUOSer),
		"session-header":          wrap(DecodeSessionHeader),
		"session-ser-v1":          wrap(DecodeSessionSerV1),
		"session-ser":             wrap(DecodeSessionSer),
		"file-set":                wrap(DecodeFileSetSer),
		"file-ser":                wrap(DecodeFileSer),
		"flb-header":              wrap(DecodeFLBHeader),
		"flb-ser":                 wrap(DecodeFLBSer),
		"luo-flb":                 wrap(DecodeFLBPage),
		"session-block":           wrap(DecodeSessionBlock),
		"file-block":              wrap(DecodeFileBlock),
		"session-array-v1":        wrap(DecodeSessionArrayV1),
		"memfd-v1":                wrap(DecodeMemfdSerV1),
		"memfd-v2":                wrap(DecodeMemfdSerV2),
		"memfd-v2-vmalloc-v1":     wrap(DecodeMemfdSerV2),
		"folio":                   wrap(DecodeFolioSer),
	}
}

// Decode decodes b as this format and returns the typed value (a KHOData,
// an FLBPage, ...). FDT formats, and the headerless file-array-v1 whose count
// lives elsewhere, fail with ErrNotStruct. The luo_ser entries all decode by
// the compatible inside the blob. "scratch" decodes a whole array
// (ScratchArray).
func (f *Format) Decode(b []byte) (Struct, error) {
	dec := codecs[f.Name]
	if dec == nil {
		return nil, fmt.Errorf("format: %s (%s): %w", f.Name, f.Kind, ErrNotStruct)
	}
	return dec(b, pageOf(f))
}
