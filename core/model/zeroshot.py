"""Zero-shot style scoring: clip embeddings against prompted style tags, written once for every layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from paraseek.model.base import EmbeddingModel

ZERO_SHOT_PROMPT = "A person is speaking in a {} style."


def prompt_texts(tags: Sequence[str], prompt: str = ZERO_SHOT_PROMPT) -> list[str]:
    """The text each tag is embedded as."""
    return [prompt.format(tag) for tag in tags]


def ranked(tags: Sequence[str], scores: np.ndarray, top: int | None = None) -> list[tuple[str, float]]:
    """``(tag, score)`` pairs of one clip, best first (ties keep tag order); ``top`` ``None``: all."""
    order = np.argsort(-scores, kind="stable")[:top]
    return [(tags[i], float(scores[i])) for i in order]


class ZeroShotScorer:
    """Cosine scores of clip embeddings against each group's prompted tags, embedded once at construction."""

    def __init__(self, model: EmbeddingModel, groups: dict[str, list[str]] | None = None,
                 prompt: str = ZERO_SHOT_PROMPT) -> None:
        self.groups = model.style_groups() if groups is None else {g: list(tags) for g, tags in groups.items()}
        texts = [text for tags in self.groups.values() for text in prompt_texts(tags, prompt)]
        rows = model.embed_text(texts)
        bounds = np.cumsum([0] + [len(tags) for tags in self.groups.values()])
        #: group -> (n_tags, d) unit prompt embeddings; every prompt is embedded in one call (one set of shapes)
        self.tag_embeddings = {group: rows[start:end] for group, start, end
                               in zip(self.groups, bounds[:-1], bounds[1:], strict=True)}
        # The same prompts as one (groups x widest group) table, padded, so that ranking every group of
        # many clips takes one product and one sort: padded slots score -inf and sort last.
        width = max((len(tags) for tags in self.groups.values()), default=0)
        self._table = np.zeros((len(self.groups), width, rows.shape[-1]), dtype=np.float32)
        self._padding = np.ones((len(self.groups), width), dtype=bool)
        self._names = np.full((len(self.groups), width), "", dtype=object)
        for index, (group, tags) in enumerate(self.groups.items()):
            self._table[index, : len(tags)] = self.tag_embeddings[group]
            self._padding[index, : len(tags)] = False
            self._names[index, : len(tags)] = tags

    def scores(self, embeddings: np.ndarray) -> dict[str, np.ndarray]:
        """``{group: (n_clips, n_tags)}`` cosine similarities of unit clip embeddings (n_clips, d)."""
        rows = np.asarray(embeddings, dtype=np.float32)
        return {group: rows @ tags.T for group, tags in self.tag_embeddings.items()}

    def rank(self, embedding: np.ndarray, top: int | None = None) -> dict[str, list[tuple[str, float]]]:
        """The ``top`` (``None``: all) best tags of one clip embedding (d,) per group, best first."""
        return self.rank_rows(np.asarray(embedding)[None, :], top)[0]

    def rank_rows(self, embeddings: np.ndarray, top: int | None = None) -> list[dict[str, list[tuple[str, float]]]]:
        """``rank`` of every row of ``embeddings`` (n, d), each group sorted for all rows at once."""
        rows: list[dict[str, list[tuple[str, float]]]] = [{} for _ in range(len(embeddings))]
        if top == 0 or not rows or not self.groups:
            return rows
        groups, width, dim = self._table.shape
        clips = np.asarray(embeddings, dtype=np.float32)
        scores = (clips @ self._table.reshape(groups * width, dim).T).reshape(len(clips), groups, width)
        scores[:, self._padding] = -np.inf
        order = np.argsort(-scores, axis=2, kind="stable")[:, :, :top]
        values = np.take_along_axis(scores, order, 2).tolist()
        names = self._names[np.arange(groups)[:, None], order].tolist()
        kept = [(group, len(tags) if top is None else min(top, len(tags))) for group, tags in self.groups.items()]
        for row, row_names, row_values in zip(rows, names, values, strict=True):
            for (group, count), tags, scored in zip(kept, row_names, row_values, strict=True):
                row[group] = list(zip(tags[:count], scored[:count], strict=True))
        return rows

    def best(self, scores: dict[str, np.ndarray], row: int) -> dict[str, tuple[str, float]]:
        """``{group: (best tag, its score)}`` of clip ``row`` in ``scores`` (from :meth:`scores`)."""
        return {group: ranked(self.groups[group], matrix[row], 1)[0] for group, matrix in scores.items()}
