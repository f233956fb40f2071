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

# End-to-end latency through the exactly-once path: a producer (confluent-kafka) writes events stamped
# with their send time at a fixed rate to a topic; `eddy run` (trigger 100 ms) copies them to another
# topic, one Kafka transaction per micro-batch; a read_committed consumer takes each as it becomes
# visible. Latency = visible - sent, p50 and p99, at 10 k and 100 k events/s (LATENCY_SECONDS each),
# after 2 s of warm-up events that are not counted: the query's first Kafka transaction finds the
# group and transaction coordinators, which takes most of a second once.
latency_seconds=${LATENCY_SECONDS:-10}
for rate in 10000 100000; do
  "$client" create "$brokers" "lat-in-$rate" 4 >/dev/null
  mkdir -p "$work/lat-$rate"
  cat > "$work/lat-$rate/q.sql" <<SQL
CREATE TABLE events (id BIGINT, sent BIGINT) WITH ('connector' = 'kafka', 'topic' = 'lat-in-$rate', 'format' = 'json',
  'properties.bootstrap.servers' = '$brokers', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE copied WITH ('connector' = 'kafka', 'topic' = 'lat-out-$rate', 'format' = 'json', 'sink.partitions' = '4',
  'properties.bootstrap.servers' = '$brokers') AS SELECT id, sent FROM events;
SQL
  (cd "$work/lat-$rate" && exec "$eddy" run q.sql --checkpoint ckpt --interval-ms 100 >run.log 2>&1) &
  run_pid=$!
  line=$(.venv/bin/python - "$brokers" "$rate" "$latency_seconds" <<'PY'
import json, sys, threading, time
from confluent_kafka import Consumer, Producer
brokers, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
total = int(rate * seconds)
latencies, done = [], threading.Event()
def consume():
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"lat-{rate}", "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed", "fetch.wait.max.ms": 10})
    consumer.subscribe([f"lat-out-{rate}"])
    deadline = time.time() + seconds + 60
    while len(latencies) < total and time.time() < deadline:
        for message in consumer.consume(10000, 0.05):
            if message.error() is None:
                event = json.loads(message.value())
                if event["id"] >= 0:
                    latencies.append(time.time() * 1000 - event["sent"])
    consumer.close()
    done.set()
threading.Thread(target=consume, daemon=True).start()
time.sleep(3)  # the query and the consumer settle
producer = Producer({"bootstrap.servers": brokers, "linger.ms": 1, "acks": "all"})
for i in range(200):  # warm-up: not measured
    producer.produce(f"lat-in-{rate}", json.dumps({"id": -1 - i, "sent": int(time.time() * 1000)}).encode())
    producer.flush(1)
    time.sleep(0.01)
start = time.time()
for i in range(total):
    while time.time() < start + i / rate:
        time.sleep(0.0005)
    producer.produce(f"lat-in-{rate}", json.dumps({"id": i, "sent": int(time.time() * 1000)}).encode())
    producer.poll(0)
producer.flush(30)
done.wait(seconds + 70)
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")
print(f"BENCH kafka_e2e_latency rate={rate} events={total} seen={len(latencies)} p50_ms={pick(0.5):.0f} p99_ms={pick(0.99):.0f} max_ms={latencies[-1] if latencies else float('nan'):.0f}")
PY
)
  echo "$line"
  kill -TERM "$run_pid" 2>/dev/null || true
  wait "$run_pid" 2>/dev/null || true
done
