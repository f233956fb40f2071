"""`eddy run` on the SQL files under examples/: over generated input, each file run straight through,
and again killed with SIGKILL at random moments and restarted on its checkpoint, must leave identical
sink output (exactly once). Also the failures of `eddy run` and `eddy explain`: a SQL error names the
file, line and column with a caret, and the exit status is non-zero.

The seed is printed; EDDY_SEED replays the kill times."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time

import pytest

from interop_helpers import committed_rows
from conftest import REPO_ROOT, eddy_bin

EVENTS = 20_000
BATCH_BYTES = 60_000
KILLS = 3
RUN_TIMEOUT_S = 120
EXAMPLES = os.path.join(REPO_ROOT, "examples")

# example file → the generator kinds it reads (as data/<kind>) and the sink directories it writes
CASES = {
    "revenue.sql": (["purchases"], ["out/revenue"]),
    "bids.sql": (["bids"], ["out/bids"]),
    "fraud.sql": (["transactions"], ["out/busy_cards", "out/travelling_cards"]),
    "iot.sql": (["sensors"], ["out/hot_sensors", "out/silent_sensors"]),
    "users.sql": (["purchases"], ["out/users"]),
}


def workspace(tmp_path, name: str, kinds: list[str]) -> str:
    """A directory to run in, with data/<kind> linked to the generated input."""
    path = tmp_path / name
    (path / "data").mkdir(parents=True)
    for kind in kinds:
        os.symlink(tmp_path / "input" / kind, path / "data" / kind)
    return str(path)


def run_command(example: str) -> list[str]:
    path = example if os.path.isabs(example) else os.path.join(EXAMPLES, example)
    return [eddy_bin(), "run", path, "--checkpoint", "ckpt", "--bounded", "--max-bytes-per-trigger", str(BATCH_BYTES)]


def as_parquet(tmp_path, example: str) -> str:
    """The example with its sinks writing Parquet: only their WITH clauses change."""
    with open(os.path.join(EXAMPLES, example)) as f:
        lines = f.read().splitlines()
    changed = [line.replace("'format' = 'json'", "'format' = 'parquet', 'parquet.compression' = 'zstd'")
               if "'path' = 'out/" in line else line for line in lines]
    assert changed != lines
    path = tmp_path / ("parquet-" + example)
    path.write_text("\n".join(changed) + "\n")
    return str(path)


def as_lake(tmp_path, example: str) -> str:
    """The example with its sinks writing a Parquet lake partitioned by category."""
    with open(os.path.join(EXAMPLES, example)) as f:
        text = f.read()
    changed = text.replace(") WITH ('connector' = 'filesystem', 'path' = 'out/revenue', 'format' = 'json')",
                           ") PARTITIONED BY (category) WITH ('connector' = 'filesystem', 'path' = 'out/revenue', 'format' = 'parquet')")
    assert changed != text
    path = tmp_path / ("lake-" + example)
    path.write_text(changed)
    return str(path)


def compact(directory: str, rng: random.Random | None = None) -> None:
    """`eddy lake compact` on a table, SIGKILLed after a random moment when `rng` is given."""
    proc = subprocess.Popen([eddy_bin(), "lake", "compact", directory, "--target-file-size", "64KB"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if rng is not None:
        time.sleep(rng.uniform(0, 0.08))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, -signal.SIGKILL), err


def as_sqlite(tmp_path, example: str) -> str:
    """The example with its sinks writing tables of one SQLite database: only their WITH clauses change."""
    with open(os.path.join(EXAMPLES, example)) as f:
        lines = f.read().splitlines()
    changed = [re.sub(r"WITH \('connector' = 'filesystem', 'path' = 'out/[a-z_]+', 'format' = 'json'\)",
                      "WITH ('connector' = 'sqlite', 'path' = 'out/results.db')", line) for line in lines]
    assert changed != lines
    path = tmp_path / ("sqlite-" + example)
    path.write_text("\n".join(changed) + "\n")
    return str(path)


def sqlite_rows(directory: str, table: str) -> list:
    """A table's rows, sorted (SQLite has no order of its own)."""
    import sqlite3
    with sqlite3.connect(os.path.join(directory, "out", "results.db")) as db:
        return sorted(db.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)


def as_postgres(tmp_path, example: str, port: int, schema: str) -> str:
    """The example with its sinks writing tables of a PostgreSQL schema: only their WITH clauses change."""
    with open(os.path.join(EXAMPLES, example)) as f:
        lines = f.read().splitlines()
    def jdbc(match: re.Match) -> str:
        return (f"WITH ('connector' = 'jdbc', 'url' = 'jdbc:postgresql://127.0.0.1:{port}/eddy', "
                f"'table-name' = '{schema}.{match.group(1)}', 'username' = 'eddy', 'password' = 'eddy-test')")
    changed = [re.sub(r"WITH \('connector' = 'filesystem', 'path' = 'out/([a-z_]+)', 'format' = 'json'\)", jdbc, line)
               for line in lines]
    assert changed != lines
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / ("postgres-" + example)
    path.write_text("\n".join(changed) + "\n")
    return str(path)


def postgres_rows(port: int, table: str) -> list:
    """A table's rows as text, sorted, through psql."""
    result = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "eddy", "-d", "eddy", "-At", "-F", "|",
                             "-c", f"SELECT * FROM {table}"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PGPASSWORD": "eddy-test"})
    assert result.returncode == 0, result.stderr
    return sorted(result.stdout.splitlines())


@pytest.mark.parametrize("example", sorted(CASES) + ["parquet:revenue.sql", "parquet:fraud.sql", "lake:revenue.sql", "sqlite:revenue.sql", "sqlite:iot.sql",
                                                     "postgres:revenue.sql", "postgres:fraud.sql"])
def test_killed_and_restarted_equals_straight_through(tmp_path, example, request):
    seed = int(os.environ.get("EDDY_SEED", random.randrange(1 << 30)))
    print(f"EDDY_SEED={seed}")
    rng = random.Random(seed)
    target, _, example = example.rpartition(":")
    kinds, outputs = CASES[example]
    files = {}
    if target == "parquet":
        example = as_parquet(tmp_path, example)
    elif target == "lake":
        # The partitioned lake is also compacted between the killed runs, compactions killed too;
        # compaction moves rows between files, so rows are compared as sets.
        example = as_lake(tmp_path, example)
    elif target == "sqlite":
        example = as_sqlite(tmp_path, example)
    if target == "sqlite":
        def rows(directory: str, out: str) -> list:
            return sqlite_rows(directory, out.removeprefix("out/"))
    elif target == "postgres":
        # The straight and the killed runs write tables of their own schemas.
        port = request.getfixturevalue("postgres_port")
        schemas = {}
        for run in ["straight", "killed"]:
            schemas[run] = f"s{random.randrange(1 << 30)}"
            subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "eddy", "-d", "eddy", "-c", f"CREATE SCHEMA {schemas[run]}"],
                           check=True, capture_output=True, timeout=60, env={**os.environ, "PGPASSWORD": "eddy-test"})
        files = {run: as_postgres(tmp_path / run, example, port, schema) for run, schema in schemas.items()}

        def rows(directory: str, out: str) -> list:
            run = os.path.basename(directory)
            return postgres_rows(port, f"{schemas[run]}.{out.removeprefix('out/')}")
    elif target == "lake":
        def rows(directory: str, out: str) -> list:
            return sorted(json.dumps(row, sort_keys=True) for row in committed_rows(os.path.join(directory, out)))
    else:
        def rows(directory: str, out: str) -> list:
            return committed_rows(os.path.join(directory, out))
    for kind in kinds:
        subprocess.run([eddy_bin(), "gen", kind, "--count", str(EVENTS), "--span-ms", "3600000", "--malformed", "0.001",
                        "--out", str(tmp_path / "input" / kind), "--files", "3"], check=True, timeout=60)

    straight_dir = workspace(tmp_path, "straight", kinds)
    started = time.monotonic()
    straight = subprocess.run(run_command(files.get("straight", example)), cwd=straight_dir, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    straight_s = time.monotonic() - started
    assert straight.returncode == 0, straight.stderr[-3000:]
    expected = {out: rows(straight_dir, out) for out in outputs}
    assert any(expected.values()), f"{example} produced no rows"

    killed_dir = workspace(tmp_path, "killed", kinds)
    kills = runs = 0
    deadline = time.monotonic() + RUN_TIMEOUT_S * 3
    while True:
        assert time.monotonic() < deadline, "the killed pipeline never finished"
        runs += 1
        proc = subprocess.Popen(run_command(files.get("killed", example)), cwd=killed_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if kills < KILLS:
            time.sleep(rng.uniform(0.05, 1.5 * straight_s / KILLS))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                if target == "lake" and os.path.isdir(os.path.join(killed_dir, outputs[0], "_eddy_log")):
                    compact(os.path.join(killed_dir, outputs[0]), rng)
                continue
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
        assert proc.returncode == 0, stderr[-3000:]
        break
    if target == "lake":
        compact(os.path.join(killed_dir, outputs[0]))
        log = os.listdir(os.path.join(killed_dir, outputs[0], "_eddy_log"))
        assert any(name.startswith("compact-") for name in log), "no compaction committed"
    print(f"{example}: straight run {straight_s:.2f} s; {kills} kills over {runs} runs; "
          + ", ".join(f"{out} {len(rows)} rows" for out, rows in expected.items()))
    assert kills >= 1, "no kill landed inside a run"
    for out in outputs:
        assert rows(killed_dir, out) == expected[out], out


def eddy(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([eddy_bin(), *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd,
                          stdin=subprocess.DEVNULL)


def test_a_sql_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.sql"
    path.write_text("CREATE TABLE t (a STRING, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = 'in', 'format' = 'json');\n"
                    "CREATE TABLE o WITH ('connector' = 'print') AS\n"
                    "SELECT b FROM t;\n")
    for command in ("run", "explain"):
        result = eddy(command, path)
        assert result.returncode == 2, result.stderr
        assert f"{path}:line 3, column 8: unknown column `b` in `t`" in result.stderr, result.stderr
        assert "  SELECT b FROM t;\n         ^" in result.stderr, result.stderr


def test_a_file_without_queries_or_missing_is_refused(tmp_path):
    empty = tmp_path / "empty.sql"
    empty.write_text("-- nothing to run\nSET 'a' = 'b';\n")
    result = eddy("run", empty)
    assert result.returncode != 0 and "starts no query" in result.stderr, result.stderr
    result = eddy("run", tmp_path / "missing.sql")
    assert result.returncode != 0 and "no such file" in result.stderr, result.stderr


def test_print_sink_and_explain(tmp_path):
    path = tmp_path / "p.sql"
    path.write_text("CREATE TABLE bids (auction BIGINT, price BIGINT, date_time TIMESTAMP(3),\n"
                    "  WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND)\n"
                    "  WITH ('connector' = 'datagen', 'kind' = 'bids', 'number-of-rows' = '500');\n"
                    "SELECT auction, price FROM bids WHERE price > 0;\n")
    explained = eddy("explain", path)
    assert explained.returncode == 0, explained.stderr
    assert "== Physical plan ==" in explained.stdout and "generator[bids" in explained.stdout, explained.stdout
    printed = eddy("run", path, "--bounded")
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert lines and all(line.startswith("+I[") for line in lines), printed.stdout[-2000:]


def test_eddy_sql_prints_tables_and_positioned_errors(tmp_path):
    subprocess.run([eddy_bin(), "gen", "bids", "--count", "300", "--out", str(tmp_path / "data" / "bids")], check=True, timeout=60)
    ddl = ("CREATE TABLE bids (auction BIGINT, price BIGINT, date_time TIMESTAMP(3),\n"
           "  WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND)\n"
           "  WITH ('connector' = 'filesystem', 'path' = 'data/bids', 'format' = 'json');\n")
    result = eddy("sql", "-e", ddl + "SELECT COUNT(*) AS n, MIN(price) > 0 AS positive FROM bids GROUP BY auction > -1;", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| n   | positive |" in result.stdout and "| 300 | true     |" in result.stdout, result.stdout
    assert result.stdout.rstrip().endswith("1 row"), result.stdout
    # Statements from standard input, one error: the exit status says so and the error points at it.
    piped = subprocess.run([eddy_bin(), "sql"], input=ddl + "SELECT nope\nFROM bids;\n", capture_output=True, text=True,
                           timeout=60, cwd=tmp_path)
    assert piped.returncode == 2, piped.stderr
    assert "stdin:line 4, column 8: unknown column `nope` in `bids`" in piped.stderr, piped.stderr


def test_kafka_tables_read_the_embedded_broker(tmp_path):
    """`eddy run --broker-data-dir`: a broker in the same process; librdkafka produces purchases to it
    (`eddy gen --topic`), a 'kafka' table reads them with partition, offset and timestamp metadata
    columns, and the queries write them to files and, keyed, to a topic (read back by librdkafka)
    until SIGTERM stops them."""
    from conftest import free_port
    from interop_helpers import read_records, wait_until

    port = free_port()
    sql = tmp_path / "kafka.sql"
    sql.write_text(f"""
        CREATE TABLE purchases (
          event_id STRING, category STRING, amount DECIMAL(10, 2), event_time TIMESTAMP(3),
          `partition` BIGINT METADATA VIRTUAL, `offset` BIGINT METADATA VIRTUAL, ts TIMESTAMP(3) METADATA FROM 'timestamp'
        ) WITH ('connector' = 'kafka', 'topic' = 'shop', 'properties.bootstrap.servers' = '127.0.0.1:{port}',
                'scan.startup.mode' = 'earliest-offset', 'format' = 'json');
        CREATE TABLE seen WITH ('connector' = 'filesystem', 'path' = 'out/seen', 'format' = 'json') AS
        SELECT event_id, amount, `partition`, `offset`, ts FROM purchases WHERE amount > 0;
        CREATE TABLE big WITH ('connector' = 'kafka', 'topic' = 'big', 'format' = 'json', 'key.format' = 'json',
                               'key.fields' = 'category', 'sink.partitions' = '2') AS
        SELECT event_id, category, amount FROM purchases WHERE amount > 250;
        """)
    run = subprocess.Popen([eddy_bin(), "run", str(sql), "--checkpoint", "ckpt", "--broker-data-dir", "broker",
                            "--listen", f"127.0.0.1:{port}", "--interval-ms", "200"],
                           cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        produced = subprocess.run([eddy_bin(), "gen", "purchases", "--count", "500", "--bootstrap-server", f"127.0.0.1:{port}",
                                   "--topic", "shop"], capture_output=True, text=True, timeout=60)
        assert produced.returncode == 0, produced.stderr
        out = tmp_path / "out" / "seen"
        wait_until(lambda: (out / "_eddy_log").exists() and len(committed_rows(str(out))) == 500, 30, "500 rows in out/seen")
        # The kafka sink's topic, read by librdkafka: each big purchase once, keyed by its category.
        expected = sorted(r["event_id"] for r in committed_rows(str(out)) if r["amount"] > 250)

        def big():
            try:  # each batch is a transaction: read what is committed
                records = read_records(f"127.0.0.1:{port}", "big", "read_committed")
            except Exception:  # the topic is created by the query's first batch
                return None
            return records if len(records) >= len(expected) else None
        records = wait_until(big, 30, f"{len(expected)} records in topic big")
        assert sorted(value["event_id"] for _, value, _ in records) == expected, "each big purchase once"
        for key, value, _ in records:
            assert key == {"category": value["category"]}
    finally:
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=30)
    assert run.returncode == 0, stderr[-3000:]
    rows = committed_rows(str(tmp_path / "out" / "seen"))
    assert sorted(r["offset"] for r in rows if r["partition"] == 0) == list(range(sum(1 for r in rows if r["partition"] == 0)))
    assert all(r["ts"] for r in rows), rows[:3]


def test_kafka_tables_without_an_embedded_broker_are_refused(tmp_path):
    sql = tmp_path / "k.sql"
    sql.write_text("CREATE TABLE k (a STRING) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json');\n")
    result = eddy("run", sql)
    assert result.returncode == 2, result.stderr
    assert "connector 'kafka' needs 'properties.bootstrap.servers' (the cluster to read or write), or a broker embedded in this process: run with --broker-data-dir DIR" in result.stderr, result.stderr


def test_a_checkpoint_of_another_query_is_refused(tmp_path):
    """A query restarted on a checkpoint whose state means something else (here the window size
    changed) is refused, saying what differs, and leaves the checkpoint as it was."""
    subprocess.run([eddy_bin(), "gen", "purchases", "--count", "2000", "--out", str(tmp_path / "input" / "purchases")],
                   check=True, timeout=60)
    directory = workspace(tmp_path, "run", ["purchases"])
    first = subprocess.run(run_command("revenue.sql"), cwd=directory, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert first.returncode == 0, first.stderr[-3000:]
    with open(os.path.join(EXAMPLES, "revenue.sql")) as f:
        text = f.read()
    assert "INTERVAL '1' MINUTE))" in text
    changed = tmp_path / "revenue-5-minutes.sql"
    changed.write_text(text.replace("INTERVAL '1' MINUTE))", "INTERVAL '5' MINUTE))"))
    refused = subprocess.run([eddy_bin(), "run", str(changed), "--checkpoint", "ckpt", "--bounded"], cwd=directory,
                             capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert refused.returncode != 0
    assert "written by a different pipeline" in refused.stderr, refused.stderr
    assert "TUMBLE(event_time, 60000 ms)" in refused.stderr and "TUMBLE(event_time, 300000 ms)" in refused.stderr, refused.stderr
    again = subprocess.run(run_command("revenue.sql"), cwd=directory, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert again.returncode == 0, again.stderr[-3000:]


def small_disk(path, size: str) -> bool:
    """Mounts a tmpfs of `size` at `path` (root only); False where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    return os.environ.get("EDDY_NO_MOUNT") is None and subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True).returncode == 0


@pytest.mark.parametrize("target", ["parquet", "json", "sqlite"])
def test_a_full_disk_stops_the_query_and_a_restart_loses_nothing(tmp_path, target):
    """The sink's disk fills up (a small tmpfs where the tests may mount one, otherwise a file-size
    limit on the process, which fails writes with EFBIG the same way): `eddy run` stops with the
    cause and the path and a non-zero status; with room again, the restart finishes and the sink holds
    exactly the rows of a run that never failed."""
    subprocess.run([eddy_bin(), "gen", "purchases", "--count", "30000", "--span-ms", "3600000", "--out", str(tmp_path / "input" / "purchases"),
                    "--files", "3"], check=True, timeout=60)
    example = {"parquet": lambda: as_parquet(tmp_path, "revenue.sql"), "json": lambda: os.path.join(EXAMPLES, "revenue.sql"),
               "sqlite": lambda: as_sqlite(tmp_path, "revenue.sql")}[target]()

    def rows(directory: str) -> list:
        if target == "sqlite":
            return sqlite_rows(directory, "revenue")
        return committed_rows(os.path.join(directory, "out", "revenue"))

    straight = workspace(tmp_path, "straight", ["purchases"])
    subprocess.run(run_command(example), cwd=straight, check=True, capture_output=True, timeout=RUN_TIMEOUT_S)
    expected = rows(straight)

    full = workspace(tmp_path, "full", ["purchases"])
    mounted = small_disk(tmp_path / "full" / "out", "96k")
    try:
        limit = None
        if not mounted:
            import resource

            def limit():  # the child ignores SIGXFSZ, so a write past the limit fails with EFBIG
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 10, 4 << 10))
        failed = subprocess.run(run_command(example), cwd=full, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, preexec_fn=limit)
        assert failed.returncode in (1, 2), failed.stderr[-2000:]  # 2: the query stopped; 1: it could not start
        # The files sinks report the errno, SQLite its own words for it.
        causes = ["No space left on device", "disk is full"] if mounted else ["File too large", "disk is full", "disk I/O error"]
        # (A file-size limit applies to the checkpoint's files too, which may hit it first.)
        assert any(cause in failed.stderr for cause in causes), failed.stderr[-2000:]
        assert "out/" in failed.stderr or (not mounted and "ckpt/" in failed.stderr), failed.stderr[-2000:]
        assert "Fatal error" not in failed.stderr and "Stack dump" not in failed.stderr
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", str(tmp_path / "full" / "out")], check=True)
        again = subprocess.run(run_command(example), cwd=full, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        assert again.returncode == 0, again.stderr[-2000:]
        assert rows(full) == expected
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(tmp_path / "full" / "out")], capture_output=True)


def test_the_embedded_brokers_topic_sink_writes_each_batch_in_one_transaction(tmp_path, request):
    """A kafka sink on the broker embedded in `eddy run` writes each micro-batch as one transaction
    of that broker (its marker committed in the group named after the writer): SIGKILLed at random
    moments, broker and all, and restarted, a read_committed consumer reads each input record's copy
    exactly once; a read_uncommitted one may also see aborted attempts. The seed is printed."""
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient
    from conftest import free_port
    from interop_helpers import wait_until

    seed = int(os.environ.get("EDDY_SEED", random.randrange(1 << 30)))
    print(f"EDDY_SEED={seed}")
    rng = random.Random(seed)
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    (tmp_path / "copy.sql").write_text(f"""
        CREATE TABLE purchases (event_id STRING, amount DECIMAL(10, 2))
          WITH ('connector' = 'kafka', 'topic' = 'shop', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
        CREATE TABLE copied WITH ('connector' = 'kafka', 'topic' = 'copied', 'format' = 'json', 'sink.partitions' = '2') AS
        SELECT event_id, amount FROM purchases;
        """)
    command = [eddy_bin(), "run", "copy.sql", "--checkpoint", "ckpt", "--broker-data-dir", "broker", "--listen", bootstrap,
               "--interval-ms", "100", "--max-bytes-per-trigger", "20000"]
    events = 5000

    def start():
        proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        request.addfinalizer(proc.kill)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        wait_until(lambda: admin.list_topics(timeout=2).topics is not None, 30, "the broker")
        return proc

    def read(isolation: str) -> list:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{rng.randrange(1 << 30)}", "enable.auto.commit": False,
                             "isolation.level": isolation})
        ends = [consumer.get_watermark_offsets(TopicPartition("copied", p), timeout=10)[1] for p in range(2)]
        consumer.assign([TopicPartition("copied", p, 0) for p in range(2)])
        values, deadline = [], time.monotonic() + 30
        positions = [0, 0]
        while any(positions[p] < ends[p] for p in range(2)) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                if isolation == "read_committed":
                    positions = [max(positions[p], consumer.position([TopicPartition("copied", p)])[0].offset) for p in range(2)]
                continue
            if message.error() is None:
                values.append(json.loads(message.value())["event_id"])
            positions[message.partition()] = message.offset() + 1
        consumer.close()
        return values

    proc = start()
    produced = subprocess.run([eddy_bin(), "gen", "purchases", "--count", str(events), "--bootstrap-server", bootstrap, "--topic", "shop"],
                              capture_output=True, text=True, timeout=60)
    assert produced.returncode == 0, produced.stderr
    for _ in range(3):
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = start()
    try:
        wait_until(lambda: len(set(read("read_committed"))) >= events, 60, f"{events} copies")
        committed = read("read_committed")
        assert len(committed) == events and len(set(committed)) == events, "each record copied exactly once"
        assert len(read("read_uncommitted")) >= events
        admin = AdminClient({"bootstrap.servers": bootstrap})  # (kept alive until its answer)
        markers = [g.group_id for g in admin.list_consumer_groups().result(30).valid if g.group_id.endswith("-copied")]
        assert len(markers) == 1, markers
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-3000:]
