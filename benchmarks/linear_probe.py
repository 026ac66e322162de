"""How much of a style group a model's speech embeddings hold, beside what its zero-shot scores reach.

For each group (default: every group the model was trained on), fits a class-balanced multinomial
logistic regression on the embeddings of a corpus's ``train`` split (standardised, L2-penalised,
L-BFGS) and scores it on the ``test`` split: the held-out UAR of the best linear read-out of those
embeddings. Beside it, the zero-shot UAR of the same test clips (``"A person is speaking in a {}
style."``, as ``paraseek eval``). Zero-shot classification is itself a linear read-out of the same
embeddings (one text direction per tag), so the fitted probe shows, up to its own fitting error, how
far retraining the text side alone could take a group: where even the probe is below a claim bar,
the speech encoder is what has to change.

    paraseek synth /tmp/ss3 --clips 4500 --seed 0 --styles 3
    python benchmarks/linear_probe.py --manifest /tmp/ss3/manifest.jsonl --groups emotion,rhythm --confusion [--json]
    python benchmarks/linear_probe.py --manifest M --model run/config.json --checkpoint run/weights.pt  # a training run
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import torch

from paraseek.model import load_model
from paraseek.training.data import load_examples
from paraseek.training.eval import classification_metrics, embed_examples


def fit_probe(features: np.ndarray, labels: np.ndarray, n_classes: int, l2: float) -> torch.nn.Linear:
    """Class-balanced multinomial logistic regression on standardised ``features`` (L2 ``l2`` on the weights)."""
    x = torch.from_numpy(features).double()
    y = torch.from_numpy(labels).long()
    counts = torch.bincount(y, minlength=n_classes).double().clamp(min=1)
    weights = counts.sum() / (n_classes * counts)
    probe = torch.nn.Linear(x.shape[1], n_classes).double()
    optimiser = torch.optim.LBFGS(probe.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(probe(x), y, weight=weights) + l2 * probe.weight.square().sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return probe


def probe_group(audio: dict[str, np.ndarray], labels: dict[str, np.ndarray], n_classes: int,
                l2: float) -> dict[str, Any]:
    """Held-out and training UAR of the linear read-out of one group, and its held-out confusion matrix."""
    mean, std = audio["train"].mean(axis=0), audio["train"].std(axis=0) + 1e-8
    probe = fit_probe((audio["train"] - mean) / std, labels["train"], n_classes, l2)
    with torch.no_grad():
        scores = {split: probe(torch.from_numpy((audio[split] - mean) / std).double()).numpy() for split in audio}
    return {**{f"probe_{split}_uar": classification_metrics(scores[split], labels[split])["uar"] for split in audio},
            "probe_test_confusion": confusion(labels["test"], scores["test"], n_classes)}


def confusion(labels: np.ndarray, scores: np.ndarray, n_classes: int) -> list[list[int]]:
    """Counts of (true class, argmax of ``scores``)."""
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (labels, scores.argmax(axis=1)), 1)
    return counts.tolist()


def print_confusion(title: str, tags: list[str], counts: list[list[int]]) -> None:
    """Rows: the held-out clips' tags; columns: what the classifier took them for."""
    width = max(len(tag) for tag in tags)
    print(f"  {title}")
    print(f"  {'':>{width}} " + " ".join(f"{tag[:7]:>7}" for tag in tags) + "  recall")
    for tag, row in zip(tags, counts, strict=True):
        recall = row[tags.index(tag)] / max(sum(row), 1)
        print(f"  {tag:>{width}} " + " ".join(f"{count:>7}" for count in row) + f"  {recall:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", required=True, help="a paraseek synth corpus's manifest.jsonl")
    parser.add_argument("--model", default=None,
                        help="registered model or model config file (default: the newest default)")
    parser.add_argument("--checkpoint", default=None, help="weights to load into --model (default: its own)")
    parser.add_argument("--groups", default=None, help="comma-separated groups (default: every trained group)")
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 penalty on the probe's weights")
    parser.add_argument("--confusion", action="store_true",
                        help="print each group's held-out confusion matrices, zero-shot and read-out")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    args = parser.parse_args()
    torch.manual_seed(0)

    model = load_model(args.model, checkpoint=args.checkpoint)
    trained = model.trained_groups()
    groups = {g: trained[g] for g in args.groups.split(",")} if args.groups else trained
    embedded = {}
    for split in ("train", "test"):
        examples = load_examples(args.manifest, split=split, style_groups=groups)
        embedded[split] = embed_examples(model, examples)
    results: dict[str, dict[str, Any]] = {}
    print(f"{model.name}: {args.manifest}, train {len(embedded['train'][1])} clips, test {len(embedded['test'][1])}")
    print(f"{'group':<14} {'classes':>7} {'test clips':>10} {'zero-shot UAR':>13} {'probe UAR':>9} {'(train)':>8}")
    for group, tags in groups.items():
        audio, labels = {}, {}
        for split, (vectors, examples) in embedded.items():
            rows = [i for i, e in enumerate(examples) if len(e.tags.get(group, ())) == 1]
            audio[split] = vectors[rows]
            labels[split] = np.array([tags.index(examples[i].tags[group][0]) for i in rows])
        if not (labels["train"].size and labels["test"].size):
            continue
        zero_shot_scores = model.classify(audio["test"], {group: tags})[group]
        zero_shot = classification_metrics(zero_shot_scores, labels["test"])["uar"]
        row = {"classes": len(tags), "test_clips": int(labels["test"].size), "zero_shot_uar": zero_shot,
               "zero_shot_confusion": confusion(labels["test"], zero_shot_scores, len(tags)),
               **probe_group(audio, labels, len(tags), args.l2)}
        results[group] = row
        print(f"{group:<14} {len(tags):>7} {row['test_clips']:>10} {zero_shot:>13.3f} {row['probe_test_uar']:>9.3f}"
              f" {row['probe_train_uar']:>8.3f}")
        if args.confusion:
            print_confusion("zero-shot", tags, row["zero_shot_confusion"])
            print_confusion("linear read-out", tags, row["probe_test_confusion"])
    if args.json:
        print(json.dumps({"model": model.name, "groups": results}))


if __name__ == "__main__":
    main()
