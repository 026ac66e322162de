"""Measured acoustics of a clip: level, pitch, voicing, speaking rate and SNR (numpy, torch FFTs).

Every measure works on a mono waveform at any sample rate and costs a few milliseconds per
second of audio. Levels are dB relative to full scale, where a constant signal of amplitude 1
(RMS 1) is 0 dBFS; a full-scale sine therefore reads -3 dBFS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from paraseek.audio.pitch import HOP_SECONDS, track_pitch

FRAME_SECONDS = 0.025
#: Frames more than this far below the loudest frame count as pauses.
ACTIVITY_RANGE_DB = 35.0
#: A syllable nucleus must rise this far above the dips on both sides (de Jong & Wempe use 2 dB).
NUCLEUS_DIP_DB = 2.0
FLOOR_DB = -120.0


@dataclass(frozen=True)
class Acoustics:
    """Per-clip measures stored in each point's payload (``None`` where undefined, e.g. no voicing)."""

    loudness_dbfs: float
    peak_dbfs: float
    f0_median_hz: float | None
    f0_std_semitones: float | None
    voiced_fraction: float
    speaking_rate: float
    snr_db: float

    def to_payload(self) -> dict[str, float | None]:
        """Rounded values for the payload."""
        return {key: (None if value is None else round(float(value), 3)) for key, value in asdict(self).items()}


def db(power: np.ndarray | float) -> np.ndarray:
    """10*log10 of a power, floored at ``FLOOR_DB``."""
    return np.maximum(10.0 * np.log10(np.maximum(power, 1e-30)), FLOOR_DB)


def frame_power_db(wave: np.ndarray, sample_rate: int, frame_seconds: float = FRAME_SECONDS,
                   hop_seconds: float = HOP_SECONDS) -> np.ndarray:
    """Mean power per frame in dBFS, frames of ``frame_seconds`` every ``hop_seconds``."""
    frame = max(1, int(round(frame_seconds * sample_rate)))
    hop = max(1, int(round(hop_seconds * sample_rate)))
    if wave.shape[0] < frame:
        wave = np.pad(wave, (0, frame - wave.shape[0]))
    squares = np.concatenate([[0.0], np.cumsum(wave.astype(np.float64) ** 2)])
    starts = np.arange(0, wave.shape[0] - frame + 1, hop)
    return db((squares[starts + frame] - squares[starts]) / frame)


def count_nuclei(levels_db: np.ndarray, voiced: np.ndarray, active: np.ndarray) -> int:
    """Syllable nuclei: voiced, active peaks of the smoothed level contour separated by >= 2 dB dips."""
    if levels_db.shape[0] < 3:
        return 0
    smooth = np.convolve(levels_db, np.ones(3) / 3, mode="same")
    peaks = np.nonzero((smooth[1:-1] > smooth[:-2]) & (smooth[1:-1] >= smooth[2:]))[0] + 1
    kept: list[int] = []
    for peak in peaks:
        if not (voiced[peak] and active[peak]):
            continue
        if kept:
            dip = smooth[kept[-1] : peak + 1].min()
            if smooth[kept[-1]] - dip < NUCLEUS_DIP_DB or smooth[peak] - dip < NUCLEUS_DIP_DB:
                if smooth[peak] > smooth[kept[-1]]:
                    kept[-1] = int(peak)
                continue
        kept.append(int(peak))
    return len(kept)


def measure(wave: np.ndarray, sample_rate: int) -> Acoustics:
    """All measures of a mono clip (float array at ``sample_rate``)."""
    wave = np.asarray(wave, dtype=np.float32)
    mean_square = float(np.mean(wave.astype(np.float64) ** 2)) if wave.size else 0.0
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    levels = frame_power_db(wave, sample_rate)
    f0 = track_pitch(wave, sample_rate)
    n = min(levels.shape[0], f0.shape[0])
    levels, f0 = levels[:n], f0[:n]
    active = levels > levels.max() - ACTIVITY_RANGE_DB
    voiced = ~np.isnan(f0) & active
    voiced_f0 = f0[voiced]
    if voiced_f0.size:
        semitones = 12.0 * np.log2(voiced_f0 / np.median(voiced_f0))
        f0_median: float | None = float(np.median(voiced_f0))
        f0_spread: float | None = float(np.std(semitones))
    else:
        f0_median = f0_spread = None
    active_seconds = max(float(active.sum()) * HOP_SECONDS, HOP_SECONDS)
    noise, signal = np.percentile(levels, [10, 95]) if n else (FLOOR_DB, FLOOR_DB)
    return Acoustics(
        loudness_dbfs=float(db(mean_square)),
        peak_dbfs=float(db(peak**2)),
        f0_median_hz=f0_median,
        f0_std_semitones=f0_spread,
        voiced_fraction=float(voiced.mean()) if n else 0.0,
        speaking_rate=count_nuclei(levels, voiced, active) / active_seconds,
        snr_db=float(np.clip(signal - noise, 0.0, 100.0)),
    )
