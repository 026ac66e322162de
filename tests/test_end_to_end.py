"""The whole product as a user runs it: `paraseek index` a folder, `paraseek serve` it, query with the thin client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paraseek.client import Client
from paraseek.model import load_model
from paraseek.testing import tone, write_audio

#: (file, sample rate, channels, seconds, pitch in Hz) of harmonic tones with a little noise.
CLIPS = [
    ("low/a.wav", 16000, 1, 1.0, 110.0),
    ("low/b.flac", 16000, 1, 1.5, 130.0),
    ("low/c.wav", 16000, 2, 1.2, 150.0),
    ("high/d.wav", 22050, 1, 0.8, 240.0),
    ("high/e.flac", 22050, 2, 1.1, 280.0),
]


def _paraseek(*args: str) -> list[str]:
    return [sys.executable, "-m", "paraseek.cli.main", *args]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for index, (name, rate, channels, seconds, pitch) in enumerate(CLIPS):
        write_audio(folder / name, tone(seconds, rate, frequency=pitch, channels=channels, seed=index), rate)
    return folder


@pytest.fixture(scope="module")
def server(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    indexed = subprocess.run(_paraseek("index", str(corpus), "--collection", "voices", "--data-dir", str(data),
                                       "--workers", "0", "--threads", "1", "--json"),
                             env=env, capture_output=True, text=True, timeout=120)
    assert indexed.returncode == 0, indexed.stderr
    summary = json.loads(indexed.stdout.strip().splitlines()[-1])
    assert (summary["indexed"], summary["failed"], summary["count"]) == (len(CLIPS), 0, len(CLIPS))
    assert summary["collection"] == "voices_v1"

    address = f"127.0.0.1:{_free_port()}"
    process = subprocess.Popen(_paraseek("serve", "--data-dir", str(data), "--address", address, "--threads", "1",
                                         "--grace", "1"),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield address
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[Client]:
    with Client(server, retries=10, backoff=0.2) as client:
        client.wait_ready(timeout=60)
        yield client


def test_search_returns_every_indexed_clip(client: Client) -> None:
    result = client.search("a calm voice", collection="voices", top_k=50)
    assert result.collection == "voices_v1"
    assert sorted(hit.payload["relative_path"] for hit in result) == sorted(name for name, *_ in CLIPS)
    scores = [hit.score for hit in result]
    assert scores == sorted(scores, reverse=True)


def test_where_filters_on_measured_fields(client: Client) -> None:
    fast = client.search("a calm voice", collection="voices", where="sample_rate=22050", top_k=50)
    assert sorted(hit.payload["relative_path"] for hit in fast) == ["high/d.wav", "high/e.flac"]
    assert {hit.payload["sample_rate"] for hit in fast} == {22050}
    stereo_low = client.search("a calm voice", collection="voices", where="channels=2 sample_rate=16000", top_k=50)
    assert [hit.payload["relative_path"] for hit in stereo_low] == ["low/c.wav"]


def test_group_by_keeps_one_hit_per_value(client: Client) -> None:
    grouped = client.search("a calm voice", collection="voices", group_by="sample_rate", top_k=50)
    assert sorted(hit.payload["sample_rate"] for hit in grouped) == [16000, 22050]


def test_classify_a_file_and_candidate_styles(client: Client, corpus: Path) -> None:
    groups = client.classify(corpus / "low" / "a.wav")
    model_groups = load_model().style_groups()
    assert set(groups) == set(model_groups)
    for group, tags in groups.items():
        assert sorted(tag.tag for tag in tags) == sorted(model_groups[group])
        assert [tag.score for tag in tags] == sorted((tag.score for tag in tags), reverse=True)
    custom = client.classify(corpus / "high" / "d.wav", styles=["calm", "angry", "whispering"])
    assert list(custom) == ["styles"]
    assert sorted(tag.tag for tag in custom["styles"]) == ["angry", "calm", "whispering"]
