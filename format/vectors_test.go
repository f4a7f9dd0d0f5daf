package format

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const vectorDir = "../testdata/vectors/linux-7.3.4-x86_64"

func mustCS(t testing.TB, s string, size int) CString {
	t.Helper()
	c, err := MakeCString(s, size)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readVector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors decodes the real 7.3.4 blobs to the values their README lists
// and re-encodes them to the same bytes.
func TestVectors(t *testing.T) {
	tests := []struct {
		file string
		size int
		dec  func([]byte) (Struct, error)
		want Struct
	}{
		{
			file: "flb_block_0x3b8000.bin", size: 208,
			dec: func(b []byte) (Struct, error) { return DecodeFLBPage(b) },
			want: FLBPage{
				Header: FLBHeader{PgCnt: 1, Count: 3},
				Entries: []FLBSer{
					{Name: mustCS(t, "liveupdate-test-flb-v0", 48), Data: 0xfeedf00dcafebee0, Count: 1},
					{Name: mustCS(t, "liveupdate-test-flb-v1", 48), Data: 0xfeedf00dcafebee1, Count: 1},
					{Name: mustCS(t, "liveupdate-test-flb-v2", 48), Data: 0xfeedf00dcafebee2, Count: 1},
				},
			},
		},
		{
			file: "session_block_0x3e9000.bin", size: 96,
			dec: func(b []byte) (Struct, error) { return DecodeSessionBlock(b) },
			want: SessionBlock{
				Header: BlockHeader{Next: 0, Count: 1},
				Entries: []SessionSer{{
					Name:    mustCS(t, "envcheck-session", 64),
					FileSet: FileSetSer{Files: 0x3f808000, Count: 1},
				}},
			},
		},
		{
			file: "file_block_0x3f808000.bin", size: 80,
			dec: func(b []byte) (Struct, error) { return DecodeFileBlock(b) },
			want: FileBlock{
				Header: BlockHeader{Next: 0, Count: 1},
				Entries: []FileSer{{
					Compatible: mustCS(t, "memfd-v2", 48), Data: 0x3f80a000, Token: 0x1234,
				}},
			},
		},
		{
			file: "kexec_metadata_in.bin", size: 73,
			dec:  func(b []byte) (Struct, error) { return DecodeKexecMetadata(b) },
			want: KexecMetadata{Version: 1, PreviousRelease: mustCS(t, "7.3.4", 65), KexecCount: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readVector(t, tt.file)
			if len(b) != tt.size {
				t.Fatalf("vector is %d bytes, README says %d", len(b), tt.size)
			}
			got, err := tt.dec(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decode (-want +got):\n%s", diff)
			}
			enc, err := Encode(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, b) {
				t.Errorf("encoding the README values gives\n%x\nwant\n%x", enc, b)
			}
		})
	}
}

// TestVectorStrings checks the string views of the decoded names.
func TestVectorStrings(t *testing.T) {
	fp, err := DecodeFLBPage(readVector(t, "flb_block_0x3b8000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range fp.Entries {
		if !e.Name.Terminated() || !e.Name.CleanPadding() {
			t.Errorf("%q: terminated %v clean %v", e.Name, e.Name.Terminated(), e.Name.CleanPadding())
		}
		names = append(names, e.Name.String())
	}
	want := []string{"liveupdate-test-flb-v0", "liveupdate-test-flb-v1", "liveupdate-test-flb-v2"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	km, err := DecodeKexecMetadata(readVector(t, "kexec_metadata_in.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got := km.PreviousRelease.String(); got != "7.3.4" {
		t.Errorf("previous_release %q", got)
	}
}

// TestVectorsAsCatalogue decodes the vectors through Lookup(name).Decode, the
// path khodump show --as takes.
func TestVectorsAsCatalogue(t *testing.T) {
	for file, name := range map[string]string{
		"flb_block_0x3b8000.bin":     "luo-flb",
		"session_block_0x3e9000.bin": "session-block",
		"file_block_0x3f808000.bin":  "file-block",
		"kexec_metadata_in.bin":      "kexec-metadata",
	} {
		f, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		b := readVector(t, file)
		v, err := f.Decode(b)
		if err != nil {
			t.Fatalf("%s as %s: %v", file, name, err)
		}
		if v.Format() != f {
			t.Errorf("%s: Format() = %v, want %v", file, v.Format(), f)
		}
		enc, err := Encode(v)
		if err != nil || !bytes.Equal(enc, b) {
			t.Errorf("%s: round trip %x, %v", file, enc, err)
		}
	}
}
