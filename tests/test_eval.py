"""Evaluation metrics on hand-made inputs, and evaluation runs on real files (manifest, probe, CLI)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from paraseek.cli.main import cli
from paraseek.errors import InvalidArgument
from paraseek.model import DEFAULT_MODEL, load_model
from paraseek.testing import tone, write_audio
from paraseek.training.data import Example
from paraseek.training.eval import (
    best_positive_ranks,
    caption_match,
    chance_recall,
    classification_metrics,
    evaluate_manifest,
    evaluate_probe,
    format_table,
    retrieval_metrics,
)


def test_best_positive_ranks_known_values() -> None:
    similarity = np.array([
        [0.9, 0.1, 0.5, 0.3],   # positive col 0 ranks 1st
        [0.9, 0.1, 0.5, 0.3],   # positives cols 1 and 3: best is col 3 at rank 3
        [0.2, 0.2, 0.2, 0.2],   # all tied: a tie ranks the positive behind the negatives
    ])
    positives = np.array([[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(best_positive_ranks(similarity, positives), [1, 3, 4])
    with pytest.raises(InvalidArgument):
        best_positive_ranks(similarity, np.zeros_like(positives))


def test_retrieval_metrics_exact() -> None:
    # 4 clips x 3 unique captions; caption 2 describes clips 2 and 3
    match = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=bool)
    similarity = np.array([
        [0.9, 0.2, 0.1],
        [0.8, 0.3, 0.0],   # caption 1 ranks 2nd for clip 1
        [0.1, 0.2, 0.7],
        [0.0, 0.9, 0.1],   # caption 2 ranks 2nd for clip 3
    ])
    metrics = retrieval_metrics(similarity, match)
    a2t = metrics["audio_to_text"]
    assert a2t["R@1"] == pytest.approx(50.0) and a2t["R@5"] == pytest.approx(100.0)
    assert a2t["median_rank"] == pytest.approx(1.5)
    t2a = metrics["text_to_audio"]
    # caption 0: clip 0 first (rank 1); caption 1: clips by score 3, 1 -> rank 2; caption 2: clip 2 first
    assert t2a["R@1"] == pytest.approx(200 / 3) and t2a["median_rank"] == pytest.approx(1.0)
    assert t2a["queries"] == 3 and a2t["queries"] == 4
    assert t2a["chance_R@1"] == pytest.approx(100 * (1 / 4 + 1 / 4 + 2 / 4) / 3)


def test_chance_recall_formula() -> None:
    assert chance_recall(10, np.array([1]), 1) == pytest.approx(0.1)
    assert chance_recall(10, np.array([2]), 3) == pytest.approx(1 - math.comb(8, 3) / math.comb(10, 3))
    assert chance_recall(5, np.array([1]), 10) == pytest.approx(1.0)


def test_classification_metrics_exact() -> None:
    labels = np.array([0, 0, 1, 1])
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9], [0.3, 0.7]])  # predictions 0, 1, 1, 1
    metrics = classification_metrics(scores, labels)
    assert metrics["uar"] == pytest.approx((0.5 + 1.0) / 2)
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert metrics["accuracy"] == pytest.approx(0.75)
    # a class that is predicted but never true lowers macro-F1, not UAR
    three = classification_metrics(np.array([[1, 0, 0], [0, 0, 1]]), np.array([0, 1]))
    assert three["uar"] == pytest.approx(0.5)
    assert three["macro_f1"] == pytest.approx((1.0 + 0.0 + 0.0) / 3)


def test_caption_match_uses_unique_captions() -> None:
    examples = [Example(Path(f"{i}.wav"), caps, {}, "test", "s", None)
                for i, caps in enumerate([("a", "b"), ("b",), ("c",)])]
    captions, match = caption_match(examples)
    assert captions == ["a", "b", "c"]
    np.testing.assert_array_equal(match, [[1, 1, 0], [0, 1, 0], [0, 0, 1]])


@pytest.fixture(scope="module")
def mini():  # type: ignore[no-untyped-def]
    return load_model("paraseek-mini", random_init=True)


def small_manifest(root: Path) -> Path:
    rows = []
    for i, (tag, frequency) in enumerate([("low-pitched", 110.0), ("high-pitched", 420.0)] * 3):
        path = write_audio(root / f"{i}.wav", tone(1.2, frequency=frequency, seed=i))
        rows.append({"path": path.name, "captions": [f"A {tag} voice."], "tags": {"pitch": tag}, "split": "test"})
    rows.append({"path": "broken.wav", "captions": ["A broken file."], "tags": {}, "split": "test"})
    (root / "broken.wav").write_bytes(b"not audio")
    manifest = root / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def test_evaluate_manifest_skips_bad_files_and_reports(tmp_path: Path, mini) -> None:  # type: ignore[no-untyped-def]
    results = evaluate_manifest(mini, small_manifest(tmp_path))
    assert results["clips"] == 6 and results["unique_captions"] == 2
    assert results["classification"]["pitch"]["n"] == 6
    assert set(results["classification"]) == {"pitch"}  # only groups with labelled clips
    pitch = results["classification"]["pitch"]
    assert set(pitch["recall"]) == {"low-pitched", "high-pitched"}
    assert np.mean(list(pitch["recall"].values())) == pytest.approx(pitch["uar"])  # UAR is the mean per-tag recall
    table = format_table(results)
    assert "text_to_audio" in table and "pitch" in table


def test_evaluate_probe_orders_pairs(tmp_path: Path, mini) -> None:  # type: ignore[no-untyped-def]
    low = write_audio(tmp_path / "sources" / "a.wav", tone(1.5, frequency=120.0))
    high = write_audio(tmp_path / "variants" / "a.up.wav", tone(1.5, frequency=480.0))
    clips = [{"name": "a", "path": "sources/a.wav", "duration": 1.5, "speaker": "x", "gender": "male",
              "gender_source": "f0", "package": "p", "licence": "l", "source_file": str(low)}]
    pairs = [{"group": "pitch", "description": "high-pitched", "higher": "variants/a.up.wav", "lower": "sources/a.wav",
              "source": "sources/a.wav"},
             {"group": "pitch", "description": "low-pitched", "higher": "sources/a.wav", "lower": "variants/a.up.wav",
              "source": "sources/a.wav"}]
    (tmp_path / "clips.jsonl").write_text("".join(json.dumps(c) + "\n" for c in clips))
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    results = evaluate_probe(mini, tmp_path)
    assert results["gender"]["n"] == 1
    assert results["ordering"]["pitch"]["n"] == 2
    # the two pairs are mirror images: exactly one of them is ordered right, whatever the weights
    assert results["ordering"]["pitch"]["accuracy"] == pytest.approx(0.5)
    assert high.is_file()


def test_eval_cli_writes_json(tmp_path: Path) -> None:
    manifest = small_manifest(tmp_path)
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(cli, ["eval", "--manifest", str(manifest), "--json", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["model"] == DEFAULT_MODEL and metrics["clips"] == 6
    assert "R@10" in metrics["retrieval"]["text_to_audio"]
