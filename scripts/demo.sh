#!/usr/bin/env bash
# The demo of what exists today:
#  1. eddy broker on a free loopback port, fed and read by kcat (librdkafka): keyed, compressed
#     records in, the same records out, after a restart too;
#  2. real Kafka clients' requests (recorded by scripts/capture) decoded by Eddy's codecs.
set -euo pipefail
cd "$(dirname "$0")/.."
eddy=.build/debug/eddy
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
broker_pid=""
cleanup() { [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT

start_broker() {
  $eddy broker --data-dir "$data" --listen "127.0.0.1:$port" --num-partitions 3 >>"$data/broker.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return; sleep 0.1; done
  echo "the broker did not start:"; cat "$data/broker.log"; exit 1
}

echo "== eddy $($eddy --version): broker on 127.0.0.1:$port, data in $data"
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

captures=Tests/EddyWireTests/Fixtures/captures
echo
echo "== eddy inspect: what kafka-python sent for a zstd produce, decoded"
$eddy inspect "$captures"/kafka-python/zstd/*-Produce-*.bin
echo
echo "== every client and codec, decoded and CRC-checked"
$eddy inspect "$captures"/*/*/*-Produce-*.bin | grep -E 'batch of' | sed 's/^  //' | sort | uniq -c
