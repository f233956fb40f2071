#!/usr/bin/env bash
# make bench-engine: the streaming engine against DuckDB on the same input, same machine, same run.
#
# Generates EDDY_BENCH_EVENTS (default 10 M) purchases and bids as JSON lines, warms the page cache,
# then for each workload runs DuckDB (2 threads) over the files as batch SQL and Eddy's pipeline built
# with the Swift API (EddyPipelineBench, release build, checkpoints on, files sink, bounded input so
# every window closes),
# checks both computed the same windows, then runs the same query from SQL text (`eddy run
# examples/revenue.sql`, examples/bids.sql) and checks it too, and prints:
#   BENCH Q_A eddy_events_per_s=… duckdb_events_per_s=… ratio=… eddy_peak_rss_mb=… state_checkpoint_bytes_per_batch=… sql_events_per_s=… sql_ratio=…
# (sql_ratio: the SQL run's speed over the Swift API run's, same input, same run) for Q_A (revenue by
# category), Q_B (bids by auction) and Q_C (purchases by user: about a million keys), then
#   BENCH Q_B_state … whole_bytes_per_batch=… delta_bytes_per_batch=… reduction=…
# (state bytes each batch writes to the checkpoint with incremental checkpoints and without).
set -euo pipefail
cd "$(dirname "$0")/.."
events=${EDDY_BENCH_EVENTS:-10000000}
work=${EDDY_BENCH_DIR:-$(mktemp -d)}
trap '[ -z "${EDDY_BENCH_DIR:-}" ] && rm -rf "$work"' EXIT

swift build -c release --product eddy 2>&1 | tail -1
swift build -c release --product EddyPipelineBench 2>&1 | tail -1
eddy=.build/release/eddy
bench=.build/release/EddyPipelineBench
repo=$(pwd)
python=.venv/bin/python

generate() {  # kind directory
  if [ ! -f "$2/.complete-$events" ]; then
    rm -rf "$2"
    $eddy gen "$1" --count "$events" --out "$2" --files 8
    touch "$2/.complete-$events"
  fi
}
generate purchases "$work/purchases"
generate bids "$work/bids"
du -sh "$work/purchases" "$work/bids" | sed 's/^/input: /'
cat "$work"/purchases/*.jsonl "$work"/bids/*.jsonl > /dev/null  # warm page cache

run_case() {  # name pipeline input sql-file kind
  local name=$1 pipeline=$2 input=$3 sql=$4 kind=$5
  rm -rf "$work/out-$name" "$work/ckpt-$name" "$work/sql-$name"
  local duck eddy_line sql_line
  duck=$($python scripts/duckdb_queries.py "$name" "$input" --events "$events" --threads 2 --out "$work/duckdb-$name.jsonl")
  echo "$duck"
  eddy_line=$($bench "$pipeline" --input "$input" --output "$work/out-$name" --checkpoint "$work/ckpt-$name" \
    --bounded --trigger available-now --report | grep '^REPORT')
  echo "eddy: $eddy_line"
  $python scripts/compare_results.py "$work/out-$name" "$work/duckdb-$name.jsonl"
  # The same query from SQL: examples/*.sql read data/<kind> and write out/<name>, relative to where eddy runs.
  mkdir -p "$work/sql-$name/data"
  ln -s "$input" "$work/sql-$name/data/$kind"
  sql_line=$(cd "$work/sql-$name" && "$repo/$eddy" run "$repo/examples/$sql" --checkpoint ckpt --bounded --report | grep '^REPORT')
  echo "eddy run examples/$sql: $sql_line"
  $python scripts/compare_results.py "$work/sql-$name/out/$pipeline" "$work/duckdb-$name.jsonl"
  local duck_eps eddy_eps rss sql_eps
  duck_eps=$(sed -E 's/.*events_per_s=([0-9]+).*/\1/' <<<"$duck")
  eddy_eps=$(sed -E 's/.*rows_per_s=([0-9]+).*/\1/' <<<"$eddy_line")
  rss=$(sed -E 's/.*peak_rss_mb=([0-9.]+).*/\1/' <<<"$eddy_line")
  sql_eps=$(sed -E 's/.*rows_per_s=([0-9]+).*/\1/' <<<"$sql_line")
  state_bytes=$(sed -E 's/.*state_checkpoint_bytes_per_batch=([0-9]+).*/\1/' <<<"$eddy_line")
  echo "BENCH $name eddy_events_per_s=$eddy_eps duckdb_events_per_s=$duck_eps ratio=$(awk "BEGIN{printf \"%.2f\", $eddy_eps/$duck_eps}") eddy_peak_rss_mb=$rss state_checkpoint_bytes_per_batch=$state_bytes sql_events_per_s=$sql_eps sql_ratio=$(awk "BEGIN{printf \"%.2f\", $sql_eps/$eddy_eps}")"
}
results=$(mktemp)
run_case Q_A revenue "$work/purchases" revenue.sql purchases | tee -a "$results"
run_case Q_B bids "$work/bids" bids.sql bids | tee -a "$results"
run_case Q_C users "$work/purchases" users.sql purchases | tee -a "$results"

# State written per batch, incremental (deltas, the default) against whole snapshots, at equal
# results: Q_B over its first file with batches of about one second of event time, as a live
# stream's triggers make them (a 24 MiB batch spans minutes, so every window in it is new).
state_input="$work/bids-state"
mkdir -p "$state_input"
first=$(ls "$work"/bids/*.jsonl | head -1)
ln -sf "$first" "$state_input/"
state_events=$(wc -l < "$first")
$python scripts/duckdb_queries.py Q_B "$state_input" --events "$state_events" --threads 2 --out "$work/duckdb-state.jsonl" > /dev/null
state_run() {  # name extra-flag
  rm -rf "$work/out-$1" "$work/ckpt-$1"
  $bench bids --input "$state_input" --output "$work/out-$1" --checkpoint "$work/ckpt-$1" --bounded \
    --trigger available-now --max-bytes-per-trigger "${EDDY_BENCH_STATE_BATCH_BYTES:-140000}" --report $2 | grep '^REPORT'
  $python scripts/compare_results.py "$work/out-$1" "$work/duckdb-state.jsonl" >&2
}
whole_line=$(state_run state-whole --whole-state)
delta_line=$(state_run state-delta "")
echo "whole snapshots: $whole_line"
echo "deltas: $delta_line"
field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }
whole_bytes=$(field state_checkpoint_bytes_per_batch "$whole_line")
delta_bytes=$(field state_checkpoint_bytes_per_batch "$delta_line")
echo "BENCH Q_B_state batches=$(field batches "$delta_line") whole_bytes_per_batch=$whole_bytes delta_bytes_per_batch=$delta_bytes reduction=$(awk "BEGIN{printf \"%.1f\", $whole_bytes/$delta_bytes}") whole_events_per_s=$(field rows_per_s "$whole_line") delta_events_per_s=$(field rows_per_s "$delta_line")" | tee -a "$results"
echo
grep '^BENCH' "$results"
rm -f "$results"
