package crashy

import "testing"

func FuzzIndex(f *testing.F) {
	f.Add([]byte("abcd"))
	f.Fuzz(func(t *testing.T, b []byte) { Index(b) })
}

func FuzzCheck(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1 && b[0] == 'Z' {
			t.Errorf("bad byte %d at offset %d", b[1], 1)
		}
	})
}

func FuzzClean(f *testing.F) {
	f.Add([]byte("a"))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, b []byte) { Clean(b) })
}
