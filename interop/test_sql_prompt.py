"""`eddy sql`'s interactive prompt on a real pseudo-terminal: a statement typed and run, a typo fixed
with Left, Backspace and an insert across multi-byte characters, a multi-line statement with a
`--` comment, Ctrl-C dropping a half-typed statement, Up recalling the last statement, Ctrl-D; the
history file named by EDDY_HISTORY (one statement a line, no consecutive duplicate) is checked, and
loaded again by a second session. The terminal must be in raw mode at the prompt and back in its
original mode after Ctrl-D and after a SIGTERM at the prompt.

No broker. Every read waits at most EXPECT_TIMEOUT_S, and a child still running when a test ends is
killed."""

from __future__ import annotations

import os
import pty
import select
import signal
import termios
import time

from conftest import eddy_bin

EXPECT_TIMEOUT_S = 20
EXIT_TIMEOUT_S = 10

UP = b"\x1b[A"
LEFT = b"\x1b[D"
BACKSPACE = b"\x7f"
CTRL_C = b"\x03"
CTRL_D = b"\x04"
ENTER = b"\r"

CREATE = "CREATE TABLE t (n BIGINT) WITH ('connector' = 'filesystem', 'path' = 'data', 'format' = 'json');"


class Prompt:
    """`eddy sql` with a pseudo-terminal as its standard input, output and error; the test types
    into the pty's master side and reads what the prompt draws."""

    def __init__(self, cwd, history_path):
        env = dict(os.environ, EDDY_HISTORY=str(history_path), TERM="xterm")
        binary = eddy_bin()
        assert os.access(binary, os.X_OK), f"eddy binary not found: {binary} (build it first)"
        pid, fd = pty.fork()
        if pid == 0:  # the child: nothing but exec (or exit), whatever happens
            try:
                os.chdir(cwd)
                os.execve(binary, [binary, "sql"], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = b""  # everything the prompt wrote so far
        self.seen = 0  # where the next expect() starts looking
        self.exit_code = None

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def _read(self, timeout: float) -> bool:
        """Reads what is there within `timeout`; False once the child closed the terminal."""
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: no process has the terminal open any more
            chunk = b""
        self.output += chunk
        return bool(chunk)

    def expect(self, text) -> bytes:
        """Waits for `text` after what the previous expect() matched; returns the output up to it."""
        needle = text.encode() if isinstance(text, str) else text
        deadline = time.monotonic() + EXPECT_TIMEOUT_S
        while (at := self.output.find(needle, self.seen)) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                why = "timed out" if left <= 0 else "eddy sql ended"
                raise AssertionError(f"{why} waiting for {needle!r}; output:\n{self.transcript()}")
        start, self.seen = self.seen, at + len(needle)
        return self.output[start:self.seen]

    def wait(self) -> int:
        """Waits for the child to end (reading its output meanwhile); its exit code, -N for signal N."""
        deadline = time.monotonic() + EXIT_TIMEOUT_S
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_code = os.waitstatus_to_exitcode(status)
                return self.exit_code
            self._read(0.05)
        raise AssertionError(f"eddy sql still runs {EXIT_TIMEOUT_S} s later; output:\n{self.transcript()}")

    def local_flags(self) -> int:
        """The terminal's c_lflag (the master side reports the pty's settings)."""
        return termios.tcgetattr(self.fd)[3]

    def raw(self) -> bool:
        return self.local_flags() & (termios.ECHO | termios.ICANON | termios.ISIG) == 0

    def cooked(self) -> bool:
        flags = termios.ECHO | termios.ICANON | termios.ISIG
        return self.local_flags() & flags == flags

    def transcript(self) -> str:
        return self.output.decode("utf-8", "replace")

    def close(self) -> None:
        if self.exit_code is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except ProcessLookupError:
                pass
        os.close(self.fd)


def workspace(tmp_path):
    """A directory with data/one.json, the one row of table `t`."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "one.json").write_text('{"n": 1}\n')
    return tmp_path


def test_editing_multi_line_statements_and_history(tmp_path):
    history = tmp_path / "history"
    prompt = Prompt(workspace(tmp_path), history)
    try:
        prompt.expect("eddy> ")
        assert prompt.raw(), "the terminal is not in raw mode at the prompt"
        prompt.type(CREATE.encode() + ENTER)
        prompt.expect("created table `t`")

        prompt.expect("eddy> ")
        prompt.type(b"SELECT n + 1 AS two FROM t;" + ENTER)
        table = prompt.expect("1 row")
        assert b"| two |" in table and b"| 2   |" in table, prompt.transcript()

        # A typo (X) before two multi-byte characters: Left back over them to just after it, Backspace, insert.
        prompt.expect("eddy> ")
        typed = "SELECT 'crXme brûlée' AS dessert FROM t;"
        after_typo = typed[typed.index("X") + 1:]
        prompt.type(typed.encode() + LEFT * len(after_typo) + BACKSPACE + "è".encode() + ENTER)
        table = prompt.expect("1 row")
        assert "| crème brûlée |" in table.decode(), prompt.transcript()

        # Over two lines, the first with a comment.
        prompt.expect("eddy> ")
        prompt.type(b"SELECT n * 42 -- the answer" + ENTER)
        prompt.expect("   -> ")
        prompt.type(b"  AS product FROM t;" + ENTER)
        table = prompt.expect("1 row")
        assert b"| product |" in table and b"| 42      |" in table, prompt.transcript()

        # Ctrl-C drops the line and the statement begun on the line before.
        prompt.expect("eddy> ")
        prompt.type(b"SELECT oops" + ENTER)
        prompt.expect("   -> ")
        prompt.type(b"FROM" + CTRL_C)
        prompt.expect("^C")
        prompt.expect("eddy> ")

        # Up gives back the last statement, joined on one line; Enter runs it again.
        prompt.type(UP)
        prompt.expect("eddy> SELECT n * 42 AS product FROM t;")
        prompt.type(ENTER)
        table = prompt.expect("1 row")
        assert b"| 42      |" in table and b"error" not in table.lower(), prompt.transcript()

        prompt.expect("eddy> ")
        prompt.type(CTRL_D)
        assert prompt.wait() == 0, prompt.transcript()
        assert prompt.cooked(), "the terminal was left in raw mode after Ctrl-D"
    finally:
        prompt.close()

    assert history.read_text(encoding="utf-8").splitlines() == [
        CREATE,
        "SELECT n + 1 AS two FROM t;",
        "SELECT 'crème brûlée' AS dessert FROM t;",
        "SELECT n * 42 AS product FROM t;",  # once: the recalled run was the same statement again
    ]


def test_history_loaded_and_terminal_restored_on_sigterm(tmp_path):
    history = tmp_path / "history"
    history.write_text("SELECT n AS older FROM t;\nSELECT n AS newest FROM t;\n", encoding="utf-8")
    prompt = Prompt(workspace(tmp_path), history)
    try:
        prompt.expect("eddy> ")
        prompt.type(b"SELECT half")
        prompt.type(UP + UP)  # the line is drawn once the input read is used up: maybe only the second
        prompt.expect("eddy> SELECT n AS older FROM t;")
        prompt.type(b"\x1bOB")  # Down (the SS3 form)
        prompt.expect("eddy> SELECT n AS newest FROM t;")
        prompt.type(b"\x1bOB")  # Down past the newest: the line being typed comes back
        prompt.expect("eddy> SELECT half")
        assert prompt.raw(), "the terminal is not in raw mode at the prompt"
        os.kill(prompt.pid, signal.SIGTERM)
        assert prompt.wait() == -signal.SIGTERM, prompt.transcript()
        assert prompt.cooked(), "the terminal was left in raw mode after SIGTERM"
    finally:
        prompt.close()
    # Nothing was entered, so the file is as it was.
    assert history.read_text(encoding="utf-8") == "SELECT n AS older FROM t;\nSELECT n AS newest FROM t;\n"
