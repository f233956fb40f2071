"""`eddy server` as a user meets it: one process with the broker, SQL pipelines, the REST API,
server-sent events, Prometheus /metrics and the dashboard.

Purchases go in through the Kafka protocol (`eddy gen`, librdkafka); the `revenue` pipeline writes
1-minute windows per category to SQLite and the `big` pipeline copies large purchases to a topic.
What the API, the event stream, a real Prometheus and a real headless Chromium show is checked
against the SQLite table itself. Screenshots of the dashboard land in .build/artefacts/ (not
committed).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import REPO_ROOT, eddy_bin, free_port, port_accepts
from interop_helpers import read_records, wait_until

ARTEFACTS = os.path.join(REPO_ROOT, ".build", "artefacts")

REVENUE_SQL = """
CREATE TABLE purchases (
  event_id STRING, user_id BIGINT, category STRING, amount DECIMAL(10, 2), country STRING, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'purchases', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset',
        'properties.group.id' = 'revenue');
CREATE TABLE revenue WITH ('connector' = 'sqlite', 'path' = 'out/revenue.db', 'table-name' = 'revenue') AS
SELECT window_start, window_end, category, COUNT(*) AS orders, SUM(amount) AS revenue
FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, category;
"""

BIG_SQL = """
CREATE TABLE purchases (
  event_id STRING, user_id BIGINT, category STRING, amount DECIMAL(10, 2), country STRING, event_time TIMESTAMP(3)
) WITH ('connector' = 'kafka', 'topic' = 'purchases', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE purchase_alerts WITH ('connector' = 'kafka', 'topic' = 'big-purchases', 'format' = 'json') AS
SELECT event_id, user_id, category, amount FROM purchases WHERE amount > 450;
"""


class Server:
    """One `eddy server` process in a directory of its own (the SQL's relative paths start there)."""

    def __init__(self, directory: str):
        self.directory = directory
        self.kafka_port = free_port()
        self.http_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.kafka_port}"
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.log_path = os.path.join(directory, "server.log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        argv = [eddy_bin(), "server", "--data-dir", "data", "--listen", self.bootstrap,
                "--http-listen", f"127.0.0.1:{self.http_port}", "--pipelines", "pipelines", "--interval-ms", "200"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, cwd=self.directory, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: self.proc.poll() is not None or (port_accepts(self.http_port) and port_accepts(self.kafka_port)),
                       20, "eddy server listening")
            assert self.proc.poll() is None, f"eddy server exited: {self.log()}"
        except BaseException:
            self.kill()
            raise

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read()[-4000:].decode("utf-8", "replace")

    def request(self, method: str, path: str, body=None, raw: bytes | None = None, headers: dict | None = None):
        """(status, parsed JSON or text) of one request."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={**({"content-type": "application/json"} if data is not None else {}), **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=15) as response:
                status, text, kind = response.status, response.read().decode(), response.headers.get("content-type", "")
        except urllib.error.HTTPError as error:
            status, text, kind = error.code, error.read().decode(), error.headers.get("content-type", "")
        if "json" in kind:
            return status, (json.loads(text) if text else None)
        return status, text

    def get(self, path: str):
        status, body = self.request("GET", path)
        assert status == 200, f"GET {path}: {status} {body}"
        return body

    def gen(self, count: int, *extra: str) -> None:
        subprocess.run([eddy_bin(), "gen", "purchases", "--count", str(count), "--bootstrap-server", self.bootstrap,
                        "--topic", "purchases", *extra], check=True, timeout=60, capture_output=True)


def sqlite_rows(directory: str) -> list[tuple]:
    path = os.path.join(directory, "out", "revenue.db")
    if not os.path.exists(path):
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            return db.execute("SELECT window_start, category, orders, revenue FROM revenue ORDER BY window_start, category").fetchall()
        except sqlite3.OperationalError:
            return []


def as_key(value) -> str:
    """A window start as the API shows it and as SQLite keeps it, compared as epoch milliseconds."""
    if isinstance(value, (int, float)):
        return str(int(value))
    from datetime import datetime
    return str(int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000))


def make_server(directory: str) -> Server:
    """A server whose --pipelines directory holds revenue.sql and big.sql."""
    os.makedirs(os.path.join(directory, "pipelines"))
    os.makedirs(os.path.join(directory, "out"))
    with open(os.path.join(directory, "pipelines", "revenue.sql"), "w") as f:
        f.write(REVENUE_SQL)
    with open(os.path.join(directory, "pipelines", "big.sql"), "w") as f:
        f.write(BIG_SQL)
    return Server(directory)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("server"))
    s = make_server(directory)
    s.start()
    try:
        # 20 000 purchases over 5 minutes of event time, 1 % malformed.
        s.gen(20000, "--span-ms", "300000", "--malformed", "0.01")
        wait_until(lambda: len(sqlite_rows(directory)) >= 40, 30, "closed windows in SQLite")
        yield s
    finally:
        s.kill()


def test_rest_api_shows_what_the_sinks_hold(server):
    info = server.get("/api/info")
    assert info["kafka"] == server.bootstrap and info["limits"]["itemsMax"] == 1000

    pipelines = {p["name"]: p for p in server.get("/api/pipelines")["pipelines"]}
    assert set(pipelines) == {"revenue", "big"}
    assert all(p["status"] == "running" for p in pipelines.values()), pipelines
    assert pipelines["revenue"]["origin"].endswith("pipelines/revenue.sql")

    detail = server.get("/api/pipelines/revenue")
    assert "TUMBLE" in detail["sql"] and "Sink" in detail["queries"][0]["plan"]

    # Results: every row the API shows is a row of the SQLite table, with the same values. The
    # pipeline may still be writing: compare at a moment when SQLite holds the same rows before and
    # after the API is read.
    seen = {}

    def api_equals_sqlite():
        before = sorted((as_key(w), c, o, round(float(r), 2)) for w, c, o, r in sqlite_rows(server.directory))
        results = server.get("/api/pipelines/revenue/results?limit=1000")
        assert [c["name"] for c in results["columns"]] == ["window_start", "window_end", "category", "orders", "revenue"]
        seen["api"] = sorted((as_key(r["window_start"]), r["category"], r["orders"], round(float(r["revenue"]), 2)) for r in results["rows"])
        seen["db"] = sorted((as_key(w), c, o, round(float(r), 2)) for w, c, o, r in sqlite_rows(server.directory))
        return before == seen["db"] and seen["api"] == seen["db"]

    wait_until(api_equals_sqlite, 20, "the API's rows to equal SQLite's")
    assert len(seen["api"]) >= 40

    progress = server.get("/api/pipelines/revenue/progress?limit=5")["progress"]
    assert 1 <= len(progress) <= 5 and all("batchId" in p and "durationMs" in p for p in progress)
    assert sum(p["numInputRows"] for p in server.get("/api/pipelines/revenue/progress?limit=1000")["progress"]) > 0

    # 1 % of the lines were malformed: they are dead letters with the reason, not lost.
    wait_until(lambda: len(server.get("/api/pipelines/revenue/dead-letters?limit=1000")["deadLetters"]) >= 150, 10, "dead letters")
    letters = server.get("/api/pipelines/revenue/dead-letters?limit=1000")
    assert letters["topic"] == "revenue.dead-letters"
    assert {d["reason"] for d in letters["deadLetters"]} == {"malformed"}
    assert all(d["detail"] and d["sourceOffset"] for d in letters["deadLetters"])

    topics = {t["name"]: t for t in server.get("/api/topics")["topics"]}
    assert topics["purchases"]["records"] == 20000
    assert topics["big-purchases"]["records"] > 0
    records = server.get("/api/topics/purchases/records?limit=5")["records"]
    assert len(records) == 5 and all(isinstance(r["value"], str) for r in records)
    first = server.get("/api/topics/purchases/records?partition=0&offset=0&limit=3")["records"]
    assert [r["offset"] for r in first] == [0, 1, 2]

    # The revenue query commits its offsets to group `revenue`: the lag shows per partition.
    groups = {g["groupId"]: g for g in server.get("/api/groups")["groups"]}
    assert "revenue" in groups and groups["revenue"]["partitions"], groups
    assert groups["revenue"]["partitions"][0]["topic"] == "purchases"


def test_bad_requests_get_json_errors(server):
    for method, path, body, status in [
        ("GET", "/api/pipelines/nope", None, 404),
        ("GET", "/api/topics/nope", None, 404),
        ("GET", "/api/topics/nope/records", None, 404),
        ("GET", "/api/nothing-here", None, 404),
        ("GET", "/api/pipelines/revenue/results?limit=0", None, 400),
        ("GET", "/api/pipelines/revenue/results?limit=1001", None, 400),
        ("GET", "/api/pipelines/revenue/results?query=nope", None, 404),
        ("GET", "/api/topics/purchases/records?partition=7", None, 400),
        ("GET", "/api/topics/purchases/records?offset=-1", None, 400),
        ("POST", "/api/pipelines", {"name": "x"}, 400),
        ("POST", "/api/pipelines", {"name": "../etc", "sql": REVENUE_SQL}, 400),
        ("POST", "/api/pipelines", {"name": "revenue", "sql": REVENUE_SQL}, 409),
        ("DELETE", "/api/pipelines/revenue", None, 409),  # defined by a file
    ]:
        got, answer = server.request(method, path, body)
        assert got == status, f"{method} {path}: {got} {answer}"
        assert answer["error"]["status"] == status and answer["error"]["message"], answer
    got, answer = server.request("POST", "/api/pipelines", raw=b"{not json")
    assert got == 400 and "JSON" in answer["error"]["message"]
    got, answer = server.request("POST", "/api/pipelines", raw=b"x" * (1 << 20 + 1))
    assert got == 413, (got, answer)

    # What another site's page could make a browser send is refused: a POST from a foreign Origin
    # (cross-site request forgery) and a request for a foreign Host (DNS rebinding).
    got, answer = server.request("POST", "/api/pipelines/revenue/stop", headers={"Origin": "http://evil.example"})
    assert got == 403 and "evil.example" in answer["error"]["message"], answer
    assert server.get("/api/pipelines/revenue")["status"] == "running"
    got, answer = server.request("GET", "/api/pipelines", headers={"Host": f"evil.example:{server.http_port}"})
    assert got == 403, answer
    got, _ = server.request("GET", "/api/info", headers={"Origin": server.base, "Host": f"localhost:{server.http_port}"})
    assert got == 200

    # A SQL error comes back with its line and column, and nothing is created.
    bad = REVENUE_SQL.replace("SUM(amount)", "SUM(amout)")
    got, answer = server.request("POST", "/api/pipelines", {"name": "typo", "sql": bad})
    assert got == 400, answer
    assert "amout" in answer["error"]["message"] and "amount" in answer["error"]["message"]
    line = bad.splitlines()[answer["error"]["line"] - 1]
    assert line[answer["error"]["column"] - 1:].startswith("amout"), (line, answer)
    assert server.request("GET", "/api/pipelines/typo")[0] == 404
    got, answer = server.request("POST", "/api/pipelines", {"name": "nothing", "sql": "CREATE TABLE t (a INT) WITH ('connector' = 'datagen');"})
    assert got == 400 and "starts no query" in answer["error"]["message"]


def test_schemathesis_finds_no_server_error_and_no_departure_from_the_openapi_document(tmp_path):
    """Schemathesis generates requests from /api/openapi.json (valid and invalid) and checks the answers:
    no 5xx, status codes, content types and bodies as documented, invalid input refused, 405 for
    undocumented methods. Stop/start/delete are left out (they would stop the pipelines the other
    tests watch; test_pipeline_lifecycle_through_the_api covers them), and so is the endless event stream.
    A server of its own: schemathesis creates pipelines from the SQL it reads in responses."""
    server = make_server(str(tmp_path))
    server.start()
    try:
        server.gen(2000, "--span-ms", "300000", "--malformed", "0.01")
        wait_until(lambda: sqlite_rows(server.directory), 30, "closed windows in SQLite")
        fuzz(server)
    finally:
        server.kill()


def fuzz(server):
    argv = [os.path.join(REPO_ROOT, ".venv", "bin", "schemathesis"), "run", server.base + "/api/openapi.json", "--url", server.base,
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
                        "negative_data_rejection,unsupported_method",
            "--exclude-path", "/api/events", "--exclude-path-regex", "/(stop|start)$", "--exclude-method", "DELETE",
            "-n", "25", "--request-timeout", "10", "--no-color"]
    if os.environ.get("EDDY_SEED"):
        argv += ["--seed", os.environ["EDDY_SEED"]]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=150, cwd=server.directory)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert server.proc.poll() is None, "the server died under schemathesis"
    assert {"revenue", "big"} <= {p["name"] for p in server.get("/api/pipelines")["pipelines"]}


def test_pipeline_lifecycle_through_the_api(server):
    sql = BIG_SQL.replace("big-purchases", "huge-purchases").replace("amount > 450", "amount > 490")
    got, created = server.request("POST", "/api/pipelines", {"name": "huge", "sql": sql})
    assert got == 201 and created["status"] == "running" and created["origin"] == "api", created
    wait_until(lambda: server.get("/api/topics/huge-purchases")["records"] > 0, 15, "the new pipeline's output")
    got, stopped = server.request("POST", "/api/pipelines/huge/stop")
    assert got == 200 and stopped["status"] == "stopped" and stopped["queries"][0]["status"] == "stopped", stopped
    got, started = server.request("POST", "/api/pipelines/huge/start")
    assert got == 200 and started["status"] == "running", started
    assert os.path.exists(os.path.join(server.directory, "data", "pipelines", "huge.json"))
    got, _ = server.request("DELETE", "/api/pipelines/huge")
    assert got == 204
    assert server.request("GET", "/api/pipelines/huge")[0] == 404
    assert not os.path.exists(os.path.join(server.directory, "data", "checkpoints", "huge"))
    assert not os.path.exists(os.path.join(server.directory, "data", "pipelines", "huge.json"))


def read_events(base: str, path: str, wanted: set[str], timeout_s: float) -> dict[str, dict]:
    """Reads server-sent events until one of each wanted name arrived; returns the first of each."""
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout_s)
    conn.request("GET", path)
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("content-type") == "text/event-stream"
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + timeout_s
    name = None
    try:
        while time.monotonic() < deadline and not wanted <= set(seen):
            line = response.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                seen.setdefault(name, json.loads(line[6:]))
    finally:
        conn.close()
    return seen


def test_server_sent_events_carry_progress_and_new_rows(server):
    import threading
    producer = threading.Thread(target=lambda: (time.sleep(1), server.gen(5000, "--seed", "7", "--start-ms", "1767225900000",
                                                                           "--span-ms", "120000")))
    producer.start()
    try:
        events = read_events(server.base, "/api/events", {"progress", "rows", "overview", "alert"}, 30)
    finally:
        producer.join()
    assert {"progress", "rows", "overview", "alert"} <= set(events), events.keys()
    assert events["progress"]["progress"]["batchId"] >= 0 and events["rows"]["rows"][0]["category"]
    # The big purchases go to a table named purchase_alerts: its rows are alert events too.
    assert events["alert"]["query"] == "purchase_alerts" and float(events["alert"]["rows"][0]["amount"]) > 450
    only = read_events(server.base, "/api/events?pipeline=revenue", {"overview"}, 10)
    assert only, "no overview event"
    assert any(t["name"] == "purchases" for t in events["overview"]["topics"])


def metric_values(text: str, name: str) -> list[float]:
    return [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{") or line.startswith(name + " ")]


def test_metrics_scraped_by_a_real_prometheus(server, tmp_path):
    # A request the broker refuses is counted by API and error code.
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    futures = admin.create_topics([NewTopic("purchases", 1, 1)])
    with pytest.raises(Exception, match="TOPIC_ALREADY_EXISTS"):
        futures["purchases"].result(timeout=10)
    status, text = server.request("GET", "/metrics")
    assert status == 200
    assert metric_values(text, 'eddy_broker_response_errors_total{api="CreateTopics",code="TOPIC_ALREADY_EXISTS"}') == [1.0], \
        [l for l in text.splitlines() if "errors_total" in l]
    for name in ["eddy_pipeline_input_rows_total", "eddy_pipeline_output_rows_total", "eddy_pipeline_batch_duration_seconds_count",
                 "eddy_pipeline_end_to_end_latency_seconds_count", "eddy_pipeline_record_latency_seconds_count", "eddy_pipeline_dead_letter_rows_total",
                 "eddy_consumer_group_lag_records", "eddy_topic_log_end_offset", "eddy_broker_requests_total", "eddy_pipeline_up",
                 "eddy_broker_request_duration_seconds_count", "eddy_broker_request_bytes_total", "eddy_broker_fsync_duration_seconds_count",
                 "eddy_pipeline_state_checkpoint_bytes_total"]:
        assert metric_values(text, name), f"{name} missing from /metrics"
    assert sum(metric_values(text, "eddy_pipeline_input_rows_total")) >= 19000  # malformed lines are dead letters, not input rows
    # Data quality: every column's NULL count has a series; the generator's malformed lines by cause.
    revenue_nulls = [l for l in text.splitlines() if l.startswith('eddy_source_null_values_total{') and 'pipeline="revenue"' in l]
    assert {l.split('column="')[1].split('"')[0] for l in revenue_nulls} >= {"category", "amount", "event_time"}, revenue_nulls
    causes = {l.split('cause="')[1].split('"')[0] for l in text.splitlines()
              if l.startswith("eddy_source_malformed_records_total{") and 'pipeline="revenue"' in l}
    assert {"malformedJSON", "typeMismatch"} <= causes, causes

    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus is not installed (scripts/setup.sh installs Debian's prometheus)"
    rules = os.path.join(REPO_ROOT, "deploy", "prometheus", "eddy-alerts.yml")
    check = subprocess.run([shutil.which("promtool"), "check", "rules", rules], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    # Every query of the Grafana dashboard is valid PromQL over metrics /metrics serves: checked as
    # recording rules (with the dashboard's variables set), then evaluated by Prometheus below.
    dashboard = json.load(open(os.path.join(REPO_ROOT, "deploy", "grafana", "eddy-dashboard.json")))
    expressions = [t["expr"].replace("$pipeline", ".*") for p in dashboard["panels"] for t in p["targets"]]
    assert len(expressions) >= 12
    for expression in expressions:
        names = {n for n in __import__("re").findall(r"(eddy_[a-z_]+)", expression)}
        served = {n.removesuffix("_bucket") for n in names}
        for name in served:
            assert f"{name}" in text, f"the dashboard queries {name}, which /metrics does not serve"
    dashboard_rules = tmp_path / "dashboard-rules.yml"
    dashboard_rules.write_text("groups:\n  - name: dashboard\n    rules:\n" + "".join(
        f"      - record: eddy:dashboard_{i}\n        expr: {json.dumps(e)}\n" for i, e in enumerate(expressions)))
    check = subprocess.run([shutil.which("promtool"), "check", "rules", str(dashboard_rules)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{json.dumps(rules)}, {json.dumps(str(tmp_path / "dashboard-rules.yml"))}]
scrape_configs:
  - job_name: eddy
    static_configs: [{{targets: ["127.0.0.1:{server.http_port}"]}}]
""")
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    # A group that stopped reading early: its lag is large and steady, whatever the timing of scrapes.
    from confluent_kafka import Consumer, TopicPartition
    laggard = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "laggard", "enable.auto.commit": False})
    laggard.commit(offsets=[TopicPartition("purchases", 0, 5)], asynchronous=False)
    laggard.close()
    feeder = subprocess.Popen([eddy_bin(), "gen", "purchases", "--count", "90000", "--rate", "3000", "--seed", "11",
                               "--start-ms", "1767226000000", "--bootstrap-server", server.bootstrap, "--topic", "purchases"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def query(expression: str) -> float | None:
        try:
            url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(expression)}"
            with urllib.request.urlopen(url, timeout=5) as r:
                result = json.load(r)["data"]["result"]
            return max(float(s["value"][1]) for s in result) if result else None
        except (OSError, ValueError, KeyError):
            return None

    try:
        checks = {
            "throughput (rows/s)": "sum(rate(eddy_pipeline_input_rows_total[5s]))",
            "consumer lag (records)": "max(eddy_consumer_group_lag_records)",
            "end-to-end latency p99 (s)": "histogram_quantile(0.99, sum by (le) (rate(eddy_pipeline_record_latency_seconds_bucket[10s])))",
            "batches": "sum(eddy_pipeline_batches_total)",
        }
        found: dict[str, float] = {}

        def all_plausible():
            for label, expression in checks.items():
                value = query(expression)
                if value is not None and value > 0 and value == value:
                    found[label] = value
            return len(found) == len(checks)
        try:
            wait_until(all_plausible, 40, "Prometheus to see non-zero values")
        except AssertionError:
            log.flush()
            raise AssertionError(f"Prometheus saw {found}, not all of {list(checks)}; its log:\n"
                                 + (tmp_path / "prometheus.log").read_text()[-3000:])
        assert found["throughput (rows/s)"] < 1e6
        print("prometheus saw: " + ", ".join(f"{k} {v:.3g}" for k, v in found.items()))
        status, rules_state = 200, json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rules", timeout=5))
        names = {r["name"] for g in rules_state["data"]["groups"] for r in g["rules"]}
        assert {"EddyConsumerLagHigh", "EddyPipelineNoProgress", "EddyDeadLettersRising", "EddyPipelineDown"} <= names, names
        evaluated = [r for g in rules_state["data"]["groups"] if g["name"] == "dashboard" for r in g["rules"]]
        assert len(evaluated) == len(expressions) and all(r["health"] == "ok" for r in evaluated), evaluated
    finally:
        feeder.kill()
        feeder.wait()
        proc.terminate()
        proc.wait(10)


def test_dashboard_in_headless_chromium(server):
    from playwright.sync_api import sync_playwright
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed (scripts/setup.sh installs Debian's chromium)"
    os.makedirs(ARTEFACTS, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            page.goto(server.base + "/#/pipelines/revenue")
            page.wait_for_selector("#results-revenue tbody tr", timeout=20000)
            page.wait_for_function("document.querySelector('#live').textContent === 'live'", timeout=10000)
            header = [th.inner_text().split("\n")[0] for th in page.query_selector_all("#results-revenue thead th")]
            assert header == ["window_start", "window_end", "category", "orders", "revenue"]
            shown = []
            for tr in page.query_selector_all("#results-revenue tbody tr"):
                cells = [td.inner_text() for td in tr.query_selector_all("td")]
                shown.append((as_key(cells[0]), cells[2], int(cells[3]), round(float(cells[4]), 2)))
            db = {(as_key(w), c): (o, round(float(r), 2)) for w, c, o, r in sqlite_rows(server.directory)}
            assert len(shown) == min(50, len(db)), (len(shown), len(db))
            for key_w, category, orders, revenue in shown:
                assert db.get((key_w, category)) == (orders, revenue), (key_w, category, orders, revenue)
            # The windowed result is drawn as a time series per category (the 10 with the most orders
            # among the rows the page holds); each line ends at the category's newest window in SQLite.
            svg = page.query_selector("#chart-results-revenue svg")
            assert svg is not None
            drawn = [t.text_content() for t in page.query_selector_all("#chart-results-revenue svg path title")]
            categories = {c for _, c in db}
            assert len(drawn) == min(10, len(categories)) and all(d.removeprefix("category = ") in categories for d in drawn), drawn
            newest: dict[str, tuple[str, int]] = {}
            for (window, category), (orders, _) in db.items():
                if category not in newest or int(window) > int(newest[category][0]):
                    newest[category] = (window, orders)
            label = svg.get_attribute("aria-label").split("Latest: ", 1)[1]
            for part in label.split("; "):
                name, value = part.rsplit(": ", 1)
                assert float(value) == newest[name.removeprefix("category = ")][1], (part, newest)
            assert page.query_selector("#pipeline-status").inner_text() == "running"
            page.screenshot(path=os.path.join(ARTEFACTS, "dashboard-pipeline.png"), full_page=True)

            page.goto(server.base + "/#/")
            page.wait_for_selector("#chart-throughput svg path", timeout=20000)
            assert page.query_selector("#tile-running .value").inner_text() == "2 of 2"
            for chart_id in ["chart-throughput", "chart-latency", "chart-lag", "chart-batch", "chart-watermark", "chart-errors"]:
                assert page.query_selector(f"#{chart_id} svg"), chart_id
            assert page.query_selector("#pipelines tbody").inner_text().count("running") == 2
            page.screenshot(path=os.path.join(ARTEFACTS, "dashboard-overview.png"), full_page=True)

            # Rows of a table named *alert* are a live feed on the Alerts page.
            page.goto(server.base + "/#/alerts")
            page.wait_for_selector("#alerts li", timeout=10000)
            items = page.query_selector_all("#alerts li")
            assert items and all("purchase_alerts" in i.inner_text() and "amount=" in i.inner_text() for i in items[:20])
            page.screenshot(path=os.path.join(ARTEFACTS, "dashboard-alerts.png"), full_page=False)

            page.goto(server.base + "/#/topics/purchases")
            page.wait_for_selector("#records tbody tr", timeout=10000)
            assert "category" in page.query_selector("#records tbody").inner_text()
            page.goto(server.base + "/#/groups")
            page.wait_for_selector("#groups tbody tr", timeout=10000)
            assert "revenue" in page.query_selector("#groups tbody").inner_text()
            page.screenshot(path=os.path.join(ARTEFACTS, "dashboard-groups.png"), full_page=True)

            # Keyboard: the sections are reachable by Tab and open with Enter.
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(server.base + "/#/")
            page.wait_for_selector("#chart-throughput", timeout=10000)
            page.keyboard.press("Tab")  # the skip link
            assert page.evaluate("document.activeElement.className") == "skip"
            page.keyboard.press("Tab")  # home
            page.keyboard.press("Tab")  # Overview
            page.keyboard.press("Tab")  # Pipelines
            assert page.evaluate("document.activeElement.textContent") == "Pipelines"
            page.keyboard.press("Enter")
            page.wait_for_selector("#new-pipeline", timeout=5000)
        finally:
            browser.close()
    assert not errors, errors


def test_sigterm_stops_cleanly_and_a_restart_resumes_without_duplicates(server):
    before = sqlite_rows(server.directory)
    assert server.stop() == 0, server.log()
    assert "eddy server: stopped" in server.log()
    server.start()
    wait_until(lambda: all(p["status"] == "running" for p in server.get("/api/pipelines")["pipelines"]), 15, "pipelines running again")
    # Before any new row, the results come back from the SQLite table itself (the newest by insertion).
    results = server.get("/api/pipelines/revenue/results?limit=1000")
    assert [c["name"] for c in results["columns"]] == ["window_start", "window_end", "category", "orders", "revenue"]
    shown = sorted((as_key(r["window_start"]), r["category"], r["orders"], round(float(r["revenue"]), 2)) for r in results["rows"])
    newest = sorted((as_key(w), c, o, round(float(r), 2)) for w, c, o, r in sqlite_rows(server.directory))
    assert len(shown) == min(1000, len(newest)) and set(shown) <= set(newest), (len(shown), len(newest))
    # The same for a topic sink: the newest values of big-purchases.
    big = server.get("/api/pipelines/big/results?limit=5")["rows"]
    assert len(big) == 5 and all(float(r["amount"]) > 450 for r in big), big
    server.gen(3000, "--seed", "9", "--start-ms", "1767234000000", "--span-ms", "180000")
    wait_until(lambda: len(sqlite_rows(server.directory)) > len(before), 30, "new windows after the restart")
    rows = sqlite_rows(server.directory)
    keys = [(w, c) for w, c, _, _ in rows]
    assert len(keys) == len(set(keys)), "a window was written twice"
    assert set(before) <= set(rows)


class Receiver:
    """A webhook receiver on loopback: answers each POST with the next status of `script` (then 200),
    and keeps the bodies and Idempotency-Keys it took."""

    def __init__(self, script: list[int]):
        import http.server
        import threading
        self.script = list(script)
        self.taken: list[tuple[str, list]] = []
        self.attempts: list[str] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                receiver.attempts.append(key)
                status = receiver.script.pop(0) if receiver.script else 200
                if status == 200:
                    receiver.taken.append((key, json.loads(body)))
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_sink_posts_alerts_at_least_once_with_retries(server):
    receiver = Receiver([503, 429, 500])
    try:
        sql = BIG_SQL.replace("CREATE TABLE purchase_alerts WITH ('connector' = 'kafka', 'topic' = 'big-purchases', 'format' = 'json')",
                              f"CREATE TABLE hooked WITH ('connector' = 'webhook', 'url' = '{receiver.url}', 'sink.batch-size' = '50', "
                              "'sink.retry-backoff' = '50 ms', 'headers.X-Team' = 'fraud')")
        got, created = server.request("POST", "/api/pipelines", {"name": "hook", "sql": sql})
        assert got == 201, created
        topic = server.get("/api/topics/big-purchases")
        # Each batch is a transaction: its marker takes an offset too, so the count is read.
        expected = len(read_records(f"127.0.0.1:{server.kafka_port}", "big-purchases", "read_committed", len(topic["partitions"])))
        wait_until(lambda: sum(len(rows) for _, rows in receiver.taken) >= expected, 30, "the webhook to take every big purchase")
        rows = [row for _, rows in receiver.taken for row in rows]
        assert len(rows) == expected and all(float(r["amount"]) > 450 for r in rows)
        assert len({r["event_id"] for r in rows}) == expected, "a row was taken twice"
        assert all(len(rows) <= 50 for _, rows in receiver.taken)
        # The first request failed three times (503, 429 with Retry-After, 500) and went through on the
        # fourth attempt with the same Idempotency-Key.
        assert receiver.attempts[:4] == [receiver.attempts[0]] * 4, receiver.attempts[:5]
        assert server.get("/api/pipelines/hook")["status"] == "running"
    finally:
        server.request("DELETE", "/api/pipelines/hook")
        receiver.close()

    # A receiver that refuses the content (400): the rows become dead letters, the pipeline goes on.
    refusing = Receiver([400] * 10_000)
    try:
        sql = BIG_SQL.replace("CREATE TABLE purchase_alerts WITH ('connector' = 'kafka', 'topic' = 'big-purchases', 'format' = 'json')",
                              f"CREATE TABLE refused WITH ('connector' = 'webhook', 'url' = '{refusing.url}', 'sink.batch-size' = '1000')")
        sql = sql.replace("amount > 450", "amount > 495")  # fewer than 1000 refused rows a batch (SinkContext.rejectedRowsMax)
        got, created = server.request("POST", "/api/pipelines", {"name": "refused", "sql": sql})
        assert got == 201, created
        wait_until(lambda: any(d["reason"] == "rejected" for d in server.get("/api/pipelines/refused/dead-letters?limit=10")["deadLetters"]),
                   30, "rejected rows in the dead letters")
        letter = server.get("/api/pipelines/refused/dead-letters?limit=1")["deadLetters"][0]
        assert "HTTP 400" in letter["detail"] and "event_id" in letter["value"]
        assert server.get("/api/pipelines/refused")["status"] == "running"
    finally:
        server.request("DELETE", "/api/pipelines/refused")
        refusing.close()
