#!/usr/bin/env bash
# Regenerates the captured test-binary outputs in this directory from the
# tiny module in planted/ (its go.mod is stored as go.mod.txt so that the
# khokit module does not treat it as a nested module or build it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/planted/." "$work/"
mv "$work/go.mod.txt" "$work/go.mod"
cd "$work"
go test -c -fuzz=. -o "$work/crashy.test" ./crashy
cd crashy
mkdir -p testdata/fuzz/FuzzIndex
# Two inputs that hit the same bug with different numbers in the message.
printf 'go test fuzz v1\n[]byte("KHO\\x05")\n' > testdata/fuzz/FuzzIndex/five
printf 'go test fuzz v1\n[]byte("KHO\\x07zz")\n' > testdata/fuzz/FuzzIndex/seven
"$work/crashy.test" -test.run='^FuzzIndex$/^five$' > "$here/replay-index-five.txt" 2>&1 || true
"$work/crashy.test" -test.run='^FuzzIndex$/^seven$' > "$here/replay-index-seven.txt" 2>&1 || true
rm -r testdata
# A fuzzing run that finds the error-style failure and writes its crasher.
"$work/crashy.test" -test.run='^$' -test.fuzz='^FuzzCheck$' -test.fuzztime=20s \
  -test.fuzzcachedir="$work/cache" > "$here/fuzz-check-crash.txt" 2>&1 || true
name=$(ls testdata/fuzz/FuzzCheck | head -n1)
"$work/crashy.test" -test.run="^FuzzCheck\$/^$name\$" > "$here/replay-check.txt" 2>&1 || true
# A fuzzing run that finds the panic, then one that fails on that seed.
"$work/crashy.test" -test.run='^$' -test.fuzz='^FuzzIndex$' -test.fuzztime=20s \
  -test.fuzzcachedir="$work/cache" > "$here/fuzz-index-crash.txt" 2>&1 || true
"$work/crashy.test" -test.run='^$' -test.fuzz='^FuzzIndex$' -test.fuzztime=20s \
  -test.fuzzcachedir="$work/cache" > "$here/fuzz-index-seedfail.txt" 2>&1 || true
rm -r testdata
# A clean run: progress lines only, with per-input coverage debugging. The
# first run grows a cache corpus; the second replays it and fuzzes on.
"$work/crashy.test" -test.run='^$' -test.fuzz='^FuzzClean$' -test.fuzztime=4s \
  -test.fuzzcachedir="$work/clean" > "$here/fuzz-clean-grow.txt" 2>&1 || true
GODEBUG=fuzzdebug=1 "$work/crashy.test" -test.run='^$' -test.fuzz='^FuzzClean$' -test.fuzztime=4s \
  -test.fuzzcachedir="$work/clean" -test.parallel=1 > "$here/fuzz-clean-debug.txt" 2>&1 || true
