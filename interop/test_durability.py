"""Durability: a producer writes numbered records with acks=all while the broker is SIGKILLed at a
random moment and restarted on the same data directory and port. Afterwards every acknowledged
record must be in the log exactly once, at the offset it was acknowledged with, in order.

The producer never retries (retries=0, no idempotence, one request in flight), so a record is sent at
most once: nothing may appear twice, and the log must hold the sequence numbers in increasing order.
Records whose delivery failed may be in the log or not.

EDDY_DURABILITY_TRIALS (default 20) sets the number of kill/restart trials; the seed is printed and
EDDY_SEED replays a run. Every trial has its own topic on the same broker, and at the end every
earlier topic is read again: later crashes must not damage what earlier trials verified.
"""

from __future__ import annotations

import os
import random
import time

import pytest
from confluent_kafka import Producer

from interop_helpers import create_topic, read_all, watermarks

TRIALS = int(os.environ.get("EDDY_DURABILITY_TRIALS", "20"))
TRIAL_SECONDS_MAX = 10.0
KILL_AFTER_S = (0.05, 1.5)      # the SIGKILL lands at a random moment in this window
PRODUCE_AFTER_RESTART_S = 1.0   # keep writing this long once the broker is back
OUTSTANDING_MAX = 20            # records queued in the client at once
MESSAGE_TIMEOUT_MS = 3000


def producer_conf(bootstrap: str) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": False,
        "message.send.max.retries": 0,              # = retries: a record is sent at most once
        "max.in.flight.requests.per.connection": 1,
        "linger.ms": 1,
        "batch.num.messages": 10,
        "message.timeout.ms": MESSAGE_TIMEOUT_MS,
        "socket.timeout.ms": 2000,
        "reconnect.backoff.ms": 20,
        "reconnect.backoff.max.ms": 200,
        "retry.backoff.ms": 20,
    }


def run_trial(broker, topic: str, kill_after_s: float) -> dict:
    """Produces until PRODUCE_AFTER_RESTART_S after the restart; returns what the client saw."""
    acked: dict[int, int] = {}   # sequence number -> offset
    failed: dict[int, str] = {}  # sequence number -> error

    def on_delivery(err, msg):
        seq = int(msg.value())
        if err is None:
            acked[seq] = msg.offset()
        else:
            failed[seq] = str(err)

    p = Producer(producer_conf(broker.bootstrap))
    started = time.monotonic()
    kill_at = started + kill_after_s
    restarted_at = None
    first_seq_after_restart = None
    seq = 0
    while True:
        now = time.monotonic()
        if restarted_at is None and now >= kill_at:
            broker.kill()
            broker.start()
            restarted_at = time.monotonic()
            first_seq_after_restart = seq
        elif restarted_at is not None and now >= restarted_at + PRODUCE_AFTER_RESTART_S:
            break
        if len(p) < OUTSTANDING_MAX:
            p.produce(topic, value=b"%08d" % seq, partition=0, on_delivery=on_delivery)
            seq += 1
        p.poll(0.002)
    left = p.flush(MESSAGE_TIMEOUT_MS / 1000 + 2)
    assert left == 0, f"{left} record(s) neither acknowledged nor failed"
    assert len(acked) + len(failed) == seq
    return {"acked": acked, "failed": failed, "produced": seq, "first_seq_after_restart": first_seq_after_restart,
            "seconds": time.monotonic() - started}


def check_log(log: list[tuple[int, int]], trial: dict, where: str) -> None:
    """log: (offset, sequence number) in offset order, from offset 0."""
    offsets = [o for o, _ in log]
    seqs = [s for _, s in log]
    assert offsets == list(range(len(log))), f"{where}: offsets are not 0..{len(log) - 1} without gaps"
    assert len(set(seqs)) == len(seqs), f"{where}: duplicated records"
    assert all(a < b for a, b in zip(seqs, seqs[1:])), f"{where}: records out of order"
    assert all(0 <= s < trial["produced"] for s in seqs), f"{where}: records that were never produced"
    at = dict(log)
    lost = {s: o for s, o in trial["acked"].items() if at.get(o) != s}
    assert not lost, (f"{where}: {len(lost)} acknowledged record(s) lost or moved, "
                      f"e.g. seq {min(lost)} acknowledged at offset {lost[min(lost)]}")


def read_log(bootstrap: str, topic: str) -> list[tuple[int, int]]:
    low, _ = watermarks(bootstrap, topic)
    assert low == 0, f"{topic}: log start offset {low}"
    return [(m.offset(), int(m.value())) for m in read_all(bootstrap, topic)]


@pytest.mark.timeout(60 + 20 * TRIALS)
def test_acknowledged_records_survive_sigkill(broker, summary):
    seed = int(os.environ.get("EDDY_SEED", random.SystemRandom().randrange(2**31)))
    summary(f"durability: seed {seed} (replay with EDDY_SEED={seed})")
    rng = random.Random(seed)
    verified: dict[str, tuple[list, dict]] = {}
    checked = 0
    for n in range(TRIALS):
        topic = f"durability-{n}"
        create_topic(broker.bootstrap, topic)
        kill_after = rng.uniform(*KILL_AFTER_S)
        trial = run_trial(broker, topic, kill_after)
        where = f"trial {n} (seed {seed}, kill after {kill_after:.3f} s)"
        assert trial["seconds"] <= TRIAL_SECONDS_MAX, f"{where}: took {trial['seconds']:.1f} s"
        assert trial["acked"], f"{where}: no record was acknowledged: {list(trial['failed'].values())[:3]}"
        assert max(trial["acked"]) >= trial["first_seq_after_restart"], \
            f"{where}: no record produced after the restart was acknowledged"
        log = read_log(broker.bootstrap, topic)
        check_log(log, trial, where)
        verified[topic] = (log, trial)
        checked += len(trial["acked"])

    for topic, (log, trial) in verified.items():  # later crashes left earlier topics alone
        assert read_log(broker.bootstrap, topic) == log, f"{topic} changed after later restarts (seed {seed})"
    summary(f"durability: {TRIALS} trials, {checked} acknowledged records checked, 0 lost")
