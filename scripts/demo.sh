#!/usr/bin/env bash
# make demo: the whole pipeline in one process, as a new user meets it.
#   1. `eddy server` on a fresh data directory (.demo/ by default; DEMO_DIR=… for another) with the three
#      live pipelines of examples/live: revenue by category (SQLite), card fraud (alerts to a topic and
#      SQLite), IoT monitoring (a Parquet lake, alerts to a topic and SQLite);
#   2. three `eddy gen --live` producers publishing purchases, card transactions and sensor readings
#      through the Kafka protocol (librdkafka), with hot keys (--skew), 10 % of events out of order by up
#      to 8 s (those more than 5 s late miss their window: late rows), and 0.5 %
#      malformed records (they become dead letters);
#   3. the dashboard's address, then one status line, refreshed every second, until Ctrl-C
#      (DEMO_SECONDS=N stops after N seconds). Run it again and every pipeline resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
eddy="$repo/.build/debug/eddy"
dir="${DEMO_DIR:-$repo/.demo}"
kafka_port="${DEMO_KAFKA_PORT:-9092}"
http_port="${DEMO_HTTP_PORT:-8080}"
seconds="${DEMO_SECONDS:-0}"
rate="${DEMO_RATE:-1000}"
mkdir -p "$dir/out"
server_pid=""
gen_pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${gen_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  echo
  echo "eddy server stopped. Results in $dir/out:"
  python3 - "$dir/out" <<'PY'
import glob, os, sqlite3, sys
out = sys.argv[1]
for db, tables in [("shop.db", ["revenue"]), ("alerts.db", ["fraud_alerts", "iot_alerts"])]:
    path = os.path.join(out, db)
    if not os.path.exists(path):
        continue
    with sqlite3.connect(path) as c:
        for t in tables:
            try:
                print(f"  {db} {t}: {c.execute(f'SELECT COUNT(*) FROM {t}').fetchone()[0]} rows")
            except sqlite3.Error:
                pass
files = glob.glob(os.path.join(out, "lake", "sensor_summary", "*", "*.parquet"))
print(f"  lake/sensor_summary: {len(files)} Parquet files")
PY
  echo "Run make demo again to resume, or remove $dir to start afresh."
}
trap stop EXIT
trap 'exit 0' INT TERM

for port in "$kafka_port" "$http_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "make demo: 127.0.0.1:$port is in use; set DEMO_KAFKA_PORT / DEMO_HTTP_PORT to free ports" >&2
    exit 1
  fi
done

(cd "$dir" && exec "$eddy" server --data-dir data --listen "127.0.0.1:$kafka_port" --http-listen "127.0.0.1:$http_port" \
  --pipelines "$repo/examples/live" --num-partitions 3 --interval-ms 1000) > "$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { echo "eddy server did not start:"; cat "$dir/server.log"; exit 1; }
  sleep 0.1
done

for spec in "purchases shop.purchases $rate" "transactions card.transactions $((rate / 2))" "sensors iot.readings $((rate / 2))"; do
  set -- $spec
  "$eddy" gen "$1" --live --rate "$3" --count 1000000000 --skew 1 --malformed 0.005 --disorder 0.1 --max-disorder-ms 8000 \
    --seed "$RANDOM" \
    --bootstrap-server "127.0.0.1:$kafka_port" --topic "$2" > "$dir/gen-$1.log" 2>&1 &
  gen_pids+=($!)
done

echo "eddy server is running: Kafka on 127.0.0.1:$kafka_port, data in $dir"
echo
echo "    Dashboard:  http://127.0.0.1:$http_port/"
echo "    API:        http://127.0.0.1:$http_port/api/pipelines   Metrics: http://127.0.0.1:$http_port/metrics"
echo
echo "Producing purchases, card transactions and sensor readings at $rate/s, $((rate / 2))/s and $((rate / 2))/s."
[ "$seconds" -gt 0 ] && echo "Stopping after $seconds s (DEMO_SECONDS)." || echo "Ctrl-C stops."
start=$(date +%s)
while kill -0 "$server_pid" 2>/dev/null; do
  line=$(python3 - "$http_port" <<'PY' 2>/dev/null || echo "waiting for the server…"
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
pipelines = json.load(urllib.request.urlopen(base + "/api/pipelines", timeout=2))["pipelines"]
parts = []
for p in pipelines:
    # A pipeline's queries read the same source: the first one's input rate is the pipeline's.
    last = (p["queries"][0]["lastProgress"] or {}) if p["queries"] else {}
    parts.append(f"{p['name']} {p['status']} {last.get('inputRowsPerSecond', 0):,.0f}/s")
groups = json.load(urllib.request.urlopen(base + "/api/groups", timeout=2))["groups"]
lag = sum(g["lagRecords"] for g in groups)
print(" | ".join(parts) + f" | lag {lag:,} records")
PY
)
  printf '\r\033[K%s' "$line"
  if [ "$seconds" -gt 0 ] && [ $(( $(date +%s) - start )) -ge "$seconds" ]; then break; fi
  sleep 1
done
kill -0 "$server_pid" 2>/dev/null || { echo; echo "eddy server exited:"; tail -20 "$dir/server.log"; exit 1; }
