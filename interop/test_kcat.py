"""kcat (librdkafka 2.0) against eddy: produce with keys and headers, consume by offset and by
timestamp, metadata as JSON, the four compression codecs, and topic auto-creation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from interop_helpers import create_topic, log_segments, watermarks

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "capture"))
from kafka_wire import CODECS, decode_record_batches  # noqa: E402  (scripts/capture: record-batch decoder)

KCAT_TIMEOUT_S = 30
# Fail fast instead of librdkafka's 5-minute message timeout.
PRODUCE_OPTS = ["-X", "message.timeout.ms=10000", "-X", "socket.timeout.ms=10000"]


def kcat(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["kcat", *args], input=stdin, capture_output=True, text=True, timeout=KCAT_TIMEOUT_S)
    if check and proc.returncode != 0:
        raise AssertionError(f"kcat {' '.join(args)} exited {proc.returncode}\nstderr:\n{proc.stderr}")
    return proc


def kcat_produce(bootstrap: str, topic: str, lines: list[str], *extra: str) -> None:
    kcat("-P", "-b", bootstrap, "-t", topic, "-p", "0", "-K:", *PRODUCE_OPTS, *extra,
         stdin="".join(line + "\n" for line in lines))


def kcat_consume(bootstrap: str, topic: str, offset: str, fmt: str = "%k %s %h %o\\n") -> list[str]:
    out = kcat("-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", offset, "-e", "-f", fmt).stdout
    return out.splitlines()


def test_keyed_messages_with_headers_round_trip(broker):
    create_topic(broker.bootstrap, "kcat-keys")
    lines = [f"key-{i}:value-{i}" for i in range(10)]
    kcat_produce(broker.bootstrap, "kcat-keys", lines, "-H", "k=v", "-H", "trace=abc")

    expected = [f"key-{i} value-{i} k=v,trace=abc {i}" for i in range(10)]
    assert kcat_consume(broker.bootstrap, "kcat-keys", "beginning") == expected
    assert kcat_consume(broker.bootstrap, "kcat-keys", "7") == expected[7:]      # absolute offset
    assert kcat_consume(broker.bootstrap, "kcat-keys", "-3") == expected[-3:]    # 3 before the end
    assert watermarks(broker.bootstrap, "kcat-keys") == (0, 10)


def test_consume_from_timestamp(broker):
    create_topic(broker.bootstrap, "kcat-time")
    kcat_produce(broker.bootstrap, "kcat-time", [f"a{i}:early-{i}" for i in range(5)])
    time.sleep(0.05)
    boundary_ms = int(time.time() * 1000)
    time.sleep(0.05)
    kcat_produce(broker.bootstrap, "kcat-time", [f"b{i}:late-{i}" for i in range(5)])

    # ListOffsets by timestamp: the first offset whose timestamp is >= the one asked for.
    late = kcat_consume(broker.bootstrap, "kcat-time", f"s@{boundary_ms}", "%s %o\\n")
    assert late == [f"late-{i} {5 + i}" for i in range(5)]
    everything = kcat_consume(broker.bootstrap, "kcat-time", f"s@{boundary_ms - 60_000}", "%s %o\\n")
    assert everything == [f"early-{i} {i}" for i in range(5)] + late


def test_metadata_json_lists_topics_and_partitions(broker):
    create_topic(broker.bootstrap, "kcat-meta-3", partitions=3)
    create_topic(broker.bootstrap, "kcat-meta-1", partitions=1)
    md = json.loads(kcat("-L", "-J", "-b", broker.bootstrap).stdout)

    broker_ids = {b["id"] for b in md["brokers"]}
    assert [b["name"] for b in md["brokers"]] == [broker.bootstrap]
    topics = {t["topic"]: t for t in md["topics"]}
    for name, count in (("kcat-meta-3", 3), ("kcat-meta-1", 1)):
        assert name in topics, f"{name} missing from {sorted(topics)}"
        t = topics[name]
        assert "error" not in t, t
        assert sorted(p["partition"] for p in t["partitions"]) == list(range(count))
        for p in t["partitions"]:
            assert p["leader"] in broker_ids
            assert [r["id"] for r in p["replicas"]] == [p["leader"]]
            assert [r["id"] for r in p["isrs"]] == [p["leader"]]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_round_trip(broker, codec):
    topic = f"kcat-{codec}"
    create_topic(broker.bootstrap, topic)
    # Compressible values, so librdkafka keeps the compressed form; one batch (linger).
    lines = [f"key-{i}:value-{i}-" + "abcdefgh" * 16 for i in range(20)]
    kcat_produce(broker.bootstrap, topic, lines, "-z", codec, "-X", "linger.ms=200")

    got = kcat_consume(broker.bootstrap, topic, "beginning", "%k:%s\\n")
    assert got == lines

    # Batches are stored as received: still compressed with the codec, CRC-32C intact.
    partition_dir = os.path.join(broker.data_dir, f"{topic}-0")
    stored = b"".join(open(os.path.join(partition_dir, name), "rb").read()
                      for _, name, _ in log_segments(broker.data_dir, topic))
    batches = decode_record_batches(stored)
    assert all(b["crc_ok"] for b in batches), "stored batch with a bad CRC-32C"
    assert {b["codec"] for b in batches} == {CODECS[codec]}
    assert [b["base_offset"] for b in batches][0] == 0
    on_disk = [f"{r['key'].decode()}:{r['value'].decode()}" for b in batches for r in b["records"]]
    assert on_disk == lines


@pytest.mark.broker_args("--num-partitions", "3")
def test_producing_to_a_new_topic_creates_it_with_default_partitions(broker):
    kcat("-P", "-b", broker.bootstrap, "-t", "kcat-auto", *PRODUCE_OPTS, stdin="hello\n")
    md = json.loads(kcat("-L", "-J", "-b", broker.bootstrap, "-t", "kcat-auto").stdout)
    (t,) = md["topics"]
    assert t["topic"] == "kcat-auto" and "error" not in t, t
    assert sorted(p["partition"] for p in t["partitions"]) == [0, 1, 2]


@pytest.mark.broker_args("--auto-create-topics", "false")
def test_no_auto_create_when_disabled(broker):
    proc = kcat("-P", "-b", broker.bootstrap, "-t", "kcat-nope", "-X", "message.timeout.ms=3000",
                stdin="hello\n", check=False)
    assert proc.returncode != 0, "producing to an unknown topic succeeded with auto-creation disabled"
    md = json.loads(kcat("-L", "-J", "-b", broker.bootstrap).stdout)
    assert "kcat-nope" not in {t["topic"] for t in md["topics"]}
