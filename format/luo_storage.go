package format

// LUOStorage says where a LUO generation keeps its sessions and files
// (abi.md §6.2, §6.4): in kho_block chains, or in the fixed arrays of the
// earlier layouts.
type LUOStorage struct {
	SessionBlocks bool // a session-block chain, else a 16-page session array with a count header
	FileBlocks    bool // file-block chains, else a 2-page file array per session
}

var (
	fmtLUOFDTv1 = mustLookup("luo-fdt-v1", Page4K)
	fmtLUOFDTv2 = mustLookup("luo-fdt-v2", Page4K)
)

// luoStorage is keyed by the catalogue name of a LUO root layout: the
// LUO FDTs and the luo_ser variants. The posted "-kho-block-v1" and
// ";block-v1" variants are taken to be the block-based end state of their
// series.
var luoStorage = map[string]LUOStorage{
	"luo-fdt-v1":              {},
	"luo-fdt-v2":              {},
	"luo-ser-v2":              {},
	"luo-ser-v3":              {},
	"luo-ser-v4":              {SessionBlocks: true},
	"luo-ser":                 {SessionBlocks: true, FileBlocks: true},
	"luo-ser-v5-block-v1":     {SessionBlocks: true, FileBlocks: true},
	"luo-ser-v3-kho-block-v1": {SessionBlocks: true, FileBlocks: true},
	"luo-ser-v4-kho-block-v1": {SessionBlocks: true, FileBlocks: true},
}

// LUOStorageOf returns how the LUO root layout called name (a catalogue
// name such as "luo-fdt-v1" or "luo-ser-v4") stores sessions and files;
// false for a name that is not a LUO root layout.
func LUOStorageOf(name string) (LUOStorage, bool) {
	s, ok := luoStorage[name]
	return s, ok
}

// LUORoot returns the catalogue format of the LUO root whose compatible is
// compat, as a KHO "LUO" node carries it: the LUO FDT for "luo-v1" and
// "luo-v2" (whose 24-byte luo_ser, luo-ser-v2, hangs off that FDT), else
// the raw luo_ser variant; nil for an unknown compatible.
func LUORoot(compat string) *Format {
	switch compat {
	case "luo-v1":
		return fmtLUOFDTv1
	case "luo-v2":
		return fmtLUOFDTv2
	}
	return luoSerVariant(compat)
}
