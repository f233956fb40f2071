#!/usr/bin/env python3
"""Captures the exact request bytes real Kafka clients send, as test fixtures for Eddy.

For every client (kcat, confluent-kafka, kafka-python, aiokafka) and every compression codec
(none, gzip, snappy, lz4, zstd) this starts the fake broker from capture_server.py on a free
port, has the client produce the same 5 records to topic "captures" (keys key-0..key-4, values
{"n": i, "s": "value-i"}, one header h=v, fixed timestamps where the client allows it, one batch),
stops the broker and keeps the raw request frames in OUT/<client>/<codec>/. It then writes
OUT/manifest.json and runs the checker (check_captures.py), which prints a summary table.

Usage:  .venv/bin/python scripts/capture/capture_all.py --out Tests/EddyWireTests/Fixtures/captures
        [--clients kcat,confluent-kafka,...] [--codecs none,gzip,...] [--timeout 20] [-v]

Every client run is a subprocess with a hard timeout; the broker is stopped after each run.
(Internally the Python clients run as `capture_all.py --run-client NAME --codec C --bootstrap H:P`.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

TOPIC = "captures"
N_RECORDS = 5
BASE_TIMESTAMP_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z; record i gets BASE + i
CLIENTS = ["kcat", "confluent-kafka", "kafka-python", "aiokafka"]
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
HEADER = ("h", b"v")


def record(i: int):
    key = f"key-{i}".encode()
    value = json.dumps({"n": i, "s": f"value-{i}"}).encode()  # {"n": 0, "s": "value-0"}
    return key, value, BASE_TIMESTAMP_MS + i


# ---------------------------------------------------------------------------------------------------
# Client runners (executed in a child process; print one JSON line "RESULT {...}" on success)

def run_confluent(bootstrap: str, codec: str) -> dict:
    import confluent_kafka
    conf = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "compression.type": codec,
        "linger.ms": 500,
        "enable.idempotence": False,
        "message.timeout.ms": 10000,
        "socket.timeout.ms": 10000,
    }
    p = confluent_kafka.Producer(conf)
    delivered = []

    def on_delivery(err, msg):
        delivered.append(None if err else msg.offset())
        if err:
            print(f"delivery error: {err}", file=sys.stderr)
    for i in range(N_RECORDS):
        key, value, ts = record(i)
        p.produce(TOPIC, value=value, key=key, headers=[HEADER], timestamp=ts, partition=0, on_delivery=on_delivery)
    remaining = p.flush(15)
    if remaining or None in delivered or len(delivered) != N_RECORDS:
        raise SystemExit(f"confluent-kafka: not all records delivered (remaining={remaining}, {delivered})")
    return {"config": {k: v for k, v in conf.items() if k != "bootstrap.servers"}, "delivered_offsets": delivered}


def run_kafka_python(bootstrap: str, codec: str) -> dict:
    import logging
    from kafka import KafkaProducer
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    conf = dict(acks="all", compression_type=None if codec == "none" else codec, linger_ms=500,
                request_timeout_ms=10000)
    p = KafkaProducer(bootstrap_servers=bootstrap, **conf)
    detected = p.config["api_version"]
    futures = []
    for i in range(N_RECORDS):
        key, value, ts = record(i)
        futures.append(p.send(TOPIC, value=value, key=key, headers=[HEADER], timestamp_ms=ts, partition=0))
    p.flush(timeout=15)
    offsets = [f.get(timeout=15).offset for f in futures]
    p.close(timeout=5)
    conf["enable_idempotence"] = "default (True in kafka-python 3.x)"
    return {"config": conf, "delivered_offsets": offsets,
            "broker_version_detected": ".".join(map(str, detected)) if detected else None}


def run_aiokafka(bootstrap: str, codec: str) -> dict:
    import asyncio
    from aiokafka import AIOKafkaProducer

    conf = dict(acks="all", compression_type=None if codec == "none" else codec, linger_ms=500,
                enable_idempotence=False, request_timeout_ms=10000)

    async def go():
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, **conf)
        await p.start()
        try:
            futures = []
            for i in range(N_RECORDS):
                key, value, ts = record(i)
                futures.append(await p.send(TOPIC, value=value, key=key, headers=[HEADER], timestamp_ms=ts,
                                            partition=0))
            metas = await asyncio.wait_for(asyncio.gather(*futures), 15)
        finally:
            await p.stop()
        return [m.offset for m in metas]

    # aiokafka >= 0.13 does not guess a broker version: each connection sends ApiVersions and picks
    # request versions from the advertised ranges.
    return {"config": conf, "delivered_offsets": asyncio.run(go())}


RUNNERS = {"confluent-kafka": run_confluent, "kafka-python": run_kafka_python, "aiokafka": run_aiokafka}


# ---------------------------------------------------------------------------------------------------
# Client versions

def client_versions() -> dict:
    py = sys.executable
    out = {}
    try:
        v = subprocess.run(["kcat", "-V"], capture_output=True, text=True, timeout=10).stdout
        kcat_v = re.search(r"Version (\S+)", v)
        lib_v = re.search(r"librdkafka (\S+)", v)
        out["kcat"] = {"client_version": kcat_v.group(1) if kcat_v else None,
                       "library": "librdkafka", "library_version": lib_v.group(1) if lib_v else None}
    except (OSError, subprocess.TimeoutExpired) as e:
        out["kcat"] = {"error": str(e)}
    snippets = {
        "confluent-kafka": "import confluent_kafka as c, json; v = c.version(); v = v if isinstance(v, str) else v[0];"
                           " print(json.dumps({'client_version': v,"
                           " 'library': 'librdkafka', 'library_version': c.libversion()[0]}))",
        "kafka-python": "import kafka, json; print(json.dumps({'client_version': kafka.__version__}))",
        "aiokafka": "import aiokafka, json; print(json.dumps({'client_version': aiokafka.__version__}))",
    }
    for name, code in snippets.items():
        try:
            r = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=30)
            out[name] = json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr.strip()[-500:]}
        except (OSError, subprocess.TimeoutExpired, ValueError) as e:
            out[name] = {"error": str(e)}
    return out


# ---------------------------------------------------------------------------------------------------

def run_client(client: str, codec: str, bootstrap: str, timeout: float, verbose: bool) -> dict:
    """Runs one client against the broker at bootstrap; returns a dict describing the run."""
    started = time.monotonic()
    if client == "kcat":
        lines = "".join(f"{k.decode()}:{v.decode()}\n" for k, v, _ in map(record, range(N_RECORDS)))
        args = ["kcat", "-P", "-b", bootstrap, "-t", TOPIC, "-p", "0", "-z", codec, "-K:",
                "-H", f"{HEADER[0]}={HEADER[1].decode()}",
                "-X", "linger.ms=500", "-X", "message.timeout.ms=10000", "-X", "socket.timeout.ms=10000"]
        cmd, stdin = args, lines
        config = {"argv": ["kcat"] + [a if a != bootstrap else "127.0.0.1:PORT" for a in args[1:]],
                  "acks": "librdkafka default (all)", "timestamps": "wall clock (kcat cannot set them)"}
    else:
        cmd = [sys.executable, os.path.abspath(__file__), "--run-client", client, "--codec", codec,
               "--bootstrap", bootstrap]
        stdin, config = None, None
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
        ok, rc, stdout, stderr = proc.returncode == 0, proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        ok, rc = False, "timeout"
        stdout = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = (e.stderr or b"").decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    result = {"ok": ok, "returncode": rc, "seconds": round(time.monotonic() - started, 2)}
    if config is not None:
        result["config"] = config
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            result.update(json.loads(line[len("RESULT "):]))
    if not ok or verbose:
        tail = stderr.strip()[-2000:]
        if tail:
            result["stderr_tail"] = tail
    return result


def capture_one(client: str, codec: str, out_root: str, timeout: float, verbose: bool) -> dict:
    from capture_server import CaptureServer
    rel = f"{client}/{codec}"
    out_dir = os.path.join(out_root, client, codec)
    shutil.rmtree(out_dir, ignore_errors=True)
    log = (lambda m: print(f"    [{rel}] {m}", file=sys.stderr)) if verbose else None
    server = CaptureServer(out_dir, 0, log=log)
    port = server.start()
    try:
        run = run_client(client, codec, f"127.0.0.1:{port}", timeout, verbose)
    finally:
        server.stop()
    from kafka_wire import describe_frame
    frames = []
    for f in server.frames:
        entry = {k: f[k] for k in ("file", "api_key", "api_name", "api_version", "correlation_id", "client_id",
                                   "connection", "size")}
        try:
            with open(os.path.join(out_dir, f["file"]), "rb") as fh:
                entry["decoded"] = describe_frame(fh.read())
        except Exception as e:  # noqa: BLE001 -- the checker reports undecodable frames
            entry["decode_error"] = str(e)
        frames.append(entry)
    return {"client": client, "codec": codec, "directory": rel, "records_produced": N_RECORDS, "run": run,
            "files": frames}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="Tests/EddyWireTests/Fixtures/captures")
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--codecs", default=",".join(CODECS))
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per client run")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--run-client", help=argparse.SUPPRESS)
    ap.add_argument("--codec", help=argparse.SUPPRESS)
    ap.add_argument("--bootstrap", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.run_client:
        result = RUNNERS[args.run_client](args.bootstrap, args.codec)
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    clients = [c for c in args.clients.split(",") if c]
    codecs = [c for c in args.codecs.split(",") if c]
    for c in clients:
        if c not in CLIENTS:
            ap.error(f"unknown client {c}")
    for c in codecs:
        if c not in CODECS:
            ap.error(f"unknown codec {c}")
    os.makedirs(args.out, exist_ok=True)
    versions = client_versions()
    captures = []
    t0 = time.monotonic()
    for client in clients:
        for codec in codecs:
            print(f"capturing {client} / {codec} ...", file=sys.stderr, flush=True)
            cap = capture_one(client, codec, args.out, args.timeout, args.verbose)
            cap.update({k: v for k, v in versions.get(client, {}).items()})
            captures.append(cap)
            status = "ok" if cap["run"]["ok"] else f"FAILED ({cap['run']['returncode']})"
            print(f"    {status}: {len(cap['files'])} frames in {cap['run']['seconds']} s", file=sys.stderr)
            if not cap["run"]["ok"] and cap["run"].get("stderr_tail"):
                print("    " + cap["run"]["stderr_tail"].replace("\n", "\n    "), file=sys.stderr)

    # Keep a manifest that does not change from run to run unless the bytes do (no ports, no times).
    manifest_captures = []
    for cap in captures:
        run = {k: v for k, v in cap["run"].items() if k not in ("seconds", "stderr_tail")}
        manifest_captures.append({
            "client": cap["client"], "client_version": cap.get("client_version"),
            "library": cap.get("library"), "library_version": cap.get("library_version"),
            "codec": cap["codec"], "directory": cap["directory"], "records_produced": cap["records_produced"],
            "explicit_timestamps": cap["client"] != "kcat", "run": run, "files": cap["files"],
        })
    manifest = {
        "description": "Raw request frames (4-byte size prefix included) sent by real Kafka clients to the fake "
                       "broker scripts/capture/capture_server.py. Regenerate with "
                       "`.venv/bin/python scripts/capture/capture_all.py --out Tests/EddyWireTests/Fixtures/captures`.",
        "topic": TOPIC,
        "records": [{"key": k.decode(), "value": v.decode(), "headers": [[HEADER[0], HEADER[1].decode()]],
                     "timestamp": ts} for k, v, ts in map(record, range(N_RECORDS))],
        "codec_ids": {c: i for i, c in enumerate(CODECS)},
        "captures": manifest_captures,
    }
    manifest_path = os.path.join(args.out, "manifest.json")
    # Merge with an existing manifest when only a subset was re-captured.
    if os.path.exists(manifest_path) and (len(clients) < len(CLIENTS) or len(codecs) < len(CODECS)):
        try:
            old = json.load(open(manifest_path))
            done = {(c["client"], c["codec"]) for c in manifest_captures}
            kept = [c for c in old.get("captures", []) if (c["client"], c["codec"]) not in done]
            order = {(a, b): i for i, (a, b) in enumerate((a, b) for a in CLIENTS for b in CODECS)}
            manifest["captures"] = sorted(kept + manifest_captures, key=lambda c: order[(c["client"], c["codec"])])
        except (OSError, ValueError, KeyError):
            pass
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {manifest_path} ({len(captures)} captures, {time.monotonic() - t0:.1f} s)", file=sys.stderr)

    from check_captures import check
    return check(args.out)


if __name__ == "__main__":
    sys.exit(main())
