#!/usr/bin/env python3
"""A tiny single-node fake Kafka broker that records every request frame it receives.

For each connection it reads size-prefixed request frames, saves each raw frame (including its
4-byte size prefix, exactly as received) as `<NN>-<ApiName>-v<version>.bin` in the output
directory (NN = arrival sequence number across all connections of this server), and answers:

  ApiVersions (18)     v0-v4; a higher version gets a v0 response with UNSUPPORTED_VERSION (35)
                       listing only the ApiVersions range (KIP-511). Response header is always v0.
  Metadata (3)         v0-v12: one broker (node 0, 127.0.0.1:<port>), controller 0, a cluster id,
                       partition 0 led by node 0 for every requested topic (or DEFAULT_TOPIC when
                       the client asks for all topics).
  Produce (0)          v3-v11: success for every partition, increasing base offsets; no response
                       for acks=0.
  InitProducerId (22)  v0-v5: producer id 1000, epoch 0.
  anything else        saved, then the connection is closed.

Advertised API version ranges are those of an Apache Kafka 3.9 broker in KRaft mode (without the
client-telemetry APIs, which a broker only advertises when a metrics plugin is configured).

Usage: capture_server.py OUTPUT_DIR [--port PORT]   (PORT 0 or absent: pick a free port; the
actual port is printed as "listening on 127.0.0.1:PORT"). Ctrl-C / SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafka_wire import (Reader, Writer, DecodeError, api_name, decode_record_batches, is_flexible,  # noqa: E402
                        parse_metadata_request, parse_produce_request, parse_request_header)

HOST = "127.0.0.1"
DEFAULT_TOPIC = "captures"
CLUSTER_ID = "EddyCaptureClusterId00"   # 22 characters, like a base64 Kafka cluster id
NODE_ID = 0
PRODUCER_ID = 1000
UNSUPPORTED_VERSION = 35
INT32_MIN = -2147483648

# (api key, min version, max version) as advertised by an Apache Kafka 3.9 KRaft broker.
KAFKA_3_9_API_VERSIONS = [
    (0, 0, 11),   # Produce
    (1, 0, 17),   # Fetch
    (2, 0, 9),    # ListOffsets
    (3, 0, 12),   # Metadata
    (8, 0, 9),    # OffsetCommit
    (9, 0, 9),    # OffsetFetch
    (10, 0, 6),   # FindCoordinator
    (11, 0, 9),   # JoinGroup
    (12, 0, 4),   # Heartbeat
    (13, 0, 5),   # LeaveGroup
    (14, 0, 5),   # SyncGroup
    (15, 0, 5),   # DescribeGroups
    (16, 0, 5),   # ListGroups
    (17, 0, 1),   # SaslHandshake
    (18, 0, 4),   # ApiVersions
    (19, 0, 7),   # CreateTopics
    (20, 0, 6),   # DeleteTopics
    (21, 0, 2),   # DeleteRecords
    (22, 0, 5),   # InitProducerId
    (23, 0, 4),   # OffsetForLeaderEpoch
    (24, 0, 5),   # AddPartitionsToTxn
    (25, 0, 4),   # AddOffsetsToTxn
    (26, 0, 4),   # EndTxn
    (27, 0, 1),   # WriteTxnMarkers
    (28, 0, 4),   # TxnOffsetCommit
    (29, 0, 3),   # DescribeAcls
    (30, 0, 3),   # CreateAcls
    (31, 0, 3),   # DeleteAcls
    (32, 0, 4),   # DescribeConfigs
    (33, 0, 2),   # AlterConfigs
    (34, 0, 2),   # AlterReplicaLogDirs
    (35, 0, 4),   # DescribeLogDirs
    (36, 0, 2),   # SaslAuthenticate
    (37, 0, 3),   # CreatePartitions
    (38, 0, 3),   # CreateDelegationToken
    (39, 0, 2),   # RenewDelegationToken
    (40, 0, 2),   # ExpireDelegationToken
    (41, 0, 3),   # DescribeDelegationToken
    (42, 0, 2),   # DeleteGroups
    (43, 0, 2),   # ElectLeaders
    (44, 0, 1),   # IncrementalAlterConfigs
    (45, 0, 0),   # AlterPartitionReassignments
    (46, 0, 0),   # ListPartitionReassignments
    (47, 0, 0),   # OffsetDelete
    (48, 0, 1),   # DescribeClientQuotas
    (49, 0, 1),   # AlterClientQuotas
    (50, 0, 0),   # DescribeUserScramCredentials
    (51, 0, 0),   # AlterUserScramCredentials
    (55, 0, 2),   # DescribeQuorum
    (57, 0, 1),   # UpdateFeatures
    (60, 0, 1),   # DescribeCluster
    (61, 0, 0),   # DescribeProducers
    (64, 0, 0),   # UnregisterBroker
    (65, 0, 0),   # DescribeTransactions
    (66, 0, 1),   # ListTransactions
    (74, 0, 0),   # ListClientMetricsResources
    (75, 0, 0),   # DescribeTopicPartitions
    (80, 0, 0),   # AddRaftVoter
    (81, 0, 0),   # RemoveRaftVoter
]
SUPPORTED = {k: (lo, hi) for k, lo, hi in KAFKA_3_9_API_VERSIONS}

# Features in the ApiVersions v3+ tagged fields (Kafka 3.9: metadata.version 3.9-IV0 = 21).
SUPPORTED_FEATURES = [("metadata.version", 1, 21), ("kraft.version", 0, 1)]
FINALIZED_FEATURES_EPOCH = 7
FINALIZED_FEATURES = [("metadata.version", 21, 21)]


def topic_id(name: str) -> bytes:
    """Deterministic, non-zero topic id."""
    return hashlib.md5(("eddy-capture:" + name).encode()).digest()


# ---------------------------------------------------------------------------------------------------
# Response bodies

def api_versions_body(version: int, error: int = 0) -> bytes:
    flex = version >= 3
    w = Writer()
    w.int16(error)
    keys = [(18, *SUPPORTED[18])] if error == UNSUPPORTED_VERSION else KAFKA_3_9_API_VERSIONS

    def key(w, k):
        w.int16(k[0]).int16(k[1]).int16(k[2])
        if flex:
            w.tagged_fields()
    w.array(keys, key, flex)
    if version >= 1:
        w.int32(0)  # throttle_time_ms
    if flex:
        # "in v0-v3, features with MinSupportedVersion = 0 are omitted"
        supported = [f for f in SUPPORTED_FEATURES if version >= 4 or f[1] != 0]

        def feature(w, f):
            w.string(f[0], True).int16(f[1]).int16(f[2]).tagged_fields()
        tags = [
            (0, Writer().array(supported, feature, True).bytes()),
            (1, Writer().int64(FINALIZED_FEATURES_EPOCH).bytes()),
            (2, Writer().array(FINALIZED_FEATURES, feature, True).bytes()),
        ]
        w.tagged_fields(tags)
    return w.bytes()


def metadata_body(version: int, port: int, topics) -> bytes:
    flex = version >= 9
    w = Writer()
    if version >= 3:
        w.int32(0)  # throttle_time_ms

    def broker(w, _):
        w.int32(NODE_ID).string(HOST, flex).int32(port)
        if version >= 1:
            w.string(None, flex)  # rack
        if flex:
            w.tagged_fields()
    w.array([NODE_ID], broker, flex)
    if version >= 2:
        w.string(CLUSTER_ID, flex)
    if version >= 1:
        w.int32(NODE_ID)  # controller_id

    def int32_item(w, v):
        w.int32(v)

    def partition(w, _):
        w.int16(0).int32(0).int32(NODE_ID)  # error, partition index, leader
        if version >= 7:
            w.int32(0)  # leader_epoch
        w.array([NODE_ID], int32_item, flex)  # replicas
        w.array([NODE_ID], int32_item, flex)  # isr
        if version >= 5:
            w.array([], int32_item, flex)  # offline_replicas
        if flex:
            w.tagged_fields()

    def topic(w, name):
        w.int16(0).string(name, flex)
        if version >= 10:
            w.uuid(topic_id(name))
        if version >= 1:
            w.bool(False)  # is_internal
        w.array([0], partition, flex)
        if version >= 8:
            w.int32(INT32_MIN)  # topic_authorized_operations (not requested / unknown)
        if flex:
            w.tagged_fields()
    w.array(topics, topic, flex)
    if 8 <= version <= 10:
        w.int32(INT32_MIN)  # cluster_authorized_operations
    if flex:
        w.tagged_fields()
    return w.bytes()


def produce_body(version: int, r: Reader, offsets: dict):
    """Returns (body or None for acks=0)."""
    flex = version >= 9
    req = parse_produce_request(version, r)
    results = []
    for name, parts in req["topics"]:
        presults = []
        for index, records in parts:
            count = 0
            if records:
                try:
                    count = sum(b["last_offset_delta"] + 1 for b in decode_record_batches(records))
                except Exception:  # keep answering even if the checker's decoder dislikes it
                    count = 1
            base = offsets.get((name, index), 0)
            offsets[(name, index)] = base + count
            presults.append((index, base))
        results.append((name, presults))
    if req["acks"] == 0:
        return None, req

    def partition(w, p):
        w.int32(p[0]).int16(0).int64(p[1])
        if version >= 2:
            w.int64(-1)  # log_append_time_ms
        if version >= 5:
            w.int64(0)  # log_start_offset
        if version >= 8:
            w.array([], None, flex)  # record_errors
            w.string(None, flex)  # error_message
        if flex:
            w.tagged_fields()

    def topic(w, t):
        w.string(t[0], flex)
        w.array(t[1], partition, flex)
        if flex:
            w.tagged_fields()
    w = Writer()
    w.array(results, topic, flex)
    if version >= 1:
        w.int32(0)  # throttle_time_ms
    if flex:
        w.tagged_fields()
    return w.bytes(), req


def init_producer_id_body(version: int, r: Reader) -> bytes:
    flex = version >= 2
    r.string(flex, nullable=True)  # transactional_id
    r.int32()  # transaction_timeout_ms
    if version >= 3:
        r.int64()
        r.int16()
    if flex:
        r.tagged_fields()
    w = Writer().int32(0).int16(0).int64(PRODUCER_ID).int16(0)
    if flex:
        w.tagged_fields()
    return w.bytes()


# ---------------------------------------------------------------------------------------------------

class CaptureServer:
    """Runs the fake broker on its own event loop in a background thread (or in the foreground)."""

    def __init__(self, out_dir: str, port: int = 0, log=None):
        self.out_dir = out_dir
        self.requested_port = port
        self.port = None
        self.frames = []          # one dict per saved frame, in arrival order
        self.produce_offsets = {}
        self.log = log or (lambda msg: None)
        self._seq = 0
        self._conn_seq = 0
        self._loop = None
        self._server = None
        self._thread = None
        self._started = threading.Event()
        self._writers = set()
        os.makedirs(out_dir, exist_ok=True)

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> int:
        self._thread = threading.Thread(target=self._run, name="capture-server", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("capture server did not start")
        return self.port

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._open())
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._close())
        self._loop.close()

    async def _open(self):
        self._server = await asyncio.start_server(self._handle, HOST, self.requested_port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self):
        self._server.close()
        for w in list(self._writers):
            w.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    def stop(self):
        if self._loop and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)

    # -- protocol -----------------------------------------------------------------------------------
    def _save(self, conn: int, frame: bytes):
        body = frame[4:]
        key = version = corr = None
        client_id = None
        try:
            key, version, corr, client_id, _ = parse_request_header(body)
        except DecodeError:
            pass
        self._seq += 1
        name = api_name(key) if key is not None else "Unparsed"
        fname = f"{self._seq:02d}-{name}-v{version if version is not None else 'X'}.bin"
        with open(os.path.join(self.out_dir, fname), "wb") as f:
            f.write(frame)
        info = {"file": fname, "sequence": self._seq, "connection": conn, "api_key": key, "api_name": name,
                "api_version": version, "correlation_id": corr, "client_id": client_id, "size": len(frame)}
        self.frames.append(info)
        return info

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._conn_seq += 1
        conn = self._conn_seq
        self._writers.add(writer)
        self.log(f"conn {conn}: open from {writer.get_extra_info('peername')}")
        try:
            while True:
                try:
                    size_bytes = await reader.readexactly(4)
                    size = int.from_bytes(size_bytes, "big", signed=True)
                    if size < 0 or size > 100 * 1024 * 1024:
                        self.log(f"conn {conn}: bad frame size {size}")
                        return
                    body = await reader.readexactly(size)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                info = self._save(conn, size_bytes + body)
                self.log(f"conn {conn}: saved {info['file']} corr={info['correlation_id']} "
                         f"client_id={info['client_id']!r} ({info['size']} bytes)")
                response = self._respond(body)
                if response is False:
                    self.log(f"conn {conn}: unhandled {info['api_name']} v{info['api_version']}, closing")
                    return
                if response is not None:
                    writer.write(len(response).to_bytes(4, "big") + response)
                    await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.close()
            self.log(f"conn {conn}: closed")

    def _respond(self, body: bytes):
        """Returns response frame body (without size), None for no response, False to close."""
        try:
            key, version, corr, _client_id, r = parse_request_header(body)
        except DecodeError:
            return False
        header_v0 = corr.to_bytes(4, "big", signed=True)
        header_v1 = header_v0 + b"\x00"  # empty tagged fields
        header = header_v1 if (is_flexible(key, version) and key != 18) else header_v0
        try:
            if key == 18:
                if version > SUPPORTED[18][1]:
                    return header_v0 + api_versions_body(0, UNSUPPORTED_VERSION)
                return header_v0 + api_versions_body(version)
            if key == 3 and version <= 12:
                topics = parse_metadata_request(version, r)["topics"]
                if topics is None:
                    topics = [DEFAULT_TOPIC]
                topics = [t for t in topics if t is not None]  # topics asked for by id only: not known here
                return header + metadata_body(version, self.port, topics)
            if key == 0 and 3 <= version <= 11:
                resp, _ = produce_body(version, r, self.produce_offsets)
                return None if resp is None else header + resp
            if key == 22 and version <= 5:
                return header + init_producer_id_body(version, r)
        except DecodeError as e:
            self.log(f"decode error in {api_name(key)} v{version}: {e}")
            return False
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    server = CaptureServer(args.out_dir, args.port, log=None if args.quiet else
                           (lambda m: print(m, file=sys.stderr, flush=True)))
    port = server.start()
    print(f"listening on {HOST}:{port}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop()
    with open(os.path.join(args.out_dir, "frames.json"), "w") as f:
        json.dump(server.frames, f, indent=2)
    print(f"saved {len(server.frames)} frames to {args.out_dir}", flush=True)


if __name__ == "__main__":
    main()
