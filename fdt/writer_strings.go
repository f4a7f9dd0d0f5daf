package fdt

// SeedStrings adds names to the strings table, in the given order, before
// any property uses them; names already in the table are skipped. A
// writer that must reproduce another's bytes uses it: libfdt's strings
// table order depends on how the blob was made (sequential-write mode
// stores names in reverse order of first use, and fdt_setprop then
// appends new ones), not on the property order.
func (w *Writer) SeedStrings(names ...string) error {
	if w.err != nil {
		return w.err
	}
	for _, name := range names {
		if msg := checkPropName([]byte(name)); msg != "" {
			return w.fail("SeedStrings: property name %q: %s", name, msg)
		}
		w.stringOffset(name)
	}
	return nil
}
