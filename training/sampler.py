"""Class-balanced sampling: inverse-frequency tag weights and a batch sampler that guarantees rare tags."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

from paraseek.errors import InvalidArgument

WEIGHTINGS = ("uniform", "inverse", "sqrt", "log")


def tag_weights(example_tags: Sequence[Sequence[str]], weighting: str = "inverse") -> dict[str, float]:
    """Per-tag weight from its frequency ``n``: ``1/n`` (inverse), ``1/sqrt(n)``, ``1/log(1+n)`` or 1."""
    if weighting not in WEIGHTINGS:
        raise InvalidArgument(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    counts = Counter(tag for tags in example_tags for tag in set(tags))
    formula = {
        "uniform": lambda n: 1.0,
        "inverse": lambda n: 1.0 / n,
        "sqrt": lambda n: 1.0 / math.sqrt(n),
        "log": lambda n: 1.0 / math.log1p(n),
    }[weighting]
    return {tag: formula(count) for tag, count in counts.items()}


def sample_weights(example_tags: Sequence[Sequence[str]], weighting: str = "inverse") -> np.ndarray:
    """Each example's weight: the mean of its tags' weights (untagged examples get the mean weight)."""
    per_tag = tag_weights(example_tags, weighting)
    weights = np.array(
        [np.mean([per_tag[t] for t in set(tags)]) if tags else np.nan for tags in example_tags], dtype=np.float64
    )
    fallback = float(np.nanmean(weights)) if np.isfinite(weights).any() else 1.0
    weights[~np.isfinite(weights)] = fallback
    return weights / weights.sum()


def rare_tags(example_tags: Sequence[Sequence[str]], fraction: float = 0.25) -> set[str]:
    """The least frequent ``fraction`` of the distinct tags (at least one)."""
    counts = Counter(tag for tags in example_tags for tag in set(tags))
    ranked = sorted(counts, key=lambda tag: (counts[tag], tag))
    return set(ranked[: max(1, round(fraction * len(ranked)))]) if ranked else set()


class BalancedBatchSampler:
    """Batches of distinct examples drawn by weight, with at least ``min_rare`` rare-tag examples each.

    Every batch first takes ``min_rare`` examples carrying a rare tag (drawn by weight among those),
    then fills up by weight from the rest, without repeats inside a batch. Each distributed rank
    passes its own ``rank``, so ranks draw different batches from one seed; ``set_epoch`` reshuffles.
    """

    def __init__(self, example_tags: Sequence[Sequence[str]], batch_size: int, batches_per_epoch: int, *,
                 weighting: str = "inverse", min_rare: int = 0, rare_fraction: float = 0.25,
                 seed: int = 0, rank: int = 0) -> None:
        if batch_size < 2:
            raise InvalidArgument("batch_size must be at least 2 (contrastive loss needs negatives)")
        if batch_size > len(example_tags):
            raise InvalidArgument(f"batch_size {batch_size} exceeds the {len(example_tags)} training examples")
        if not 0 <= min_rare <= batch_size:
            raise InvalidArgument(f"min_rare must lie in [0, batch_size], got {min_rare}")
        self.batch_size = batch_size
        self.batches_per_epoch = batches_per_epoch
        self.weights = sample_weights(example_tags, weighting)
        self.rare = rare_tags(example_tags, rare_fraction)
        self.rare_examples = np.array([i for i, tags in enumerate(example_tags) if self.rare & set(tags)], dtype=np.int64)
        self.min_rare = min(min_rare, len(self.rare_examples))
        self.seed = seed
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw a different sequence of batches for ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches_per_epoch

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.rank, self.epoch])
        for _ in range(self.batches_per_epoch):
            chosen: list[int] = []
            if self.min_rare:
                rare_weights = self.weights[self.rare_examples]
                chosen = list(rng.choice(self.rare_examples, self.min_rare, replace=False,
                                         p=rare_weights / rare_weights.sum()))
            remaining = self.weights.copy()
            remaining[chosen] = 0.0
            fill = self.batch_size - len(chosen)
            if fill:
                chosen.extend(rng.choice(len(remaining), fill, replace=False, p=remaining / remaining.sum()))
            order = rng.permutation(len(chosen))
            yield [int(chosen[i]) for i in order]
