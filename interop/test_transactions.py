"""Transactions with confluent-kafka: aborted transactions are invisible to read_committed and
visible to read_uncommitted; and the exactly-once loop (consume A, produce B, commit offsets in the
same transaction) killed with SIGKILL at random points — the worker, and sometimes the broker —
and restarted still turns every input record into exactly one output record."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from interop_helpers import consumer_conf, create_topic, produce, wait_until, watermarks

WORKER = os.path.join(os.path.dirname(__file__), "eos_worker.py")
TRIALS = int(os.environ.get("EDDY_EOS_TRIALS", "8"))


def read_to_end(bootstrap, topic, partitions, isolation):
    """Every record of the topic up to its end, as (partition, key, value), for an isolation level."""
    c = Consumer(consumer_conf(bootstrap, {"isolation.level": isolation, "enable.partition.eof": True}))
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        got, eof = [], set()
        deadline = time.monotonic() + 30
        while len(eof) < partitions and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    continue
                raise AssertionError(f"consumer error: {m.error()}")
            got.append((m.partition(), m.key().decode() if m.key() else None, m.value().decode()))
        assert len(eof) == partitions, f"reached the end of {len(eof)} of {partitions} partitions"
        return got
    finally:
        c.close()


@pytest.mark.timeout(60)
def test_aborted_transactions_are_invisible_to_read_committed(broker):
    create_topic(broker.bootstrap, "ledger", 2)
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "ledger-writer"})
    p.init_transactions(20)
    p.begin_transaction()
    for i in range(5):
        p.produce("ledger", key=b"k", value=f"aborted-{i}".encode(), partition=i % 2)
    p.flush(10)
    p.abort_transaction(20)
    p.begin_transaction()
    for i in range(3):
        p.produce("ledger", key=b"k", value=f"committed-{i}".encode(), partition=i % 2)
    p.commit_transaction(20)

    committed = sorted(v for _, _, v in read_to_end(broker.bootstrap, "ledger", 2, "read_committed"))
    assert committed == [f"committed-{i}" for i in range(3)]
    uncommitted = sorted(v for _, _, v in read_to_end(broker.bootstrap, "ledger", 2, "read_uncommitted"))
    assert uncommitted == sorted([f"aborted-{i}" for i in range(5)] + [f"committed-{i}" for i in range(3)])

    # An open transaction holds read_committed readers back at its first offset (the LSO).
    p.begin_transaction()
    p.produce("ledger", key=b"k", value=b"open", partition=0)
    p.flush(10)
    c = Consumer(consumer_conf(broker.bootstrap, {"isolation.level": "read_committed"}))
    try:
        low, high = c.get_watermark_offsets(TopicPartition("ledger", 0), timeout=10, cached=False)
        # Partition 0: aborted 0-2, ABORT marker 3, committed 4-5, COMMIT marker 6, open record 7.
        assert high == 7, "read_committed's end (ListOffsets latest) is the LSO: the open record's offset"
    finally:
        c.close()
    assert "open" not in [v for _, _, v in read_to_end(broker.bootstrap, "ledger", 2, "read_committed")]
    p.commit_transaction(20)
    assert "open" in [v for _, _, v in read_to_end(broker.bootstrap, "ledger", 2, "read_committed")]

    # A second producer with the same transactional.id fences the first.
    p.begin_transaction()
    p.produce("ledger", value=b"zombie", partition=1)
    p.flush(10)
    successor = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "ledger-writer"})
    successor.init_transactions(30)
    with pytest.raises(Exception):
        p.commit_transaction(10)
    assert "zombie" not in [v for _, _, v in read_to_end(broker.bootstrap, "ledger", 2, "read_committed")]


@pytest.mark.timeout(60)
@pytest.mark.broker_args("--transaction-abort-check-interval-ms", "100")
def test_a_transaction_past_its_timeout_is_aborted_and_its_producer_fenced(broker):
    create_topic(broker.bootstrap, "slow", 1)
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "slow-writer",
                  "transaction.timeout.ms": 1000})
    p.init_transactions(20)
    p.begin_transaction()
    p.produce("slow", value=b"never-committed", partition=0)
    p.flush(10)
    c = Consumer(consumer_conf(broker.bootstrap, {"isolation.level": "read_committed"}))
    try:
        # The open transaction holds the LSO at 0 until the coordinator aborts it (ABORT marker at 1).
        assert c.get_watermark_offsets(TopicPartition("slow", 0), timeout=10, cached=False)[1] == 0
        wait_until(lambda: c.get_watermark_offsets(TopicPartition("slow", 0), timeout=10, cached=False)[1] == 2,
                   15, "the timed-out transaction aborted (LSO past its marker)")
    finally:
        c.close()
    assert read_to_end(broker.bootstrap, "slow", 1, "read_committed") == []
    assert [v for _, _, v in read_to_end(broker.bootstrap, "slow", 1, "read_uncommitted")] == ["never-committed"]
    with pytest.raises(Exception):
        p.commit_transaction(10)  # its epoch was bumped by the abort: fenced


@pytest.mark.timeout(60 + 25 * TRIALS)
@pytest.mark.broker_args("--group-initial-rebalance-delay-ms", "0")
def test_exactly_once_loop_survives_sigkill_of_worker_and_broker(broker, summary):
    seed = int(os.environ.get("EDDY_SEED", random.randrange(1, 2**31)))
    rng = random.Random(seed)
    print(f"seed {seed} (replay with EDDY_SEED={seed})")
    source, sink, partitions, count = "eos-in", "eos-out", 3, 400
    create_topic(broker.bootstrap, source, partitions)
    create_topic(broker.bootstrap, sink, partitions)
    # The input arrives in chunks between the kills, and the worker takes at most 5 records a
    # transaction and spends 300 ms inside each after producing, so kills land mid-stream and
    # often inside open transactions.
    chunk = count // TRIALS + 1
    inputs = [{"key": f"k{i}", "value": f"v{i}", "partition": i % partitions} for i in range(count)]

    def start_worker():
        return subprocess.Popen([sys.executable, WORKER, broker.bootstrap, source, sink, "eos-group", "eos-tx", "300", "5"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    worker_kills = broker_kills = 0
    worker = start_worker()
    try:
        for trial in range(TRIALS):
            produce(broker.bootstrap, source, inputs[trial * chunk:(trial + 1) * chunk])
            time.sleep(rng.uniform(1.0, 3.0))
            if rng.random() < 0.3:
                broker.kill()
                broker_kills += 1
                broker.start()
            worker.kill()
            worker.wait(10)
            worker_kills += 1
            worker = start_worker()

        def done():
            out = read_to_end(broker.bootstrap, sink, partitions, "read_committed")
            return out if len(out) >= count else None
        out = wait_until(done, 120, f"{count} transformed records in {sink}", interval_s=1.0)
        time.sleep(1.0)  # anything extra (a duplicate) would land now
        out = read_to_end(broker.bootstrap, sink, partitions, "read_committed")
    finally:
        worker.kill()
        worker.wait(10)
    values = sorted(v for _, _, v in out)
    expected = sorted(f"v{i}-x2" for i in range(count))
    duplicates = len(values) - len(set(values))
    missing = len(set(expected) - set(values))
    uncommitted = read_to_end(broker.bootstrap, sink, partitions, "read_uncommitted")
    summary(f"exactly-once loop: {TRIALS} trials ({worker_kills} worker SIGKILLs, {broker_kills} broker SIGKILLs, "
            f"seed {seed}): {len(values)} committed outputs for {count} inputs, {duplicates} duplicates, {missing} missing; "
            f"read_uncommitted also sees {len(uncommitted) - len(values)} outputs of aborted attempts")
    assert values == expected
