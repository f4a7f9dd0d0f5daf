#!/bin/sh
# Regenerates the BTF objects the format tests load: gcc computes the layouts
# of layouts.c for each page size, in the current and the older variants.
set -eu
cd "$(dirname "$0")"
for ps in 4096 16384 65536; do
	gcc -c -gbtf -O0 -DPAGE_SIZE=$ps -o layouts-$ps.o layouts.c
	gcc -c -gbtf -O0 -DPAGE_SIZE=$ps -DOLD -o layouts-old-$ps.o layouts.c
done
# Keep only the BTF section (smaller, and raw BTF is a supported input too).
for o in layouts-*.o; do
	objcopy --dump-section .BTF="${o%.o}.btf" "$o" /dev/null
done
