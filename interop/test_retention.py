"""Retention: small segments (segment.bytes) roll often; retention.bytes / retention.ms delete the
oldest segments on the broker's periodic pass; the log start offset (ListOffsets earliest) moves
forward; a consumer positioned below it gets OFFSET_OUT_OF_RANGE and resets per auto.offset.reset."""

from __future__ import annotations

import os
import time

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from interop_helpers import (consume, consumer_conf, create_topic, log_segments, produce, producer, segment_files,
                             wait_until, watermarks)

pytestmark = pytest.mark.broker_args("--log-retention-check-interval-ms", "200")

SEGMENT_BYTES = 1024
RETENTION_BYTES = 4096
RECORDS = 60
VALUE_BYTES = 200  # one record per batch: about 290 bytes a batch, 3 batches a segment


def value(i: int) -> bytes:
    return f"{i:06d}-".encode() + b"x" * (VALUE_BYTES - 7)


def produce_one_batch_each(bootstrap: str, topic: str, indexes, timestamp=None) -> None:
    """One Produce request (and so one batch) per record: flush after each; record i lands at offset i."""
    p = producer(bootstrap, {"linger.ms": 0})
    for i in indexes:
        reports = []
        p.produce(topic, key=f"k{i}".encode(), value=value(i), partition=0,
                  on_delivery=lambda err, msg: reports.append((err, msg.offset())),
                  **({"timestamp": timestamp} if timestamp is not None else {}))
        assert p.flush(15) == 0 and reports == [(None, i)], reports


def log_start_moved(bootstrap: str, topic: str):
    low, high = watermarks(bootstrap, topic)
    return (low, high) if low > 0 else None


def wait_for_retention_bytes(broker, topic: str) -> tuple[int, int]:
    def settled():
        low, high = watermarks(broker.bootstrap, topic)
        size = sum(s for _, _, s in log_segments(broker.data_dir, topic))
        # Kafka deletes the oldest segment while the log without it is still >= retention.bytes.
        return (low, high) if low > 0 and size <= RETENTION_BYTES + SEGMENT_BYTES else None
    return wait_until(settled, 15, "the retention pass to bring the log under retention.bytes")


def check_segments_match_log_start(data_dir: str, topic: str, low: int) -> None:
    files = segment_files(data_dir, topic)
    logs = log_segments(data_dir, topic)
    assert logs, "no .log segment left"
    assert logs[0][0] == low, f"first segment starts at {logs[0][0]}, log start offset is {low}"
    stale = [name for base, name, _ in files if base < low]
    assert not stale, f"segment files below the log start offset {low} were not deleted: {stale}"
    assert not os.path.exists(os.path.join(data_dir, f"{topic}-0", "00000000000000000000.log"))


def check_readable_from(bootstrap: str, topic: str, low: int, high: int) -> None:
    got = consume(bootstrap, [TopicPartition(topic, 0, low)], high - low)
    assert [(m.offset(), m.value()) for m in got] == [(i, value(i)) for i in range(low, high)]


def test_retention_bytes_deletes_oldest_segments(broker):
    topic = "ret-bytes"
    create_topic(broker.bootstrap, topic, config={"segment.bytes": str(SEGMENT_BYTES),
                                                  "retention.bytes": str(RETENTION_BYTES)})
    produce_one_batch_each(broker.bootstrap, topic, range(RECORDS))
    low, high = wait_for_retention_bytes(broker, topic)

    assert high == RECORDS
    assert len(log_segments(broker.data_dir, topic)) >= 2
    check_segments_match_log_start(broker.data_dir, topic, low)
    check_readable_from(broker.bootstrap, topic, low, high)


def test_retention_ms_deletes_segments_older_than_the_limit(broker):
    topic = "ret-ms"
    create_topic(broker.bootstrap, topic, config={"segment.bytes": str(SEGMENT_BYTES), "retention.ms": "3600000"})
    two_hours_ago = int(time.time() * 1000) - 2 * 3600 * 1000
    produce_one_batch_each(broker.bootstrap, topic, range(30), timestamp=two_hours_ago)
    produce_one_batch_each(broker.bootstrap, topic, range(30, RECORDS))  # current time

    wait_until(lambda: log_start_moved(broker.bootstrap, topic), 15,
               "the retention pass to delete the segments older than retention.ms")
    # Only segments whose newest record is older than retention.ms go; the one holding offset 30 stays.
    time.sleep(1.0)  # a few more passes must not delete anything newer
    low, high = watermarks(broker.bootstrap, topic)
    assert 0 < low <= 30 and high == RECORDS
    check_segments_match_log_start(broker.data_dir, topic, low)
    check_readable_from(broker.bootstrap, topic, low, high)


@pytest.fixture
def truncated_topic(broker):
    """A topic whose first offsets were deleted by retention: returns (topic, low, high)."""
    topic = "ret-oor"
    create_topic(broker.bootstrap, topic, config={"segment.bytes": str(SEGMENT_BYTES),
                                                  "retention.bytes": str(RETENTION_BYTES)})
    produce_one_batch_each(broker.bootstrap, topic, range(RECORDS))
    low, high = wait_for_retention_bytes(broker, topic)
    return topic, low, high


@pytest.mark.parametrize("where", ["below-log-start", "past-the-end"])
def test_out_of_range_resets_to_earliest(broker, truncated_topic, where):
    topic, low, high = truncated_topic
    start = 0 if where == "below-log-start" else high + 100
    got = consume(broker.bootstrap, [TopicPartition(topic, 0, start)], high - low,
                  conf={"auto.offset.reset": "earliest"})
    assert [(m.offset(), m.value()) for m in got] == [(i, value(i)) for i in range(low, high)]


def test_out_of_range_resets_to_latest(broker, truncated_topic):
    topic, low, high = truncated_topic
    c = Consumer(consumer_conf(broker.bootstrap, {"auto.offset.reset": "latest"}))
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        assert [m for m in c.consume(num_messages=10, timeout=2.0) if m.error() is None] == []
        assert produce(broker.bootstrap, topic, [{"value": value(high)}]) == [high]
        got = []
        for _ in range(20):
            got += [m for m in c.consume(num_messages=1, timeout=0.5) if m.error() is None]
            if got:
                break
        assert [(m.offset(), m.value()) for m in got] == [(high, value(high))]
    finally:
        c.close()


def test_out_of_range_with_error_policy_surfaces_the_error(broker, truncated_topic):
    topic, low, high = truncated_topic
    c = Consumer(consumer_conf(broker.bootstrap, {"auto.offset.reset": "error"}))
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        errors = []
        for _ in range(20):
            for m in c.consume(num_messages=10, timeout=0.5):
                assert m.error() is not None, f"got a record at offset {m.offset()} below the log start {low}"
                errors.append(m.error())
            if errors:
                break
        assert errors, "no error surfaced for a fetch below the log start offset"
        # librdkafka reports the broker's OFFSET_OUT_OF_RANGE as an auto.offset.reset failure.
        assert errors[0].code() in (KafkaError._AUTO_OFFSET_RESET, KafkaError.OFFSET_OUT_OF_RANGE), errors[0]
    finally:
        c.close()
