"""Idempotent producers against cut connections: confluent-kafka with enable.idempotence=true
produces through a proxy that keeps cutting every connection; librdkafka retries the batches whose
answers were lost, and the broker must append each exactly once, in order, with no gap."""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from confluent_kafka import Producer

from conftest import Broker, eddy_bin
from interop_helpers import create_topic, read_all
from tcp_proxy import Proxy

PARTITIONS = 3
COUNT = 6000
CUTS = int(os.environ.get("EDDY_IDEMPOTENCE_CUTS", "20"))


@pytest.mark.timeout(120)
def test_idempotent_producer_survives_connection_cuts_without_duplicates_or_gaps(tmp_path, summary):
    seed = int(os.environ.get("EDDY_SEED", random.randrange(1, 2**31)))
    rng = random.Random(seed)
    print(f"seed {seed} (replay with EDDY_SEED={seed})")
    data = tmp_path / "data"
    data.mkdir()
    broker = Broker(eddy_bin(), str(data), str(tmp_path / "broker.log"))
    # The broker advertises the proxy, so every connection the client makes goes through it.
    proxy = Proxy(target_port=broker.port)
    broker.extra_args = ["--advertise", f"127.0.0.1:{proxy.port}"]
    broker.start()
    try:
        create_topic(broker.bootstrap, "payments", PARTITIONS)
        errors = []
        delivered = []
        producer = Producer({"bootstrap.servers": f"127.0.0.1:{proxy.port}", "enable.idempotence": True,
                             "acks": "all", "linger.ms": 2, "batch.num.messages": 50,
                             "message.timeout.ms": 90000, "socket.timeout.ms": 5000,
                             "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200})

        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)
            else:
                delivered.append((msg.partition(), msg.offset(), msg.value().decode()))

        stop = threading.Event()

        def cutter():
            while not stop.is_set() and proxy.cuts < CUTS:
                time.sleep(rng.uniform(0.05, 0.4))
                proxy.cut()

        t = threading.Thread(target=cutter, daemon=True)
        t.start()
        for i in range(COUNT):
            while True:
                try:
                    producer.produce("payments", value=f"{i % PARTITIONS}:{i // PARTITIONS}".encode(), partition=i % PARTITIONS,
                                     on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.05)
            if i % 100 == 0:
                producer.poll(0)
                time.sleep(0.01)  # spread the produce over the cuts
        t.join(60)
        stop.set()
        assert producer.flush(60) == 0, "every message delivered"
        assert not errors, errors[:5]
        summary(f"idempotent producer: {COUNT} messages through {proxy.cuts} connection cuts (seed {seed})")
        for p in range(PARTITIONS):
            values = [m.value().decode() for m in read_all(broker.bootstrap, "payments", p)]
            expected = [f"{p}:{n}" for n in range(len(range(p, COUNT, PARTITIONS)))]
            assert values == expected, f"partition {p}: exactly once and in order (first difference at " \
                f"{next((i for i, (a, b) in enumerate(zip(values, expected)) if a != b), min(len(values), len(expected)))}, " \
                f"{len(values)} stored, {len(expected)} sent)"
    finally:
        proxy.close()
        broker.stop()
