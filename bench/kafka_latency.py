"""End-to-end latency through the exactly-once Kafka path (part of make bench-kafka).

A librdkafka producer (bench/rdkafka_bench.c, mode latency) writes events stamped with their send time,
at a fixed rate, to a topic of 4 partitions of a separate `eddy broker`; `eddy run` (trigger 100 ms) copies them to another topic,
one Kafka transaction per micro-batch; a read_committed librdkafka consumer takes each as it becomes
visible.
Latency = visible − sent, p50 and p99, after 2 s of warm-up events that are not counted (the query's
first Kafka transaction finds the group and transaction coordinators, which takes most of a second
once).

Where the time goes comes from the progress records of the same batches (`eddy run --progress`) and
from the consumer:
- wait: from the oldest record's CreateTime to the start of the batch that reads it (the trigger
  interval, plus the batch before it when that one runs long);
- plan (latestOffset and walCommit: ListOffsets to the cluster, the offsets log), read (getBatch:
  fetching and decoding), sink (the rest of addBatch: encoding, producing, and the transaction's
  commit), checkpoint (commitOffsets: the commit log);
- deliver: from the end of the batch's addBatch (where the transaction's commit returns) to the
  consumer holding the record; negative when the record is visible before the commit call returns.

Usage: bench/kafka_latency.py EDDY_BINARY BOOTSTRAP RATE SECONDS WORKDIR RDKAFKA_BENCH
"""

from __future__ import annotations

import bisect
import json
import os
import signal
import subprocess
import sys
from datetime import datetime

from confluent_kafka.admin import AdminClient, NewTopic


def millis(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    binary, brokers, rate, seconds, workdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    source, target = f"lat-in-{rate}", f"lat-out-{rate}"
    admin = AdminClient({"bootstrap.servers": brokers})
    for future in admin.create_topics([NewTopic(source, 4, 1)]).values():
        future.result(30)
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "q.sql"), "w") as f:
        f.write(f"""
CREATE TABLE events (id BIGINT, sent BIGINT) WITH ('connector' = 'kafka', 'topic' = '{source}', 'format' = 'json',
  'properties.bootstrap.servers' = '{brokers}', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE copied WITH ('connector' = 'kafka', 'topic' = '{target}', 'format' = 'json', 'sink.partitions' = '4',
  'properties.bootstrap.servers' = '{brokers}') AS SELECT id, sent FROM events;
""")
    progress_path = os.path.join(workdir, "progress.jsonl")
    query = subprocess.Popen([binary, "run", "q.sql", "--checkpoint", "ckpt", "--interval-ms", "100", "--progress"], cwd=workdir,
                             stdout=open(progress_path, "w"), stderr=open(os.path.join(workdir, "run.log"), "w"))
    client, arrivals_path = sys.argv[6], os.path.join(workdir, "arrivals.txt")
    try:
        measured = subprocess.run([client, "latency", brokers, source, target, str(rate), str(seconds), arrivals_path],
                                  capture_output=True, text=True, timeout=seconds + 120)
    finally:
        query.send_signal(signal.SIGTERM)
        try:
            query.wait(30)
        except subprocess.TimeoutExpired:
            query.kill()
    if measured.returncode != 0:
        print(f"latency client failed: {measured.stdout}{measured.stderr[-2000:]}", file=sys.stderr)
        return 1
    arrivals = []  # (sent ms, seen ms)
    with open(arrivals_path) as f:
        for line in f:
            sent, seen = line.split()
            arrivals.append((int(sent) / 1000, int(seen) / 1000))
    latencies = [seen - sent for sent, seen in arrivals]
    measured_from = min((sent for sent, _ in arrivals), default=0)
    total = int(rate * seconds)

    phases: dict[str, list[float]] = {"wait": [], "plan": [], "read": [], "sink": [], "checkpoint": [], "batch": []}
    commits: list[float] = []
    with open(progress_path) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            p = json.loads(line)
            began = millis(p["timestamp"])
            if p["numInputRows"] == 0 or began < measured_from:
                continue
            d = p["durationMs"]
            phases["batch"].append(d.get("triggerExecution", 0))
            phases["plan"].append(d.get("latestOffset", 0) + d.get("walCommit", 0))
            phases["read"].append(d.get("getBatch", 0))
            phases["sink"].append(d.get("addBatch", 0) - d.get("getBatch", 0))  # addBatch spans the read too
            phases["checkpoint"].append(d.get("commitOffsets", 0))
            since = p.get("latencyMs", {}).get("sinceRecordTimeMax")
            if since is not None:
                phases["wait"].append(since - d.get("triggerExecution", 0))
            # The Kafka transaction commits at the end of addBatch, before the checkpoint's commit.
            commits.append(began + d.get("latestOffset", 0) + d.get("walCommit", 0) + d.get("addBatch", 0))
    # deliver: a record's arrival minus the nearest end of a batch's addBatch, signed: the broker makes a
    # transaction visible when it writes the markers, before its EndTxn answer reaches the pipeline.
    commits.sort()
    deliver: list[float] = []
    for _, seen in arrivals:
        index = bisect.bisect_left(commits, seen)
        nearest = [commits[i] for i in (index - 1, index) if 0 <= i < len(commits)]
        if nearest:
            deliver.append(seen - min(nearest, key=lambda c: abs(seen - c)))
    print(f"BENCH kafka_e2e_latency rate={rate} events={total} seen={len(latencies)} p50_ms={pct(latencies, 0.5):.0f} "
          f"p99_ms={pct(latencies, 0.99):.0f} max_ms={max(latencies, default=float('nan')):.0f} batches={len(phases['batch'])}")
    print(f"  per batch, p50 / p99 ms: " + ", ".join(f"{k} {pct(v, 0.5):.0f} / {pct(v, 0.99):.0f}" for k, v in phases.items())
          + f"; deliver (commit → consumer) {pct(deliver, 0.5):.0f} / {pct(deliver, 0.99):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
