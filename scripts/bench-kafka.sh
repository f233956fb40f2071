#!/usr/bin/env bash
# make bench-kafka: Q_A (revenue per minute and category) over EDDY_BENCH_ROWS generated purchases (default
# 10 M) read from a topic of 4 partitions of a separate release `eddy broker` process, through the Kafka
# connector's cluster path (librdkafka, read_committed), next to references measured in the same run:
#   - the same query over the same events in JSON files (the file source): kafka_vs_files;
#   - a bare librdkafka consumer (bench/rdkafka_bench.c: legacy consumer, no group) reading every record
#     of the topic: the physical limit of the path, kafka_vs_bare_consumer;
#   - the same query writing its windows to a topic of the cluster in one Kafka transaction per
#     micro-batch (the exactly-once sink) rather than to files.
# Prints one BENCH line.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${EDDY_BENCH_ROWS:-10000000}
partitions=4
work=$(mktemp -d "${TMPDIR:-/tmp}/eddy-bench-kafka.XXXXXX")
broker_pid=""
cleanup() {
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then kill -TERM "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

swift build -c release --product eddy 2>&1 | tail -1
eddy=$(pwd)/.build/release/eddy
client=.build/bench/rdkafka_bench
mkdir -p .build/bench
gcc -O2 -Wall -Wextra -o "$client" bench/rdkafka_bench.c $(pkg-config --cflags --libs rdkafka) -lpthread

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
brokers=127.0.0.1:$port
"$eddy" broker --data-dir "$work/broker" --listen "$brokers" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 100); do "$client" create "$brokers" shop "$partitions" >/dev/null 2>&1 && break; sleep 0.1; done

mkdir -p "$work/files" "$work/kafka" "$work/eos"
"$eddy" gen purchases --count "$rows" --out "$work/files/data" --files "$partitions" >/dev/null
"$eddy" gen purchases --count "$rows" --bootstrap-server "$brokers" --topic shop >/dev/null
cat "$work"/files/data/*.jsonl > /dev/null  # warm the page cache

columns="event_id STRING, user_id BIGINT, category STRING, amount DECIMAL(10, 2), country STRING, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND"
query="FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, category;"
kafka_table="CREATE TABLE purchases ($columns) WITH ('connector' = 'kafka', 'topic' = 'shop', 'format' = 'json',
  'properties.bootstrap.servers' = '$brokers', 'scan.startup.mode' = 'earliest-offset');"
cat > "$work/files/q.sql" <<SQL
CREATE TABLE purchases ($columns) WITH ('connector' = 'filesystem', 'path' = 'data', 'format' = 'json');
CREATE TABLE revenue WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'json') AS
SELECT window_start, window_end, category, COUNT(*) AS n, SUM(amount) AS revenue $query
SQL
cat > "$work/kafka/q.sql" <<SQL
$kafka_table
CREATE TABLE revenue WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'json') AS
SELECT window_start, window_end, category, COUNT(*) AS n, SUM(amount) AS revenue $query
SQL
cat > "$work/eos/q.sql" <<SQL
$kafka_table
CREATE TABLE revenue WITH ('connector' = 'kafka', 'topic' = 'revenue', 'format' = 'json', 'properties.bootstrap.servers' = '$brokers') AS
SELECT window_start, window_end, category, COUNT(*) AS n, SUM(amount) AS revenue $query
SQL
seconds_of() { sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$1"; }
run() { (cd "$work/$1" && "$eddy" run q.sql --checkpoint ckpt --bounded --report | grep '^REPORT'); }
files=$(run files); echo "files: $files"
kafka=$(run kafka); echo "kafka: $kafka"
eos=$(run eos); echo "kafka to a transactional topic: $eos"
bare=$("$client" consume "$brokers" shop "$rows" | grep '^RESULT'); echo "bare librdkafka consumer: $bare"
bare_s=$(tr ' ' '\n' <<<"$bare" | sed -n 's/^seconds=//p')
files_s=$(seconds_of "$files") kafka_s=$(seconds_of "$kafka") eos_s=$(seconds_of "$eos")
rate() { awk "BEGIN{printf \"%d\", $rows / $1}"; }
ratio() { awk "BEGIN{printf \"%.2f\", $1 / $2}"; }
echo "BENCH kafka_q_a rows=$rows partitions=$partitions kafka_events_per_s=$(rate "$kafka_s") files_events_per_s=$(rate "$files_s") bare_consumer_events_per_s=$(rate "$bare_s") eos_sink_events_per_s=$(rate "$eos_s") kafka_vs_files=$(ratio "$files_s" "$kafka_s") kafka_vs_bare_consumer=$(ratio "$bare_s" "$kafka_s") eos_vs_kafka=$(ratio "$kafka_s" "$eos_s")"

# End-to-end latency through the exactly-once path, and where the time goes (bench/kafka_latency.py).
latency_seconds=${LATENCY_SECONDS:-10}
for rate in 10000 100000; do
  .venv/bin/python bench/kafka_latency.py "$eddy" "$brokers" "$rate" "$latency_seconds" "$work/lat-$rate" "$client"
done
