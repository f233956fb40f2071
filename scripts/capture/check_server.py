#!/usr/bin/env python3
"""Self-test of the fake broker's codecs against an independent implementation.

kafka-python 3.x encodes and decodes every message from the official JSON schemas. For every
version the fake broker answers (ApiVersions v0-4, Metadata v0-12, Produce v3-11, InitProducerId
v0-5), this decodes capture_server.py's response body with kafka-python and re-encodes it: the bytes
must come back identical. It also encodes Metadata and Produce requests of every version with
kafka-python and checks that capture_server.py / kafka_wire.py parse them as sent.

Usage: .venv/bin/python scripts/capture/check_server.py   (exit status 1 on any mismatch)
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from capture_server import (UNSUPPORTED_VERSION, api_versions_body, init_producer_id_body,  # noqa: E402
                            metadata_body, produce_body)
from kafka_wire import Reader, Writer, parse_metadata_request  # noqa: E402

from kafka.protocol.metadata import MetadataRequest, MetadataResponse  # noqa: E402
from kafka.protocol.metadata.api_versions import ApiVersionsResponse  # noqa: E402
from kafka.protocol.producer import (InitProducerIdRequest, InitProducerIdResponse, ProduceRequest,  # noqa: E402
                                     ProduceResponse)

failures = []


def roundtrip(name, version, mine: bytes, cls):
    try:
        obj = cls.decode(mine, version=version)
        object.__setattr__(obj, "_header", None)  # decoded without header; encode() expects the slot set
        again = bytes(obj.encode(version=version))
    except Exception as e:  # noqa: BLE001
        failures.append(f"{name} v{version}: kafka-python cannot decode ours ({e!r}): {mine.hex()}")
        return
    if again != mine:
        failures.append(f"{name} v{version}: ours {mine.hex()} != kafka-python {again.hex()}")


def sample_batch() -> bytes:
    """A valid uncompressed magic-2 batch with 2 records (CRC is not checked by the broker)."""
    from kafka.record.memory_records import MemoryRecordsBuilder
    b = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 16)
    for i in range(2):
        b.append(timestamp=1_700_000_000_000 + i, key=b"k%d" % i, value=b"v", headers=[])
    b.close()
    return bytes(b.buffer())


def main() -> int:
    for v in range(5):
        roundtrip("ApiVersions", v, api_versions_body(v), ApiVersionsResponse)
    roundtrip("ApiVersions(UNSUPPORTED_VERSION)", 0, api_versions_body(0, UNSUPPORTED_VERSION), ApiVersionsResponse)
    for v in range(13):
        roundtrip("Metadata", v, metadata_body(v, 9092, ["captures", "other"]), MetadataResponse)
        for topics in (None, [], ["captures", "x"]):
            if v == 0 and topics is None:
                continue
            req = MetadataRequest(topics=None if topics is None else
                                  [MetadataRequest.MetadataRequestTopic(name=t) for t in topics],
                                  allow_auto_topic_creation=True)
            got = parse_metadata_request(v, Reader(bytes(req.encode(version=v))))["topics"]
            want = None if topics is None or (v == 0 and not topics) else topics
            if got != want:
                failures.append(f"Metadata request v{v} topics={topics}: parsed {got}")
    records = sample_batch()
    for v in range(3, 12):
        Topic = ProduceRequest.TopicProduceData
        req = ProduceRequest(transactional_id=None, acks=-1, timeout_ms=30000, topic_data=[
            Topic(name="captures", partition_data=[Topic.PartitionProduceData(index=0, records=records)])])
        offsets = {("captures", 0): 40}
        resp, parsed = produce_body(v, Reader(bytes(req.encode(version=v))), offsets)
        if parsed["topics"] != [("captures", [(0, records)])] or parsed["acks"] != -1:
            failures.append(f"Produce request v{v}: parsed {parsed}")
        if offsets[("captures", 0)] != 42:
            failures.append(f"Produce v{v}: next offset {offsets[('captures', 0)]}, expected 42")
        roundtrip("Produce", v, resp, ProduceResponse)
        decoded = ProduceResponse.decode(resp, version=v)
        if decoded.responses[0].partition_responses[0].base_offset != 40:
            failures.append(f"Produce v{v}: base offset {decoded.responses[0].partition_responses[0].base_offset}")
    for v in range(6):
        body = bytes(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000).encode(version=v))
        roundtrip("InitProducerId", v, init_producer_id_body(v, Reader(body)), InitProducerIdResponse)
    # acks=0: no response
    req = ProduceRequest(transactional_id=None, acks=0, timeout_ms=1, topic_data=[])
    if produce_body(7, Reader(bytes(req.encode(version=7))), {})[0] is not None:
        failures.append("Produce acks=0 got a response")
    assert Writer().uvarint(300).bytes() == b"\xac\x02"
    for f in failures:
        print("FAIL " + f)
    print("fake broker codecs: " + ("ok" if not failures else f"{len(failures)} failure(s)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
