package e2eexpect

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode: on any bytes each decoder either fails with a *FormatError
// wrapping ErrFormat and a nil result, or succeeds, and then what it
// decoded marshals and decodes again to the same value.
func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile(guestExpected); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		`{"format":"khokit-e2e-expected/1","sessions":[{"name":"s","files":[{"tokn":1}]}]}`,
		`{"format":"khokit-e2e-expected/1","images":{"a":{"elff":1}}} x`,
		`{"liveupdate_number":1,"kexec_count":2,"setup_data":{"entries":[{"kho":{"fdt_addr":"0x1"}}]}}`,
		`{"sessions":[{"name":"s","files":[{"token":1,"size":5}]}],"problems":["p"]}`,
		`[[[{}]]]`, `"x"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeExpected("F", data)
		check(t, e, err, func(b []byte) (any, error) { return DecodeExpected("again", b) })
		s, err := DecodeStage2("F", data)
		check(t, s, err, func(b []byte) (any, error) { return DecodeStage2("again", b) })
		r, err := DecodeRetrieved("F", data)
		check(t, r, err, func(b []byte) (any, error) { return DecodeRetrieved("again", b) })
	})
}

func check[T any](t *testing.T, v *T, err error, again func([]byte) (any, error)) {
	t.Helper()
	if err != nil {
		var fe *FormatError
		if v != nil || !errors.Is(err, ErrFormat) || !errors.As(err, &fe) || fe.Name != "F" {
			t.Fatalf("%T %v with error %v (%T)", v, v, err, err)
		}
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	w, err := again(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if diff := cmp.Diff(any(v), w); diff != "" {
		t.Errorf("decoded again (-first +again):\n%s", diff)
	}
}
