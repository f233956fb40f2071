"""Fixtures for the interop tests: a real `eddy broker` process per test.

The binary comes from $EDDY_BIN (default: .build/debug/eddy; a relative path is taken from the
repository root). Each test gets a broker of its own, on a free port, with a fresh data directory:

    eddy broker --data-dir <tmp>/data --listen 127.0.0.1:<port> [extra args]

A test asks for extra broker arguments with a marker (on the test, its class or its module):

    @pytest.mark.broker_args("--num-partitions", "3", "--auto-create-topics", "false")

The fixture fails the test (it never skips) when the binary is missing or the broker does not
listen within BROKER_START_TIMEOUT_S, and shows the broker's output when anything goes wrong.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import warnings

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEFAULT_BIN = ".build/debug/eddy"
BROKER_START_TIMEOUT_S = 20.0
BROKER_STOP_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 4000


def eddy_bin() -> str:
    path = os.environ.get("EDDY_BIN", DEFAULT_BIN)
    return path if os.path.isabs(path) else os.path.join(REPO_ROOT, path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Broker:
    """One `eddy broker` process; restart() keeps the data directory and the port."""

    def __init__(self, binary: str, data_dir: str, log_path: str, extra_args=()):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_args = [str(a) for a in extra_args]
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._expected_exit = False

    @property
    def argv(self) -> list[str]:
        return [self.binary, "broker", "--data-dir", self.data_dir, "--listen", self.bootstrap, *self.extra_args]

    def start(self) -> None:
        if not os.path.isfile(self.binary) or not os.access(self.binary, os.X_OK):
            pytest.fail(f"eddy binary not found or not executable: {self.binary}\n"
                        f"Build it first (`swift build`) or point EDDY_BIN at it.", pytrace=False)
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts}: {' '.join(self.argv)}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=REPO_ROOT)
        log.close()
        self._expected_exit = False
        try:
            self._wait_listening()
        except BaseException:  # a failed start, or the test's timeout: leave no process behind
            self.kill()
            raise

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + BROKER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"eddy broker exited with status {self.proc.returncode} before listening on "
                            f"{self.bootstrap}\n$ {' '.join(self.argv)}\n{self.log_tail()}", pytrace=False)
            if port_accepts(self.port):
                return
            time.sleep(0.05)
        pytest.fail(f"eddy broker did not accept connections on {self.bootstrap} within "
                    f"{BROKER_START_TIMEOUT_S:.0f} s\n$ {' '.join(self.argv)}\n{self.log_tail()}", pytrace=False)

    def stop(self) -> int | None:
        """SIGTERM, wait up to BROKER_STOP_TIMEOUT_S, then SIGKILL. Returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self._expected_exit = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(BROKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            message = f"eddy broker ignored SIGTERM for {BROKER_STOP_TIMEOUT_S:.0f} s: sent SIGKILL"
            self._note(message)
            warnings.warn(message)
            return self.kill()

    def kill(self) -> int | None:
        """SIGKILL, as a crash would, and reap the process."""
        if self.proc is None:
            return None
        self._expected_exit = True
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(BROKER_STOP_TIMEOUT_S)

    def restart(self) -> None:
        """Stops the broker if it runs (gracefully) and starts it again on the same data dir and port."""
        self.stop()
        self.start()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def died_unexpectedly(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None and not self._expected_exit

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return "(no broker output)"
        text = data[-chars:].decode("utf-8", "replace")
        return f"--- broker output ({self.log_path}, last {len(text)} chars) ---\n{text}"

    def _note(self, message: str) -> None:
        with open(self.log_path, "ab") as f:
            f.write(f"===== {message}\n".encode())


SUMMARY_KEY = pytest.StashKey[list]()


def pytest_configure(config):
    config.addinivalue_line("markers", "broker_args(*args): extra command-line arguments for `eddy broker`")
    config.stash[SUMMARY_KEY] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(SUMMARY_KEY, [])
    if lines:
        terminalreporter.section("eddy interop")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def summary(request):
    """summary(line): print a line now and again in the terminal summary (e.g. durability totals)."""
    def add(line: str) -> None:
        print(line, flush=True)
        request.config.stash[SUMMARY_KEY].append(line)
    return add


def _marker_args(request) -> list[str]:
    args: list[str] = []
    # Outermost first (module, class, function), so a test's own marker comes last and wins.
    for marker in reversed(list(request.node.iter_markers("broker_args"))):
        args.extend(str(a) for a in marker.args)
    return args


@pytest.fixture
def broker(request, tmp_path):
    """A running `eddy broker` with .bootstrap, .data_dir, .stop(), .kill(), .restart()."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    b = Broker(eddy_bin(), str(data_dir), str(tmp_path / "broker.log"), _marker_args(request))
    b.start()
    try:
        yield b
    finally:
        died = b.died_unexpectedly()
        b.stop()
        failed = getattr(getattr(request.node, "rep_call", None), "failed", False)
        if failed and not died:
            print(b.log_tail())
        if died:
            pytest.fail(f"eddy broker died during the test (status {b.proc.returncode})\n{b.log_tail()}",
                        pytrace=False)


@pytest.fixture(scope="session")
def postgres_port():
    """A PostgreSQL server for the session (scripts/pg-test-server.sh): role eddy, password
    eddy-test, database eddy, on a free port of 127.0.0.1. Fails the test when none can start."""
    import tempfile
    directory = tempfile.mkdtemp(prefix="eddy-pg-", dir="/tmp")
    script = os.path.join(REPO_ROOT, "scripts", "pg-test-server.sh")
    started = subprocess.run(["bash", script, "start", directory], capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        pytest.fail(f"PostgreSQL did not start: {started.stderr[-2000:]}")
    try:
        yield int(started.stdout.strip())
    finally:
        subprocess.run(["bash", script, "stop", directory], capture_output=True, timeout=120)
        subprocess.run(["rm", "-rf", directory])
