package format

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkRoundTrip is the invariant of every decoder: an error means a zero
// result; success means the value re-encodes to exactly the prefix of the
// input it was decoded from, and decoding that again gives an equal value.
func checkRoundTrip(t *testing.T, b []byte, v Struct, err error, dec func([]byte) (Struct, error)) {
	t.Helper()
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) && !errors.Is(err, ErrPageSize) {
			t.Fatalf("error %v is not a *FormatError", err)
		}
		if errors.Is(err, ErrTable) {
			t.Fatalf("table mismatch: %v", err)
		}
		return
	}
	enc, err := Encode(v)
	if err != nil {
		t.Fatalf("decoded %+v but encode fails: %v", v, err)
	}
	if len(enc) > len(b) || !bytes.Equal(enc, b[:len(enc)]) {
		t.Fatalf("re-encoding differs from the input prefix:\n in %x\nout %x", b, enc)
	}
	if f := v.Format(); f != nil && f.Kind == KindStruct && len(enc) != f.Size {
		if _, isArray := v.(ScratchArray); !isArray {
			if _, isArray := v.(FolioArray); !isArray {
				t.Fatalf("%s encoded to %d bytes, size %d", f.Name, len(enc), f.Size)
			}
		}
	}
	v2, err := dec(enc)
	if err != nil {
		t.Fatalf("re-decoding the encoding fails: %v", err)
	}
	if diff := cmp.Diff(v, v2); diff != "" {
		t.Fatalf("second decode differs (-first +second):\n%s", diff)
	}
}

func addVectors(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(vectorDir, "*.bin"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func fuzzCodec(f *testing.F, dec func([]byte) (Struct, error)) {
	addVectors(f)
	f.Add(make([]byte, 80))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := dec(b)
		checkRoundTrip(t, b, v, err, dec)
	})
}

func asStruct[T Struct](dec func([]byte) (T, error)) func([]byte) (Struct, error) {
	return func(b []byte) (Struct, error) {
		v, err := dec(b)
		if err != nil {
			var zero T
			if !cmp.Equal(v, zero) {
				return v, errors.New("decoder returned a value with its error")
			}
			return nil, err
		}
		return v, nil
	}
}

func FuzzDecodeFLBPage(f *testing.F)      { fuzzCodec(f, asStruct(DecodeFLBPage)) }
func FuzzDecodeSessionBlock(f *testing.F) { fuzzCodec(f, asStruct(DecodeSessionBlock)) }
func FuzzDecodeFileBlock(f *testing.F)    { fuzzCodec(f, asStruct(DecodeFileBlock)) }
func FuzzDecodeKexecMetadata(f *testing.F) {
	fuzzCodec(f, asStruct(DecodeKexecMetadata))
}
func FuzzDecodeLUOSer(f *testing.F) {
	f.Add([]byte("luo-v5\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x90\x3e\x00\x00\x00\x00\x00\x00\x80\x3b\x00\x00\x00\x00\x00"))
	f.Add([]byte("luo-v5;block-v1\x00" + string(make([]byte, 24))))
	f.Add([]byte("luo-v4-kho-block-v1\x00" + string(make([]byte, 28))))
	fuzzCodec(f, asStruct(DecodeLUOSer))
}
func FuzzDecodeMemfd(f *testing.F) {
	// The first byte picks the handler version.
	dec := func(b []byte) (Struct, error) {
		if len(b) == 0 {
			return nil, &FormatError{Format: "memfd", Err: ErrShort}
		}
		compat := "memfd-v1"
		if b[0]&1 == 1 {
			compat = "memfd-v2"
		}
		return DecodeMemfd(compat, b[1:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := dec(b)
		if len(b) > 0 {
			redec := func(e []byte) (Struct, error) { return dec(append([]byte{b[0]}, e...)) }
			checkRoundTrip(t, b[1:], v, err, redec)
		}
	})
}
func FuzzDecodeFolios(f *testing.F) {
	f.Add(uint16(2), []byte("\x0b\xf8\x03\x00\x00\x00\x30\x00\x09\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, n uint16, b []byte) {
		dec := func(e []byte) (Struct, error) {
			return asStruct(func(x []byte) (FolioArray, error) { return DecodeFolios(x, uint64(n)) })(e)
		}
		v, err := dec(b)
		checkRoundTrip(t, b, v, err, dec)
	})
}

// FuzzDecodeCatalogue runs every catalogue codec: the first byte selects the
// format (and page size), the rest is the blob.
func FuzzDecodeCatalogue(f *testing.F) {
	var formats []*Format
	for _, ps := range PageSizes {
		for _, fm := range AllFor(ps) {
			if codecs[fm.Name] != nil && (ps == Page4K || fm.PageSize != PageAny) {
				formats = append(formats, fm)
			}
		}
	}
	for i, fm := range formats {
		size := fm.Size
		if fm.Kind == KindContainer {
			size = fm.Bytes
		}
		b := make([]byte, size)
		if fm.CName == "luo_ser" {
			copy(b, fm.Compatible)
		}
		if fm.CName == "kho_kexec_metadata" {
			b[0] = 1
		}
		if size <= 4096 {
			f.Add(append([]byte{byte(i)}, b...))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		fm := formats[int(b[0])%len(formats)]
		dec := fm.Decode
		v, err := dec(b[1:])
		checkRoundTrip(t, b[1:], v, err, dec)
	})
}

func FuzzParseCompat(f *testing.F) {
	for _, s := range []string{"kho-v4;radix-v1;vmalloc-v1", "luo-v5", "memfd-v2;vmalloc-v1", "a-v1;b-v2;c-v3", ";", "x-v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCompat(s)
		if err != nil {
			if !errors.Is(err, ErrCompat) {
				t.Fatalf("error %v does not wrap ErrCompat", err)
			}
			return
		}
		if c.String() != s {
			t.Fatalf("String() = %q, input %q", c.String(), s)
		}
		for i := 1; i < len(c.Components); i++ {
			if c.Components[i-1] >= c.Components[i] {
				t.Fatalf("accepted unsorted %q", s)
			}
		}
	})
}

func FuzzRadixKey(f *testing.F) {
	f.Add(uint64(1<<52|0x3f80a), uint8(0), uint8(10))
	f.Add(uint64(0), uint8(1), uint8(10))
	f.Add(uint64(1), uint8(2), uint8(64))
	f.Fuzz(func(t *testing.T, key uint64, psel, maxOrder uint8) {
		g, _ := RadixFor(PageSizes[int(psel)%len(PageSizes)])
		pa, order, err := g.Decode(key, uint(maxOrder))
		if err != nil {
			if !errors.Is(err, ErrKey) && !errors.Is(err, ErrOrder) {
				t.Fatalf("error %v", err)
			}
			if errors.Is(err, ErrKey) {
				return
			}
		}
		if err == nil {
			k2, err := g.Key(pa, order, uint(maxOrder))
			if err != nil || k2 != key {
				t.Fatalf("key %#x -> pa %#x order %d -> key %#x, %v", key, pa, order, k2, err)
			}
		}
		for level := 0; level < g.Depth; level++ {
			if idx := g.Index(key, level); level > 0 && idx >= uint64(g.TableEntries()) || level == 0 && idx >= uint64(g.LeafBits()) {
				t.Fatalf("index %d at level %d", idx, level)
			}
		}
		if g.Index(key, g.RootLevel()) >= g.RootIndices() {
			t.Fatalf("valid key %#x has root index %d", key, g.Index(key, g.RootLevel()))
		}
	})
}
