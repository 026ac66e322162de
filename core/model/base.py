"""The interface every paraseek embedding model implements."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paraseek.errors import InvalidArgument
from paraseek.model.config import ModelConfig
from paraseek.model.zeroshot import ZERO_SHOT_PROMPT, ZeroShotScorer


@dataclass(frozen=True)
class ModelSource:
    """How to load a model again: its config (a registered name or a config file) and its checkpoint.

    ``checkpoint`` is a local file or ``hf-hub:owner/repo``; ``None`` means the config's own weights.
    """

    config: str
    checkpoint: str | None = None


class EmbeddingModel(abc.ABC):
    """A speech/text dual encoder mapping clips and style descriptions into one space.

    Embeddings are L2-normalised float32 rows; the dot product is the match score.
    """

    config: ModelConfig
    #: Where ``load_model`` loaded it from (``None``: built in code, with random weights or another tokenizer).
    source: ModelSource | None = None

    @property
    def name(self) -> str:
        """Registered name of the model (e.g. ``paraspeechclap-combined``)."""
        return self.config.name

    @property
    def embedding_dim(self) -> int:
        """Width of the shared embedding space."""
        return self.config.embedding_dim

    @property
    def sample_rate(self) -> int:
        """Sample rate the speech encoder expects; other rates are resampled."""
        return self.config.sample_rate

    @property
    def memory_bytes(self) -> int:
        """Bytes its weights take in memory (0: unknown)."""
        return 0

    @property
    @abc.abstractmethod
    def fingerprint(self) -> str:
        """Stable hex digest of the weights; collections record it to refuse mismatched queries."""

    @property
    @abc.abstractmethod
    def logit_scale(self) -> float:
        """exp(log_logit_scale): the temperature-inverse used in training."""

    @abc.abstractmethod
    def prepare(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        """Resample, downmix and preprocess one clip into the model's input (CPU, no model needed)."""

    @abc.abstractmethod
    def embed_prepared(self, inputs: Sequence[np.ndarray], *, max_batch_seconds: float | None = None) -> np.ndarray:
        """Embed clips already passed through ``prepare`` (lets callers decode in other processes)."""

    def embed_audio(
        self,
        waves: Sequence[np.ndarray],
        sample_rate: int | Sequence[int] = 16000,
        *,
        max_batch_seconds: float | None = None,
    ) -> np.ndarray:
        """Embed clips, each a float array of shape (n,) or (channels, n), as (len(waves), d)."""
        rates = [sample_rate] * len(waves) if isinstance(sample_rate, int) else list(sample_rate)
        if len(rates) != len(waves):
            raise InvalidArgument(f"got {len(waves)} clips but {len(rates)} sample rates")
        inputs = [self.prepare(wave, rate) for wave, rate in zip(waves, rates, strict=True)]
        return self.embed_prepared(inputs, max_batch_seconds=max_batch_seconds)

    @abc.abstractmethod
    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed style descriptions as (len(texts), d)."""

    def style_groups(self) -> dict[str, list[str]]:
        """Attribute groups and their tags for zero-shot classification: the styles the model claims to know."""
        return {group: list(tags) for group, tags in self.config.style_groups.items()}

    def trained_groups(self) -> dict[str, list[str]]:
        """Every group the model was trained on: ``style_groups`` and the config's ``unlearned_groups``."""
        return {group: list(tags) for group, tags in {**self.config.style_groups, **self.config.unlearned_groups}.items()}

    def classify(
        self,
        audio_embeddings: np.ndarray,
        groups: dict[str, list[str]] | None = None,
        prompt: str = ZERO_SHOT_PROMPT,
    ) -> dict[str, np.ndarray]:
        """Zero-shot scores per group: ``{group: (n_clips, n_tags)}`` cosine similarities.

        Scoring many batches? Build one :class:`ZeroShotScorer` so the tag prompts are embedded once.
        """
        return ZeroShotScorer(self, groups, prompt).scores(audio_embeddings)
