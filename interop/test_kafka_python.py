"""kafka-python 3.x against eddy: producer/consumer round trip (assign + seek, no group), the broker
version kafka-python infers from ApiVersions, and its admin client."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from interop_helpers import create_topic

BASE_TS = 1_700_000_000_000


def poll_records(consumer: KafkaConsumer, count: int, polls: int = 40) -> list:
    out = []
    for _ in range(polls):
        for records in consumer.poll(timeout_ms=500).values():
            out.extend(records)
        if len(out) >= count:
            break
    assert len(out) == count, f"read {len(out)} of {count} records"
    return out


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_round_trip_assign_and_seek(broker, codec):
    topic = f"kpy-{codec or 'none'}"
    create_topic(broker.bootstrap, topic)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", compression_type=codec, linger_ms=20,
                             enable_idempotence=False, request_timeout_ms=10000)
    try:
        futures = [producer.send(topic, key=f"key-{i}".encode(), value=f"value-{i}".encode(), partition=0,
                                 headers=[("h", b"v")], timestamp_ms=BASE_TS + i) for i in range(20)]
        producer.flush(timeout=20)
        assert [f.get(timeout=10).offset for f in futures] == list(range(20))
    finally:
        producer.close(timeout=5)

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="none", request_timeout_ms=10000)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 5)
        got = poll_records(consumer, 15)
        assert [(r.offset, r.key, r.value) for r in got] == \
            [(i, f"key-{i}".encode(), f"value-{i}".encode()) for i in range(5, 20)]
        assert all(r.headers == [("h", b"v")] and r.timestamp == BASE_TS + r.offset for r in got)

        consumer.seek(tp, 12)
        assert [r.offset for r in poll_records(consumer, 8)] == list(range(12, 20))
        assert consumer.end_offsets([tp]) == {tp: 20}
        assert consumer.beginning_offsets([tp]) == {tp: 0}
    finally:
        consumer.close()


def test_producer_with_default_settings(broker):
    """kafka-python 3's default producer is idempotent: InitProducerId, then sequenced batches."""
    create_topic(broker.bootstrap, "kpy-defaults")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000, max_block_ms=10000)
    try:
        assert producer.config["enable_idempotence"]
        futures = [producer.send("kpy-defaults", f"value-{i}".encode(), partition=0) for i in range(5)]
        producer.flush(timeout=20)
        assert [f.get(timeout=10).offset for f in futures] == list(range(5))
    finally:
        producer.close(timeout=5)


def test_detected_broker_version(broker):
    """kafka-python guesses a Kafka release from the ApiVersions ranges; eddy advertises 3.9's."""
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        detected = producer.config["api_version"]
    finally:
        producer.close(timeout=5)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, request_timeout_ms=10000)
    try:
        assert consumer.config["api_version"] == detected
    finally:
        consumer.close()
    assert detected >= (3, 9), f"kafka-python detected broker version {detected}, expected (3, 9) or newer"


def test_admin_create_and_describe_topics(broker):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        admin.create_topics({"kpy-admin": {"num_partitions": 2, "replication_factor": 1}}, wait_for_metadata=True)
        assert "kpy-admin" in admin.list_topics()
        (desc,) = admin.describe_topics(["kpy-admin"])
        assert desc["error_code"] == 0
        assert sorted(p["partition_index"] for p in desc["partitions"]) == [0, 1]
    finally:
        admin.close()
