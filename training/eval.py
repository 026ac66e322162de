"""Evaluation: retrieval over unique captions, zero-shot classification, and the real-speech probe.

Metrics follow the ParaSpeechCLAP paper: text->audio and audio->text R@1/R@5/R@10 and median rank
over the unique captions of the evaluated clips; per attribute group, unweighted average recall
(UAR) and macro-F1 of zero-shot classification with ``"A person is speaking in a {} style."``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paraseek.audio import load_audio
from paraseek.errors import AudioError, InvalidArgument
from paraseek.model.base import ZERO_SHOT_PROMPT, EmbeddingModel
from paraseek.training.data import Example, load_examples

RECALL_AT = (1, 5, 10)


def best_positive_ranks(similarity: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """1-based rank of each query's best-ranked positive among all items; ``similarity``/``positives`` (q, n).

    Ties are broken against the positive (a tied negative ranks first), so constant scores earn no credit.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    if similarity.shape != positives.shape:
        raise InvalidArgument(f"similarity {similarity.shape} and positives {positives.shape} differ in shape")
    if not positives.any(axis=1).all():
        raise InvalidArgument("every query needs at least one positive")
    best = np.where(positives, similarity, -np.inf).max(axis=1, keepdims=True)
    return 1 + ((similarity >= best) & ~positives).sum(axis=1)


def chance_recall(n_items: int, n_positives: np.ndarray, k: int) -> float:
    """Expected R@k of a random ranking: mean over queries of ``1 - C(n - m, k) / C(n, k)``."""
    values = [1.0 - (math.comb(n_items - int(m), k) / math.comb(n_items, k) if k <= n_items else 0.0)
              for m in n_positives]
    return float(np.mean(values))


def rank_summary(ranks: np.ndarray, n_items: int, n_positives: np.ndarray) -> dict[str, float]:
    """R@k (and its chance level) in percent, and the median rank."""
    summary: dict[str, float] = {}
    for k in RECALL_AT:
        summary[f"R@{k}"] = 100.0 * float(np.mean(ranks <= k))
        summary[f"chance_R@{k}"] = 100.0 * chance_recall(n_items, n_positives, k)
    summary["median_rank"] = float(np.median(ranks))
    summary["queries"] = int(len(ranks))
    return summary


def retrieval_metrics(similarity: np.ndarray, match: np.ndarray) -> dict[str, dict[str, float]]:
    """Both directions from ``similarity`` (n_audio, n_captions) and ``match`` (caption describes clip)."""
    match = np.asarray(match, dtype=bool)
    return {
        "text_to_audio": rank_summary(best_positive_ranks(similarity.T, match.T), match.shape[0], match.sum(axis=0)),
        "audio_to_text": rank_summary(best_positive_ranks(similarity, match), match.shape[1], match.sum(axis=1)),
    }


def classification_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """UAR (mean recall over the classes present in ``labels``), macro-F1 and accuracy of argmax(scores).

    Macro-F1 averages over the classes that occur in the labels or the predictions.
    """
    scores = np.asarray(scores)
    labels = np.asarray(labels, dtype=int)
    if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
        raise InvalidArgument(f"scores {scores.shape} must be (n, classes) for {labels.shape[0]} labels")
    if labels.shape[0] == 0:
        raise InvalidArgument("no labelled clips")
    predicted = scores.argmax(axis=1)
    recalls, f1s = [], []
    for cls in np.union1d(labels, predicted):
        true_positive = int(np.sum((predicted == cls) & (labels == cls)))
        support = int(np.sum(labels == cls))
        claimed = int(np.sum(predicted == cls))
        if support:
            recalls.append(true_positive / support)
        f1s.append(2 * true_positive / (support + claimed))
    return {"uar": float(np.mean(recalls)), "macro_f1": float(np.mean(f1s)),
            "accuracy": float(np.mean(predicted == labels)), "n": int(labels.shape[0])}


def zero_shot_metrics(model: EmbeddingModel, audio: np.ndarray, examples: Sequence[Example],
                      groups: dict[str, list[str]], prompt: str = ZERO_SHOT_PROMPT) -> dict[str, dict[str, Any]]:
    """Per group, classification metrics over the clips labelled with exactly one of its tags.

    Each group's metrics also hold ``recall``: per tag, the share of its clips classified as it.
    """
    scores = model.classify(audio, groups, prompt)
    results = {}
    for group, tags in groups.items():
        rows, labels = [], []
        for row, example in enumerate(examples):
            present = example.tags.get(group, ())
            if len(present) == 1 and present[0] in tags:
                rows.append(row)
                labels.append(tags.index(present[0]))
        if rows:
            labelled = np.array(labels)
            predicted = scores[group][rows].argmax(axis=1)
            recall = {tag: float(np.mean(predicted[labelled == i] == i)) for i, tag in enumerate(tags)
                      if np.any(labelled == i)}
            results[group] = {**classification_metrics(scores[group][rows], labelled), "recall": recall}
    return results


def caption_match(examples: Sequence[Example]) -> tuple[list[str], np.ndarray]:
    """Unique captions and the (n_clips, n_captions) matrix of which caption describes which clip."""
    captions = sorted({c for e in examples for c in e.captions})
    column = {c: i for i, c in enumerate(captions)}
    match = np.zeros((len(examples), len(captions)), dtype=bool)
    for row, example in enumerate(examples):
        match[row, [column[c] for c in example.captions]] = True
    return captions, match


def embed_files(model: EmbeddingModel, paths: Sequence[Path], chunk: int = 64) -> tuple[np.ndarray, list[int]]:
    """Embeddings of whole audio files, ``chunk`` files at a time; undecodable files are left out.

    Returns the embeddings and the indices of the files they belong to.
    """
    parts, kept = [], []
    for start in range(0, len(paths), chunk):
        waves, rates = [], []
        for index in range(start, min(start + chunk, len(paths))):
            try:
                wave, rate = load_audio(paths[index])
            except AudioError:
                continue
            waves.append(wave)
            rates.append(rate)
            kept.append(index)
        if waves:
            parts.append(model.embed_audio(waves, rates))
    if not parts:
        raise InvalidArgument("none of the evaluation clips could be decoded")
    return np.concatenate(parts), kept


def embed_examples(model: EmbeddingModel, examples: Sequence[Example]) -> tuple[np.ndarray, list[Example]]:
    """Embeddings of the whole clips (undecodable clips are left out) and the examples kept."""
    audio, kept = embed_files(model, [e.audio_path for e in examples])
    return audio, [examples[i] for i in kept]


def evaluate_examples(model: EmbeddingModel, examples: Sequence[Example], *,
                      groups: dict[str, list[str]] | None = None, prompt: str = ZERO_SHOT_PROMPT) -> dict[str, Any]:
    """Retrieval and zero-shot classification metrics of ``model`` on ``examples``."""
    if not examples:
        raise InvalidArgument("no clips to evaluate")
    audio, kept = embed_examples(model, examples)
    captions, match = caption_match(kept)
    similarity = audio @ model.embed_text(captions).T
    return {
        "clips": len(kept),
        "unique_captions": len(captions),
        "retrieval": retrieval_metrics(similarity, match),
        "classification": zero_shot_metrics(model, audio, kept, groups or model.trained_groups(), prompt),
    }


def evaluate_manifest(model: EmbeddingModel, manifest: Path, *, split: str | None = "test",
                      audio_root: Path | None = None, max_clips: int | None = None,
                      groups: dict[str, list[str]] | None = None, prompt: str = ZERO_SHOT_PROMPT) -> dict[str, Any]:
    """Evaluate on a manifest's ``split`` (all rows when None), at most ``max_clips`` clips (evenly spaced)."""
    examples = load_examples(manifest, audio_root=audio_root, split=split, style_groups=groups or model.trained_groups())
    if max_clips is not None and len(examples) > max_clips:
        examples = [examples[i] for i in np.linspace(0, len(examples) - 1, max_clips).round().astype(int)]
    results = evaluate_examples(model, examples, groups=groups, prompt=prompt)
    results.update({"manifest": str(manifest), "split": split, "model": model.name, "fingerprint": model.fingerprint})
    return results


def evaluate_probe(model: EmbeddingModel, probe_dir: Path, prompt: str = ZERO_SHOT_PROMPT) -> dict[str, Any]:
    """Real-speech probe: gender accuracy and, per group, how often the matching variant scores higher."""
    from paraseek.training.probe import load_probe

    probe = load_probe(probe_dir)

    def embed(paths: Sequence[Path]) -> np.ndarray:
        audio, kept = embed_files(model, paths)
        if len(kept) != len(paths):
            raise InvalidArgument(f"{len(paths) - len(kept)} probe clips under {probe_dir} cannot be decoded")
        return audio

    results: dict[str, Any] = {"probe": str(probe_dir)}
    gendered = probe.gender_clips()
    if gendered:
        genders = ["male", "female"]
        scores = model.classify(embed([p for p, _ in gendered]), {"gender": genders}, prompt)["gender"]
        results["gender"] = classification_metrics(scores, np.array([genders.index(g) for _, g in gendered]))
    pairs = probe.ordered_pairs()
    if pairs:
        descriptions = sorted({d for d, _, _ in pairs})
        text = dict(zip(descriptions, model.embed_text([prompt.format(d) for d in descriptions]), strict=True))
        higher, lower = embed([h for _, h, _ in pairs]), embed([lo for _, _, lo in pairs])
        wins: dict[str, list[bool]] = {}
        for (description, _, _), pair, hi, lo in zip(pairs, probe.pairs, higher, lower, strict=True):
            wins.setdefault(pair.group, []).append(bool(hi @ text[description] > lo @ text[description]))
        results["ordering"] = {g: {"accuracy": float(np.mean(w)), "n": len(w)} for g, w in sorted(wins.items())}
    return results


def format_table(results: dict[str, Any]) -> str:
    """A plain-text table of the metrics produced by ``evaluate_manifest`` / ``evaluate_probe``."""
    lines: list[str] = []
    if "retrieval" in results:
        lines.append(f"retrieval over {results['unique_captions']} unique captions, {results['clips']} clips")
        lines.append(f"  {'direction':14} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'chance@10':>9} {'medR':>6}")
        for direction, m in results["retrieval"].items():
            lines.append(f"  {direction:14} {m['R@1']:6.1f} {m['R@5']:6.1f} {m['R@10']:6.1f} "
                         f"{m['chance_R@10']:9.1f} {m['median_rank']:6.1f}")
    if results.get("classification"):
        lines.append("zero-shot classification")
        lines.append(f"  {'group':12} {'UAR':>6} {'F1':>6} {'n':>5}")
        for group, m in results["classification"].items():
            lines.append(f"  {group:12} {m['uar']:6.3f} {m['macro_f1']:6.3f} {m['n']:5d}")
    if "gender" in results:
        lines.append(f"probe gender accuracy {results['gender']['accuracy']:.3f} (n={results['gender']['n']})")
    for group, m in results.get("ordering", {}).items():
        lines.append(f"probe ordering {group:12} {m['accuracy']:.3f} (n={m['n']})")
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    """Write metrics as indented JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(results, indent=2) + "\n")
