#!/usr/bin/env bash
# make bench-e2e: end-to-end latency through eddy server (release build): events produced by a Kafka
# client (eddy gen --live, librdkafka) → visible in the SQLite sink and over server-sent events, at 10 k
# and 100 k events/s with a 100 ms trigger, with a per-batch breakdown; then the dashboard's cost
# (server CPU with 10 headless Chromium pages against none). See bench/e2e.py. EDDY_BENCH_SECONDS
# (default 20) sets each run's length. Prints one BENCH line.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product eddy 2>&1 | tail -1
exec .venv/bin/python bench/e2e.py "$(pwd)/.build/release/eddy" --seconds "${EDDY_BENCH_SECONDS:-20}"
