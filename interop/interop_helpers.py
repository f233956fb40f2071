"""Small helpers shared by the interop tests: topic setup, producing and reading back with
confluent-kafka (assign only, no consumer group), watermarks, and the on-disk segment files.

Every call here is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from eddy_lake import live_files, partition_values  # noqa: E402

# librdkafka's consumer needs a group.id even when it only uses assign(); nothing is committed.
GROUP_ID = "eddy-interop"
SEGMENT_FILE = re.compile(r"^(\d{20})\.(log|index|timeindex)$")


def wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.1):
    """Polls predicate() until it returns something truthy; returns it, or fails naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def admin_client(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def partition_count(admin: AdminClient, topic: str):
    """Partitions of `topic` in a fresh all-topics Metadata response, or None if it is not there."""
    md = admin.list_topics(timeout=10)
    t = md.topics.get(topic)
    return None if t is None or t.error is not None else len(t.partitions)


def create_topic(bootstrap: str, topic: str, partitions: int = 1, config: dict | None = None) -> None:
    """CreateTopics through confluent-kafka's AdminClient; returns once Metadata shows every partition."""
    admin = admin_client(bootstrap)
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                            config=dict(config or {}))], request_timeout=15)
    futures[topic].result(timeout=20)
    wait_until(lambda: partition_count(admin, topic) == partitions, 10,
               f"topic {topic} with {partitions} partition(s) in Metadata")


def producer(bootstrap: str, conf: dict | None = None) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                     "message.timeout.ms": 15000, **(conf or {})})


def produce(bootstrap: str, topic: str, records, conf: dict | None = None, partition: int = 0) -> list[int]:
    """Produces records (dicts with value and optional key, headers, timestamp, partition) and
    returns their offsets in order. Every delivery report must succeed."""
    p = producer(bootstrap, conf)
    reports: list = []
    for i, r in enumerate(records):
        def on_delivery(err, msg, i=i):
            reports.append((i, err, msg.offset() if err is None else None))
        kwargs = {"timestamp": r["timestamp"]} if r.get("timestamp") is not None else {}
        p.produce(topic, value=r["value"], key=r.get("key"), headers=r.get("headers"),
                  partition=r.get("partition", partition), on_delivery=on_delivery, **kwargs)
        p.poll(0)
    left = p.flush(30)
    assert left == 0, f"{left} record(s) still undelivered after 30 s"
    errors = [(i, err) for i, err, _ in reports if err is not None]
    assert not errors, f"delivery failed: {errors[:5]}"
    return [offset for _, _, offset in sorted(reports, key=lambda r: r[0])]


def consumer_conf(bootstrap: str, extra: dict | None = None) -> dict:
    return {"bootstrap.servers": bootstrap, "group.id": GROUP_ID, "enable.auto.commit": False,
            "enable.auto.offset.store": False, "auto.offset.reset": "error", "socket.timeout.ms": 10000,
            **(extra or {})}


def consume(bootstrap: str, assignments: list[TopicPartition], count: int, timeout_s: float = 20.0,
            settle_s: float = 0.0, conf: dict | None = None) -> list:
    """Assigns explicit start offsets (no group) and returns exactly `count` messages; with settle_s,
    also checks that nothing more arrives in that time."""
    c = Consumer(consumer_conf(bootstrap, conf))
    try:
        c.assign(assignments)
        got = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count and time.monotonic() < deadline:
            for m in c.consume(num_messages=count - len(got), timeout=0.5):
                if m.error() is not None:
                    raise AssertionError(f"consumer error after {len(got)} message(s): {m.error()}")
                got.append(m)
        assert len(got) == count, f"read {len(got)} of {count} message(s) within {timeout_s} s"
        if settle_s > 0:
            extra = [m for m in c.consume(num_messages=100, timeout=settle_s) if m.error() is None]
            assert not extra, f"{len(extra)} unexpected extra message(s), first at offset {extra[0].offset()}"
        return got
    finally:
        c.close()


def watermarks(bootstrap: str, topic: str, partition: int = 0) -> tuple[int, int]:
    """(log start offset, high watermark) from ListOffsets (earliest, latest)."""
    c = Consumer(consumer_conf(bootstrap))
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
    finally:
        c.close()


def read_all(bootstrap: str, topic: str, partition: int = 0, timeout_s: float = 20.0) -> list:
    """Every message from the log start offset up to the high watermark, in offset order."""
    low, high = watermarks(bootstrap, topic, partition)
    if high <= low:
        return []
    return consume(bootstrap, [TopicPartition(topic, partition, low)], high - low, timeout_s)


def segment_files(data_dir: str, topic: str, partition: int = 0) -> list[tuple[int, str, int]]:
    """(base offset, file name, size) of <data>/<topic>-<partition>/<20 digits>.log|.index|.timeindex.

    The broker's retention pass may delete a segment between the listing and the size: such a file is
    left out, as it would be from a listing a moment later."""
    d = os.path.join(data_dir, f"{topic}-{partition}")
    out = []
    for name in os.listdir(d):
        m = SEGMENT_FILE.match(name)
        if m:
            try:
                out.append((int(m.group(1)), name, os.path.getsize(os.path.join(d, name))))
            except FileNotFoundError:
                continue
    return sorted(out)


def log_segments(data_dir: str, topic: str, partition: int = 0) -> list[tuple[int, str, int]]:
    return [s for s in segment_files(data_dir, topic, partition) if s[1].endswith(".log")]


def error_code(exc: BaseException) -> int | None:
    """The Kafka error code carried by a confluent-kafka KafkaException, if any."""
    err = exc.args[0] if exc.args else None
    return err.code() if isinstance(err, KafkaError) else None


def committed_rows(directory: str) -> list[dict]:
    """Rows of the files an Eddy files sink's log lists, in batch order, with their partition
    directories' values (as text)."""
    rows = []
    for name in live_files(directory):
        path = os.path.join(directory, name)
        if name.endswith(".parquet"):
            found = parquet_rows(path)
        else:
            with open(path) as f:
                found = [json.loads(line) for line in f if line.strip()]
        partitions = partition_values(name)
        rows += [{**row, **partitions} for row in found]
    return rows


def parquet_rows(path: str) -> list[dict]:
    """A Parquet file's rows through DuckDB, values as JSON would hold them (timestamps as ISO text)."""
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    relation = con.sql(f"SELECT * FROM read_parquet('{path}')")
    names = relation.columns
    rows = []
    for values in relation.fetchall():
        row = {}
        for name, value in zip(names, values):
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            elif value is not None and type(value).__name__ == "Decimal":
                value = str(value)
            row[name] = value
        rows.append(row)
    return rows


def read_records(bootstrap: str, topic: str, isolation: str, partitions: int = 2) -> list:
    """(key, value, partition) of every record of the topic's partitions a consumer at `isolation`
    reads (read_committed: up to the last stable offset), in each partition's order; keys and values
    decoded from JSON."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{random.randrange(1 << 30)}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "isolation.level": isolation, "enable.partition.eof": True})
    consumer.subscribe([topic])
    records, ends = [], set()
    deadline = time.monotonic() + 60
    while len(ends) < partitions and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None:
            continue
        if message.error():
            ends.add(message.partition())
            continue
        key = message.key()
        try:
            key = json.loads(key) if key is not None else None
        except ValueError:
            key = key.decode(errors="replace")  # a raw key
        records.append((key, json.loads(message.value()), message.partition()))
    consumer.close()
    return records
