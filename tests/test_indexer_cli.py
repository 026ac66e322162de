"""``paraseek index`` and ``paraseek collections`` as users run them: JSON contract, kill -9 and resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from paraseek.cli.main import cli
from paraseek.storage import open_store
from paraseek.testing import tone, write_audio


def clips(root: Path, n: int, seconds: float = 0.5) -> Path:
    for i in range(n):
        write_audio(root / f"clip{i:03d}.wav", tone(seconds, 16000, 100 + 3 * i, seed=i))
    return root


def index_args(source: Path, data: Path, model_files: tuple[Path, Path], *extra: str) -> list[str]:
    return ["index", str(source), "--collection", "voices", "--data-dir", str(data), "--model", str(model_files[0]),
            "--checkpoint", str(model_files[1]), "--workers", "0", "--threads", "1", *extra]


def last_json_line(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_index_json_summary_is_the_last_stdout_line(tmp_path: Path, tiny_model_files: tuple[Path, Path]) -> None:
    source = clips(tmp_path / "clips", 5)
    (source / "broken.wav").write_bytes(b"not audio at all")
    runner = CliRunner()
    result = runner.invoke(cli, index_args(source, tmp_path / "data", tiny_model_files, "--json"))
    assert result.exit_code == 0, result.output
    summary = last_json_line(result.stdout)
    assert (summary["indexed"], summary["skipped"], summary["failed"]) == (5, 0, 1)
    assert (summary["collection"], summary["alias"]) == ("voices_v1", "voices")
    for key in ("seconds", "audio_hours", "clips_per_second"):
        assert summary[key] > 0
    assert Path(summary["errors_file"]) == tmp_path / "data" / "reports" / "voices_v1.errors.jsonl"

    again = last_json_line(runner.invoke(cli, index_args(source, tmp_path / "data", tiny_model_files, "--json")).stdout)
    assert (again["indexed"], again["skipped"], again["failed"]) == (0, 5, 1)

    listing = runner.invoke(cli, ["collections", "--data-dir", str(tmp_path / "data"), "--json"])
    assert listing.exit_code == 0
    assert last_json_line(listing.stdout)["aliases"] == {"voices": "voices_v1"}
    assert last_json_line(listing.stdout)["collections"][0]["count"] == 5
    table = runner.invoke(cli, ["collections", "--data-dir", str(tmp_path / "data")])
    assert re.search(r"voices_v1\s+voices\s+5\s+32\s+paraspeechclap-tiny", table.stdout)


def test_default_data_dir_comes_from_the_environment(tmp_path: Path, tiny_model_files: tuple[Path, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARASEEK_DATA_DIR", str(tmp_path / "env-data"))
    args = index_args(clips(tmp_path / "clips", 2), tmp_path / "unused", tiny_model_files, "--json")
    del args[4:6]  # no --data-dir
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    with open_store(tmp_path / "env-data") as store:
        assert store.count("voices") == 2
    assert "PARASEEK_DATA_DIR" in CliRunner().invoke(cli, ["index", "--help"]).stdout


def test_model_mismatch_is_a_clear_error(tmp_path: Path, tiny_model_files: tuple[Path, Path]) -> None:
    source = clips(tmp_path / "clips", 2)
    runner = CliRunner()
    assert runner.invoke(cli, index_args(source, tmp_path / "data", tiny_model_files)).exit_code == 0
    other = tmp_path / "other.pt"
    state = torch.load(tiny_model_files[1], weights_only=True)
    state["audio_projection.layer_norm.bias"] += 0.5
    torch.save(state, other)
    args = index_args(source, tmp_path / "data", (tiny_model_files[0], other), "--json")
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 1
    error = last_json_line(refused.stdout)
    assert error["error_type"] == "ModelMismatch" and "--reindex" in error["error"]
    swapped = runner.invoke(cli, [*args, "--reindex"])
    assert swapped.exit_code == 0, swapped.output
    summary = last_json_line(swapped.stdout)
    assert (summary["collection"], summary["swapped"], summary["count"]) == ("voices_v2", True, 2)

    data = ["--data-dir", str(tmp_path / "data")]
    refused_delete = runner.invoke(cli, ["collections", *data, "--delete", "voices_v2"])
    assert refused_delete.exit_code == 1 and "points to" in refused_delete.output
    deleted = runner.invoke(cli, ["collections", *data, "--delete", "voices_v1", "--json"])
    assert deleted.exit_code == 0
    assert [c["name"] for c in last_json_line(deleted.stdout)["collections"]] == ["voices_v2"]


@pytest.mark.slow
def test_killed_run_resumes_without_loss_or_duplicates(tmp_path: Path, tiny_model_files: tuple[Path, Path]) -> None:
    n_clips = 150
    source = clips(tmp_path / "clips", n_clips, seconds=0.4)
    data = tmp_path / "data"
    command = [sys.executable, "-m", "paraseek.cli.main",
               *index_args(source, data, tiny_model_files, "--workers", "1", "--batch-seconds", "0.5",
                           "--flush-seconds", "0", "--progress", "--json")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    progress = [0]

    def watch() -> None:
        buffer = b""
        while chunk := os.read(process.stderr.fileno(), 4096):  # type: ignore[union-attr]
            buffer = (buffer + chunk)[-4096:]
            found = re.findall(rb"\| *(\d+)/\d+ \[", buffer)
            if found:
                progress[0] = int(found[-1])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    deadline = time.monotonic() + 120
    while progress[0] < 30 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the run finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    watcher.join(timeout=5)
    assert process.returncode == -signal.SIGKILL
    assert progress[0] < n_clips

    rerun = subprocess.run(command[:-2] + ["--json"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = last_json_line(rerun.stdout)
    assert summary["failed"] == 0
    assert summary["indexed"] + summary["skipped"] == n_clips
    assert summary["skipped"] > 0
    assert summary["count"] == n_clips
    with open_store(data) as store:
        points, offset = store.scroll("voices", limit=1000)
        assert offset is None
        assert len(points) == n_clips
        assert sorted(p.payload["relative_path"] for p in points) == [f"clip{i:03d}.wav" for i in range(n_clips)]


def test_collection_options_reach_the_store(tmp_path: Path, tiny_model_files: tuple[Path, Path]) -> None:
    source = clips(tmp_path / "clips", 2)
    runner = CliRunner()
    refused = runner.invoke(cli, index_args(source, tmp_path / "data", tiny_model_files, "--shard-number", "2", "--json"))
    assert refused.exit_code != 0
    assert "shard_number" in last_json_line(refused.stdout)["error"]
    accepted = runner.invoke(cli, index_args(source, tmp_path / "data2", tiny_model_files,
                                             "--quantization", "int8", "--on-disk", "--segment-points", "20000",
                                             "--json"))
    assert accepted.exit_code == 0, accepted.output
    assert last_json_line(accepted.stdout)["indexed"] == 2
    [description] = (tmp_path / "data2" / "collections").glob("*/collection.json")
    assert json.loads(description.read_text())["options"]["segment_points"] == 20_000
