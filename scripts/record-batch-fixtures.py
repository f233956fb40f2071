#!/usr/bin/env python3
"""Writes record batch v2 fixtures built by kafka-python (an implementation independent of ours) to
Tests/EddyWireTests/Fixtures/record-batches, one file per codec; RecordBatchTests decodes them and
checks the records against the same recipe (see `kafkaPythonRecipe` there).

Run with the project's venv: .venv/bin/python scripts/record-batch-fixtures.py

The other direction: RecordBatchTests.testKafkaPythonDecodesOurBatches writes Eddy's batches (same recipe)
to a temporary directory and runs `.venv/bin/python scripts/record-batch-fixtures.py --check DIR`, which
decodes them with kafka-python and compares.
"""
import sys
import os
import struct

import zstandard
from kafka.record.default_records import DefaultRecordBatchBuilder

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "EddyWireTests", "Fixtures", "record-batches")
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
BASE_TIMESTAMP = 1_700_000_000_000


def recipe(i):
    """Record i of every fixture: null key every 7th, null value every 11th, headers on even records."""
    key = None if i % 7 == 0 else f"key-{i}".encode()
    value = None if i % 11 == 0 else (f"value-{i}-" + "x" * (i % 50)).encode()
    headers = [("trace", f"t{i}".encode()), ("empty", None)] if i % 2 == 0 else []
    return key, value, headers


def build(codec, count=200, transactional=False):
    producer = (4242, 3, 17) if transactional else (-1, -1, -1)
    b = DefaultRecordBatchBuilder(magic=2, compression_type=CODECS[codec], is_transactional=transactional,
                                  producer_id=producer[0], producer_epoch=producer[1],
                                  base_sequence=producer[2], batch_size=1 << 30)
    for i in range(count):
        key, value, headers = recipe(i)
        assert b.append(i, timestamp=BASE_TIMESTAMP + i * 3, key=key, value=value, headers=headers) is not None
    return bytes(b.build())


def reseal_crc(batch):
    """Recomputes the CRC-32C after the records section was replaced (crc32c via kafka-python)."""
    from kafka.record.util import calc_crc32c
    body = batch[21:]
    return batch[:17] + struct.pack(">I", calc_crc32c(body)) + body


def zstd_streamed(batch):
    """The zstd batch re-compressed as a stream without content size, as the Java client writes it."""
    records = zstandard.ZstdDecompressor().decompressobj().decompress(batch[61:])
    obj = zstandard.ZstdCompressor(level=3, write_content_size=False).compressobj()
    frame = obj.compress(records) + obj.flush()
    head = bytearray(batch[:61])
    struct.pack_into(">i", head, 8, 61 - 12 + len(frame))
    return reseal_crc(bytes(head) + frame)


def check(directory):
    from kafka.record.default_records import DefaultRecordBatch
    for codec in CODECS:
        with open(os.path.join(directory, f"eddy-{codec}.bin"), "rb") as f:
            batch = DefaultRecordBatch(f.read())
        assert batch.validate_crc(), codec
        assert batch.compression_type == CODECS[codec], codec
        records = list(batch)
        assert len(records) == 200, codec
        for i, r in enumerate(records):
            key, value, headers = recipe(i)
            assert (r.offset, r.timestamp, r.key, r.value, r.headers) == (
                i, BASE_TIMESTAMP + i * 3, key, value, headers), (codec, i, r)
        print(f"kafka-python decodes Eddy's {codec} batch: CRC ok, 200 records match")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        return check(sys.argv[2])
    os.makedirs(OUT, exist_ok=True)
    for codec in CODECS:
        with open(os.path.join(OUT, f"kafka-python-{codec}.bin"), "wb") as f:
            f.write(build(codec))
    zstd = build("zstd")
    with open(os.path.join(OUT, "kafka-python-zstd-no-content-size.bin"), "wb") as f:
        f.write(zstd_streamed(zstd))
    with open(os.path.join(OUT, "kafka-python-transactional-gzip.bin"), "wb") as f:
        f.write(build("gzip", count=5, transactional=True))


if __name__ == "__main__":
    main()
