#!/usr/bin/env bash
# Interop suite: real Kafka clients (kcat, confluent-kafka, kafka-python, aiokafka) against the eddy
# broker binary. Each test starts its own `eddy broker` on a free port with a fresh data directory.
#
#   scripts/interop.sh                                  # everything in interop
#   scripts/interop.sh -k kcat                          # extra arguments go to pytest
#   scripts/interop.sh interop/test_retention.py        # one file (or file::test)
#
# Environment: EDDY_BIN (default .build/debug/eddy), EDDY_SEED (replay a randomised test),
# EDDY_DURABILITY_TRIALS (default 20). Needs what scripts/setup.sh installs (kcat, .venv/).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ] || ! command -v kcat >/dev/null 2>&1; then
  echo "interop: the test clients are missing: run scripts/setup.sh first" >&2
  exit 1
fi
export EDDY_BIN="${EDDY_BIN:-.build/debug/eddy}"
if [ ! -x "$EDDY_BIN" ]; then
  echo "interop: no eddy binary at $EDDY_BIN: run 'swift build' first or set EDDY_BIN" >&2
  exit 1
fi

# Run the whole suite unless the arguments name tests themselves.
targets=(interop)
for arg in "$@"; do
  case "$arg" in interop/*) targets=() ;; esac
done

export PYTHONDONTWRITEBYTECODE=1
exec .venv/bin/python -m pytest "${targets[@]}" -q -p no:cacheprovider --timeout=60 "$@"
