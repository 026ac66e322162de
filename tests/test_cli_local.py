"""``paraseek search`` in this process on the embedded store: formats, paging, errors, and exports indexed back."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from paraseek.cli.main import cli
from paraseek.storage import open_store
from paraseek.testing import tiny_paraspeechclap, tiny_paraspeechclap_config, tone, write_audio


@pytest.fixture(scope="module")
def model_args(tmp_path_factory) -> list[str]:
    """The toy model as a config file and a checkpoint, for --model/--checkpoint."""
    folder = tmp_path_factory.mktemp("tiny-model")
    config = folder / "paraspeechclap-tiny.json"
    config.write_text(json.dumps(tiny_paraspeechclap_config().to_dict()))
    checkpoint = folder / "tiny.pt"
    torch.save(tiny_paraspeechclap().network.state_dict(), checkpoint)
    return ["--model", str(config), "--checkpoint", str(checkpoint)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A manifest of 12 real audio files with speaker and mood columns."""
    root = tmp_path_factory.mktemp("corpus")
    rows = []
    for i in range(12):
        path = write_audio(root / "audio" / f"take{i:02d}.wav", tone(0.5 + 0.1 * i, 16000, 90 + 30 * i, seed=i))
        rows.append({"path": f"audio/{path.name}", "speaker": f"spk{i % 3}", "mood": "calm" if i % 2 else "tense"})
    manifest = root / "corpus.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return manifest


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, corpus, model_args) -> Path:
    data = tmp_path_factory.mktemp("data")
    indexed = CliRunner().invoke(cli, ["index", str(corpus), "--collection", "voices", "--data-dir", str(data),
                                       *model_args, "--workers", "0", "--threads", "1"])
    assert indexed.exit_code == 0, indexed.output
    return data


def search(data_dir: Path, model_args: list[str], *args: str) -> str:
    result = CliRunner().invoke(cli, ["search", *args, "--data-dir", str(data_dir), "--collection", "voices",
                                      *model_args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_keeps_its_shape_and_pages_add_up(data_dir, model_args):
    best = json.loads(search(data_dir, model_args, "a calm voice", "--top-k", "8", "--format", "json"))
    assert best["collection"] == "voices_v1" and len(best["hits"]) == 8
    assert all(set(hit) == {"id", "score", "payload", "styles"} for hit in best["hits"])
    assert json.loads(search(data_dir, model_args, "a calm voice", "--top-k", "8", "--json"))["hits"] == best["hits"]
    pages = [search(data_dir, model_args, "a calm voice", "--top-k", "4", "--offset", offset, "--format", "jsonl")
             for offset in ("0", "4")]
    paged = [json.loads(line)["id"] for page in pages for line in page.splitlines()]
    assert paged == [hit["id"] for hit in best["hits"]]


def test_table_fits_and_like_id_takes_the_short_id(data_dir, model_args):
    table = search(data_dir, model_args, "a tense voice", "--top-k", "3")
    lines = table.splitlines()
    assert lines[0].split()[:5] == ["#", "score", "id", "clip", "duration"] and "3 hits from voices_v1" in lines[-2]
    assert lines[-1].startswith(("understood as: ", "not understood: 'tense'"))  # under the hits
    assert all(len(line) <= 80 for line in lines)
    short_id = lines[1].split()[2]
    assert len(short_id) == 8 and "take" in lines[1]
    similar = json.loads(search(data_dir, model_args, "--like-id", short_id, "--top-k", "11", "--json"))["hits"]
    assert len(similar) == 11 and not any(hit["id"].startswith(short_id) for hit in similar)
    chosen = search(data_dir, model_args, "a tense voice", "--top-k", "3", "--fields", "speaker,mood")
    assert chosen.splitlines()[0].split() == ["#", "score", "id", "speaker", "mood"]
    unknown = CliRunner().invoke(cli, ["search", "--like-id", "zz", "--data-dir", str(data_dir), *model_args])
    assert unknown.exit_code == 1 and "InvalidArgument" in unknown.output and "Traceback" not in unknown.output


def test_exports_are_manifests_and_index_back(data_dir, model_args, corpus):
    exported = search(data_dir, model_args, "a calm voice", "--top-k", "5", "--format", "jsonl")
    rows = [json.loads(line) for line in exported.splitlines()]
    assert [list(row)[:3] for row in rows] == [["path", "id", "score"]] * 5
    assert all(set(row) == {"path", "id", "score", "speaker", "mood"} for row in rows)
    table = list(csv.DictReader(io.StringIO(search(data_dir, model_args, "a calm voice", "--top-k", "5",
                                                   "--format", "csv"))))
    assert [row["path"] for row in table] == [row["path"] for row in rows]
    assert [row["mood"] for row in table] == [row["mood"] for row in rows]

    manifest = corpus.parent / "picks.jsonl"
    manifest.write_text(exported)
    indexed = CliRunner().invoke(cli, ["index", str(manifest), "--collection", "picks", "--data-dir", str(data_dir),
                                       *model_args, "--workers", "0", "--threads", "1"])
    assert indexed.exit_code == 0, indexed.output
    with open_store(data_dir) as store:
        points, _ = store.scroll("picks", limit=100)
    assert sorted(point.payload["path"] for point in points) == sorted(row["path"] for row in rows)
    for point in points:
        row = next(r for r in rows if r["path"] == point.payload["path"])
        assert (point.payload["speaker"], point.payload["mood"], point.payload["id"]) == (row["speaker"], row["mood"],
                                                                                          row["id"])
        assert "meta_duration" not in point.payload and "payload" not in point.payload


def test_default_store_is_paraseek_data_dir(data_dir, model_args, monkeypatch):
    monkeypatch.setenv("PARASEEK_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(cli, ["search", "a voice", "--collection", "voices", "--top-k", "2", "--json",
                                      *model_args])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["hits"]) == 2


def test_store_locked_by_another_process_is_one_line(data_dir, model_args):
    with open_store(data_dir) as store:
        store.count("voices")  # holds the collection's lock, as a running server does
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        locked = subprocess.run([sys.executable, "-m", "paraseek.cli.main", "search", "a voice", "--data-dir",
                                 str(data_dir), "--collection", "voices", *model_args],
                                capture_output=True, text=True, env=env, timeout=300)
    assert locked.returncode == 1
    message = locked.stderr.strip().splitlines()
    assert len(message) == 1 and "--server" in message[0] and "StoreLocked" in message[0], locked.stderr


def test_no_server_says_how_to_start_one_or_search_here():
    result = CliRunner().invoke(cli, ["search", "a voice", "--server", "127.0.0.1:9", "--timeout", "3"])
    assert result.exit_code == 1
    assert "paraseek serve" in result.output and "--data-dir" in result.output and "Traceback" not in result.output


def test_server_and_data_dir_together_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["search", "a voice", "--server", "127.0.0.1:9", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "not both" in result.output
