"""Decoding audio files and bytes into float32 arrays, and the model-side preprocessing."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import soundfile

from paraseek.audio.resample import resample
from paraseek.errors import AudioError

#: Longest clip paraseek decodes at all (seconds). Longer inputs are refused as absurd.
MAX_DECODE_SECONDS = 4 * 3600.0


def check_duration(frames: int, sample_rate: int, name: str, *, min_seconds: float = 0.0,
                   max_seconds: float = MAX_DECODE_SECONDS) -> None:
    """Raise ``AudioError`` unless ``frames`` at ``sample_rate`` last between the two limits (seconds).

    Callers check before decoding or resampling, so a clip that will be refused costs nothing.
    """
    if sample_rate <= 0:
        raise AudioError(f"{name}: invalid sample rate {sample_rate}")
    seconds = frames / sample_rate
    if seconds > max_seconds:
        raise AudioError(f"{name}: {seconds:.0f} s is longer than the limit of {max_seconds:.0f} s")
    if frames and seconds < min_seconds:
        raise AudioError(f"{name}: {seconds:.3f} s is shorter than the minimum of {min_seconds} s")


def _decode(source: str | Path | io.BytesIO, name: str, min_seconds: float,
            max_seconds: float) -> tuple[np.ndarray, int]:
    try:
        with soundfile.SoundFile(source) as handle:
            sample_rate = handle.samplerate
            check_duration(handle.frames, sample_rate, name, min_seconds=min_seconds, max_seconds=max_seconds)
            data = handle.read(dtype="float32", always_2d=True)
    except AudioError:
        raise
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        detail = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "the audio bytes", str(error))
        raise AudioError(f"{name}: cannot decode audio ({detail})") from error
    except OSError as error:
        raise AudioError(f"{name}: cannot read file ({error})") from error
    if data.shape[0] == 0:
        raise AudioError(f"{name}: contains no samples")
    check_duration(data.shape[0], sample_rate, name, min_seconds=min_seconds, max_seconds=max_seconds)
    wave = np.ascontiguousarray(data.T)
    if not np.isfinite(wave).all():
        raise AudioError(f"{name}: contains NaN or infinite samples")
    return wave, int(sample_rate)


def load_audio(path: str | Path, *, min_seconds: float = 0.0,
               max_seconds: float = MAX_DECODE_SECONDS) -> tuple[np.ndarray, int]:
    """Decode a file (wav, flac, ogg/vorbis, opus, mp3, ...) to ``(float32 (channels, n), sample_rate)``.

    Clips outside ``min_seconds``..``max_seconds`` raise ``AudioError``, from the header when it
    states the length (before anything is decoded).
    """
    return _decode(str(path), str(path), min_seconds, max_seconds)


def decode_bytes(data: bytes, *, min_seconds: float = 0.0, max_seconds: float = MAX_DECODE_SECONDS,
                 name: str = "audio") -> tuple[np.ndarray, int]:
    """Decode an encoded audio file held in memory, like ``load_audio``; errors begin with ``name``."""
    if not data:
        raise AudioError(f"{name}: empty (no bytes)")
    return _decode(io.BytesIO(data), name, min_seconds, max_seconds)


def to_mono(wave: np.ndarray) -> np.ndarray:
    """Average channels: (channels, n) -> (n,); (n,) is returned as float32."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim == 1:
        return wave
    if wave.ndim != 2:
        raise AudioError(f"audio must have shape (n,) or (channels, n), got {wave.shape}")
    return wave.mean(axis=0, dtype=np.float32)


def prepare_waveform(wave: np.ndarray, sample_rate: int, target_rate: int, *, min_seconds: float = 0.0,
                     max_seconds: float = MAX_DECODE_SECONDS) -> np.ndarray:
    """Resample every channel to ``target_rate``, then average to mono (the release's order).

    The length limits (seconds) are checked before resampling.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim not in (1, 2) or wave.shape[-1] == 0:
        raise AudioError(f"audio must be a non-empty (n,) or (channels, n) array, got shape {wave.shape}")
    check_duration(wave.shape[-1], sample_rate, "audio", min_seconds=min_seconds, max_seconds=max_seconds)
    if not np.isfinite(wave).all():
        raise AudioError("audio contains NaN or infinite samples")
    return to_mono(resample(wave, sample_rate, target_rate))


def normalize(wave: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per clip: ``(x - mean) / sqrt(var + 1e-7)``."""
    wave = np.asarray(wave, dtype=np.float32)
    return (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
