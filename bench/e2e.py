"""make bench-e2e: end-to-end latency through `eddy server` (release build), event produced by a Kafka
client → visible in the SQLite sink and over server-sent events, at 10 k and 100 k events/s with a
100 ms trigger; then the dashboard's own cost (server CPU with 10 headless Chromium pages open on the
dashboard against none).

The producer is `eddy gen purchases --live --rate R` (librdkafka): each event's event_time is the
moment it was due to be sent, so `visible − event_time` is the whole path: producer batching, the
broker, the wait for the next trigger, reading and decoding, the SQLite commit. A poller reads new
rows from the SQLite file every 2 ms; an SSE client reads the `rows` events (the last 500 rows of each
batch). The first 5 s of each run are warm-up and not counted. The breakdown comes from the progress
records of the same batches: wait (a batch's start minus its oldest record's CreateTime), read and
decode (getBatch), operators and sink commit (addBatch), checkpoint (walCommit + commitOffsets).

Usage: bench/e2e.py EDDY_BINARY [--seconds 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime

SQL = """
CREATE TABLE purchases (
  event_id STRING, user_id BIGINT, category STRING, amount DECIMAL(10, 2), country STRING, event_time TIMESTAMP(3)
) WITH ('connector' = 'kafka', 'topic' = 'e2e', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
SET 'execution.checkpointing.interval' = '100 ms';
CREATE TABLE seen WITH ('connector' = 'sqlite', 'path' = 'out/e2e.db', 'table-name' = 'seen') AS
SELECT event_id, event_time FROM purchases;
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def millis(value) -> int:
    if isinstance(value, (int, float)):
        return int(value)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, binary: str, directory: str):
        self.directory = directory
        self.kafka = f"127.0.0.1:{free_port()}"
        self.http_port = free_port()
        os.makedirs(os.path.join(directory, "pipelines"), exist_ok=True)
        os.makedirs(os.path.join(directory, "out"), exist_ok=True)
        with open(os.path.join(directory, "pipelines", "e2e.sql"), "w") as f:
            f.write(SQL)
        self.proc = subprocess.Popen([binary, "server", "--data-dir", "data", "--listen", self.kafka,
                                      "--http-listen", f"127.0.0.1:{self.http_port}", "--pipelines", "pipelines"],
                                     cwd=directory, stdout=open(os.path.join(directory, "server.log"), "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("eddy server did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def run_rate(binary: str, rate: int, seconds: int) -> dict:
    directory = tempfile.mkdtemp(prefix=f"eddy-e2e-{rate}-")
    server = Server(binary, directory)
    db_path = os.path.join(directory, "out", "e2e.db")
    stop = threading.Event()
    sink_latencies: list[float] = []
    sse_latencies: list[float] = []
    warm_until = [0.0]

    def poll_sqlite():
        last = 0
        while not os.path.exists(db_path) and not stop.is_set():
            time.sleep(0.01)
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
        while not stop.is_set():
            try:
                rows = db.execute("SELECT rowid, event_time FROM seen WHERE rowid > ?", (last,)).fetchall()
            except sqlite3.OperationalError:
                time.sleep(0.01)
                continue
            now = time.time() * 1000
            if rows:
                last = rows[-1][0]
                if now / 1000 >= warm_until[0]:
                    sink_latencies.extend(now - millis(t) for _, t in rows)
            time.sleep(0.002)

    def read_sse():
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=60)
        conn.request("GET", "/api/events?pipeline=e2e")
        response = conn.getresponse()
        name = None
        while not stop.is_set():
            line = response.fp.readline().decode()
            if not line:
                break
            if line.startswith("event: "):
                name = line[7:].strip()
            elif line.startswith("data: ") and name == "rows":
                now = time.time() * 1000
                if now / 1000 >= warm_until[0]:
                    sse_latencies.extend(now - millis(r["event_time"]) for r in json.loads(line[6:])["rows"])
        conn.close()

    threads = [threading.Thread(target=poll_sqlite, daemon=True), threading.Thread(target=read_sse, daemon=True)]
    for t in threads:
        t.start()
    warm_until[0] = time.time() + 5
    producer = subprocess.run([binary, "gen", "purchases", "--live", "--rate", str(rate), "--count", str(rate * seconds),
                               "--disorder", "0", "--bootstrap-server", server.kafka, "--topic", "e2e",
                               "--producer-property", "linger.ms=5"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=seconds * 3 + 60)
    if producer.returncode != 0:
        raise SystemExit(f"eddy gen failed: {producer.stderr.decode()[-2000:]}")
    time.sleep(1.5)
    stop.set()
    progress = json.load(urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/api/pipelines/e2e/progress?limit=1000"))["progress"]
    server.stop()
    counted = [p for p in progress if p["numInputRows"] > 0 and millis(p["timestamp"]) / 1000 >= warm_until[0]]
    phases = {"wait": [], "read": [], "sink": [], "checkpoint": [], "batch": []}
    for p in counted:
        d = p["durationMs"]
        phases["batch"].append(d.get("triggerExecution", 0))
        phases["read"].append(d.get("getBatch", 0))
        phases["sink"].append(d.get("addBatch", 0))
        phases["checkpoint"].append(d.get("walCommit", 0) + d.get("commitOffsets", 0) + d.get("latestOffset", 0))
        if "sinceRecordTimeMax" in p.get("latencyMs", {}):
            phases["wait"].append(p["latencyMs"]["sinceRecordTimeMax"] - d.get("triggerExecution", 0))
    with sqlite3.connect(db_path) as db:
        stored = db.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM seen").fetchone()
    return {"rate": rate, "events": rate * seconds, "stored": stored, "sink": sink_latencies, "sse": sse_latencies,
            "phases": phases, "batches": len(counted)}


def dashboard_cost(binary: str, pages: int, seconds: int) -> tuple[float, float]:
    """Server CPU seconds per second at 10 k events/s with no page open, then with `pages` pages."""
    from playwright.sync_api import sync_playwright
    directory = tempfile.mkdtemp(prefix="eddy-e2e-dash-")
    server = Server(binary, directory)
    producer = subprocess.Popen([binary, "gen", "purchases", "--live", "--rate", "10000", "--count", str(10000 * (3 * seconds + 60)),
                                 "--disorder", "0", "--bootstrap-server", server.kafka, "--topic", "e2e"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(5)
        start = cpu_seconds(server.proc.pid)
        time.sleep(seconds)
        idle = (cpu_seconds(server.proc.pid) - start) / seconds
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
            opened = []
            for _ in range(pages):
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.http_port}/#/pipelines/e2e")
                opened.append(page)
            time.sleep(5)
            start = cpu_seconds(server.proc.pid)
            time.sleep(seconds)
            watched = (cpu_seconds(server.proc.pid) - start) / seconds
            browser.close()
        return idle, watched
    finally:
        producer.kill()
        producer.wait()
        server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    results = []
    for rate in (10_000, 100_000):
        r = run_rate(args.binary, rate, args.seconds)
        results.append(r)
        ph = r["phases"]
        print(f"e2e {rate // 1000} k events/s for {args.seconds} s: {r['stored'][0]} rows in SQLite ({r['stored'][1]} distinct, "
              f"{r['events']} produced), {r['batches']} batches after warm-up")
        print(f"  produced → visible in SQLite: p50 {pct(r['sink'], 0.5):.0f} ms, p99 {pct(r['sink'], 0.99):.0f} ms, "
              f"max {max(r['sink'], default=float('nan')):.0f} ms ({len(r['sink'])} rows)")
        print(f"  produced → over SSE (the newest ≤ 500 rows of each batch, so lower): p50 {pct(r['sse'], 0.5):.0f} ms, p99 {pct(r['sse'], 0.99):.0f} ms ({len(r['sse'])} rows)")
        print("  per batch, p50 / p99 ms: " + ", ".join(f"{k} {pct(v, 0.5):.0f} / {pct(v, 0.99):.0f}" for k, v in ph.items()))
    idle, watched = dashboard_cost(args.binary, 10, 10)
    print(f"dashboard cost at 10 k events/s: server CPU {idle:.2f} s/s with no page open, {watched:.2f} s/s with 10 Chromium pages "
          f"({watched / idle if idle else float('nan'):.2f}×)")
    summary = {f"p99_sink_ms_{r['rate'] // 1000}k": round(pct(r["sink"], 0.99)) for r in results}
    summary.update({f"p50_sink_ms_{r['rate'] // 1000}k": round(pct(r["sink"], 0.5)) for r in results})
    summary["dashboard_cpu_ratio"] = round(watched / idle, 2) if idle else None
    print("BENCH e2e " + json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
