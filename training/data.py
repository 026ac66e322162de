"""Training and evaluation data: manifests, clip decoding, random crops, augmentation and batching.

Two manifest row formats are read:

- paraseek corpora (``paraseek synth``): ``path`` (relative to the manifest folder), ``captions``,
  ``tags`` ({group: tag}), ``split``, ``speaker``, ``gender``.
- ParaSpeechCaps-style rows: ``source``, ``relative_audio_path`` (audio at
  ``{audio_root}/{source}/{relative_audio_path}``), ``text_description`` (list), and optional
  ``intrinsic_tags`` / ``situational_tags`` / ``all_tags`` lists, ``speakerid``, ``gender``, ``split``.
  Tags are assigned to groups through the model config's ``style_groups``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from paraseek.audio import load_audio
from paraseek.audio.resample import resample
from paraseek.errors import AudioError, InvalidArgument


@dataclasses.dataclass(frozen=True)
class Example:
    """One training/evaluation clip: where its audio is, its descriptions and its labels."""

    audio_path: Path
    captions: tuple[str, ...]
    tags: dict[str, tuple[str, ...]]  # group -> tags present (a labelled group)
    split: str
    speaker: str
    gender: str | None

    def tag_keys(self) -> list[str]:
        """``group:tag`` strings, the units of class-balanced sampling."""
        return [f"{group}:{tag}" for group, tags in sorted(self.tags.items()) for tag in tags]

    def has_any(self, tags: Sequence[str]) -> bool:
        """Whether the clip carries any of ``tags``."""
        return any(tag in present for present in self.tags.values() for tag in tags)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """JSON lines of a manifest; a malformed line is an ``InvalidArgument`` naming it."""
    rows = []
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise InvalidArgument(f"cannot read manifest {path}: {error}") from error
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise InvalidArgument(f"{path}:{number}: not JSON ({error})") from error
    return rows


def _group_tags(tags: Sequence[str], style_groups: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    present = {t.strip().lower() for t in tags}
    grouped = {group: tuple(t for t in options if t.lower() in present) for group, options in style_groups.items()}
    return {group: found for group, found in grouped.items() if found}


def example_from_row(row: dict[str, Any], base: Path, audio_root: Path | None,
                     style_groups: dict[str, list[str]]) -> Example:
    """Normalise one manifest row of either format."""
    if "relative_audio_path" in row:
        if audio_root is None:
            raise InvalidArgument("ParaSpeechCaps-style manifests need audio_root (the folder holding {source}/...)")
        audio = Path(audio_root) / str(row.get("source", "")) / row["relative_audio_path"]
        captions = row.get("text_description") or []
        if isinstance(captions, str):
            captions = [captions]
        raw_tags: list[str] = []
        for key in ("intrinsic_tags", "situational_tags", "all_tags", "basic_tags"):
            raw_tags.extend(row.get(key) or [])
        tags = _group_tags(raw_tags, style_groups)
        speaker = str(row.get("speakerid") or row.get("name") or audio.parent)
    elif "path" in row:
        audio = base / row["path"]
        captions = row.get("captions") or []
        tags = {group: (tag,) for group, tag in (row.get("tags") or {}).items()}
        speaker = str(row.get("speaker", ""))
    else:
        raise InvalidArgument("manifest rows need 'path' (paraseek corpus) or 'relative_audio_path' (ParaSpeechCaps)")
    captions = tuple(c for c in captions if isinstance(c, str) and c.strip())
    return Example(audio, captions, tags, str(row.get("split", "train")), speaker, row.get("gender"))


def load_examples(manifest: Path, *, audio_root: Path | None = None, split: str | None = None,
                  style_groups: dict[str, list[str]] | None = None) -> list[Example]:
    """Examples of ``manifest`` (optionally one split) that have at least one caption."""
    manifest = Path(manifest)
    rows = read_rows(manifest)
    examples = [example_from_row(r, manifest.parent, audio_root, style_groups or {}) for r in rows]
    return [e for e in examples if e.captions and (split is None or e.split == split)]


def random_crop(wave: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``length``-sample window of ``wave`` (the whole clip when it is shorter)."""
    if wave.shape[0] <= length:
        return wave
    start = int(rng.integers(0, wave.shape[0] - length + 1))
    return wave[start : start + length]


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Label-preserving training perturbations.

    ``gain_db``: uniform gain in ±gain_db (keep it below the gaps between volume classes);
    ``noise_probability``: chance of adding white noise ``noise_snr_db`` (range) below the clip's RMS;
    ``speed_probability``: chance of speed perturbation (Ko et al. 2015): the clip resampled as if
    recorded at one of ``speed_rates`` (Hz, against ``sample_rate``), which moves tempo, pitch and
    formants together by about ±1 semitone, well inside the gaps between speed and pitch classes.
    """

    gain_db: float = 0.0
    noise_probability: float = 0.0
    noise_snr_db: tuple[float, float] = (35.0, 60.0)
    speed_probability: float = 0.0
    speed_rates: tuple[int, ...] = (15000, 15500, 16500, 17000)
    sample_rate: int = 16000

    def apply(self, wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.speed_probability and rng.random() < self.speed_probability:
            wave = resample(wave, self.sample_rate, int(rng.choice(self.speed_rates)))
        if self.gain_db:
            wave = wave * np.float32(10.0 ** (rng.uniform(-self.gain_db, self.gain_db) / 20.0))
        if self.noise_probability and rng.random() < self.noise_probability:
            rms = float(np.sqrt(np.mean(np.square(wave), dtype=np.float64)))
            level = rms * 10.0 ** (-rng.uniform(*self.noise_snr_db) / 20.0)
            wave = wave + (level * rng.standard_normal(wave.shape[0])).astype(np.float32)
        return wave.astype(np.float32, copy=False)


class ClipDataset(torch.utils.data.Dataset):
    """Prepared waveforms of ``examples`` (decoded and passed through ``prepare``), cropped and augmented.

    With ``cache=True`` every clip is decoded once up front and kept in memory (small corpora), and
    clips that cannot be decoded are dropped from ``examples``; otherwise clips are decoded on access
    (DataLoader workers) and an undecodable clip is replaced by the next one. Returns ``(wave, index)``.
    """

    def __init__(self, examples: Sequence[Example], prepare: Any, *, sample_rate: int,
                 crop_seconds: float | None = None, augmentation: Augmentation | None = None,
                 cache: bool = False, seed: int = 0) -> None:
        self.examples = list(examples)
        self.prepare = prepare
        self.crop = int(crop_seconds * sample_rate) if crop_seconds else None
        self.augmentation = augmentation or Augmentation()
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self.cached: list[np.ndarray] | None = None
        if cache:
            waves, kept = load_prepared(self.examples, prepare)
            self.examples = [self.examples[i] for i in kept]
            self.cached = waves
        if not self.examples:
            raise InvalidArgument("no usable training clips")

    def _decode(self, index: int) -> np.ndarray:
        wave, rate = load_audio(self.examples[index].audio_path)
        return self.prepare(wave, rate)

    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None:  # one generator per process (DataLoader workers fork after construction)
            info = torch.utils.data.get_worker_info()
            self._rng = np.random.default_rng([self.seed, info.id if info else 0, torch.initial_seed() % 2**32])
        return self._rng

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        if self.cached is not None:
            wave = self.cached[index]
        else:
            for attempt in range(len(self.examples)):
                try:
                    wave = self._decode((index + attempt) % len(self.examples))
                    break
                except AudioError:
                    continue
            else:
                raise AudioError("no clip of the dataset can be decoded")
        if self.crop:
            wave = random_crop(wave, self.crop, self.rng)
        return self.augmentation.apply(wave, self.rng), index


def collate(items: Sequence[tuple[np.ndarray, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Zero-padded waves (b, n), sample mask (b, n) and example indices (b,)."""
    longest = max(wave.shape[0] for wave, _ in items)
    waves = torch.zeros(len(items), longest)
    mask = torch.zeros(len(items), longest, dtype=torch.long)
    for row, (wave, _) in enumerate(items):
        waves[row, : wave.shape[0]] = torch.from_numpy(wave)
        mask[row, : wave.shape[0]] = 1
    return waves, mask, torch.tensor([index for _, index in items])


def load_prepared(examples: Sequence[Example], prepare: Any) -> tuple[list[np.ndarray], list[int]]:
    """Decode and prepare whole clips for evaluation; undecodable clips are skipped (their indices are not returned)."""
    waves, kept = [], []
    for index, example in enumerate(examples):
        try:
            wave, rate = load_audio(example.audio_path)
            waves.append(prepare(wave, rate))
        except AudioError:
            continue
        kept.append(index)
    return waves, kept
