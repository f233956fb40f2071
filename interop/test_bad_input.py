"""Hostile and outdated requests over raw sockets, framed by hand (struct).

- A size prefix above --max-request-bytes (or negative) makes the broker close that connection, before
  reading a payload; another open connection keeps working and stored data is intact.
- Garbage (random bytes with a plausible size, or a valid header with a body that claims a million
  entries) likewise closes only that connection.
- ApiVersions v99 gets a v0 response (header v0) with UNSUPPORTED_VERSION (35) and the supported
  ApiVersions range (KIP-511), and the connection stays usable.
- ApiVersions v3 is answered with response header v0 (no tagged fields), as Kafka does.
- Produce v2 (message format v1) is refused with UNSUPPORTED_VERSION or UNSUPPORTED_FOR_MESSAGE_FORMAT in
  the response and nothing is stored; Produce v3 carrying a magic-1 message set gets INVALID_RECORD (87),
  as from Kafka.
"""

from __future__ import annotations

import os
import random
import socket
import struct
import zlib

import pytest
from confluent_kafka import TopicPartition

from interop_helpers import consume, create_topic, produce, watermarks

MAX_REQUEST_BYTES = 1024 * 1024
pytestmark = pytest.mark.broker_args("--max-request-bytes", str(MAX_REQUEST_BYTES))

API_PRODUCE, API_METADATA, API_VERSIONS = 0, 3, 18
NONE, UNSUPPORTED_VERSION, UNSUPPORTED_FOR_MESSAGE_FORMAT, INVALID_RECORD = 0, 35, 43, 87
CLOSE_TIMEOUT_S = 5.0


# --- framing ---------------------------------------------------------------------------------------

def string(s: str | None) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def compact_string(s: str) -> bytes:
    b = s.encode()
    return uvarint(len(b) + 1) + b


def request(api_key: int, version: int, correlation_id: int, body: bytes, flexible: bool = False) -> bytes:
    """Size prefix + request header v1 (v2 when flexible: plus empty tagged fields) + body."""
    header = struct.pack(">hhi", api_key, version, correlation_id) + string("eddy-interop")
    if flexible:
        header += b"\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def response(sock: socket.socket, correlation_id: int) -> bytes:
    """Reads one response frame; checks the correlation id (header v0) and returns the rest."""
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    payload = recv_exact(sock, size)
    (corr,) = struct.unpack(">i", payload[:4])
    assert corr == correlation_id
    return payload[4:]


def connect(broker) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
    s.settimeout(10)
    return s


def closed_by_broker(sock: socket.socket, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
    """True if the broker closes the connection (EOF or reset) within timeout_s."""
    sock.settimeout(timeout_s)
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        (v,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7

    def skip(self, n: int) -> None:
        assert self.pos + n <= len(self.data), "field runs past the end of the response"
        self.pos += n

    def skip_tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()  # tag
            self.skip(self.uvarint())

    def done(self) -> bool:
        return self.pos == len(self.data)


def api_versions_v0(sock: socket.socket, correlation_id: int) -> tuple[int, dict]:
    """ApiVersions v0: (error code, {api key: (min, max)})."""
    sock.sendall(request(API_VERSIONS, 0, correlation_id, b""))
    r = Reader(response(sock, correlation_id))
    error = r.take(">h")
    ranges = {}
    for _ in range(r.take(">i")):
        key, lo, hi = r.take(">h"), r.take(">h"), r.take(">h")
        ranges[key] = (lo, hi)
    assert r.done(), "trailing bytes in ApiVersions v0 response"
    return error, ranges


def assert_still_serving(sock: socket.socket, correlation_id: int) -> None:
    error, ranges = api_versions_v0(sock, correlation_id)
    assert error == NONE and API_PRODUCE in ranges


def legacy_message_set(key: bytes, value: bytes, timestamp_ms: int) -> bytes:
    """One message in message format v1 (magic 1, CRC-32 over magic..value), offset 0."""
    body = struct.pack(">bbq", 1, 0, timestamp_ms)
    body += struct.pack(">i", len(key)) + key + struct.pack(">i", len(value)) + value
    message = struct.pack(">I", zlib.crc32(body)) + body
    return struct.pack(">qi", 0, len(message)) + message


def produce_legacy(version: int, topic: str, records: bytes) -> bytes:
    """Produce v2/v3 body (v3 adds transactional_id) for partition 0 of topic, acks=-1."""
    body = string(None) if version >= 3 else b""
    body += struct.pack(">hi", -1, 10000)
    body += struct.pack(">i", 1) + string(topic)
    body += struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", len(records)) + records
    return body


def produce_partition_errors(payload: bytes) -> list[tuple[int, int]]:
    """Produce response v2/v3 body: [(error code, base offset)] of every partition."""
    r = Reader(payload)
    out = []
    for _ in range(r.take(">i")):
        r.skip(r.take(">h"))  # topic name
        for _ in range(r.take(">i")):
            _, error, base_offset, _ = r.take(">i"), r.take(">h"), r.take(">q"), r.take(">q")
            out.append((error, base_offset))
    r.take(">i")  # throttle_time_ms
    assert r.done()
    return out


# --- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture
def stored(broker):
    """A topic with 5 records: returns a function that checks they are all still there."""
    create_topic(broker.bootstrap, "bad-input")
    records = [{"key": f"k{i}".encode(), "value": f"v{i}".encode()} for i in range(5)]
    assert produce(broker.bootstrap, "bad-input", records) == list(range(5))

    def intact():
        got = consume(broker.bootstrap, [TopicPartition("bad-input", 0, 0)], 5, settle_s=0.3)
        assert [(m.key(), m.value()) for m in got] == [(r["key"], r["value"]) for r in records]
        assert broker.running()
    return intact


# --- tests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [MAX_REQUEST_BYTES + 1, 2**31 - 1, -1])
def test_oversized_frame_closes_only_that_connection(broker, stored, size):
    good = connect(broker)
    assert_still_serving(good, 1)
    bad = connect(broker)
    bad.sendall(struct.pack(">i", size) + b"\x00" * 64)  # the payload never comes
    assert closed_by_broker(bad), f"a frame size of {size} did not close the connection"
    assert_still_serving(good, 2)
    stored()
    good.close()
    bad.close()


def garbage_frames(seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    while True:  # random bytes whose first two (the API key) name no API
        junk = bytes(rng.randrange(256) for _ in range(64))
        if struct.unpack(">h", junk[:2])[0] not in range(0, 100):
            break
    # A valid Metadata v12 header whose topics array claims a million entries and then ends.
    hostile = request(API_METADATA, 12, 7, uvarint(1_000_000 + 1), flexible=True)
    return {"random": struct.pack(">i", len(junk)) + junk, "huge-count": hostile}


@pytest.mark.parametrize("kind", ["random", "huge-count"])
def test_garbage_frame_closes_only_that_connection(broker, stored, kind):
    seed = int(os.environ.get("EDDY_SEED", "20240601"))
    print(f"seed {seed} (replay with EDDY_SEED={seed})")
    frame = garbage_frames(seed)[kind]
    good = connect(broker)
    assert_still_serving(good, 1)
    bad = connect(broker)
    bad.sendall(frame)
    assert closed_by_broker(bad), f"{kind} frame (seed {seed}) did not close the connection: {frame.hex()}"
    assert_still_serving(good, 2)
    stored()
    good.close()
    bad.close()


def test_api_versions_v0_advertises_produce_from_v0(broker):
    s = connect(broker)
    error, ranges = api_versions_v0(s, 1)
    assert error == NONE
    # Like Kafka (KAFKA-18659): Produce advertised from v0, or librdkafka turns compression off.
    assert ranges[API_PRODUCE][0] == 0 and ranges[API_PRODUCE][1] >= 9
    assert ranges[API_VERSIONS][0] == 0 and ranges[API_VERSIONS][1] >= 3
    s.close()


def test_api_versions_v3_response_uses_header_v0(broker):
    s = connect(broker)
    body = compact_string("eddy-interop") + compact_string("1.0") + b"\x00"
    s.sendall(request(API_VERSIONS, 3, 5, body, flexible=True))
    r = Reader(response(s, 5))  # header v0: the body starts right after the correlation id
    assert r.take(">h") == NONE
    count = r.uvarint() - 1
    assert count > 10, f"{count} APIs: a response header v1 would shift every field by a byte"
    keys = set()
    for _ in range(count):
        keys.add(r.take(">h"))
        r.take(">h"), r.take(">h")
        r.skip_tagged_fields()
    r.take(">i")  # throttle_time_ms
    r.skip_tagged_fields()
    assert r.done(), "trailing bytes in ApiVersions v3 response"
    assert {API_PRODUCE, API_METADATA, API_VERSIONS} <= keys
    s.close()


def test_api_versions_unsupported_version(broker):
    s = connect(broker)
    # What a future client sends first: ApiVersions v99, flexible header and body.
    body = compact_string("eddy-interop") + compact_string("1.0") + b"\x00"
    s.sendall(request(API_VERSIONS, 99, 9, body, flexible=True))
    r = Reader(response(s, 9))  # answered as v0 with header v0
    assert r.take(">h") == UNSUPPORTED_VERSION
    ranges = {}
    for _ in range(r.take(">i")):
        key, lo, hi = r.take(">h"), r.take(">h"), r.take(">h")
        ranges[key] = (lo, hi)
    assert r.done(), "an UNSUPPORTED_VERSION answer is an ApiVersions v0 response"
    assert ranges[API_VERSIONS][0] == 0 and 3 <= ranges[API_VERSIONS][1] < 99
    assert_still_serving(s, 10)  # the client retries on the same connection
    s.close()


def test_produce_v2_legacy_message_format_is_refused(broker, stored):
    create_topic(broker.bootstrap, "legacy")
    s = connect(broker)
    records = legacy_message_set(b"k", b"legacy", 1_700_000_000_000)
    s.sendall(request(API_PRODUCE, 2, 3, produce_legacy(2, "legacy", records)))
    ((error, base_offset),) = produce_partition_errors(response(s, 3))
    # Kafka 3.9 converts such records; Kafka 4 refuses Produce v0-v2 (KIP-896) though it still advertises
    # them (KAFKA-18659). Eddy answers with an error: UNSUPPORTED_VERSION or UNSUPPORTED_FOR_MESSAGE_FORMAT.
    assert error in (UNSUPPORTED_VERSION, UNSUPPORTED_FOR_MESSAGE_FORMAT), f"Produce v2 answered with error {error}"
    assert base_offset == -1
    assert_still_serving(s, 4)
    assert watermarks(broker.bootstrap, "legacy") == (0, 0), "the refused records were stored"
    stored()
    s.close()


def test_produce_v3_with_magic_1_records_is_invalid_record(broker):
    """Kafka's ProduceRequest.validateRecords: v3+ may only carry magic-2 batches, else INVALID_RECORD."""
    create_topic(broker.bootstrap, "legacy3")
    s = connect(broker)
    records = legacy_message_set(b"k", b"legacy", 1_700_000_000_000)
    s.sendall(request(API_PRODUCE, 3, 3, produce_legacy(3, "legacy3", records)))
    ((error, base_offset),) = produce_partition_errors(response(s, 3))
    assert (error, base_offset) == (INVALID_RECORD, -1)
    assert_still_serving(s, 4)
    assert watermarks(broker.bootstrap, "legacy3") == (0, 0)
    s.close()
