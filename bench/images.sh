#!/usr/bin/env bash
# Time and peak memory of khodump on a memory image, with and without
# --root, against `cat IMAGE > /dev/null` (the read limit), all in one run.
# Usage: bench/images.sh IMAGE ROOT [RUNS]   (ROOT: the address `khodump scan IMAGE`
# names, 0x1eb000 in the harness's default 512 MiB dumps; BENCHMARKS.md's 1 GiB dumps:
#   KHOKIT_E2E_MEM=1G bash e2e/run.sh capture; bench/images.sh /var/tmp/khokit-e2e/dumps/post-kexec.elf 0x1ef000)
# Prints, per command, the median wall time, the largest peak RSS over RUNS
# runs, and the highest exit status (a run that failed early is not a timing).
set -euo pipefail
img=$1 root=$2 runs=${3:-5}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/khodump
go build -o "$bin" ./cmd/khodump
cat "$img" > /dev/null # warm the page cache: every command below reads from it
measure() { # label, command...
  local label=$1; shift
  local times=() rss=0 worst=0 st out tf=$tmp/time
  for _ in $(seq "$runs"); do
    st=0
    /usr/bin/time -o "$tf" -f '%e %M' "$@" > /dev/null 2>&1 || st=$?
    (( st > worst )) && worst=$st
    out=$(tail -1 "$tf")
    times+=("${out% *}")
    (( ${out#* } > rss )) && rss=${out#* }
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  printf '%-34s %8s s %8d KiB  exit %d\n' "$label" "$median" "$rss" "$worst"
}
printf '%s (%s bytes), %d runs, load %s\n' "$img" "$(stat -c %s "$img")" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
measure "cat > /dev/null" sh -c "cat '$img' > /dev/null"
measure "khodump --root $root" "$bin" --no-progress --root "$root" "$img"
measure "khodump (locate by scan)" "$bin" --no-progress "$img"
measure "khodump scan" "$bin" scan --no-progress "$img"
