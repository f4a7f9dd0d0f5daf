#!/bin/sh
# Builds the debugfs copies under debugfs/ from the real Linux 7.3.4 vectors
# (/work/shared/vectors/linux-7.3.4-x86_64, see its README.md).
#  in/kho/in:  the root FDT the second kernel received (kho_in_fdt_stage2.dtb,
#              real), kexec-metadata (real), and a LUO blob rebuilt from the
#              values the README lists (the real one had been reused by then).
#  out/kho/out: the first kernel's root FDT cut to the 233 bytes its debugfs
#              file really held (totalsize 285: the strings block is lost), a
#              LUO blob with the stage-1 values from real-kernel.md
#              (luo-v5, liveupdate_num 1, sessions_pa 0, flbs_pa 0x3aa000), and
#              the kexec-metadata bytes of the in side (the stage-1 ones were
#              not kept).
set -eu
V=${VECTORS:-/work/shared/vectors/linux-7.3.4-x86_64}
cd "$(dirname "$0")"
rm -rf debugfs
mkdir -p debugfs/in/kho/in/sub_fdts debugfs/out/kho/out/sub_fdts
luo() { # compatible[8] "luo-v5", then little-endian u64 liveupdate_num, sessions_pa, flbs_pa
	python3 -c 'import struct, sys; sys.stdout.buffer.write(b"luo-v5\0\0" + struct.pack("<3Q", *(int(a, 0) for a in sys.argv[1:])))' "$@"
}
cp "$V/kho_in_fdt_stage2.dtb" debugfs/in/kho/in/fdt
cp "$V/kexec_metadata_in.bin" debugfs/in/kho/in/sub_fdts/kexec-metadata
luo 1 0x3e9000 0x3b8000 > debugfs/in/kho/in/sub_fdts/LUO
head -c 233 "$V/kho_out_fdt_stage1_0x1eb000.dtb" > debugfs/out/kho/out/fdt
cp "$V/kexec_metadata_in.bin" debugfs/out/kho/out/sub_fdts/kexec-metadata
luo 1 0 0x3aa000 > debugfs/out/kho/out/sub_fdts/LUO
chmod -R u+w,a+r debugfs
