#!/bin/bash -eu
# Builds every native Go fuzz target of khokit as a libFuzzer binary, for
# ClusterFuzzLite and OSS-Fuzz (which run it inside the image built from
# .clusterfuzzlite/Dockerfile, with $SRC, $OUT, $WORK, $SANITIZER set).
#
# The targets are not listed here: `khofuzz --list --format=oss-fuzz`
# finds them exactly as the local fuzz driver does and prints one
# "import/path FuzzName fuzzer_name" line per target that the
# compile_native_go_fuzzer scripts can build (it explains on stderr why it
# leaves any out). A new target in any package is picked up by the next
# build with no change to this file.
#
# Seed corpora: OSS-Fuzz ignores f.Add, so each target's committed
# testdata/fuzz/<FuzzName>/ files are converted from the Go corpus format
# into $OUT/<fuzzer_name>_seed_corpus.zip when the converter is available.
cd "$SRC/khokit"

# go.mod asks for go 1.25; an older Go in the image downloads that
# toolchain itself (GOTOOLCHAIN=auto), which needs network access.
go version

targets="$WORK/khokit-fuzz-targets.txt"
go run ./cmd/khofuzz --list --format=oss-fuzz > "$targets"
if [ ! -s "$targets" ]; then
  echo "build.sh: khofuzz found no fuzz targets" >&2
  exit 1
fi
echo "build.sh: building $(wc -l < "$targets") fuzz targets"

# The rewritten harnesses import go-118-fuzz-build's testing shim, so it
# must be in this (throwaway, in-container) copy of go.mod.
go get github.com/AdamKorcz/go-118-fuzz-build/testing@latest

# Prefer the current build script when the image has it.
compile=compile_native_go_fuzzer
if command -v compile_native_go_fuzzer_v2 > /dev/null; then
  compile=compile_native_go_fuzzer_v2
fi

seeds=""
if command -v addStdLibCorpusToFuzzer > /dev/null; then
  seeds=addStdLibCorpusToFuzzer
elif go install github.com/AdamKorcz/go-118-fuzz-build/cmd/addStdLibCorpusToFuzzer@latest; then
  seeds="$(go env GOPATH)/bin/addStdLibCorpusToFuzzer"
else
  echo "build.sh: no seed corpus converter; fuzzers start from empty corpora" >&2
fi

while read -r pkg func name; do
  # The scripts must not eat the target list on stdin.
  "$compile" "$pkg" "$func" "$name" < /dev/null
  dir="$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$func"
  if [ -n "$seeds" ] && [ -d "$dir" ]; then
    "$seeds" -dir "$dir" -fuzzer_name "$name" < /dev/null ||
      echo "build.sh: could not convert the seeds of $name" >&2
  fi
done < "$targets"
