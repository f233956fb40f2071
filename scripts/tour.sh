#!/usr/bin/env bash
# A tour of the parts (make tour); make demo runs them together under eddy server (scripts/demo.sh):
#  1. the end-to-end slice: `eddy demo` runs the broker and the revenue-by-category SQL pipeline in one
#     process; `eddy gen` publishes purchases through the Kafka protocol (librdkafka, EddyKafka); the
#     pipeline reads the log, closes 1-minute windows by watermark, writes results to files and
#     prints its progress live; malformed records land in a dead-letter topic;
#  2. eddy broker on its own, fed and read by kcat: keyed, compressed records in, the same records
#     out, after a restart too;
#  3. the use cases as streaming SQL files (`eddy run examples/*.sql`) over generated files;
#  4. real Kafka clients' requests (recorded by scripts/capture) decoded by Eddy's codecs.
set -euo pipefail
cd "$(dirname "$0")/.."
eddy=.build/debug/eddy
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
broker_pid=""
demo_pid=""
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null
  [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null
  wait 2>/dev/null; rm -rf "$data"
}
trap cleanup EXIT

wait_for_port() {  # log file
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return; sleep 0.1; done
  echo "eddy did not start:"; cat "$1"; exit 1
}

echo "== 1. eddy demo: broker + revenue pipeline on 127.0.0.1:$port, data in $data/pipeline"
$eddy demo --data-dir "$data/pipeline" --listen "127.0.0.1:$port" --interval-ms 500 > "$data/demo.log" 2>&1 &
demo_pid=$!
wait_for_port "$data/demo.log"
tail -n +1 -f "$data/demo.log" --pid "$demo_pid" | grep --line-buffered -E '^(batch|eddy demo|== |  |CREATE|SELECT|FROM|GROUP|\))' &
echo "== eddy gen: 120000 purchases over 10 minutes of event time, 0.1 % malformed, to the topic (librdkafka, lz4)"
timeout 60 $eddy gen purchases --count 120000 --rate 40000 --span-ms 600000 --malformed 0.001 \
  --bootstrap-server "127.0.0.1:$port" --topic shop.purchases.v1 --producer-property compression.type=lz4
sleep 3
kill -TERM "$demo_pid"; wait "$demo_pid" || true
demo_pid=""
sleep 0.2
results="$data/pipeline/results/revenue"
echo
echo "== results: $(cat "$results"/part-*.jsonl | wc -l) closed windows (1 minute × category) in $results; the first 5:"
awk 'NR <= 5' "$results"/part-*.jsonl
echo
echo "== the dead-letter topic shop.purchases.v1.dlq holds the malformed records with the reason in headers:"
$eddy broker --data-dir "$data/pipeline/broker" --listen "127.0.0.1:$port" >"$data/broker-dlq.log" 2>&1 &
broker_pid=$!
wait_for_port "$data/broker-dlq.log"
timeout 30 kcat -C -b "127.0.0.1:$port" -t shop.purchases.v1.dlq -o beginning -e -q -c 3 -f 'value %s\n  headers %h\n'
kill -TERM "$broker_pid"; wait "$broker_pid" || true
broker_pid=""
rm -rf "$data/pipeline"
echo

start_broker() {
  $eddy broker --data-dir "$data" --listen "127.0.0.1:$port" --num-partitions 3 >>"$data/broker.log" 2>&1 &
  broker_pid=$!
  wait_for_port "$data/broker.log"
}

echo "== 2. eddy $($eddy --version): broker on 127.0.0.1:$port, data in $data"
start_broker
echo
echo "== kcat produces 6 keyed purchases (zstd) to topic shop.purchases"
for i in 1 2 3 4 5 6; do
  echo "user-$((i % 3)):{\"order\": $i, \"category\": \"books\", \"amount\": $((i * 7)).50}"
done | timeout 30 kcat -P -b "127.0.0.1:$port" -t shop.purchases -K: -z zstd -H source=demo
echo
echo "== kcat -L"
timeout 30 kcat -L -b "127.0.0.1:$port" -t shop.purchases
echo
echo "== the broker stops gracefully (SIGTERM) and starts again on the same data"
kill -TERM "$broker_pid"; wait "$broker_pid" || true
start_broker
echo
echo "== kcat consumes every partition from the beginning"
timeout 30 kcat -C -b "127.0.0.1:$port" -t shop.purchases -o beginning -e -q \
  -f 'partition %p offset %o key %k headers %h value %s\n' | sort
echo
echo "== on disk: Kafka's layout"
(cd "$data" && ls -d shop.purchases-* && ls -l shop.purchases-2)

echo
echo "== 3. streaming SQL: eddy run examples/revenue.sql and examples/fraud.sql over generated files (bounded)"
repo=$(pwd)
mkdir -p "$data/sql"
$eddy gen purchases --count 100000 --span-ms 1800000 --out "$data/sql/data/purchases" --files 2
$eddy gen transactions --count 100000 --span-ms 1800000 --out "$data/sql/data/transactions" --files 2
(cd "$data/sql" && "$repo/$eddy" run "$repo/examples/revenue.sql" --checkpoint ckpt --bounded \
  && "$repo/$eddy" run "$repo/examples/fraud.sql" --checkpoint ckpt --bounded)
for out in revenue busy_cards travelling_cards; do
  echo "-- out/$out: $(cat "$data/sql/out/$out"/part-*.jsonl | wc -l) rows; the first 2:"
  awk 'NR <= 2' "$data/sql/out/$out"/part-*.jsonl
done

captures=Tests/EddyWireTests/Fixtures/captures
echo
echo "== 4. eddy inspect: what kafka-python sent for a zstd produce, decoded"
$eddy inspect "$captures"/kafka-python/zstd/*-Produce-*.bin
echo
echo "== every client and codec, decoded and CRC-checked"
$eddy inspect "$captures"/*/*/*-Produce-*.bin | grep -E 'batch of' | sed 's/^  //' | sort | uniq -c
