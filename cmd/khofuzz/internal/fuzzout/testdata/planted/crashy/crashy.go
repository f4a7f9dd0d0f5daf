// Package crashy fails in known ways on known inputs; gen.sh records how.
package crashy

// Index panics with an index out of range whose numbers vary with the input
// when the input starts with "KHO". The bytes are compared one at a time so
// that coverage guidance leads the fuzzer there.
func Index(b []byte) byte {
	if len(b) > 3 && b[0] == 'K' {
		if b[1] == 'H' {
			if b[2] == 'O' {
				table := b[:3]
				return table[int(b[3])]
			}
		}
	}
	return 0
}

// Clean never fails; its branches give the fuzzer coverage to find.
func Clean(b []byte) int {
	n := 0
	for i, c := range b {
		if c == byte('a'+i) {
			n++
		} else {
			break
		}
	}
	return n
}
