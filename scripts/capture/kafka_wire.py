"""Minimal Kafka wire-format helpers shared by the capture server and the capture checker.

Only what the capture tooling needs: primitive readers/writers (classic and flexible/compact
encodings, unsigned varints, tagged fields), request-header parsing, API names, and a record-batch
(magic 2) decoder with CRC-32C verification and decompression. Field layouts follow the official
message schemas (clients/src/main/resources/common/message in apache/kafka), which
spec/kafka-messages.json condenses.
"""

from __future__ import annotations

import struct
import zlib

# API key -> name (names as in the official schemas, without the Request/Response suffix).
API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 4: "LeaderAndIsr", 5: "StopReplica",
    6: "UpdateMetadata", 7: "ControlledShutdown", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    15: "DescribeGroups", 16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics",
    20: "DeleteTopics", 21: "DeleteRecords", 22: "InitProducerId", 23: "OffsetForLeaderEpoch",
    24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn", 27: "WriteTxnMarkers",
    28: "TxnOffsetCommit", 29: "DescribeAcls", 30: "CreateAcls", 31: "DeleteAcls", 32: "DescribeConfigs",
    33: "AlterConfigs", 34: "AlterReplicaLogDirs", 35: "DescribeLogDirs", 36: "SaslAuthenticate",
    37: "CreatePartitions", 38: "CreateDelegationToken", 39: "RenewDelegationToken",
    40: "ExpireDelegationToken", 41: "DescribeDelegationToken", 42: "DeleteGroups", 43: "ElectLeaders",
    44: "IncrementalAlterConfigs", 45: "AlterPartitionReassignments", 46: "ListPartitionReassignments",
    47: "OffsetDelete", 48: "DescribeClientQuotas", 49: "AlterClientQuotas",
    50: "DescribeUserScramCredentials", 51: "AlterUserScramCredentials", 52: "Vote",
    53: "BeginQuorumEpoch", 54: "EndQuorumEpoch", 55: "DescribeQuorum", 56: "AlterPartition",
    57: "UpdateFeatures", 58: "Envelope", 59: "FetchSnapshot", 60: "DescribeCluster",
    61: "DescribeProducers", 62: "BrokerRegistration", 63: "BrokerHeartbeat", 64: "UnregisterBroker",
    65: "DescribeTransactions", 66: "ListTransactions", 67: "AllocateProducerIds",
    68: "ConsumerGroupHeartbeat", 69: "ConsumerGroupDescribe", 70: "ControllerRegistration",
    71: "GetTelemetrySubscriptions", 72: "PushTelemetry", 73: "AssignReplicasToDirs",
    74: "ListClientMetricsResources", 75: "DescribeTopicPartitions", 76: "ShareGroupHeartbeat",
    77: "ShareGroupDescribe", 78: "ShareFetch", 79: "ShareAcknowledge", 80: "AddRaftVoter",
    81: "RemoveRaftVoter", 82: "UpdateRaftVoter", 83: "InitializeShareGroupState",
    84: "ReadShareGroupState", 85: "WriteShareGroupState", 86: "DeleteShareGroupState",
    87: "ReadShareGroupStateSummary",
}

# First flexible request version ("flexibleVersions") of the APIs the tooling decodes.
FLEXIBLE_FROM = {0: 9, 3: 9, 18: 3, 22: 2}

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
CODEC_NAMES = {v: k for k, v in CODECS.items()}

XERIAL_MAGIC = b"\x82SNAPPY\x00"


def api_name(key: int) -> str:
    return API_NAMES.get(key, f"Api{key}")


def is_flexible(key: int, version: int) -> bool:
    first = FLEXIBLE_FROM.get(key)
    return first is not None and version >= first


class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError(f"need {n} bytes at {self.pos}, have {len(self.data) - self.pos}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def int8(self) -> int: return struct.unpack(">b", self.take(1))[0]
    def int16(self) -> int: return struct.unpack(">h", self.take(2))[0]
    def int32(self) -> int: return struct.unpack(">i", self.take(4))[0]
    def uint32(self) -> int: return struct.unpack(">I", self.take(4))[0]
    def int64(self) -> int: return struct.unpack(">q", self.take(8))[0]
    def bool(self) -> bool: return self.take(1) != b"\x00"
    def uuid(self) -> bytes: return self.take(16)

    def uvarint(self) -> int:
        shift = 0
        result = 0
        while True:
            b = self.take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise DecodeError("varint too long")

    def varint(self) -> int:  # zig-zag
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def string(self, flexible: bool = False, nullable: bool = False):
        if flexible:
            n = self.uvarint() - 1
        else:
            n = self.int16()
        if n < 0:
            if not nullable:
                raise DecodeError("null in non-nullable string")
            return None
        return self.take(n).decode("utf-8")

    def bytes_(self, flexible: bool = False, nullable: bool = False):
        n = self.uvarint() - 1 if flexible else self.int32()
        if n < 0:
            if not nullable:
                raise DecodeError("null in non-nullable bytes")
            return None
        return self.take(n)

    def array_len(self, flexible: bool = False):
        """Returns the element count, or None for a null array."""
        n = self.uvarint() - 1 if flexible else self.int32()
        return None if n < 0 else n

    def tagged_fields(self) -> dict:
        fields = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            fields[tag] = self.take(self.uvarint())
        return fields


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def raw(self, b: bytes) -> "Writer":
        self.buf += b
        return self

    def int8(self, v): return self.raw(struct.pack(">b", v))
    def int16(self, v): return self.raw(struct.pack(">h", v))
    def int32(self, v): return self.raw(struct.pack(">i", v))
    def int64(self, v): return self.raw(struct.pack(">q", v))
    def bool(self, v): return self.raw(b"\x01" if v else b"\x00")
    def uuid(self, v: bytes): return self.raw(v)

    def uvarint(self, v: int):
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                self.buf.append(b | 0x80)
            else:
                self.buf.append(b)
                return self

    def string(self, s, flexible: bool = False):
        if s is None:
            return self.uvarint(0) if flexible else self.int16(-1)
        b = s.encode("utf-8")
        if flexible:
            self.uvarint(len(b) + 1)
        else:
            self.int16(len(b))
        return self.raw(b)

    def array(self, items, encode_item, flexible: bool = False):
        if items is None:
            return self.uvarint(0) if flexible else self.int32(-1)
        if flexible:
            self.uvarint(len(items) + 1)
        else:
            self.int32(len(items))
        for item in items:
            encode_item(self, item)
        return self

    def tagged_fields(self, fields=None):
        """fields: list of (tag, bytes) in ascending tag order."""
        fields = fields or []
        self.uvarint(len(fields))
        for tag, payload in fields:
            self.uvarint(tag)
            self.uvarint(len(payload))
            self.raw(payload)
        return self

    def bytes(self) -> bytes:
        return bytes(self.buf)


def parse_request_header(frame_body: bytes):
    """Parses a request header (v1, or v2 for flexible versions of APIs in FLEXIBLE_FROM).

    frame_body excludes the 4-byte size prefix. Returns (key, version, correlation_id, client_id,
    reader positioned at the request body). For APIs whose flexibility is unknown here the reader is
    positioned after the client id (header v1 layout) and the body is not decoded by the callers.
    """
    r = Reader(frame_body)
    key = r.int16()
    version = r.int16()
    corr = r.int32()
    client_id = None
    if not (key == 7 and version == 0):  # ControlledShutdown v0 is the only header-v0 request
        client_id = r.string(nullable=True)
        if is_flexible(key, version) or (key == 18 and version > 4):
            r.tagged_fields()
    return key, version, corr, client_id, r


# ---------------------------------------------------------------------------------------------------
# Record batches (magic 2)

_CRC32C_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def decompress(codec: int, data: bytes):
    """Returns (decompressed bytes, framing note)."""
    if codec == 0:
        return data, ""
    if codec == 1:
        return zlib.decompress(data, 16 + zlib.MAX_WBITS), "gzip"
    if codec == 2:
        import snappy  # python-snappy
        if data.startswith(XERIAL_MAGIC):
            # xerial framing: 8-byte magic, int32 version, int32 compatible version, then blocks of
            # (int32 length, raw snappy block).
            r = Reader(data, 16)
            out = bytearray()
            while r.remaining():
                out += snappy.decompress(r.take(r.int32()))
            return bytes(out), "xerial-framed"
        return snappy.decompress(data), "raw"
    if codec == 3:
        import lz4.frame
        return lz4.frame.decompress(data), "lz4-frame"
    if codec == 4:
        import zstandard
        return zstandard.ZstdDecompressor().decompressobj().decompress(data), "zstd-frame"
    raise DecodeError(f"unknown codec {codec}")


def decode_record_batches(data: bytes):
    """Decodes all record batches in a `records` field. Returns a list of dicts."""
    batches = []
    r = Reader(data)
    while r.remaining():
        start = r.pos
        base_offset = r.int64()
        batch_length = r.int32()
        end = r.pos + batch_length
        partition_leader_epoch = r.int32()
        magic = r.int8()
        if magic != 2:
            raise DecodeError(f"record batch magic {magic}, expected 2")
        crc = r.uint32()
        crc_actual = crc32c(data[r.pos:end])
        attributes = r.int16()
        last_offset_delta = r.int32()
        base_ts = r.int64()
        max_ts = r.int64()
        producer_id = r.int64()
        producer_epoch = r.int16()
        base_sequence = r.int32()
        count = r.int32()
        codec = attributes & 7
        payload = data[r.pos:end]
        plain, framing = decompress(codec, payload)
        rr = Reader(plain)
        records = []
        for _ in range(count):
            length = rr.varint()
            rec_end = rr.pos + length
            rattr = rr.int8()
            ts_delta = rr.varint()
            off_delta = rr.varint()
            klen = rr.varint()
            key = rr.take(klen) if klen >= 0 else None
            vlen = rr.varint()
            value = rr.take(vlen) if vlen >= 0 else None
            headers = []
            for _ in range(rr.varint()):
                hk = rr.take(rr.varint()).decode("utf-8")
                hvlen = rr.varint()
                headers.append((hk, rr.take(hvlen) if hvlen >= 0 else None))
            if rr.pos != rec_end:
                raise DecodeError(f"record length mismatch ({rr.pos} != {rec_end})")
            records.append({"attributes": rattr, "timestamp": base_ts + ts_delta, "offset_delta": off_delta,
                            "key": key, "value": value, "headers": headers})
        if rr.remaining():
            raise DecodeError(f"{rr.remaining()} trailing bytes after records")
        batches.append({
            "base_offset": base_offset, "batch_length": batch_length, "partition_leader_epoch": partition_leader_epoch,
            "magic": magic, "crc": crc, "crc_ok": crc == crc_actual, "attributes": attributes, "codec": codec,
            "last_offset_delta": last_offset_delta, "base_timestamp": base_ts, "max_timestamp": max_ts,
            "producer_id": producer_id, "producer_epoch": producer_epoch, "base_sequence": base_sequence,
            "record_count": count, "records": records, "framing": framing,
            "compressed_size": len(payload), "size": end - start,
        })
        r.pos = end
    return batches


def parse_produce_request(version: int, r: Reader):
    """Decodes a Produce request body (v3-v11). Returns dict with topics -> partitions -> records bytes."""
    flex = version >= 9
    txn = r.string(flex, nullable=True) if version >= 3 else None
    acks = r.int16()
    timeout = r.int32()
    topics = []
    for _ in range(r.array_len(flex) or 0):
        name = r.string(flex)
        parts = []
        for _ in range(r.array_len(flex) or 0):
            index = r.int32()
            records = r.bytes_(flex, nullable=True)
            if flex:
                r.tagged_fields()
            parts.append((index, records))
        if flex:
            r.tagged_fields()
        topics.append((name, parts))
    if flex:
        r.tagged_fields()
    if r.remaining():
        raise DecodeError(f"{r.remaining()} trailing bytes after Produce request")
    return {"transactional_id": txn, "acks": acks, "timeout_ms": timeout, "topics": topics}


def parse_metadata_request(version: int, r: Reader) -> dict:
    """Decodes a Metadata request body (v0-v12). topics is None for 'all topics'; topic_ids lists the
    (hex) topic ids sent from v10 on."""
    flex = version >= 9
    n = r.array_len(flex)
    names, ids = [], []
    for _ in range(n or 0):
        if version >= 10:
            ids.append(r.uuid().hex())
        name = r.string(flex, nullable=version >= 10)
        if flex:
            r.tagged_fields()
        names.append(name)
    out = {"topics": None if n is None or (version == 0 and n == 0) else names}
    if version >= 10:
        out["topic_ids"] = ids
    if version >= 4:
        out["allow_auto_topic_creation"] = r.bool()
    if 8 <= version <= 10:
        out["include_cluster_authorized_operations"] = r.bool()
    if version >= 8:
        out["include_topic_authorized_operations"] = r.bool()
    if flex:
        r.tagged_fields()
    if r.remaining():
        raise DecodeError(f"{r.remaining()} trailing bytes after Metadata request")
    return out


def parse_api_versions_request(version: int, r: Reader) -> dict:
    out = {}
    if version >= 3:
        out["client_software_name"] = r.string(True)
        out["client_software_version"] = r.string(True)
        r.tagged_fields()
    if r.remaining():
        raise DecodeError(f"{r.remaining()} trailing bytes after ApiVersions request")
    return out


def parse_init_producer_id_request(version: int, r: Reader) -> dict:
    flex = version >= 2
    out = {"transactional_id": r.string(flex, nullable=True), "transaction_timeout_ms": r.int32()}
    if version >= 3:
        out["producer_id"] = r.int64()
        out["producer_epoch"] = r.int16()
    if flex:
        r.tagged_fields()
    if r.remaining():
        raise DecodeError(f"{r.remaining()} trailing bytes after InitProducerId request")
    return out


def describe_frame(frame: bytes) -> dict:
    """Decoded summary of a captured request frame (size prefix included), for the manifest."""
    key, version, corr, client_id, r = parse_request_header(frame[4:])
    d = {"request_header_version": 2 if is_flexible(key, version) else 1}
    if key == 18:
        d.update(parse_api_versions_request(version, r))
    elif key == 3:
        d.update(parse_metadata_request(version, r))
    elif key == 22:
        d.update(parse_init_producer_id_request(version, r))
    elif key == 0:
        req = parse_produce_request(version, r)
        d.update({k: req[k] for k in ("transactional_id", "acks", "timeout_ms")})
        d["topics"] = []
        for name, parts in req["topics"]:
            pdesc = []
            for index, records in parts:
                batches = decode_record_batches(records) if records else []
                pdesc.append({"partition": index, "records_size": len(records) if records is not None else None,
                              "batches": [{k: b[k] for k in (
                                  "base_offset", "batch_length", "partition_leader_epoch", "magic", "crc",
                                  "attributes", "last_offset_delta", "base_timestamp", "max_timestamp",
                                  "producer_id", "producer_epoch", "base_sequence", "record_count",
                                  "compressed_size")} | ({"compression_framing": b["framing"]} if b["framing"] else {})
                                  for b in batches]})
            d["topics"].append({"name": name, "partitions": pdesc})
    return d
