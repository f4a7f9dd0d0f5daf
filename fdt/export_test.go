package fdt

// ReadTestdata lets the external test package (fdt_test) read testdata/fdt
// the way the internal tests do.
var ReadTestdata = readTestdata
