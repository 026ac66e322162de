"""``paraseek index`` failure modes: killed runs leave no processes, unusable sources leave no
collection, lock conflicts are reported before the model loads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from paraseek.cli.main import cli
from paraseek.storage import open_store
from paraseek.testing import tone, write_audio


def index_command(source: Path, data: Path, tiny_model_files: tuple[Path, Path], *extra: str) -> list[str]:
    return ["index", str(source), "--collection", "voices", "--data-dir", str(data), "--model", str(tiny_model_files[0]),
            "--checkpoint", str(tiny_model_files[1]), "--threads", "1", *extra]


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()  # fields after the command name: state, ppid, ...


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_sigkilled_index_leaves_no_processes_behind(tmp_path: Path, tiny_model_files: tuple[Path, Path]) -> None:
    source = tmp_path / "clips"
    source.mkdir()
    (source / "000-broken.wav").write_bytes(b"RIFF, but not audio")  # the first file fails
    for i in range(400):
        write_audio(source / f"clip{i:03d}.wav", tone(2.0, 16000, 100 + i, seed=i))
    data = tmp_path / "data"
    errors_file = tmp_path / "errors.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "paraseek.cli.main",
         *index_command(source, data, tiny_model_files, "--workers", "2", "--errors-file", str(errors_file))],
        env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not errors_file.exists():  # a worker has decoded (and failed) the first file: mid-run
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        spawned = children(process.pid)
        spawned |= {grandchild for child in spawned for grandchild in children(child)}
        assert len(spawned) >= 2  # the decode workers (and multiprocessing's resource tracker)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in spawned) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = {pid for pid in spawned if alive(pid)}
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stderr.close()  # type: ignore[union-attr]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == set()


def test_nothing_indexable_exits_nonzero_and_leaves_no_collection(tmp_path: Path,
                                                                   tiny_model_files: tuple[Path, Path]) -> None:
    source = tmp_path / "clips"
    source.mkdir()
    (source / "a.wav").write_bytes(b"not audio")
    (source / "b.wav").write_bytes(b"")
    write_audio(source / "c.wav", tone(0.05))  # too short
    data = tmp_path / "data"
    runner = CliRunner()
    result = runner.invoke(cli, index_command(source, data, tiny_model_files, "--workers", "0", "--json"))
    assert result.exit_code == 1, result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert "none of the 3 clips" in last["error"] and last["error_type"] == "InvalidArgument"
    listing = json.loads(runner.invoke(cli, ["collections", "--data-dir", str(data), "--json"]).stdout)
    assert listing == {"collections": [], "aliases": {}}
    reindex = runner.invoke(cli, index_command(source, data, tiny_model_files, "--workers", "0", "--reindex"))
    assert reindex.exit_code == 1 and "none of the 3 clips" in reindex.output
    assert json.loads(runner.invoke(cli, ["collections", "--data-dir", str(data), "--json"]).stdout)["collections"] == []


def test_lock_conflict_is_reported_before_the_model_loads(tmp_path: Path, tiny_model_files: tuple[Path, Path]) -> None:
    source = tmp_path / "clips"
    write_audio(source / "a.wav", tone(0.5))
    data = tmp_path / "data"
    assert CliRunner().invoke(cli, index_command(source, data, tiny_model_files, "--workers", "0")).exit_code == 0
    write_audio(source / "b.wav", tone(0.6, frequency=300.0))
    command = index_command(source, data, tiny_model_files, "--workers", "0")
    command[command.index("--checkpoint") + 1] = str(tmp_path / "missing.pt")  # loading it would fail
    with open_store(data) as store:
        store.count("voices")  # this process now holds the collection
        result = subprocess.run([sys.executable, "-m", "paraseek.cli.main", *command], capture_output=True,
                                text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 1
    assert "another process" in result.stderr and "missing.pt" not in result.stderr
