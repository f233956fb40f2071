#!/usr/bin/env bash
# make bench-sinks: rows/s into each sink for an append of EDDY_BENCH_ROWS generated purchases (default
# 10 M), next to references measured in the same run on the same rows:
#   - blackhole: the same `eddy run` pipeline writing nowhere (reading and decoding the JSON input);
#     each sink's own cost is its run's time minus this one's (sink_rows_per_s);
#   - parquet (snappy and zstd): `eddy run` into a filesystem table of format parquet, next to pyarrow
#     writing the same rows from memory (pq.write_table) and DuckDB's COPY … TO parquet from a table
#     in memory, same codec; file sizes against pyarrow's;
#   - postgres: `eddy run` into a jdbc table of a PostgreSQL server started here (scripts/pg-test-server.sh),
#     next to COPY FROM STDIN of the same rows as CSV (psql \copy) into the same server;
#   - sqlite: `eddy run` into an SQLite table;
#   - windowed: the benchmark's Q_A (revenue per minute and category) into each sink, against the same
#     query into blackhole: the whole run's events/s, and the sinks' share of its time.
# Prints one BENCH line per sink.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${EDDY_BENCH_ROWS:-10000000}
work=${EDDY_BENCH_DIR:-$(mktemp -d)}
pg=$(mktemp -u /tmp/eddy-bench-pg-XXXXXX)  # the server runs as postgres: outside the private $work
cleanup() {
  bash scripts/pg-test-server.sh stop "$pg" >/dev/null 2>&1 || true
  rm -rf "$pg"
  [ -z "${EDDY_BENCH_DIR:-}" ] && rm -rf "$work"
}
trap cleanup EXIT

swift build -c release --product eddy 2>&1 | tail -1
eddy=$(pwd)/.build/release/eddy
python=$(pwd)/.venv/bin/python
mkdir -p "$work/run"
if [ ! -f "$work/run/data/.complete-$rows" ]; then
  rm -rf "$work/run/data"
  $eddy gen purchases --count "$rows" --out "$work/run/data" --files 8
  touch "$work/run/data/.complete-$rows"
fi
du -sh "$work/run/data" | sed 's/^/input: /'
cat "$work"/run/data/*.jsonl > /dev/null  # warm the page cache
port=$(bash scripts/pg-test-server.sh start "$pg")

columns="event_id STRING, user_id BIGINT, category STRING, amount DECIMAL(10, 2), country STRING, event_time TIMESTAMP(3)"
run_sink() {  # name, WITH clause of the sink table; prints rows/s and seconds
  local name=$1 with=$2
  rm -rf "$work/run/out" "$work/run/ckpt" "$work/run/results.db"
  cat > "$work/run/$name.sql" <<SQL
CREATE TABLE purchases ($columns) WITH ('connector' = 'filesystem', 'path' = 'data', 'format' = 'json');
CREATE TABLE sink ($columns) WITH ($with);
INSERT INTO sink SELECT * FROM purchases;
SQL
  (cd "$work/run" && "$eddy" run "$name.sql" --checkpoint ckpt --bounded --report | grep '^REPORT')
}
seconds_of() { sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$1"; }
rate() { awk "BEGIN{printf \"%d\", $rows / $1}"; }
ratio() { awk "BEGIN{printf \"%.2f\", $1 / $2}"; }

blackhole=$(run_sink blackhole "'connector' = 'blackhole'")
base=$(seconds_of "$blackhole")
echo "blackhole: $blackhole"

for codec in snappy zstd; do
  line=$(run_sink "parquet_$codec" "'connector' = 'filesystem', 'path' = 'out', 'format' = 'parquet', 'parquet.compression' = '$codec'")
  echo "eddy parquet $codec: $line"
  eddy_s=$(seconds_of "$line")
  eddy_bytes=$(du -cb "$work"/run/out/part-*.parquet | tail -1 | cut -f1)
  reference=$($python - "$work/run/data" "$work/ref" "$codec" <<'PY'
import sys, time, os, glob
import pyarrow as pa, pyarrow.json as pj, pyarrow.parquet as pq, duckdb
data, out, codec = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
schema = pa.schema([("event_id", pa.string()), ("user_id", pa.int64()), ("category", pa.string()), ("amount", pa.decimal128(10, 2)),
                    ("country", pa.string()), ("event_time", pa.int64())])
tables = [pj.read_json(f, parse_options=pj.ParseOptions(explicit_schema=schema)) for f in sorted(glob.glob(f"{data}/*.jsonl"))]
table = pa.concat_tables(tables)
table = table.set_column(5, "event_time", table.column("event_time").cast(pa.timestamp("ms", tz="UTC")))
started = time.perf_counter()
pq.write_table(table, f"{out}/pyarrow.parquet", compression=codec)
pyarrow_s = time.perf_counter() - started
con = duckdb.connect()
con.execute("SET threads = 2")
con.register("arrow_table", table)
con.execute("CREATE TABLE t AS SELECT * FROM arrow_table")
started = time.perf_counter()
con.execute(f"COPY t TO '{out}/duckdb.parquet' (FORMAT parquet, COMPRESSION {codec})")
duckdb_s = time.perf_counter() - started
print(pyarrow_s, duckdb_s, os.path.getsize(f"{out}/pyarrow.parquet"), os.path.getsize(f"{out}/duckdb.parquet"))
PY
)
  read -r pyarrow_s duckdb_s pyarrow_bytes duckdb_bytes <<<"$reference"
  sink_s=$(awk "BEGIN{print ($eddy_s - $base > 0.001 ? $eddy_s - $base : 0.001)}")
  echo "BENCH parquet_$codec rows=$rows eddy_rows_per_s=$(rate "$eddy_s") eddy_sink_rows_per_s=$(rate "$sink_s") pyarrow_rows_per_s=$(rate "$pyarrow_s") duckdb_rows_per_s=$(rate "$duckdb_s") sink_vs_pyarrow=$(ratio "$pyarrow_s" "$sink_s") eddy_bytes=$eddy_bytes pyarrow_bytes=$pyarrow_bytes duckdb_bytes=$duckdb_bytes size_vs_pyarrow=$(ratio "$eddy_bytes" "$pyarrow_bytes")"
done

export PGPASSWORD=eddy-test
line=$(run_sink postgres "'connector' = 'jdbc', 'url' = 'jdbc:postgresql://127.0.0.1:$port/eddy', 'table-name' = 'eddy_sink', 'username' = 'eddy', 'password' = 'eddy-test'")
echo "eddy postgres: $line"
eddy_s=$(seconds_of "$line")
$python - "$work/run/data" "$work/ref/rows.csv" <<'PY'
import sys, duckdb
duckdb.sql(f"COPY (SELECT event_id, user_id, category, amount, country, make_timestamp(event_time * 1000) AS event_time FROM read_json('{sys.argv[1]}/*.jsonl', columns = {{event_id: 'VARCHAR', user_id: 'BIGINT', category: 'VARCHAR', amount: 'DECIMAL(18,2)', country: 'VARCHAR', event_time: 'BIGINT'}})) TO '{sys.argv[2]}' (HEADER false)")
PY
psql -h 127.0.0.1 -p "$port" -U eddy -d eddy -q -c "CREATE TABLE copied (event_id text, user_id bigint, category text, amount numeric(18,2), country text, event_time timestamptz)"
started=$(date +%s.%N)
psql -h 127.0.0.1 -p "$port" -U eddy -d eddy -q -c "\\copy copied FROM '$work/ref/rows.csv' CSV"
copy_s=$(awk "BEGIN{print $(date +%s.%N) - $started}")
loaded=$(psql -h 127.0.0.1 -p "$port" -U eddy -d eddy -At -c "SELECT (SELECT count(*) FROM eddy_sink) || ' ' || (SELECT count(*) FROM copied)")
sink_s=$(awk "BEGIN{print ($eddy_s - $base > 0.001 ? $eddy_s - $base : 0.001)}")
echo "BENCH postgres rows=$rows eddy_rows_per_s=$(rate "$eddy_s") eddy_sink_rows_per_s=$(rate "$sink_s") copy_rows_per_s=$(rate "$copy_s") sink_vs_copy=$(ratio "$copy_s" "$sink_s") rows_in_tables=\"$loaded\""

line=$(run_sink sqlite "'connector' = 'sqlite', 'path' = 'results.db'")
echo "eddy sqlite: $line"
eddy_s=$(seconds_of "$line")
sink_s=$(awk "BEGIN{print ($eddy_s - $base > 0.001 ? $eddy_s - $base : 0.001)}")
echo "BENCH sqlite rows=$rows eddy_rows_per_s=$(rate "$eddy_s") eddy_sink_rows_per_s=$(rate "$sink_s") blackhole_rows_per_s=$(rate "$base")"

# Windowed results (Q_A): few rows, so the sink's share of the run is what matters.
windowed() {  # name, WITH clause; prints the REPORT line
  local name=$1 with=$2
  rm -rf "$work/run/out" "$work/run/ckpt" "$work/run/results.db"
  cat > "$work/run/w_$name.sql" <<SQL
CREATE TABLE purchases ($columns, WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'data', 'format' = 'json');
CREATE TABLE sink (window_start TIMESTAMP(3), window_end TIMESTAMP(3), category STRING, n BIGINT, revenue DECIMAL(18, 2)) WITH ($with);
INSERT INTO sink SELECT window_start, window_end, category, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, category;
SQL
  (cd "$work/run" && "$eddy" run "w_$name.sql" --checkpoint ckpt --bounded --report | grep '^REPORT')
}
w_base=$(seconds_of "$(windowed blackhole "'connector' = 'blackhole'")")
for sink in "parquet|'connector' = 'filesystem', 'path' = 'out', 'format' = 'parquet'" \
            "postgres|'connector' = 'jdbc', 'url' = 'jdbc:postgresql://127.0.0.1:$port/eddy', 'table-name' = 'w_sink', 'username' = 'eddy', 'password' = 'eddy-test'" \
            "sqlite|'connector' = 'sqlite', 'path' = 'results.db'"; do
  name=${sink%%|*}
  line=$(windowed "$name" "${sink#*|}")
  w_s=$(seconds_of "$line")
  echo "BENCH windowed_$name rows=$rows eddy_rows_per_s=$(rate "$w_s") blackhole_rows_per_s=$(rate "$w_base") vs_blackhole=$(ratio "$w_base" "$w_s")"
done
