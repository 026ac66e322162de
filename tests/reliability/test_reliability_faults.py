"""Faults: killed and terminated servers restart on their data intact, a killed index run resumes to the
exact count, and an unusable data directory is a one-line typed error, never a traceback."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import COLLECTION, FULL, Figures, build_data

from paraseek.client import Client
from paraseek.server.testing import serve_process
from paraseek.testing import tone, write_audio


def snapshot(address: str) -> tuple[int, list[str]]:
    """The collection's point count and the ids of a fixed search."""
    with Client(address, retries=0) as client:
        count = client.describe_collection(COLLECTION).count
        hits = client.search("a calm low voice", collection=COLLECTION, top_k=5)
    return count, [hit.id for hit in hits]


def test_killed_and_terminated_servers_restart_with_their_data(tmp_path: Path, figures: Figures) -> None:
    data = build_data(tmp_path, count=6)
    with serve_process(data, tmp_path / "first") as first:
        before = snapshot(first.address)
        killed = first.stop(signal.SIGKILL)
    started = time.monotonic()
    with serve_process(data, tmp_path / "second") as second:
        restart_after_kill = time.monotonic() - started
        after_kill = snapshot(second.address)
        terminated = second.stop(signal.SIGTERM)
        log = second.log_text()
    after_term = after_kill
    if FULL:  # the fast subset saves this third start
        with serve_process(data, tmp_path / "third") as third:
            after_term = snapshot(third.address)
            assert third.stop() == 0
    figures(points=before[0], restart_after_sigkill_s=round(restart_after_kill, 2))
    assert killed == -signal.SIGKILL and terminated == 0, log[-2000:]
    assert before == after_kill == after_term and before[0] == 6
    assert "Traceback" not in log


def test_an_unusable_data_dir_is_a_typed_error(tmp_path: Path, figures: Figures) -> None:
    plain_file = tmp_path / "not-a-dir"
    plain_file.write_text("data")
    vanished = tmp_path / "vanished"
    vanished.mkdir()
    shutil.rmtree(vanished)
    unusable = [("file in place of the directory", plain_file), ("file inside the path", plain_file / "data")]
    if os.geteuid() != 0:  # root reads through chmod 000
        locked = tmp_path / "locked"
        locked.mkdir(mode=0)
        unusable.append(("unreadable directory", locked))
    outcomes = {}
    for what, data in unusable:
        for command in (["serve", "--address", "127.0.0.1:0", "--random-init"], ["collections"]):
            result = subprocess.run([sys.executable, "-m", "paraseek.cli.main", *command, "--data-dir", str(data)],
                                    capture_output=True, text=True, timeout=120,
                                    env={**os.environ, "OMP_NUM_THREADS": "1"})
            outcomes[f"{command[0]}: {what}"] = result.stderr.strip().splitlines()[-1:] or [""]
            assert result.returncode in (1, 2), (what, command, result.stderr[-2000:])  # 2: refused as an option
            assert "Traceback" not in result.stderr, (what, command, result.stderr[-2000:])
            assert "Error" in result.stderr
    figures(cases=len(outcomes), messages={k: v[0][:160] for k, v in outcomes.items()})


@pytest.mark.reliability_full
def test_index_killed_at_random_moments_resumes_to_the_exact_count(tmp_path: Path, tiny_model_files: tuple[Path, Path],
                                                                   figures: Figures) -> None:
    clip_count, kills = 1500, 4
    source = tmp_path / "clips"
    for i in range(clip_count):
        write_audio(source / f"clip{i:03d}.wav", tone(0.3, 16000, frequency=100.0 + i / 4, seed=i))
    data = tmp_path / "data"
    command = [sys.executable, "-m", "paraseek.cli.main", "index", str(source), "--collection", COLLECTION,
               "--data-dir", str(data), "--model", str(tiny_model_files[0]), "--checkpoint", str(tiny_model_files[1]),
               "--threads", "1", "--workers", "1", "--batch-seconds", "0.5", "--flush-seconds", "0", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    chooser = random.Random(7)
    delays, killed = [], 0
    for _ in range(kills):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        delays.append(round(chooser.uniform(3.0, 6.0), 2))
        try:
            process.wait(delays[-1])
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            killed += 1
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    summary = json.loads(final.stdout.strip().splitlines()[-1])
    figures(clips=clip_count, kill_after_s=delays, killed=killed, resumed_indexed=summary["indexed"], skipped=summary["skipped"])
    assert killed == kills, "a run finished before its kill: use more clips"
    assert summary["failed"] == 0 and summary["count"] == clip_count
    assert summary["indexed"] + summary["skipped"] == clip_count
