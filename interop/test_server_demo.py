"""The demo's pipelines (examples/live, what `make demo` runs) under `eddy server`: fed through the Kafka
protocol, stopped with SIGTERM (exit 0) and killed with SIGKILL while the producers go on, and started
again each time; every sink (SQLite, the Parquet lake, the alert topics) ends with each result once,
and the results equal those of one run that never stopped (the producers' events are deterministic).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request

import pytest

from conftest import REPO_ROOT, eddy_bin, free_port, port_accepts
from interop_helpers import committed_rows, read_records, wait_until
from confluent_kafka import Consumer, Producer

LIVE = os.path.join(REPO_ROOT, "examples", "live")
KINDS = [("purchases", "shop.purchases"), ("transactions", "card.transactions"), ("sensors", "iot.readings")]
START_MS = 1_767_225_600_000


class LiveServer:
    def __init__(self, directory: str):
        self.directory = directory
        self.kafka = f"127.0.0.1:{free_port()}"
        self.http_port = free_port()
        self.proc = None

    def start(self):
        log = open(os.path.join(self.directory, "server.log"), "ab")
        self.proc = subprocess.Popen([eddy_bin(), "server", "--data-dir", "data", "--listen", self.kafka,
                                      "--http-listen", f"127.0.0.1:{self.http_port}", "--pipelines", LIVE,
                                      "--num-partitions", "3", "--interval-ms", "300"],
                                     cwd=self.directory, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_until(lambda: self.proc.poll() is not None or port_accepts(self.http_port), 20, "eddy server listening")
        assert self.proc.poll() is None, self.log()

    def pipelines(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/api/pipelines", timeout=10) as r:
            return {p["name"]: p for p in json.load(r)["pipelines"]}

    def log(self) -> str:
        with open(os.path.join(self.directory, "server.log"), "rb") as f:
            return f.read()[-4000:].decode("utf-8", "replace")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def events(kind: str, count: int) -> list[tuple[bytes, bytes]]:
    """`count` deterministic events of a kind as (key, value), as `eddy gen --keyed` writes them. The
    malformed lines of purchases and transactions become dead letters; sensors get none, because some
    of the generator's malformed lines are valid readings timed in 1970, late or not depending on when
    they arrive (event-time semantics, not a failure to compare)."""
    malformed = "0" if kind == "sensors" else "0.005"
    out = subprocess.run([eddy_bin(), "gen", kind, "--count", str(count), "--seed", "5", "--start-ms", str(START_MS),
                          "--span-ms", "180000", "--skew", "1", "--malformed", malformed, "--keyed"],
                         check=True, timeout=60, capture_output=True).stdout
    return [tuple(line.split(b"\t", 1)) for line in out.splitlines()]


def produce(server: LiveServer, part: int, parts: int, count: int):
    """Part `part` of `parts` of each kind's events, keyed as `eddy gen --topic` keys them and placed by
    murmur2 (a run in pieces sends each event to the partition one run sends it to)."""
    producer = Producer({"bootstrap.servers": server.kafka, "acks": "all", "enable.idempotence": True,
                         "partitioner": "murmur2_random", "linger.ms": 5})
    for kind, topic in KINDS:
        all_events = events(kind, count)
        per = len(all_events) // parts
        chunk = all_events[part * per:(part + 1) * per if part < parts - 1 else len(all_events)]
        for key, value in chunk:
            while True:
                try:
                    producer.produce(topic, value=value, key=key)
                    break
                except BufferError:
                    producer.poll(0.05)
    assert producer.flush(30) == 0, "records left undelivered"


def sqlite_table(directory: str, db: str, table: str) -> list[tuple]:
    path = os.path.join(directory, "out", db)
    if not os.path.exists(path):
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        try:
            return sorted(c.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        except sqlite3.OperationalError:
            return []


def topic_values(bootstrap: str, topic: str) -> list[dict]:
    """Every committed value of the topic (each micro-batch is a transaction)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{topic}-{time.time()}"})
    try:
        partitions = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    finally:
        consumer.close()
    values = [value for _, value, _ in read_records(bootstrap, topic, "read_committed", partitions)]
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True))


def results(server: LiveServer) -> dict:
    d = server.directory
    lake = sorted(committed_rows(os.path.join(d, "out", "lake", "sensor_summary")), key=lambda r: json.dumps(r, sort_keys=True))
    return {
        "revenue": sqlite_table(d, "shop.db", "revenue"),
        "fraud_alerts": sqlite_table(d, "alerts.db", "fraud_alerts"),
        "iot_alerts": sqlite_table(d, "alerts.db", "iot_alerts"),
        "sensor_summary": lake,
        "fraud.alerts": topic_values(server.kafka, "fraud.alerts"),
        "iot.alerts": topic_values(server.kafka, "iot.alerts"),
    }


def settled(server: LiveServer, count: int):
    """Waits until every pipeline's group has committed every event of its topic, then for the last
    batches (the watermark's no-data batches) to run."""
    groups = {"revenue": "shop.purchases", "fraud": "card.transactions", "iot": "iot.readings"}

    def done():
        pipelines = server.pipelines()
        assert all(p["status"] == "running" for p in pipelines.values()), {n: (p["status"], p["error"]) for n, p in pipelines.items()}
        with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/api/groups", timeout=10) as r:
            found = {g["groupId"]: g for g in json.load(r)["groups"]}
        for group, topic in groups.items():
            committed = sum(p["committedOffset"] for p in found.get(group, {"partitions": []})["partitions"] if p["topic"] == topic)
            if committed < count:
                return False
        return True
    wait_until(done, 90, "every pipeline to commit every event")
    time.sleep(2)


@pytest.mark.timeout(300)
def test_demo_pipelines_survive_sigterm_and_sigkill_without_duplicates(tmp_path):
    count = 9000
    # One run that never stops.
    straight = LiveServer(str(tmp_path / "straight"))
    os.makedirs(os.path.join(straight.directory, "out"))
    straight.start()
    try:
        produce(straight, 0, 1, count)
        settled(straight, count)
        expected = results(straight)
        assert straight.proc.send_signal(signal.SIGTERM) or straight.proc.wait(30) == 0
    finally:
        straight.kill()
    assert len(expected["revenue"]) > 20 and len(expected["sensor_summary"]) > 100, {k: len(v) for k, v in expected.items()}
    assert expected["fraud_alerts"] and expected["iot_alerts"], "the demo raises no alert"
    assert len(expected["fraud.alerts"]) == len(expected["fraud_alerts"])
    assert len(expected["iot.alerts"]) == len(expected["iot_alerts"])

    # The same events in three parts, with a SIGTERM and a SIGKILL between them.
    stopped = LiveServer(str(tmp_path / "stopped"))
    os.makedirs(os.path.join(stopped.directory, "out"))
    stopped.start()
    try:
        produce(stopped, 0, 3, count)
        time.sleep(1)
        stopped.proc.send_signal(signal.SIGTERM)
        assert stopped.proc.wait(30) == 0, stopped.log()
        assert "eddy server: stopped" in stopped.log()
        stopped.start()
        produce(stopped, 1, 3, count)
        time.sleep(0.7)
        stopped.kill()
        stopped.start()
        produce(stopped, 2, 3, count)
        settled(stopped, count)
        got = results(stopped)
        look_at_the_dashboard(stopped, got)
    finally:
        stopped.kill()
    for name in expected:
        assert got[name] == expected[name], f"{name}: {len(got[name])} rows after the restarts, {len(expected[name])} in one run"


def look_at_the_dashboard(server: LiveServer, sinks: dict):
    """Headless Chromium on the demo's dashboard: the three pipelines run; revenue's table shows rows of
    the SQLite table; the fraud alerts are a feed; the IoT lake's summaries are charted; screenshots
    in .build/artefacts/demo-*.png."""
    import shutil
    from playwright.sync_api import sync_playwright
    artefacts = os.path.join(REPO_ROOT, ".build", "artefacts")
    os.makedirs(artefacts, exist_ok=True)
    base = f"http://127.0.0.1:{server.http_port}"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + "/#/")
            page.wait_for_selector("#pipelines tbody tr", timeout=15000)
            assert page.query_selector("#tile-running .value").inner_text() == "3 of 3"
            page.screenshot(path=os.path.join(artefacts, "demo-overview.png"), full_page=True)

            page.goto(base + "/#/pipelines/revenue")
            page.wait_for_selector("#results-revenue tbody tr", timeout=15000)
            revenue = {(r[0], r[2]): r[3] for r in sinks["revenue"]}  # (window_start, category) → orders
            for tr in page.query_selector_all("#results-revenue tbody tr")[:20]:
                cells = [td.inner_text() for td in tr.query_selector_all("td")]
                assert revenue.get((cells[0], cells[2])) == int(cells[3]), cells
            page.screenshot(path=os.path.join(artefacts, "demo-revenue.png"), full_page=True)

            page.goto(base + "/#/pipelines/fraud")
            page.wait_for_selector("#feed-fraud_alerts li", timeout=15000)
            cards = {str(r[2]) for r in sinks["fraud_alerts"]}
            for item in page.query_selector_all("#feed-fraud_alerts li")[:10]:
                card = item.inner_text().split("card_id=")[1].split()[0]
                assert card in cards, card
            page.screenshot(path=os.path.join(artefacts, "demo-fraud.png"), full_page=True)

            page.goto(base + "/#/pipelines/iot")
            page.wait_for_selector("#results-sensor_summary tbody tr", timeout=15000)
            assert page.query_selector("#chart-results-sensor_summary svg, #feed-sensor_summary") is not None
            page.goto(base + "/#/alerts")
            page.wait_for_selector("#alerts li", timeout=15000)
            page.screenshot(path=os.path.join(artefacts, "demo-alerts.png"), full_page=False)
        finally:
            browser.close()
    assert not errors, errors
