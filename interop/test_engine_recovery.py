"""Exactly-once under failure: a pipeline run straight through, and the same pipeline killed with
SIGKILL at random moments and restarted on its checkpoint, must leave identical sink output.

The pipeline is `eddy example revenue` (purchases → 1-minute tumbling windows by category: count,
sum and avg of amount, append mode, files sink with a manifest), reading generated JSON lines in
small batches (--max-bytes-per-trigger) so a run has many batches to be killed in. The seed is
printed; EDDY_SEED replays the kill times. EDDY_ENGINE_KILLS sets how many kills (default 6).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

from interop_helpers import committed_rows
from conftest import eddy_bin

EVENTS = 60_000
BATCH_BYTES = 100_000
KILLS = int(os.environ.get("EDDY_ENGINE_KILLS", "6"))
RUN_TIMEOUT_S = 120


def revenue_command(tmp_path, name: str) -> list[str]:
    return [eddy_bin(), "example", "revenue",
            "--input", str(tmp_path / "in"),
            "--output", str(tmp_path / name / "out"),
            "--checkpoint", str(tmp_path / name / "checkpoint"),
            "--bounded", "--trigger", "available-now",
            "--max-bytes-per-trigger", str(BATCH_BYTES)]


def generate(tmp_path):
    subprocess.run([eddy_bin(), "gen", "purchases", "--count", str(EVENTS), "--span-ms", "1800000",
                    "--malformed", "0.001", "--out", str(tmp_path / "in"), "--files", "3"],
                   check=True, timeout=60)


def test_killed_and_restarted_equals_straight_through(tmp_path):
    seed = int(os.environ.get("EDDY_SEED", random.randrange(1 << 30)))
    print(f"EDDY_SEED={seed}")
    rng = random.Random(seed)
    generate(tmp_path)

    started = time.monotonic()
    straight = subprocess.run(revenue_command(tmp_path, "straight"), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    straight_s = time.monotonic() - started
    assert straight.returncode == 0, straight.stderr[-3000:]
    expected = committed_rows(str(tmp_path / "straight" / "out"))
    assert len(expected) > 50, "the pipeline produced too few windows to compare"

    # Kill each run at a random moment within the straight run's duration until one run finishes on
    # its own; every restart resumes from the checkpoint, so later runs have less left to do.
    kills = 0
    runs = 0
    deadline = time.monotonic() + RUN_TIMEOUT_S * 3
    while True:
        assert time.monotonic() < deadline, "the killed pipeline never finished"
        runs += 1
        proc = subprocess.Popen(revenue_command(tmp_path, "killed"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if kills < KILLS:
            time.sleep(rng.uniform(0.05, 1.5 * straight_s / KILLS))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
        assert proc.returncode == 0, stderr[-3000:]
        break
    print(f"straight run {straight_s:.2f} s; {kills} kills over {runs} runs; {len(expected)} result rows")
    assert kills >= 2, "too few kills landed inside a run to test recovery"
    actual = committed_rows(str(tmp_path / "killed" / "out"))
    assert actual == expected


def test_checkpoint_of_another_pipeline_is_refused(tmp_path):
    generate(tmp_path)
    first = subprocess.run(revenue_command(tmp_path, "a"), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert first.returncode == 0, first.stderr[-3000:]
    other = [eddy_bin(), "example", "bids", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "b"),
             "--checkpoint", str(tmp_path / "a" / "checkpoint"), "--bounded", "--trigger", "available-now"]
    refused = subprocess.run(other, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert refused.returncode != 0
    assert "written by a different pipeline" in refused.stderr
    assert "this pipeline [count(*), max(price int64)]" in refused.stderr, refused.stderr
