package format

import (
	"fmt"
	"strings"
)

// Compat is a parsed compatible string. The posted "granular compatibility"
// RFC appends sub-components to a base version with ';', in alphabetical
// order: "kho-v4;radix-v1;vmalloc-v1" is base kho-v4 with components
// radix-v1 and vmalloc-v1. A plain "luo-v5" has no components.
type Compat struct {
	Base       string
	Components []string
}

// ParseCompat splits and validates a compatible string: every part must look
// like name-vN (lower-case letters, digits, '-', ',' and '_', not starting
// with '-', ending in -v and a number), and components must be strictly
// alphabetical (which also rules out duplicates). Errors wrap ErrCompat.
func ParseCompat(s string) (Compat, error) {
	parts := strings.Split(s, ";")
	for i, p := range parts {
		if err := checkCompatPart(p); err != nil {
			return Compat{}, fmt.Errorf("format: compatible %q part %d: %w", s, i, err)
		}
	}
	c := Compat{Base: parts[0]}
	if len(parts) > 1 {
		c.Components = parts[1:]
		for i := 1; i < len(c.Components); i++ {
			if c.Components[i-1] >= c.Components[i] {
				return Compat{}, fmt.Errorf("format: compatible %q: component %q not after %q (must be alphabetical, no repeats): %w",
					s, c.Components[i], c.Components[i-1], ErrCompat)
			}
		}
	}
	return c, nil
}

func checkCompatPart(p string) error {
	if p == "" {
		return fmt.Errorf("empty: %w", ErrCompat)
	}
	v := strings.LastIndex(p, "-v")
	if v <= 0 || v+2 == len(p) {
		return fmt.Errorf("%q has no -vN version suffix: %w", p, ErrCompat)
	}
	for _, r := range p[v+2:] {
		if r < '0' || r > '9' {
			return fmt.Errorf("%q: version %q not a number: %w", p, p[v+2:], ErrCompat)
		}
	}
	for _, r := range p[:v] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == ',' || r == '_') {
			return fmt.Errorf("%q: character %q: %w", p, r, ErrCompat)
		}
	}
	if p[0] == '-' {
		return fmt.Errorf("%q starts with '-': %w", p, ErrCompat)
	}
	return nil
}

// String joins the parts back with ';'.
func (c Compat) String() string {
	return strings.Join(append([]string{c.Base}, c.Components...), ";")
}

// Has reports whether component is one of c's components.
func (c Compat) Has(component string) bool {
	for _, x := range c.Components {
		if x == component {
			return true
		}
	}
	return false
}

// AlignedLen is the size of a char array holding c with its NUL, rounded up to
// 8 bytes (KHO_COMPAT_ALIGN / LUO_ABI_COMPAT_LEN): 8 for "luo-v5", 16 for
// "luo-v5;block-v1".
func (c Compat) AlignedLen() int { return (len(c.String()) + 1 + 7) &^ 7 }
