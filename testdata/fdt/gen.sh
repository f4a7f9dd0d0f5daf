#!/bin/sh
# Regenerates the .dtb files under valid/ from their .dts sources with the
# real dtc (Debian 12: apt install device-tree-compiler), in a few output
# layouts, plus one blob edited in place by libfdt (fdtput). The malformed
# blobs under malformed/ come from `go run ./fdt/internal/genmalformed`.
set -eu
cd "$(dirname "$0")/valid"
dtc() { command dtc -q -I dts -O dtb "$@"; }

for src in *.dts; do
	dtc -o "${src%.dts}.dtb" "$src"
done
dtc -V 16 -o board-v16.dtb board.dts          # version 16 header
dtc -p 64 -o board-pad64.dtb board.dts        # 64 zero bytes after the strings
dtc -S 4096 -o board-space4096.dtb board.dts  # totalsize 4096
dtc -a 64 -o board-align64.dtb board.dts      # totalsize a multiple of 64
dtc -s -b 3 -o board-sorted-cpu3.dtb board.dts # sorted nodes, boot cpu 3

# libfdt rewrites the layout when it edits a blob in place.
cp kho-like.dtb kho-like-fdtput.dtb
fdtput -t s kho-like-fdtput.dtb /LUO note "added by fdtput"
fdtput -c kho-like-fdtput.dtb /LUO/child
fdtput -t x kho-like-fdtput.dtb /LUO/child cells 1 2 3
fdtput -d kho-like-fdtput.dtb /kexec-metadata blob-size

# The kernel's debugfs kho/out/fdt copy: the first 233 bytes of the 285-byte
# tree (debugfs sized the file before LUO added its node).
cd ..
head -c 233 kernel/kho_out_fdt_stage1_0x1eb000.dtb > kernel/kho_out_fdt_debugfs_233.bin
