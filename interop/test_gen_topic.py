"""`eddy gen --topic` (EddyKafka's librdkafka producer) against eddy's broker: every generated event
arrives once, keyed, in the partition Java's murmur2 partitioner picks, in generation order within
its partition; an unreachable cluster is a clear failure, not a hang or a silent loss."""

from __future__ import annotations

import subprocess
import time

from confluent_kafka import Consumer, TopicPartition
from kafka.partitioner.default import murmur2

from conftest import eddy_bin, free_port
from interop_helpers import consumer_conf, create_topic, watermarks

COUNT = 3000
PARTITIONS = 3
TIMEOUT_S = 60


def gen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([eddy_bin(), "gen", "purchases", "--count", str(COUNT), *args],
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def consume_all(bootstrap: str, topic: str, expected: int) -> dict[int, list[tuple[str, str]]]:
    consumer = Consumer(consumer_conf(bootstrap))
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    records: dict[int, list[tuple[str, str]]] = {p: [] for p in range(PARTITIONS)}
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while sum(map(len, records.values())) < expected and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            records[message.partition()].append((message.key().decode(), message.value().decode()))
    finally:
        consumer.close()
    return records


def test_every_event_arrives_once_keyed_and_partitioned_as_java_would(broker):
    topic = "gen.purchases"
    create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    published = gen("--bootstrap-server", broker.bootstrap, "--topic", topic,
                    "--producer-property", "message.timeout.ms=20000",
                    "--producer-property", "compression.type=zstd")
    assert published.returncode == 0, published.stderr
    assert f"{COUNT} records delivered to {topic}" in published.stderr

    stdout = gen("--keyed")
    assert stdout.returncode == 0, stdout.stderr
    expected = [tuple(line.split("\t", 1)) for line in stdout.stdout.splitlines()]
    assert len(expected) == COUNT

    assert sum(watermarks(broker.bootstrap, topic, p)[1] for p in range(PARTITIONS)) == COUNT, "nothing stored twice"
    records = consume_all(broker.bootstrap, topic, COUNT)
    got = [record for partition in records.values() for record in partition]
    assert sorted(got) == sorted(expected), "every event once, with its key"
    for partition, rows in records.items():
        assert rows, f"partition {partition} got nothing"
        # The Java client's partitioner: positive murmur2 of the key bytes modulo the partition count.
        assert all((murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS == partition for key, _ in rows)
        # Generation order within the partition (idempotent producer: no reordering on retries).
        assert rows == [row for row in expected if (murmur2(row[0].encode()) & 0x7FFFFFFF) % PARTITIONS == partition]


def test_an_unreachable_cluster_fails_clearly_and_soon():
    started = time.monotonic()
    result = gen("--count", "10", "--bootstrap-server", f"127.0.0.1:{free_port()}", "--topic", "nowhere",
                 "--producer-property", "message.timeout.ms=2000")
    assert result.returncode != 0
    assert "were not delivered to nowhere" in result.stderr, result.stderr
    assert time.monotonic() - started < 30


def test_an_unreachable_cluster_stops_a_long_run_early():
    # Far more records than librdkafka queues: the first failed delivery ends the run.
    started = time.monotonic()
    result = subprocess.run([eddy_bin(), "gen", "purchases", "--count", "5000000", "--bootstrap-server",
                             f"127.0.0.1:{free_port()}", "--topic", "nowhere", "--producer-property", "message.timeout.ms=1000"],
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode != 0
    assert "were not delivered to nowhere" in result.stderr, result.stderr
    assert time.monotonic() - started < 30


def test_bad_producer_properties_are_refused():
    for bad, expected in [("no.such.property=1", "no.such.property"), ("=1", "takes name=value"),
                          ("acks", "takes name=value")]:
        result = gen("--count", "1", "--bootstrap-server", "127.0.0.1:9", "--topic", "t", "--producer-property", bad)
        assert result.returncode != 0
        assert expected in result.stderr, result.stderr
