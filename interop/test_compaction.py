"""Log compaction (cleanup.policy=compact) seen by a real client: the last value per key stays,
tombstones go after delete.retention.ms, and readers going over the log from the start while the
cleaner runs always see a consistent view (offsets increasing, each key ending at its latest value)."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from interop_helpers import consumer_conf, create_topic, produce, wait_until, watermarks

KEYS = 20
ROUNDS = 10
DELETED = range(5)  # keys 0-4 end with a tombstone


def read_from_start(bootstrap, topic):
    """[(offset, key, value or None)] from the log start to the high watermark; compaction leaves
    gaps, so this reads until the partition's end rather than counting offsets."""
    low, high = watermarks(bootstrap, topic)
    c = Consumer(consumer_conf(bootstrap, {"enable.partition.eof": True}))
    try:
        c.assign([TopicPartition(topic, 0, low)])
        got = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF and (not got or got[-1][0] >= high - 1 or m.offset() >= high):
                    return got
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consumer error: {m.error()}")
            got.append((m.offset(), m.key().decode(), None if m.value() is None else m.value().decode()))
        raise AssertionError(f"did not reach the end ({high}) within 20 s; read {len(got)}")
    finally:
        c.close()


def check_consistent(records):
    offsets = [o for o, _, _ in records]
    assert offsets == sorted(set(offsets)), "offsets increase"
    last = {}
    for _, k, v in records:
        last[k] = v
    for i in range(KEYS):
        key = f"key-{i}"
        if i in DELETED:
            assert last.get(key) is None, f"{key} ends deleted, not {last.get(key)}"
        else:
            assert last.get(key) == f"{key}-r{ROUNDS - 1}", f"{key} ends at its latest value, not {last.get(key)}"


@pytest.mark.timeout(90)
@pytest.mark.broker_args("--log-cleaner-backoff-ms", "100")
def test_compaction_keeps_latest_values_drops_tombstones_and_readers_stay_consistent(broker):
    topic = "profiles"
    create_topic(broker.bootstrap, topic, 1, {"cleanup.policy": "compact", "segment.bytes": "2048",
                                              "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "1500"})
    # One produce call (one batch) per round, so that segments roll between them: the cleaner works
    # on inactive segments only.
    rounds = [[{"key": f"key-{i}", "value": f"key-{i}-r{r}"} for i in range(KEYS)] for r in range(ROUNDS)]
    rounds.append([{"key": f"key-{i}", "value": None} for i in DELETED])
    # Filler with keys of its own rolls the segment holding the last updates, so the cleaner reaches them.
    rounds.append([{"key": f"filler-{n}", "value": "x" * 100} for n in range(40)])
    for records in rounds:
        produce(broker.bootstrap, topic, records)
    total = sum(len(r) for r in rounds)

    stop = threading.Event()
    views = []
    failures = []

    def reader():
        while not stop.is_set():
            try:
                view = read_from_start(broker.bootstrap, topic)
                check_consistent(view)
                views.append(len(view))
            except AssertionError as e:  # reported by the test thread
                failures.append(e)
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        def compacted():
            view = read_from_start(broker.bootstrap, topic)
            keys = [k for _, k, _ in view if k.startswith("key-")]
            return view if len(keys) == len(set(keys)) else None
        view = wait_until(compacted, 30, "every key once (compaction)")
        assert len(view) < total
        tombstones = [k for _, k, v in view if v is None]
        assert sorted(tombstones) == sorted(f"key-{i}" for i in DELETED), "tombstones stay for delete.retention.ms"

        time.sleep(1.6)
        # New data makes the log dirty again; the next pass drops the tombstones, now old enough.
        produce(broker.bootstrap, topic, [{"key": f"filler2-{n}", "value": "y" * 100} for n in range(40)])

        def tombstones_gone():
            view = read_from_start(broker.bootstrap, topic)
            return view if not any(v is None for _, _, v in view) else None
        view = wait_until(tombstones_gone, 30, "tombstones removed after delete.retention.ms")
        assert not any(k == f"key-{i}" for _, k, _ in view for i in DELETED)
        check_consistent(view)
        low, high = watermarks(broker.bootstrap, topic)
        assert high == total + 40, "offsets never change: the log end stays where the appends put it"
    finally:
        stop.set()
        t.join(30)
    assert not failures, failures[0]
    assert len(views) >= 2, "the reader went over the log several times while the cleaner ran"
