"""Every `eddy` command that cannot do its job says so on stderr, naming the cause (the flag, the
address, the path), and exits non-zero, so a supervisor or a script never takes a failure for a
clean stop. Loopback only; every run is bounded by a timeout; files live under pytest's tmp_path.

An unreachable bootstrap server for `eddy gen --topic` is covered by test_gen_topic.py."""

from __future__ import annotations

import socket
import subprocess

import pytest

from conftest import eddy_bin

TIMEOUT_S = 30
USAGE_ERROR = 64  # ArgumentParser's exit code for a bad flag (EX_USAGE)


def eddy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([eddy_bin(), *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT_S,
                          stdin=subprocess.DEVNULL)


def assert_fails(result: subprocess.CompletedProcess, *causes: str, code: int | None = None) -> None:
    assert result.returncode != 0, f"exit 0\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
    if code is not None:
        assert result.returncode == code, result.stderr
    for cause in causes:
        assert cause in result.stderr, f"{cause!r} not in stderr:\n{result.stderr[-2000:]}"


@pytest.fixture
def taken_port():
    """A loopback port something else is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a directory\n")
    return path


# eddy broker

@pytest.mark.parametrize("args, cause", [
    (["--listen", "127.0.0.1"], "--listen must be host:port"),
    (["--listen", "127.0.0.1:70000"], "--listen must be host:port"),
    (["--num-partitions", "0"], "--num-partitions must be positive"),
    (["--no-such-flag"], "--no-such-flag"),
])
def test_broker_refuses_bad_flags(tmp_path, args, cause):
    assert_fails(eddy("broker", "--data-dir", tmp_path / "data", *args), cause, code=USAGE_ERROR)


def test_broker_needs_a_data_dir():
    assert_fails(eddy("broker"), "--data-dir", code=USAGE_ERROR)


def test_broker_on_a_taken_port_fails(tmp_path, taken_port):
    result = eddy("broker", "--data-dir", tmp_path / "data", "--listen", f"127.0.0.1:{taken_port}")
    assert_fails(result, f"cannot listen on 127.0.0.1:{taken_port}", "Address already in use")


def test_broker_on_an_address_not_of_this_host_fails(tmp_path):
    # 192.0.2.0/24 is TEST-NET-1: never a local address, so bind fails at once (no DNS involved).
    result = eddy("broker", "--data-dir", tmp_path / "data", "--listen", "192.0.2.1:9092")
    assert_fails(result, "cannot listen on 192.0.2.1:9092", "Cannot assign requested address")


def test_broker_data_dir_under_a_file_fails(a_file):
    result = eddy("broker", "--data-dir", a_file / "data", "--listen", "127.0.0.1:0")
    assert_fails(result, f"cannot create the data directory {a_file / 'data'}", "Not a directory")
    assert "NSCocoaErrorDomain" not in result.stderr


def test_broker_data_dir_that_is_a_file_fails(a_file):
    result = eddy("broker", "--data-dir", a_file, "--listen", "127.0.0.1:0")
    assert_fails(result, f"the data directory {a_file}", "not a directory")
    assert "NSCocoaErrorDomain" not in result.stderr


def test_broker_data_dir_in_use_fails(broker):
    result = eddy("broker", "--data-dir", broker.data_dir, "--listen", "127.0.0.1:0")
    assert_fails(result, f"the data directory {broker.data_dir} is in use by another broker")
    assert broker.running(), "the first broker is untouched"


def test_broker_with_stored_topic_configs_that_do_not_parse_fails(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "eddy-topics.json").write_text(
        '[{"name": "kept", "id": "00000000000000000000000000000001", "partitions": 1, '
        '"configs": {"retention.ms": "forever"}}]')
    result = eddy("broker", "--data-dir", data, "--listen", "127.0.0.1:0")
    assert_fails(result, str(data / "eddy-topics.json"), "kept", "retention.ms")


# eddy demo

def test_demo_refuses_bad_flags(tmp_path):
    assert_fails(eddy("demo", "--data-dir", tmp_path, "--partitions", "0"), "must be positive", code=USAGE_ERROR)
    assert_fails(eddy("demo", "--data-dir", tmp_path, "--listen", "nowhere"), "--listen must be host:port",
                 code=USAGE_ERROR)


def test_demo_on_a_taken_port_fails(tmp_path, taken_port):
    result = eddy("demo", "--data-dir", tmp_path / "demo", "--listen", f"127.0.0.1:{taken_port}")
    assert_fails(result, f"cannot listen on 127.0.0.1:{taken_port}", "Address already in use")


def test_demo_data_dir_under_a_file_fails(a_file):
    result = eddy("demo", "--data-dir", a_file / "demo", "--listen", "127.0.0.1:0")
    assert_fails(result, f"cannot create the data directory {a_file / 'demo' / 'broker'}", "Not a directory")


# eddy gen

@pytest.mark.parametrize("args, cause", [
    (["nonsense"], "unknown kind nonsense"),
    (["purchases", "--files", "0"], "--files"),
    (["purchases", "--disorder", "2"], "--disorder"),
    (["purchases", "--topic", "t"], "--bootstrap-server and --topic go together"),
    (["purchases", "--live"], "--live needs --rate"),
    (["purchases", "--rate", "0"], "--rate must be positive"),
])
def test_gen_refuses_bad_flags(args, cause):
    assert_fails(eddy("gen", *args), cause, code=USAGE_ERROR)


def test_gen_out_under_a_file_fails(a_file):
    assert_fails(eddy("gen", "purchases", "--count", "10", "--out", a_file / "out"), str(a_file / "out"))


# eddy run

def sql_file(tmp_path, input_path) -> str:
    path = tmp_path / "q.sql"
    path.write_text(
        "CREATE TABLE p (category STRING, amount DECIMAL(10, 2), event_time TIMESTAMP(3),\n"
        "  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND)\n"
        f"  WITH ('connector' = 'filesystem', 'path' = '{input_path}', 'format' = 'json');\n"
        f"CREATE TABLE o WITH ('connector' = 'filesystem', 'path' = '{tmp_path / 'out'}', 'format' = 'json') AS\n"
        "SELECT window_start, category, COUNT(*) AS n FROM TUMBLE(p, event_time, INTERVAL '1' MINUTE)\n"
        "GROUP BY window_start, window_end, category;\n")
    return str(path)


@pytest.mark.parametrize("args, cause", [
    (["--max-bytes-per-trigger", "0"], "--max-bytes-per-trigger must be positive"),
    (["--interval-ms=-1"], "--interval-ms must not be negative"),
    (["--listen", "nowhere"], "--listen must be host:port"),
])
def test_run_refuses_bad_flags(tmp_path, args, cause):
    result = eddy("run", sql_file(tmp_path, tmp_path), *args)
    assert_fails(result, cause, code=USAGE_ERROR)


def test_run_missing_input_fails(tmp_path):
    result = eddy("run", sql_file(tmp_path, tmp_path / "missing"), "--checkpoint", tmp_path / "cp", "--bounded")
    assert_fails(result, str(tmp_path / "missing"))


def test_run_checkpoint_under_a_file_fails(tmp_path, a_file):
    result = eddy("run", sql_file(tmp_path, tmp_path), "--checkpoint", a_file / "cp", "--bounded")
    assert_fails(result, str(a_file / "cp"))


# eddy inspect

def test_inspect_missing_file_fails(tmp_path):
    assert_fails(eddy("inspect", tmp_path / "missing.bin"), f"{tmp_path / 'missing.bin'}: cannot read the file")


def test_inspect_bad_frame_size_fails(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\xff\xff\xff\xfb" + b"x" * 8)  # size -5
    assert_fails(eddy("inspect", bad), str(bad), "frame size -5 is negative")


def test_inspect_truncated_frame_fails(tmp_path):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(b"\x00\x00\x00\x10" + b"x" * 6)
    assert_fails(eddy("inspect", cut), str(cut), "10 trailing bytes do not make a whole frame")


def test_inspect_refuses_bad_flags(tmp_path):
    assert_fails(eddy("inspect", "--max-frame-bytes", "0", tmp_path / "x.bin"), "--max-frame-bytes must be positive",
                 code=USAGE_ERROR)
    assert_fails(eddy("inspect"), "files", code=USAGE_ERROR)


# eddy lake compact

@pytest.mark.parametrize("args, cause", [
    (["--target-file-size", "12"], "--target-file-size is a size of at least 1 KiB"),
    (["--target-file-size", "lots"], "--target-file-size is a size of at least 1 KiB"),
    (["--min-age-seconds=-1"], "--min-age-seconds must not be negative"),
])
def test_lake_compact_refuses_bad_flags(tmp_path, args, cause):
    assert_fails(eddy("lake", "compact", tmp_path, *args), cause, code=USAGE_ERROR)


def test_lake_compact_refuses_a_directory_without_a_log(tmp_path):
    assert_fails(eddy("lake", "compact", tmp_path), f"{tmp_path} has no _eddy_log/")


# eddy server


def test_server_refuses_bad_options_naming_where_they_came_from(tmp_path, taken_port, a_file):
    data = tmp_path / "data"
    assert_fails(eddy("server", "--data-dir", data, "--http-listen", "nowhere"), "--http-listen must be host:port")
    assert_fails(eddy("server", "--data-dir", data, "--pipelines", a_file), "is not a directory")
    assert_fails(eddy("server", "--data-dir", data, "--interval-ms", "soon"), "--interval-ms")
    config = tmp_path / "eddy.conf"
    config.write_text("# comment\nhttp-listen = 127.0.0.1:1\nfavourite-colour = blue\n")
    assert_fails(eddy("server", "--data-dir", data, "--config", config), "unknown option `favourite-colour`", f"{config}:3")
    config.write_text("num-partitions = none\n")
    assert_fails(eddy("server", "--data-dir", data, "--config", config), f"{config}: num-partitions must be a positive number")
    result = subprocess.run([eddy_bin(), "server", "--data-dir", str(data)], capture_output=True, text=True, timeout=TIMEOUT_S,
                            stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "EDDY_LOG_LEVEL": "loud"})
    assert_fails(result, "EDDY_LOG_LEVEL must be one of")
    # The HTTP port is taken: the server says so and exits non-zero (it does not run without its API).
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    kafka = port.getsockname()[1]
    port.close()
    assert_fails(eddy("server", "--data-dir", data, "--listen", f"127.0.0.1:{kafka}", "--http-listen", f"127.0.0.1:{taken_port}"),
                 "Address already in use")


def test_server_options_come_from_flags_then_environment_then_config_file(tmp_path):
    import json
    import os
    import time
    import urllib.request
    from conftest import free_port, port_accepts

    ports = [free_port() for _ in range(4)]
    config = tmp_path / "eddy.conf"
    config.write_text(f'http-listen = "127.0.0.1:{ports[0]}"\ninterval-ms = 300\n')

    def started(args, env_port=None):
        env = {"PATH": "/usr/bin:/bin"}
        if env_port:
            env["EDDY_HTTP_LISTEN"] = f"127.0.0.1:{env_port}"
        env["EDDY_CONFIG"] = str(config)
        proc = subprocess.Popen([eddy_bin(), "server", "--data-dir", str(tmp_path / "data"), "--listen", f"127.0.0.1:{ports[3]}", *args],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                for p in ports[:3]:
                    if port_accepts(p):
                        info = json.load(urllib.request.urlopen(f"http://127.0.0.1:{p}/api/info", timeout=5))
                        return info["http"]
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.05)
            raise AssertionError("eddy server did not listen")
        finally:
            proc.terminate()
            assert proc.wait(20) == 0

    assert started([]) == f"127.0.0.1:{ports[0]}"                       # the config file (named by EDDY_CONFIG)
    assert started([], env_port=ports[1]) == f"127.0.0.1:{ports[1]}"    # the environment wins over the file
    assert started(["--http-listen", f"127.0.0.1:{ports[2]}"], env_port=ports[1]) == f"127.0.0.1:{ports[2]}"  # the flag wins
