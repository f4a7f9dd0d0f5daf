/*
 * Handover layouts written from khokit's spec/abi.md (quick reference and
 * sections 2-8), compiled with gcc -gbtf so that a real compiler computes the
 * offsets the BTF check compares with format's catalogue. These are our own
 * declarations of the documented layouts, not kernel source.
 *
 * -DPAGE_SIZE=4096|16384|65536 selects the page size; -DOLD selects the older
 * variants of structs whose name was reused (luo-v2 luo_ser, luo-session-v1
 * luo_session_ser, memfd-v1 memfd_luo_ser, 512-byte kho-v1 bitmaps).
 */
#include <stdint.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;

#define PACKED __attribute__((packed))
/* A physical address in a union with a pointer, as KHO's serialized pointers are. */
#define SERPTR(name) union { u64 phys; void *ptr; } name

/* x86 boot handoff */
struct setup_data { u64 next; u32 type; u32 len; unsigned char data[]; };
struct kho_data { u64 fdt_addr; u64 fdt_size; u64 scratch_addr; u64 scratch_size; } PACKED;
struct kho_scratch { u64 addr; u64 size; };

/* kho-v1 memory map */
struct khoser_mem_chunk_hdr { SERPTR(next); unsigned int order; unsigned int num_elms; };
struct khoser_mem_bitmap_ptr { u64 phys_start; SERPTR(bitmap); };
struct khoser_mem_chunk {
	struct khoser_mem_chunk_hdr hdr;
	struct khoser_mem_bitmap_ptr bitmaps[(PAGE_SIZE - 16) / 16];
};
#ifdef OLD
struct kho_mem_phys_bits { unsigned long preserve[512 * 8 / 64]; };
#else
struct kho_mem_phys_bits { unsigned long preserve[PAGE_SIZE * 8 / 64]; };
#endif

/* radix tree */
struct kho_radix_node { u64 table[PAGE_SIZE / 8]; };
struct kho_radix_leaf { unsigned long bitmap[PAGE_SIZE * 8 / 64]; };

/* vmalloc */
struct kho_vmalloc_hdr { SERPTR(next); };
struct kho_vmalloc_chunk { struct kho_vmalloc_hdr hdr; u64 phys[(PAGE_SIZE - 8) / 8]; };
struct kho_vmalloc { SERPTR(first); unsigned int total_pages; unsigned short flags; unsigned short order; };

/* blocks, kexec metadata */
struct kho_block_header_ser { u64 next; u64 count; } PACKED;
struct kho_kexec_metadata { u32 version; char previous_release[65]; u32 kexec_count; } PACKED;

/* LUO */
#ifdef OLD
struct luo_ser { u64 liveupdate_num; u64 sessions_pa; u64 flbs_pa; } PACKED;
struct luo_session_ser { char name[64]; } PACKED;
#else
struct luo_ser { char compatible[8]; u64 liveupdate_num; u64 sessions_pa; u64 flbs_pa; } PACKED;
struct luo_file_set_ser { u64 files; u64 count; } PACKED;
struct luo_session_ser { char name[64]; struct luo_file_set_ser file_set_ser; } PACKED;
#endif
struct luo_session_header_ser { u64 count; } PACKED;
struct luo_file_ser { char compatible[48]; u64 data; u64 token; } PACKED;
struct luo_flb_header_ser { u64 pgcnt; u64 count; } PACKED;
struct luo_flb_ser { char name[48]; u64 data; u64 count; } PACKED;

/* memfd */
#ifdef OLD
struct memfd_luo_ser { u64 pos; u64 size; u64 nr_folios; struct kho_vmalloc folios; } PACKED;
#else
struct memfd_luo_ser { u64 pos; u64 size; u32 seals; u32 flags; u64 nr_folios; struct kho_vmalloc folios; } PACKED;
#endif
struct memfd_luo_folio_ser { u64 pfn:52; u64 flags:12; u64 index; } PACKED;

/* Reference every type so that its BTF is emitted. */
struct setup_data *r0; struct kho_data *r1; struct kho_scratch *r2;
struct khoser_mem_chunk *r3; struct kho_mem_phys_bits *r4;
struct kho_radix_node *r5; struct kho_radix_leaf *r6;
struct kho_vmalloc_chunk *r7; struct kho_vmalloc *r8;
struct kho_block_header_ser *r9; struct kho_kexec_metadata *r10;
struct luo_ser *r11; struct luo_session_ser *r12; struct luo_session_header_ser *r13;
struct luo_file_ser *r14; struct luo_flb_header_ser *r15; struct luo_flb_ser *r16;
struct memfd_luo_ser *r17; struct memfd_luo_folio_ser *r18;
