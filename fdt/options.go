package fdt

// Limits bound the work and memory a blob may demand. A zero field means the
// default from [DefaultLimits].
type Limits struct {
	MaxDepth      int // deepest node nesting, root = 1
	MaxNodes      int // nodes in the tree, root included
	MaxProperties int // properties in the tree
	MaxSize       int // totalsize and buffer bytes looked at
}

// DefaultLimits returns limits that every real device tree fits in
// (libfdt's own depth cap is 64) and that keep a hostile blob's cost small.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:      64,
		MaxNodes:      1 << 18,
		MaxProperties: 1 << 19,
		MaxSize:       1 << 26,
	}
}

// Options control decoding. A nil *Options means strict with default limits.
type Options struct {
	// Lenient accepts the quirks real producers emit (see the package
	// documentation) and reports each as a Finding instead of failing.
	Lenient bool
	Limits  Limits
}

func (o *Options) resolve() (lenient bool, l Limits) {
	d := DefaultLimits()
	if o == nil {
		return false, d
	}
	l = o.Limits
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxProperties <= 0 {
		l.MaxProperties = d.MaxProperties
	}
	if l.MaxSize <= 0 {
		l.MaxSize = d.MaxSize
	}
	return o.Lenient, l
}
