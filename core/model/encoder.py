"""Shared inference machinery for torch dual encoders: batching, long audio, text batching."""

from __future__ import annotations

import abc
import contextlib
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from paraseek.audio import prepare_waveform
from paraseek.errors import EmptyText, InvalidArgument, TextTooLong
from paraseek.limits import MAX_TEXT_CHARS, MIN_CLIP_SECONDS
from paraseek.model.base import EmbeddingModel
from paraseek.model.config import ModelConfig

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

#: Default long-audio policy: clips are cut into equal windows of at most this many seconds.
DEFAULT_WINDOW_SECONDS = 30.0
#: Default budget of padded audio per forward pass.
DEFAULT_BATCH_SECONDS = 60.0


def parse_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``"float32" | "bfloat16" | "float16"`` (or a torch dtype) -> torch dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise InvalidArgument(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    return DTYPES[dtype]


def windows(n_samples: int, window: int) -> list[tuple[int, int]]:
    """Split ``n_samples`` into the fewest equal windows of at most ``window`` samples."""
    count = max(1, math.ceil(n_samples / window))
    bounds = np.linspace(0, n_samples, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def length_batches(lengths: Sequence[int], max_samples: int, max_items: int) -> Iterator[list[int]]:
    """Indices grouped longest first so that ``len(batch) * longest <= max_samples``."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batch: list[int] = []
    for index in order:
        longest = lengths[batch[0]] if batch else lengths[index]
        if batch and ((len(batch) + 1) * longest > max_samples or len(batch) >= max_items):
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch


class TorchDualEncoder(EmbeddingModel):
    """Base for torch models: subclasses provide the network's pooled audio and text forward passes.

    Long audio: a clip longer than ``preprocessing.window_seconds`` (default 30 s) is cut into the
    fewest equal windows no longer than that; the windows' pooled features are averaged, weighted
    by their length, before the projection. Shorter clips are encoded whole. Nothing is random.
    Batching never changes a result beyond float rounding: every forward pass uses a padding mask.
    On CPU, ``preprocessing.cpu_max_batch_items`` (default: ``max_batch_items``) caps the clips per
    forward pass: the real-size speech tower runs fastest there one clip at a time.

    Precision: ``dtype`` float32 runs in full precision. A reduced ``dtype`` casts the weights on
    CPU (bf16 runs about 3x faster than fp32 on CPUs with bf16 units); on CUDA the weights stay
    float32 and every forward pass runs under autocast to ``dtype``, which keeps normalisations and
    reductions in float32.
    """

    def __init__(
        self,
        config: ModelConfig,
        network: torch.nn.Module,
        *,
        fingerprint: str,
        tokenizer_source: str | None,
        device: str = "cpu",
        dtype: str | torch.dtype = "float32",
    ) -> None:
        self.config = config
        self.device = torch.device(device)
        requested = parse_dtype(dtype)
        #: the autocast dtype of forward passes (``None``: the weights' own dtype)
        self.autocast_dtype = requested if self.device.type == "cuda" and requested != torch.float32 else None
        #: the weights' dtype
        self.dtype = torch.float32 if self.autocast_dtype is not None else requested
        self.network = network.to(device=self.device, dtype=self.dtype).eval()
        self._fingerprint = fingerprint
        self._tokenizer_source = tokenizer_source
        self._tokenizer: Any = None
        policy = config.preprocessing
        self.window_seconds = float(policy.get("window_seconds", DEFAULT_WINDOW_SECONDS))
        self.max_batch_seconds = float(policy.get("max_batch_seconds", DEFAULT_BATCH_SECONDS))
        self.max_batch_items = int(policy.get("max_batch_items", 32))
        if self.device.type == "cpu":
            self.max_batch_items = int(policy.get("cpu_max_batch_items", self.max_batch_items))
        self.max_text_tokens = int(policy.get("max_text_tokens", 512))

    # --- what subclasses implement -------------------------------------------------------------

    @abc.abstractmethod
    def _preprocess(self, wave: np.ndarray) -> np.ndarray:
        """Per-clip model input from a mono waveform at ``sample_rate`` (e.g. normalisation)."""

    @abc.abstractmethod
    def _pool_audio(self, waves: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features (b, h) of zero-padded inputs (b, n) with a sample mask (b, n)."""

    @abc.abstractmethod
    def _project_audio(self, pooled: torch.Tensor) -> torch.Tensor:
        """Projection head: (b, h) -> (b, d), not yet normalised."""

    @abc.abstractmethod
    def _text_forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Projected text embeddings (b, d), not yet normalised."""

    @abc.abstractmethod
    def _load_tokenizer(self, source: str | None) -> Any:
        """A callable tokenizer (transformers style) for this model."""

    def _precision(self) -> contextlib.AbstractContextManager[object]:
        """The context every forward pass runs in (autocast on CUDA with a reduced dtype)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    # --- public API ----------------------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def memory_bytes(self) -> int:
        tensors = itertools.chain(self.network.parameters(), self.network.buffers())
        return sum(tensor.numel() * tensor.element_size() for tensor in tensors)

    @property
    def logit_scale(self) -> float:
        return float(self.network.get_parameter("log_logit_scale").detach().float().exp().clamp(max=100.0))

    @property
    def tokenizer(self) -> Any:
        """The text tokenizer, loaded on first use."""
        if self._tokenizer is None:
            self._tokenizer = self._load_tokenizer(self._tokenizer_source)
        return self._tokenizer

    def prepare(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        mono = prepare_waveform(wave, sample_rate, self.sample_rate, min_seconds=MIN_CLIP_SECONDS)
        return self._preprocess(mono)

    @torch.inference_mode()
    def embed_prepared(self, inputs: Sequence[np.ndarray], *, max_batch_seconds: float | None = None) -> np.ndarray:
        if not inputs:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        window = int(self.window_seconds * self.sample_rate)
        pieces: list[np.ndarray] = []
        owners: list[int] = []
        for clip_index, clip in enumerate(inputs):
            for start, end in windows(clip.shape[0], window):
                pieces.append(clip[start:end])
                owners.append(clip_index)
        budget = int((max_batch_seconds or self.max_batch_seconds) * self.sample_rate)
        pooled: list[torch.Tensor | None] = [None] * len(pieces)
        for batch in length_batches([p.shape[0] for p in pieces], max(budget, window), self.max_batch_items):
            longest = pieces[batch[0]].shape[0]
            waves = torch.zeros(len(batch), longest, dtype=torch.float32)
            mask = torch.zeros(len(batch), longest, dtype=torch.long)
            for row, index in enumerate(batch):
                n = pieces[index].shape[0]
                waves[row, :n] = torch.from_numpy(pieces[index])
                mask[row, :n] = 1
            with self._precision():
                features = self._pool_audio(waves.to(self.device, self.dtype), mask.to(self.device))
            for row, index in enumerate(batch):
                pooled[index] = features[row].float()
        width = pooled[0].shape[-1]  # type: ignore[union-attr]
        sums = torch.zeros(len(inputs), width, device=self.device)
        weights = torch.zeros(len(inputs), 1, device=self.device)
        for index, owner in enumerate(owners):
            sums[owner] += pooled[index] * pieces[index].shape[0]
            weights[owner] += pieces[index].shape[0]
        with self._precision():
            projected = self._project_audio((sums / weights).to(self.dtype)).float()
        return torch.nn.functional.normalize(projected, dim=-1).cpu().numpy()

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise InvalidArgument("embed_text takes a list of strings, not one string")
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise EmptyText("style descriptions must be non-empty strings")
            if len(text) > MAX_TEXT_CHARS:
                raise TextTooLong(f"description has {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
        if not texts:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.embedding_dim), dtype=np.float32)
        for start in range(0, len(order), 64):
            chunk = order[start : start + 64]
            tokens = self.tokenizer(
                [texts[i] for i in chunk],
                padding="longest",
                truncation=True,
                max_length=self.max_text_tokens,
                return_tensors="np",
            )
            out[chunk] = self.embed_text_tokens(tokens["input_ids"], tokens["attention_mask"])
        return out

    @torch.inference_mode()
    def embed_text_tokens(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Embed already tokenised text: int arrays (b, t) -> (b, d)."""
        ids = torch.as_tensor(np.asarray(input_ids), dtype=torch.long, device=self.device)
        mask = torch.as_tensor(np.asarray(attention_mask), dtype=torch.long, device=self.device)
        if ids.ndim != 2 or ids.shape != mask.shape:
            raise InvalidArgument(f"input_ids {tuple(ids.shape)} and attention_mask {tuple(mask.shape)} must be equal (b, t)")
        with self._precision():
            projected = self._text_forward(ids, mask).float()
        return torch.nn.functional.normalize(projected, dim=-1).cpu().numpy()

