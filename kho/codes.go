package kho

import (
	"slices"
	"sort"
)

// CodeInfo is what a finding code means: its fixed severity, a one-line
// summary, and what kernel releases do with such input (abi.md, "How
// malformed input hurts the current kernel parsers").
type CodeInfo struct {
	Severity Severity
	Summary  string
	Kernel   []Impact
}

// Codes returns the finding codes Decode, Locate, the FLB model and
// RecoverLUO emit, sorted. The table is the one place a code's severity,
// summary and kernel impact are written.
func Codes() []string {
	out := make([]string, 0, len(codeTable))
	for c := range codeTable {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// LookupCode returns the table entry of a code, whichever part of the
// package emits it.
func LookupCode(code string) (CodeInfo, bool) {
	ci, ok := codeTable[code]
	ci.Kernel = slices.Clone(ci.Kernel)
	return ci, ok
}

// codeInfo returns the table entry of code, or an Error entry for a code
// the table lacks, so that such a finding still stands out (TestCodeTable
// keeps one from shipping).
func codeInfo(code string) CodeInfo {
	if ci, ok := codeTable[code]; ok {
		// A copy: findings hand their impacts to callers, who may edit them.
		ci.Kernel = slices.Clone(ci.Kernel)
		return ci
	}
	return CodeInfo{Severity: Error, Summary: "undocumented code"}
}

// Context-specific impacts: when the same defect hurts a kernel differently
// depending on where it is (a broken session chain panics, a broken file
// chain only fails /dev/liveupdate), the decoder looks up "code@context"
// first and falls back to the code's own entry.
var contextImpacts = map[string][]Impact{
	"block.cycle@sessions":               {{"7.2-7.3", EffectPanic, "kho_block_set_restore fails with -EINVAL; luo_restore_fail panics at early boot"}},
	"block.count-zero@sessions":          {{"7.2-7.3", EffectPanic, "kho_block_set_restore fails with -EINVAL; luo_restore_fail panics at early boot"}},
	"block.count-exceeds-block@sessions": {{"7.2-7.3", EffectPanic, "kho_block_set_restore fails with -EINVAL; luo_restore_fail panics at early boot"}},
	"block.too-many@sessions":            {{"7.2-7.3", EffectPanic, "kho_block_set_restore fails with -ENOSPC; luo_restore_fail panics at early boot"}},
	"block.cycle@files":                  {{"7.2-7.3", EffectRejected, "session deserialization fails; every /dev/liveupdate open returns -EIO; earlier sessions leak"}},
	"block.count-zero@files":             {{"7.2-7.3", EffectRejected, "session deserialization fails; every /dev/liveupdate open returns -EIO; earlier sessions leak"}},
	"block.count-exceeds-block@files":    {{"7.2-7.3", EffectRejected, "session deserialization fails; every /dev/liveupdate open returns -EIO; earlier sessions leak"}},
	"block.too-many@files":               {{"7.2-7.3", EffectRejected, "session deserialization fails; every /dev/liveupdate open returns -EIO; earlier sessions leak"}},
	"ptr.unaligned@block":                {{"7.2-7.3", EffectIgnored, "read through the direct map unchecked; kho_restore_free WARNs and frees nothing"}},
	"ptr.unpreserved@block":              {{"7.2-7.3", EffectIgnored, "read through the direct map unchecked; kho_restore_free WARNs and frees nothing"}},
	"ptr.zero@memfd":                     {{"6.19-7.3", EffectOutOfBounds, "the NULL check tests phys_to_virt(0): physical page 0 is parsed as memfd_luo_ser"}},
	"subtree.data-length@LUO":            luoSubtreePanic,
	"subtree.size-missing@LUO":           luoSubtreePanic,
	"subtree.size-length@LUO":            luoSubtreePanic,
	"ptr.zero@session-v1":                {{"6.19-7.1", EffectOutOfBounds, "phys_to_virt(0): physical page 0 is read as the session array"}},
	"ptr.zero@flb-v1":                    {{"7.0-7.1", EffectOutOfBounds, "phys_to_virt(0): physical page 0 is read as the FLB table"}},
	"ptr.unaligned@flb":                  {{"7.0-7.3", EffectOutOfBounds, "dereferenced lazily, long after boot, with no check"}},
	"ptr.unpreserved@flb":                {{"7.0-7.3", EffectOutOfBounds, "dereferenced lazily, long after boot, with no check"}},
}

// A LUO node kho_retrieve_subtree cannot return (anything but -ENOENT)
// fails luo_early_startup.
var luoSubtreePanic = []Impact{
	{"6.19-7.1", EffectPanic, "kho_retrieve_subtree fails for LUO; luo_restore_fail panics"},
	{"7.2-7.3", EffectPanic, "kho_retrieve_subtree fails for LUO; luo_restore_fail panics even with liveupdate=off"},
}

var panicLUOv5 = []Impact{{"7.2-7.3", EffectPanic, "luo_early_startup fails; luo_restore_fail panics even with liveupdate=off"}}
var panicLUOv1 = []Impact{{"6.19-7.1", EffectPanic, "luo_early_startup fails; luo_restore_fail panics"}}
var revivalDropped = []Impact{{"6.16-7.3", EffectRejected, "kho_populate drops KHO revival; preserved memory is not protected"}}

var codeTable = map[string]CodeInfo{
	"decode.findings-truncated": {Info, "more findings of one code than MaxFindingsPerCode; the rest are counted", nil},

	// Pointers (abi.md §10 rule 1).
	"ptr.zero":           {Error, "a required physical pointer is 0", nil},
	"ptr.overflow":       {Error, "pointer + object size wraps around 2^64", nil},
	"ptr.unaligned":      {Error, "pointer not aligned as its object requires", nil},
	"ptr.absent":         {Error, "pointer leads outside the memory the source describes", nil},
	"ptr.excluded":       {Warning, "pointer leads into memory the dump left out: the dump cannot say", nil},
	"ptr.read-failed":    {Error, "reading the object failed", nil},
	"ptr.in-scratch":     {Error, "object lies in a scratch region the new kernel allocates from", []Impact{{"6.16-7.3", EffectCorruption, "scratch is handed to the early allocator; the object may be overwritten"}}},
	"ptr.unpreserved":    {Error, "object not covered by the preserved-memory map", []Impact{{"6.16-7.3", EffectCorruption, "the page is not reserved; the new kernel may reuse it while it is still read"}}},
	"ptr.order-mismatch": {Warning, "object preserved, but not as a block of the expected order", nil},

	// FDT containers (rule 8).
	"fdt.quirk": {Warning, "an FDT decoded only leniently, or with an observation (see the fdt package's codes)", nil},

	// Root FDT (rules 8, 10, 13).
	"root.fdt-too-large":      {Warning, "root FDT totalsize exceeds one page", []Impact{{"6.16-7.3", EffectOutOfBounds, "kho_populate maps one page; totalsize is not checked against it"}}},
	"root.compatible-unknown": {Error, "root compatible is not a known KHO version", revivalDropped},
	"root.compatible-list":    {Warning, "root compatible is a string list, not one string", []Impact{{"6.16-7.3", EffectIgnored, "string-list semantics: accepted when any entry matches"}}},
	"root.map-missing":        {Error, "preserved-memory-map property missing", revivalDropped},
	"root.map-length":         {Error, "preserved-memory-map is not exactly 8 bytes", revivalDropped},
	"root.map-zero":           {Error, "preserved-memory-map is 0 in kho-v2 or later", []Impact{{"7.1-7.3", EffectRejected, "KHO revival dropped (safe)"}}},
	"root.map-empty":          {Info, "kho-v1 preserved-memory-map is 0: nothing preserved", nil},
	"root.property-unknown":   {Warning, "unknown property in the root node", nil},
	"root.node-duplicate":     {Error, "two root subnodes share a name; the later one is not used", []Impact{{"6.16-7.3", EffectIgnored, "fdt_subnode_offset finds the first; the later node is invisible"}}},

	// Subnodes (rule 13).
	"subtree.data-length":      {Error, "preserved-data/fdt missing or not exactly 8 bytes", []Impact{{"7.1-7.3", EffectRejected, "kho_retrieve_subtree returns -EINVAL"}}},
	"subtree.data-zero":        {Error, "preserved-data/fdt is 0", nil},
	"subtree.size-missing":     {Error, "blob-size missing (kho-v3 and later)", []Impact{{"7.1-7.3", EffectRejected, "kho_retrieve_subtree fails even for callers not needing the size"}}},
	"subtree.size-length":      {Error, "blob-size not exactly 8 bytes", []Impact{{"7.1-7.3", EffectRejected, "kho_retrieve_subtree returns -EINVAL"}}},
	"subtree.size-zero":        {Error, "blob-size is 0", nil},
	"subtree.size-too-large":   {Error, "blob-size above the decoder's cap (Options.MaxBlobSize)", nil},
	"subtree.total-limit":      {Error, "the subtrees' blobs together exceed 16 times Options.MaxBlobSize; this one is not read", nil},
	"subtree.fdt-invalid":      {Error, "a sub-FDT does not decode", nil},
	"subtree.format-unknown":   {Warning, "subnode name not known: raw bytes kept", nil},
	"subtree.property-unknown": {Warning, "unknown property in a root subnode", nil},

	// Memory map (rules 10-12).
	"map.unusable":             {Warning, "the preserved-memory map did not decode cleanly; preservation of pointers is not checked", nil},
	"map.node-limit":           {Error, "more map pages than Options.MaxRadixNodes", nil},
	"map.run-limit":            {Error, "the map decodes to more preserved runs than Options.MaxRuns", nil},
	"map.block-outside-memory": {Error, "a preserved block lies outside memory", []Impact{{"6.16-7.3", EffectCorruption, "pfn_to_page out of range: page->private written into random memory"}}},
	"map.overlap":              {Error, "two preserved blocks overlap; the later is dropped", nil},
	"map.block-in-scratch":     {Error, "a preserved block overlaps scratch", []Impact{{"6.16-7.3", EffectCorruption, "early allocations from scratch may overwrite preserved state"}}},
	"chunk.num-elms-too-large": {Error, "kho-v1 chunk num_elms above KHOSER_BITMAP_SIZE", []Impact{{"6.16-7.0", EffectOutOfBounds, "reads past the chunk page"}}},
	"chunk.order-too-large":    {Error, "kho-v1 chunk order above MAX_PAGE_ORDER", []Impact{{"6.16-7.0", EffectCorruption, "int shift overflow in deserialize_bitmap (order >= 19): garbage memblock_reserve"}}},
	"chunk.bitmap-zero":        {Error, "kho-v1 bitmap pointer is 0", []Impact{{"6.16-7.0", EffectPanic, "NULL dereference in early boot"}}},
	"chunk.start-unaligned":    {Error, "kho-v1 phys_start not aligned to the bitmap's window", nil},
	"chunk.cycle":              {Error, "kho-v1 chunk list loops", []Impact{{"6.16-7.0", EffectHang, "infinite loop in early boot"}}},
	"radix.shared-node":        {Error, "a radix node is reached twice (shared, cycle or upward pointer); the subtree is skipped", []Impact{{"7.1-7.3", EffectHang, "depth-bounded but combinatorial re-walk in early boot (twice in 7.3)"}}},
	"radix.key-too-wide":       {Error, "radix keys wider than KHO_RADIX_KEY_WIDTH (root index too large)", []Impact{{"7.1-7.3", EffectHang, "the unsigned order wraps: undefined shifts, garbage reservations; the early page-init loop may run ~2^61 times"}}},
	"radix.key-zero":           {Error, "radix key 0 is set", []Impact{{"7.1-7.3", EffectHang, "the unsigned order wraps: undefined shifts, garbage reservations; the early page-init loop may run ~2^61 times"}}},
	"radix.order-too-large":    {Error, "radix keys decoding to an order above MAX_PAGE_ORDER", []Impact{{"7.1-7.3", EffectCorruption, "memblock_reserve of up to 2^64 bytes, 2^order struct pages touched early; kho_restore_page builds an absurd compound page"}, {"7.3", EffectHang, "kho_extend_scratch loops once per GiB over the range"}}},

	// kho-v1 bitmap size (Options.KHOv1Bitmap): 512 bytes in 6.16/6.17, a page since 6.18.
	"chunk.bitmap-512":           {Info, "kho-v1 bitmaps read as 512 bytes (Linux 6.16/6.17): a chunk element only fits that layout", nil},
	"chunk.bitmap-size-assumed":  {Info, "no kho-v1 chunk element shows the bitmap size; read as one page (6.18 on); Options.KHOv1Bitmap forces 512", nil},
	"chunk.bitmap-size-conflict": {Warning, "page bitmaps were asked for, but a kho-v1 chunk element only fits 512-byte ones (6.16/6.17)", nil},

	// Linked blocks (rule 17).
	"block.cycle":               {Error, "block chain loops", nil},
	"block.count-zero":          {Error, "block count is 0", nil},
	"block.count-exceeds-block": {Error, "block count above the entries a block holds", nil},
	"block.too-many":            {Error, "more blocks in one chain than Options.MaxBlocks (KHO_MAX_BLOCKS)", nil},
	"block.shared":              {Error, "a block already belongs to another chain", nil},
	"block.total-limit":         {Error, "more blocks overall than Options.MaxTotalBlocks", nil},

	// LUO (rule 18).
	"luo.blob-too-small":      {Error, "LUO blob smaller than its structure", panicLUOv5},
	"luo.blob-size-mismatch":  {Info, "LUO blob-size larger than its structure", nil},
	"luo.compatible-unknown":  {Error, "LUO compatible not known; raw bytes kept", panicLUOv5},
	"luo.compatible-padding":  {Warning, "LUO compatible field has bytes after its NUL", []Impact{{"7.2-7.3", EffectIgnored, "strncmp stops at the NUL"}}},
	"luo.fdt-invalid":         {Error, "LUO FDT does not decode", panicLUOv1},
	"luo.number-length":       {Error, "liveupdate-number missing or not 8 bytes", panicLUOv1},
	"luo.session-missing":     {Error, "luo-session node missing", panicLUOv1},
	"luo.session-compatible":  {Error, "luo-session compatible not known", panicLUOv1},
	"luo.session-header":      {Error, "luo-session-header missing or not 8 bytes", panicLUOv1},
	"luo.flb-missing":         {Warning, "luo-flb node missing (a v6.19 producer)", []Impact{{"7.0-7.1", EffectPanic, "the luo-flb node is required: -ENOENT, luo_restore_fail panics"}}},
	"luo.flb-compatible":      {Error, "luo-flb compatible not known", []Impact{{"7.0-7.1", EffectPanic, "luo_restore_fail panics"}}},
	"luo.flb-header":          {Error, "luo-flb-header missing or not 8 bytes", []Impact{{"7.0-7.1", EffectPanic, "luo_restore_fail panics"}}},
	"luo.abi-header":          {Error, "luo-v2 luo-abi-header missing or not 8 bytes", nil},
	"luo.property-unknown":    {Warning, "unknown property in the LUO FDT", nil},
	"luo.node-unknown":        {Warning, "unknown node in the LUO FDT", nil},
	"session.count-too-large": {Error, "luo-v1 session count above the 16-page array", []Impact{{"6.19-7.1", EffectOutOfBounds, "reads beyond the 16-page block"}}},

	// Sessions and files (rules 19-20).
	"session.name-unterminated":    {Error, "session name has no NUL within 64 bytes", []Impact{{"6.19-7.3", EffectIgnored, "truncated to 63 chars; may then collide: -EEXIST and every /dev/liveupdate open returns -EIO"}}},
	"session.name-empty":           {Error, "session name is empty", []Impact{{"6.19-7.3", EffectNone, "accepted"}}},
	"session.name-duplicate":       {Error, "two sessions share a name; the later is not used", []Impact{{"6.19-7.3", EffectLeak, "deserialization aborted with -EEXIST; every /dev/liveupdate open returns -EIO; state leaked"}}},
	"file.count-too-large":         {Error, "luo-v1 file count above the 2-page array", []Impact{{"6.19-7.1", EffectOutOfBounds, "reads beyond the 2-page file array"}}},
	"file.files-zero":              {Warning, "file set has no files pointer but a non-zero count", []Impact{{"6.19-7.3", EffectIgnored, "WARN only; treated as no files"}}},
	"file.count-mismatch":          {Error, "files found differ from file_set_ser.count", []Impact{{"7.2-7.3", EffectRejected, "session deserialization fails; every /dev/liveupdate open returns -EIO; earlier sessions leak"}}},
	"file.compatible-unterminated": {Error, "file compatible has no NUL within 48 bytes", nil},
	"file.compatible-unknown":      {Warning, "no known handler for the file compatible; data not decoded", []Impact{{"6.19-7.3", EffectRejected, "no handler: -ENOENT fails session deserialization"}}},
	"file.token-duplicate":         {Error, "two files of a session share a token; the later is not used", []Impact{{"6.19-7.3", EffectUseAfterFree, "later entries unreachable by RETRIEVE_FD; SESSION_FINISH still finishes them, freeing shared data twice"}}},
	"file.data-duplicate":          {Error, "two files share one handler data pointer; the later is not used", []Impact{{"6.19-7.3", EffectUseAfterFree, "both entries are finished: the shared state is freed twice"}}},

	// memfd and vmalloc (rules 14, 23).
	"memfd.seals-unknown":         {Error, "memfd seals outside MEMFD_LUO_ALL_SEALS (0x3f)", []Impact{{"7.1-7.3", EffectRejected, "retrieve fails with -EOPNOTSUPP"}}},
	"memfd.flags-nonzero":         {Warning, "memfd-v2 flags not 0", []Impact{{"7.1-7.3", EffectIgnored, "not checked on retrieve"}}},
	"memfd.pos-too-large":         {Warning, "memfd pos above MAX_LFS_FILESIZE", []Impact{{"6.19-7.3", EffectIgnored, "vfs_setpos result ignored"}}},
	"memfd.nr-folios-too-large":   {Error, "nr_folios exceeds the folio array's pages", []Impact{{"6.19-7.3", EffectOutOfBounds, "the folio walk reads past the vmap area"}}},
	"memfd.too-many-folios":       {Error, "nr_folios above Options.MaxFolios, or all memfds above four times it", nil},
	"memfd.folio-flags-unknown":   {Warning, "folio flags outside DIRTY|UPTODATE", []Impact{{"6.19-7.3", EffectIgnored, "other bits ignored"}}},
	"memfd.folio-index-range":     {Error, "a folio fills no page-cache index below ceil(size/PAGE_SIZE): its index, a large folio's rounded down to 2^order, is at or beyond it; the folio is not used", []Impact{{"6.19-7.3", EffectIgnored, "not checked: shmem_add_to_page_cache inserts the folio past i_size, unread until the file grows over it"}}},
	"memfd.folio-shared":          {Error, "a folio overlaps another folio of some memfd; the later is not used", []Impact{{"6.19-7.3", EffectCorruption, "the page is restored twice and may back two files"}}},
	"memfd.folio-index-duplicate": {Error, "two folios share a page-cache index (the same, or one of the 2^order a large folio fills from its index rounded down); the later in the array is not used, as the kernel inserts them in array order", []Impact{{"6.19-7.3", EffectRejected, "page-cache insert fails with -EEXIST; remaining folios released"}}},
	"memfd.folio-index-unaligned": {Error, "a large folio's page-cache index is not a multiple of its 2^order pages", []Impact{{"6.19-7.3", EffectPanic, "VM_BUG_ON_FOLIO in shmem_add_to_page_cache with CONFIG_DEBUG_VM"}, {"6.19-7.3", EffectIgnored, "otherwise the xarray stores the folio at its index rounded down while folio->index keeps the one given"}}},
	"vmalloc.flags-unknown":       {Error, "vmalloc flags outside ALLOC|HUGE_VMAP", []Impact{{"6.18-7.3", EffectIgnored, "unknown bits silently ignored"}}},
	"vmalloc.order-too-large":     {Error, "vmalloc order above MAX_PAGE_ORDER", []Impact{{"6.18-7.3", EffectCorruption, "int / 32-bit shift overflow computing run length and alignment"}}},
	"vmalloc.total-pages":         {Error, "vmalloc total_pages inconsistent with what it must hold, or above the cap", []Impact{{"6.19-7.3", EffectExhaustion, "total_pages-sized kvmalloc before any validation"}}},
	"vmalloc.first-zero":          {Error, "vmalloc has pages but no chunk", nil},
	"vmalloc.run-unaligned":       {Error, "vmalloc run not aligned to 2^order pages", nil},
	"vmalloc.run-overflow":        {Error, "vmalloc runs exceed total_pages", []Impact{{"6.18-7.3", EffectRejected, "kho_restore_vmalloc fails; pages already restored are not given back"}}},
	"vmalloc.page-count-mismatch": {Error, "vmalloc runs sum to a different page count than total_pages", []Impact{{"6.18-7.3", EffectRejected, "kho_restore_vmalloc fails; pages already restored are not given back"}}},
	"vmalloc.cycle":               {Error, "vmalloc chunk chain loops or is too long", nil},
	"vmalloc.shared":              {Error, "a vmalloc chunk or run page already belongs to another area (or this one)", nil},

	// FLB (rule 21).
	"flb.pgcnt-invalid":      {Warning, "FLB header pgcnt is not 1", []Impact{{"7.0-7.3", EffectIgnored, "pgcnt is never read"}}},
	"flb.count-exceeds-page": {Error, "FLB count above what one page holds (LUO_FLB_MAX)", []Impact{{"7.0-7.3", EffectOutOfBounds, "the linear scan reads past the page"}}},
	// strcmp against a registered compatible (at most 47 chars + NUL) ends
	// inside the 48-byte field, so such an entry can only fail to match.
	"flb.name-unterminated":     {Error, "FLB name has no NUL within 48 bytes", []Impact{{"7.0-7.3", EffectIgnored, "the entry is never found; retrieve returns -ENOENT"}}},
	"flb.name-empty":            {Error, "FLB name is empty", nil},
	"flb.name-duplicate":        {Error, "two FLB entries share a name; the later is not used", []Impact{{"7.0-7.3", EffectIgnored, "first match wins; later entries silently ignored"}}},
	"flb.entry-count-zero":      {Error, "FLB entry count is 0", []Impact{{"7.0-7.1", EffectLeak, "decrement to -1; finish() never runs"}, {"7.2-7.3", EffectLeak, "refcount increment from 0 WARNs and saturates; finish() never runs"}}},
	"flb.entry-count-too-large": {Error, "FLB entry count above INT_MAX", []Impact{{"7.2-7.3", EffectIgnored, "narrowed into a 32-bit refcount_t"}}},

	// kexec-metadata (rule 16) and memblock (rule 15).
	"kexec.blob-too-small":       {Error, "kexec-metadata blob smaller than 73 bytes", []Impact{{"7.1-7.3", EffectIgnored, "warns and ignores the blob"}}},
	"kexec.version-unknown":      {Error, "kexec-metadata version is not 1", []Impact{{"7.1-7.3", EffectIgnored, "warns and ignores the blob"}}},
	"kexec.release-unterminated": {Error, "previous_release has no NUL within 65 bytes", []Impact{{"7.1-7.3", EffectIgnored, "strscpy truncates the string"}}},
	"memblock.fdt-invalid":       {Error, "memblock sub-FDT does not decode", nil},
	"memblock.compatible":        {Error, "memblock compatible not memblock-v1", []Impact{{"6.16-7.3", EffectRejected, "reserve_mem regions are not revived"}}},
	"memblock.region-compatible": {Error, "reserve_mem child compatible not reserve-mem-v1", []Impact{{"6.16-7.3", EffectRejected, "the region is not revived"}}},
	"memblock.region-property":   {Error, "reserve_mem start/size missing or not 8 bytes", []Impact{{"6.16-7.3", EffectRejected, "the region is not revived"}}},
	"memblock.region-unaligned":  {Error, "reserve_mem start not page-aligned", []Impact{{"6.16-7.3", EffectRejected, "the region is not revived"}}},
	"memblock.region-name":       {Warning, "reserve_mem name longer than 15 characters", nil},

	// Locating the handover (Locate): x86 setup_data, /chosen, the scratch
	// array (rule 9) and the scan.
	"setup_data.cycle":           {Error, "the setup_data chain loops", []Impact{{locRelX86, EffectHang, "the kernel's setup_data walks (parse_setup_data and others) have no cycle check and loop forever"}}},
	"setup_data.too-long":        {Warning, "the setup_data chain is longer than LocateOptions.MaxSetupData; not followed further", nil},
	"setup_data.unreadable":      {Warning, "a setup_data node cannot be read", nil},
	"setup_data.kho-short":       {Error, "the SETUP_KHO node is shorter than kho_data", []Impact{{locRelX86, EffectOutOfBounds, "add_kho() and the decompressor's KASLR scan read the 32-byte kho_data past the node"}}},
	"setup_data.kho-unreadable":  {Error, "the SETUP_KHO payload cannot be read", nil},
	"setup_data.kho-fdt-invalid": {Error, "kho_data's fdt_addr is not a valid KHO root", []Impact{{locRelAll, EffectRejected, "kho_populate fails its checks and KHO revival is dropped"}}},
	"setup_data.kho-fdt-size":    {Warning, "kho_data's fdt_size disagrees with the root FDT's totalsize", []Impact{{locRelAll, EffectOutOfBounds, "kho_populate maps fdt_size bytes but does not check totalsize against it"}}},
	"chosen.fdt-invalid":         {Warning, "a boot FDT found for /chosen does not decode", nil},
	"chosen.kho-fdt-length":      {Error, "/chosen linux,kho-fdt has the wrong length", []Impact{{locRelAll, EffectRejected, "early_init_dt_check_kho ignores KHO"}}},
	"chosen.kho-scratch-length":  {Error, "/chosen linux,kho-scratch is not one <addr size> pair of the root's #address-cells and #size-cells", []Impact{{locRelAll, EffectRejected, "early_init_dt_check_kho returns before kho_populate when linux,kho-scratch is not exactly one such pair: KHO is ignored"}}},
	"chosen.kho-scratch-missing": {Error, "/chosen has linux,kho-fdt without linux,kho-scratch", []Impact{{locRelAll, EffectRejected, "early_init_dt_check_kho requires both properties and ignores KHO"}}},
	"chosen.kho-fdt-invalid":     {Error, "/chosen linux,kho-fdt is not a valid KHO root", nil},
	"scratch.size-unaligned":     {Warning, "scratch_size is not a multiple of the entry size", []Impact{{locRelAll, EffectIgnored, "the remainder past the last whole entry is ignored"}}},
	"scratch.empty":              {Error, "the scratch array has no entry", nil},
	"scratch.too-many":           {Error, "more scratch entries than are believed", nil},
	"scratch.unreadable":         {Error, "the scratch array cannot be read", nil},
	"scratch.all-zero":           {Warning, "the scratch array is all zero (an image taken before the kexec copied it?)", nil},
	"scratch.entry-empty":        {Info, "a scratch region has size 0 (the kernel writes these itself)", nil},
	"scratch.entry-overflow":     {Error, "a scratch region wraps around 2^64", scratchCorrupt},
	"scratch.entry-unaligned":    {Error, "a scratch region is not page-aligned", scratchCorrupt},
	"scratch.entry-not-ram":      {Error, "a scratch region is not (all) memory", scratchCorrupt},
	"scratch.covers-root":        {Error, "a scratch region covers the root FDT", scratchCorrupt},
	"scratch.entry-overlap":      {Error, "two scratch regions overlap", scratchCorrupt},
	"locate.scan-truncated":      {Warning, "more scan hits of one kind than LocateOptions.MaxHits; the rest were not examined", nil},
	"locate.fdt-budget":          {Warning, "more non-KHO FDT bytes than the locator reads; later FDTs are not searched for /chosen", nil},

	// Recovery (RecoverLUO): LUO state found by its contents after its
	// pointers were lost.
	"luo.pointer-lost":         {Warning, "pointers to LUO state are lost (luo_ser reused, map overwritten, as after the kexec); what recovery found cannot be checked for preservation", nil},
	"luo.recovered-sessions":   {Info, "the session chain was recovered by its contents", nil},
	"luo.recovered-flbs":       {Info, "the FLB page was recovered by its contents", nil},
	"luo.recovery-ambiguous":   {Warning, "more than one candidate of a kind passed every check; none was put in the model", nil},
	"luo.recovery-rejected":    {Info, "a candidate looked like LUO state but failed a check", nil},
	"luo.recovery-other":       {Info, "a candidate belongs to other LUO state (a surviving luo_ser points at it)", nil},
	"luo.recovery-none":        {Warning, "recovery found no candidate for lost LUO state", nil},
	"luo.recovery-truncated":   {Warning, "more candidates of one kind than RecoverOptions.MaxCandidates; the rest were not examined", nil},
	"luo.number-inferred":      {Info, "liveupdate_num inferred from the running kernel's outgoing luo_ser", nil},
	"luo.recovery-orphan-file": {Info, "file blocks no recognised session reaches", nil},
}

// Releases of the locator's impacts: setup_data exists on x86 only.
const (
	locRelX86 = "x86 (6.16-7.3)"
	locRelAll = "6.16-7.3"
)

var scratchCorrupt = []Impact{{locRelAll, EffectCorruption, "kho_populate adds every entry to memblock as scratch, unchecked: early allocations may land on preserved state"}}
