"""`eddy run` against a Kafka-protocol cluster it does not embed: a separate `eddy broker` process,
reached only through `properties.bootstrap.servers` (librdkafka). The same SQL over the same events
gives the same rows as over files; aborted transactions are never read and an open one holds the
reader at the last stable offset; killed and restarted, the pipeline writes each result once.

The seed is printed; EDDY_SEED replays the kill times."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

from confluent_kafka import Consumer, Producer

from conftest import eddy_bin
from interop_helpers import committed_rows, create_topic, read_all, read_records, wait_until

EVENTS = 20_000
RUN_TIMEOUT_S = 120

COLUMNS = """
  event_id   STRING,
  user_id    BIGINT,
  category   STRING,
  amount     DECIMAL(10, 2),
  country    STRING,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND"""

QUERY = """
CREATE TABLE revenue (window_start TIMESTAMP(3), window_end TIMESTAMP(3), category STRING, n BIGINT, revenue DECIMAL(18, 2))
  WITH ('connector' = 'filesystem', 'path' = 'out/revenue', 'format' = 'json');
INSERT INTO revenue
SELECT window_start, window_end, category, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, category;
"""


def kafka_sql(bootstrap: str, topic: str, extra: str = "") -> str:
    return (f"CREATE TABLE purchases ({COLUMNS}\n) WITH ('connector' = 'kafka', 'topic' = '{topic}', 'format' = 'json',\n"
            f"  'properties.bootstrap.servers' = '{bootstrap}', 'scan.startup.mode' = 'earliest-offset'{extra});\n" + QUERY)


def files_sql() -> str:
    return f"CREATE TABLE purchases ({COLUMNS}\n) WITH ('connector' = 'filesystem', 'path' = 'data', 'format' = 'json');\n" + QUERY


def generate(tmp_path, bootstrap: str, topic: str, partitions: int = 3) -> str:
    """The same events to files and to the topic; the files' directory."""
    create_topic(bootstrap, topic, partitions)
    data = tmp_path / "data"
    subprocess.run([eddy_bin(), "gen", "purchases", "--count", str(EVENTS), "--span-ms", "3600000", "--out", str(data), "--files", "1"],
                   check=True, timeout=60)
    produced = subprocess.run([eddy_bin(), "gen", "purchases", "--count", str(EVENTS), "--span-ms", "3600000",
                               "--bootstrap-server", bootstrap, "--topic", topic], capture_output=True, text=True, timeout=120)
    assert produced.returncode == 0, produced.stderr
    return str(data)


def run(directory, sql: str, *args: str) -> subprocess.CompletedProcess:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "q.sql")
    with open(path, "w") as f:
        f.write(sql)
    return subprocess.run([eddy_bin(), "run", path, "--checkpoint", "ckpt", "--bounded", *args], cwd=directory,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def rows(directory) -> list:
    return sorted(json.dumps(r, sort_keys=True) for r in committed_rows(os.path.join(directory, "out", "revenue")))


def test_a_cluster_topic_gives_the_rows_of_the_same_events_in_files(broker, tmp_path):
    data = generate(tmp_path, broker.bootstrap, "shop")
    files_dir = tmp_path / "files"
    os.makedirs(files_dir)
    os.symlink(data, files_dir / "data")
    from_files = run(files_dir, files_sql())
    assert from_files.returncode == 0, from_files.stderr[-2000:]
    from_kafka = run(tmp_path / "kafka", kafka_sql(broker.bootstrap, "shop", ", 'properties.group.id' = 'revenue-query'"))
    assert from_kafka.returncode == 0, from_kafka.stderr[-2000:]
    expected = rows(files_dir)
    assert expected, "no windows"
    assert rows(tmp_path / "kafka") == expected
    # The query's progress shows in its group for Kafka's tools: committed offsets at the end, lag 0.
    from confluent_kafka import TopicPartition
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "revenue-query"})
    committed = consumer.committed([TopicPartition("shop", p) for p in range(3)], timeout=20)
    ends = [consumer.get_watermark_offsets(TopicPartition("shop", p), timeout=20)[1] for p in range(3)]
    consumer.close()
    assert [tp.offset for tp in committed] == ends
    # A new checkpoint with 'group-offsets' starts where the group is (the end: no window), not at
    # 'properties.auto.offset.reset' (earliest: every window again).
    from_group = run(tmp_path / "group", kafka_sql(broker.bootstrap, "shop", ", 'properties.group.id' = 'revenue-query', 'properties.auto.offset.reset' = 'earliest'")
                     .replace("'scan.startup.mode' = 'earliest-offset'", "'scan.startup.mode' = 'group-offsets'"))
    assert from_group.returncode == 0, from_group.stderr[-2000:]
    assert rows(tmp_path / "group") == []


def test_aborted_and_open_transactions_are_not_read(broker, tmp_path):
    """read_committed (the default): records of an aborted transaction are never read; a bounded run
    stops at the last stable offset, before an open transaction's records."""
    create_topic(broker.bootstrap, "txn")

    def event(n: int, amount: str) -> bytes:
        return json.dumps({"event_id": f"e{n}", "user_id": n, "category": "books", "amount": amount, "country": "DE",
                           "event_time": 1_767_225_600_000 + n * 1000}).encode()

    def send(producer: Producer, numbers: range, amount: str) -> None:
        for n in numbers:
            producer.produce("txn", event(n, amount))
        producer.flush(30)

    def transaction(transactional_id: str) -> Producer:
        producer = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": transactional_id})
        producer.init_transactions(30)
        producer.begin_transaction()
        return producer

    plain = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    send(plain, range(10), "1.00")
    aborted = transaction("aborter")
    send(aborted, range(10, 20), "1000.00")
    aborted.abort_transaction(30)
    plain.produce("txn", b"{not json")  # malformed: to the dead-letter topic
    send(plain, range(20, 30), "1.00")
    held = transaction("holder")
    send(held, range(30, 40), "1000.00")
    send(plain, range(40, 50), "1.00")  # after the open transaction: not stable yet

    sql = kafka_sql(broker.bootstrap, "txn").replace(QUERY, "") + \
        "CREATE TABLE seen WITH ('connector' = 'filesystem', 'path' = 'out/seen', 'format' = 'json') AS SELECT event_id, amount FROM purchases;\n"
    # (librdkafka properties ride along as a query string)
    result = run(tmp_path / "t", sql, "--dead-letters", f"kafka://{broker.bootstrap}/dead-letters?client.id=eddy%2Ddead%2Dletters&acks=all")
    assert result.returncode == 0, result.stderr[-2000:]
    seen = committed_rows(str(tmp_path / "t" / "out" / "seen"))
    assert sorted(int(r["event_id"][1:]) for r in seen) == list(range(10)) + list(range(20, 30))
    held.abort_transaction(30)
    letters = read_all(broker.bootstrap, "dead-letters")
    assert [m.value() for m in letters] == [b"{not json"]
    assert dict(letters[0].headers())["eddy.error.reason"] == b"malformed"


def test_killed_and_restarted_pipeline_writes_each_result_once(broker, tmp_path, request):
    """A pipeline reading the cluster and writing windows to a file table and, in one Kafka
    transaction per micro-batch, to a topic of the same cluster: SIGKILLed at random moments, the
    broker SIGKILLed once too, and restarted, the table equals a straight run's and a
    read_committed consumer reads each window once from the topic (a read_uncommitted one may also
    see the records of aborted attempts)."""
    seed = int(os.environ.get("EDDY_SEED", random.randrange(1 << 30)))
    print(f"EDDY_SEED={seed}")
    rng = random.Random(seed)
    generate(tmp_path, broker.bootstrap, "shop")
    sink = (f"\nCREATE TABLE windows WITH ('connector' = 'kafka', 'topic' = 'windows', 'format' = 'json', "
            f"'properties.bootstrap.servers' = '{broker.bootstrap}', 'sink.partitions' = '2') AS\n"
            "SELECT window_start, category, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))\n"
            "GROUP BY window_start, window_end, category;\n")
    straight = run(tmp_path / "straight", kafka_sql(broker.bootstrap, "shop"), "--max-bytes-per-trigger", "200000")
    assert straight.returncode == 0, straight.stderr[-2000:]
    expected = rows(tmp_path / "straight")

    killed = tmp_path / "killed"
    os.makedirs(killed)
    (killed / "q.sql").write_text(kafka_sql(broker.bootstrap, "shop") + sink)
    command = [eddy_bin(), "run", "q.sql", "--checkpoint", "ckpt", "--bounded", "--max-bytes-per-trigger", "200000"]
    kills = 0
    for attempt in range(20):
        proc = subprocess.Popen(command, cwd=killed, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        request.addfinalizer(proc.kill)  # never left running after a failure or a timeout
        if kills < 3:
            time.sleep(rng.uniform(0.2, 2.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                if kills == 2:
                    broker.kill()
                    broker.start()
                continue
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
        assert proc.returncode == 0, stderr[-3000:]
        break
    assert kills >= 1, "no kill landed inside a run"
    assert rows(killed) == expected

    committed = read_topic(broker.bootstrap, "windows", "read_committed")
    windows = [(v["window_start"], v["category"]) for v in committed]
    assert len(windows) == len(set(windows)), "a window was written twice"
    assert len(windows) == len(expected)
    assert len(read_topic(broker.bootstrap, "windows", "read_uncommitted")) >= len(windows)

    # A crash after a batch's Kafka transaction committed and before the checkpoint's commit: the
    # batch is replayed, and the marker committed with the transaction makes the sink skip it.
    commits = killed / "ckpt" / "windows" / "commits"
    newest = max(int(name) for name in os.listdir(commits) if name.isdigit())
    os.remove(commits / str(newest))
    replay = subprocess.run(command, cwd=killed, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert os.path.exists(commits / str(newest)), "the batch was replayed"
    again = [(v["window_start"], v["category"]) for v in read_topic(broker.bootstrap, "windows", "read_committed")]
    assert sorted(again) == sorted(windows), "the replayed batch was written again"

    # The same crash after the marker's group expired (deleted here): the sink finds the batch from
    # its newest committed record's headers instead.
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    markers = [g.group_id for g in admin.list_consumer_groups().result(30).valid if g.group_id.endswith("-windows")]
    assert len(markers) == 1, markers
    for future in admin.delete_consumer_groups(markers).values():
        future.result(30)
    os.remove(commits / str(newest))
    replay = subprocess.run(command, cwd=killed, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert replay.returncode == 0, replay.stderr[-3000:]
    again = [(v["window_start"], v["category"]) for v in read_topic(broker.bootstrap, "windows", "read_committed")]
    assert sorted(again) == sorted(windows), "the replayed batch was written again without its marker"


def read_topic(bootstrap: str, topic: str, isolation: str) -> list:
    """Every value of the topic's two partitions a consumer at `isolation` reads."""
    return [value for _, value, _ in read_records(bootstrap, topic, isolation)]



def test_partitions_added_mid_run_are_read_and_a_recreated_topic_is_refused(broker, tmp_path, request):
    """A running query picks up partitions added to its topic (read from their start); a query whose
    topic was deleted and created again stops with a message that says so, rather than reading
    nothing or reading the new records as if they were the old ones."""
    from confluent_kafka.admin import AdminClient, NewPartitions

    def event(n: int) -> bytes:
        return json.dumps({"event_id": f"e{n}", "user_id": n, "category": "books", "amount": "1.00", "country": "DE",
                           "event_time": 1_767_225_600_000 + n * 1000}).encode()

    create_topic(broker.bootstrap, "grow")
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    for n in range(10):
        producer.produce("grow", event(n), partition=0)
    producer.flush(30)
    directory = tmp_path / "grow"
    os.makedirs(directory)
    (directory / "q.sql").write_text(kafka_sql(broker.bootstrap, "grow").replace(QUERY, "")
                                     + "CREATE TABLE seen WITH ('connector' = 'filesystem', 'path' = 'out/seen', 'format' = 'json') AS SELECT event_id FROM purchases;\n")
    proc = subprocess.Popen([eddy_bin(), "run", "q.sql", "--checkpoint", "ckpt", "--interval-ms", "200"], cwd=directory,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    request.addfinalizer(proc.kill)
    try:
        def seen() -> set:
            try:
                return {r["event_id"] for r in committed_rows(str(directory / "out" / "seen"))}
            except FileNotFoundError:
                return set()
        wait_until(lambda: len(seen()) == 10, 30, "the first 10 records")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_partitions([NewPartitions("grow", 3)])["grow"].result(30)
        wait_until(lambda: len(admin.list_topics("grow", timeout=10).topics["grow"].partitions) == 3, 30, "3 partitions")
        producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})  # one that knows them
        for n in range(10, 16):
            producer.produce("grow", event(n), partition=1 + n % 2)
        producer.flush(30)
        wait_until(lambda: len(seen()) == 16, 60, "the records of the added partitions")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)

    admin.delete_topics(["grow"])["grow"].result(30)
    wait_until(lambda: "grow" not in admin.list_topics(timeout=10).topics, 30, "the topic deleted")
    create_topic(broker.bootstrap, "grow", 3)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    producer.produce("grow", event(99), partition=0)
    producer.flush(30)
    again = subprocess.run([eddy_bin(), "run", "q.sql", "--checkpoint", "ckpt", "--interval-ms", "200"], cwd=directory,
                           capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert again.returncode == 2, again.stderr[-2000:]
    assert "grow-0 ends at offset 1, before the query's 10: the topic was deleted and created again" in again.stderr, again.stderr[-2000:]


def test_upsert_kafka_writes_the_current_row_of_each_key_exactly_once(broker, tmp_path):
    """upsert-kafka on a cluster: an updating result (revenue per category, no window) keyed by its
    PRIMARY KEY into a compacted topic, one transaction per micro-batch; a read_committed consumer's
    newest record per key is the result over all events, and each key's records stay in one partition."""
    from decimal import Decimal
    from confluent_kafka.admin import AdminClient, ConfigResource

    data = generate(tmp_path, broker.bootstrap, "upserts")
    expected: dict = {}
    for name in (n for n in os.listdir(data) if n.endswith(".jsonl")):  # (the broker keeps its log there too)
        with open(os.path.join(data, name)) as f:
            for line in f:
                event = json.loads(line)
                orders, revenue = expected.get(event["category"], (0, Decimal(0)))
                expected[event["category"]] = (orders + 1, revenue + Decimal(str(event["amount"])))
    sql = kafka_sql(broker.bootstrap, "upserts").replace(QUERY, "") + f"""
CREATE TABLE by_category (category STRING, orders BIGINT, revenue DECIMAL(18, 2), PRIMARY KEY (category) NOT ENFORCED)
  WITH ('connector' = 'upsert-kafka', 'topic' = 'by-category', 'properties.bootstrap.servers' = '{broker.bootstrap}',
        'key.format' = 'json', 'value.format' = 'json', 'sink.partitions' = '2', 'sink.transactional-id-prefix' = 'revenue-app');
INSERT INTO by_category SELECT category, COUNT(*), SUM(amount) FROM purchases GROUP BY category;
"""
    result = run(tmp_path / "upsert", sql, "--max-bytes-per-trigger", "300000")  # several batches: keys change
    assert result.returncode == 0, result.stderr[-2000:]

    newest, partitions = {}, {}
    records = read_records(broker.bootstrap, "by-category", "read_committed")
    for key, value, partition in records:
        newest[key["category"]] = (value["orders"], Decimal(str(value["revenue"])))
        partitions.setdefault(key["category"], set()).add(partition)
    assert newest == expected
    assert len(records) > len(expected), "each key changed more than once"
    assert all(len(found) == 1 for found in partitions.values())
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    resource = ConfigResource("topic", "by-category")
    configs = admin.describe_configs([resource])[resource].result(30)
    assert configs["cleanup.policy"].value == "compact"
    # The transactional id (and its batch marker's group) starts with the table's prefix.
    assert [g.group_id for g in admin.list_consumer_groups().result(30).valid if g.group_id.startswith("revenue-app-")]


def test_a_topic_pattern_reads_every_matching_topic_and_new_ones(broker, tmp_path, request):
    """'topic-pattern' on a cluster: every topic whose name matches, with the `topic` metadata column;
    a matching topic created while the query runs is read from its start."""
    for topic, partitions in [("logs-a", 2), ("logs-b", 1), ("logsx", 1)]:
        create_topic(broker.bootstrap, topic, partitions)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    for n, (topic, partition) in enumerate([("logs-a", 0), ("logs-a", 1), ("logs-b", 0), ("logsx", 0)]):
        producer.produce(topic, json.dumps({"n": n}).encode(), partition=partition)
    producer.flush(30)
    directory = tmp_path / "pattern"
    os.makedirs(directory)
    (directory / "q.sql").write_text(f"""
CREATE TABLE logs (n BIGINT, source_topic STRING METADATA FROM 'topic') WITH ('connector' = 'kafka', 'topic-pattern' = 'logs-.*',
  'format' = 'json', 'properties.bootstrap.servers' = '{broker.bootstrap}', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE seen WITH ('connector' = 'filesystem', 'path' = 'out/seen', 'format' = 'json') AS SELECT n, source_topic FROM logs;
""")
    proc = subprocess.Popen([eddy_bin(), "run", "q.sql", "--checkpoint", "ckpt", "--interval-ms", "200"], cwd=directory,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    request.addfinalizer(proc.kill)

    def seen() -> list:
        try:
            return sorted((r["n"], r["source_topic"]) for r in committed_rows(str(directory / "out" / "seen")))
        except FileNotFoundError:
            return []
    try:
        wait_until(lambda: len(seen()) >= 3, 30, "the records of the matching topics")
        create_topic(broker.bootstrap, "logs-c", 1)
        producer.produce("logs-c", json.dumps({"n": 10}).encode(), partition=0)
        producer.flush(30)
        wait_until(lambda: len(seen()) >= 4, 60, "the records of a topic created mid-run")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr[-2000:]
    assert seen() == [(0, "logs-a"), (1, "logs-a"), (2, "logs-b"), (10, "logs-c")]


def test_the_same_sql_gives_the_same_rows_embedded_and_external(broker, tmp_path):
    """One topic read two ways by the same SQL: through librdkafka from the running `eddy broker`
    (external), then, that broker stopped, from the same data directory by the broker embedded in
    `eddy run --broker-data-dir` (in process). The windows are the same."""
    create_topic(broker.bootstrap, "both", 3)
    produced = subprocess.run([eddy_bin(), "gen", "purchases", "--count", str(EVENTS), "--span-ms", "3600000",
                               "--bootstrap-server", broker.bootstrap, "--topic", "both"], capture_output=True, text=True, timeout=120)
    assert produced.returncode == 0, produced.stderr
    external = run(tmp_path / "external", kafka_sql(broker.bootstrap, "both"))
    assert external.returncode == 0, external.stderr[-2000:]
    assert broker.stop() == 0
    embedded_sql = kafka_sql(broker.bootstrap, "both").replace(f"'properties.bootstrap.servers' = '{broker.bootstrap}', ", "")
    embedded = run(tmp_path / "embedded", embedded_sql, "--broker-data-dir", broker.data_dir)
    assert embedded.returncode == 0, embedded.stderr[-2000:]
    expected = rows(tmp_path / "external")
    assert expected, "no windows"
    assert rows(tmp_path / "embedded") == expected
