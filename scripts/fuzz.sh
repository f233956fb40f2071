#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (frames, record batches, SQL text; sanitizers on) and runs each for the given number of
# seconds, starting from the client captures and a few record batches. Crashes are written to
# fuzz-corpus/<target>/crash-*; replay one with `Fuzz/.build/release/<target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
(cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
for target in FuzzWireFrames FuzzRecordBatch FuzzSQL; do
  corpus=fuzz-corpus/$target
  mkdir -p "$corpus"
  if [ "$target" = FuzzWireFrames ]; then
    find Tests/EddyWireTests/Fixtures/captures -name '*.bin' -exec cp {} "$corpus/" \;
  elif [ "$target" = FuzzSQL ]; then
    cp examples/*.sql "$corpus/"
  else
    find Tests/EddyWireTests/Fixtures/record-batches -type f -exec cp {} "$corpus/" \; 2>/dev/null || true
  fi
  echo "== $target for ${seconds}s"
  Fuzz/.build/release/$target "$corpus" -max_total_time="$seconds" -max_len=65536 \
    -artifact_prefix="$corpus/" -print_final_stats=1 2>&1 | grep -E 'stat::|Done|ERROR|SUMMARY|crash-|#[0-9]+ +DONE' || true
  if ls "$corpus"/crash-* >/dev/null 2>&1; then echo "$target found crashes: $corpus/crash-*"; exit 1; fi
done
