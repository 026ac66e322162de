"""Small acoustic measurements of mono speech: level, pitch, spectral centroid, speaking activity.

These are checks on generated and probe audio (is a "loud" clip louder, a "high-pitched" one higher),
not features for a model. Numpy, vectorised over frames; pitch comes from ``paraseek.audio.track_pitch``.
"""

from __future__ import annotations

import numpy as np

from paraseek.audio.pitch import track_pitch

_FRAME_S = 0.040
_HOP_S = 0.010


def _frames(x: np.ndarray, frame: int, hop: int) -> np.ndarray:
    if len(x) < frame:
        x = np.pad(x, (0, frame - len(x)))
    count = 1 + (len(x) - frame) // hop
    return np.lib.stride_tricks.sliding_window_view(x, frame)[::hop][:count]


def active_mask(x: np.ndarray, sample_rate: int, *, floor_db: float = 30.0) -> np.ndarray:
    """Frames (10 ms hop) whose level lies within ``floor_db`` of the loudest frame."""
    frames = _frames(np.asarray(x, np.float64), int(_FRAME_S * sample_rate), int(_HOP_S * sample_rate))
    energy = (frames**2).mean(axis=1) + 1e-20
    level = 10 * np.log10(energy)
    return level > level.max() - floor_db


def active_rms_dbfs(x: np.ndarray, sample_rate: int) -> float:
    """RMS level in dBFS over the frames that carry speech (silence does not dilute it)."""
    frames = _frames(np.asarray(x, np.float64), int(_FRAME_S * sample_rate), int(_HOP_S * sample_rate))
    mask = active_mask(x, sample_rate)
    return float(10 * np.log10((frames[mask] ** 2).mean() + 1e-20))


def peak_dbfs(x: np.ndarray) -> float:
    """Sample peak in dBFS."""
    return float(20 * np.log10(np.abs(x).max() + 1e-12))


def spectral_centroid(x: np.ndarray, sample_rate: int) -> float:
    """Power-weighted mean frequency (Hz) over the active frames."""
    frame, hop = int(_FRAME_S * sample_rate), int(_HOP_S * sample_rate)
    frames = _frames(np.asarray(x, np.float64), frame, hop)[active_mask(x, sample_rate)]
    power = np.abs(np.fft.rfft(frames * np.hanning(frame), axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1 / sample_rate)
    return float((power * freqs).sum() / (power.sum() + 1e-20))


def f0_track(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-frame (10 ms hop) F0 in Hz of the active frames; NaN for unvoiced or silent frames."""
    track = track_pitch(x, sample_rate, f0_min=50.0, f0_max=500.0, hop_seconds=_HOP_S)
    active = active_mask(x, sample_rate, floor_db=35.0)
    n = min(len(track), len(active))
    return np.where(active[:n], track[:n], np.nan)


def median_f0(x: np.ndarray, sample_rate: int) -> float:
    """Median F0 (Hz) over voiced frames; NaN when fewer than five frames are voiced."""
    track = f0_track(x, sample_rate)
    voiced = track[~np.isnan(track)]
    return float(np.median(voiced)) if voiced.size >= 5 else float("nan")


def voiced_fraction(x: np.ndarray, sample_rate: int) -> float:
    """Share of active frames that carry a periodic (voiced) signal."""
    track = f0_track(x, sample_rate)
    active = active_mask(x, sample_rate, floor_db=35.0)[: len(track)]
    return float((~np.isnan(track[active])).mean()) if active.any() else 0.0


def f0_spread_semitones(x: np.ndarray, sample_rate: int) -> float:
    """Standard deviation of voiced F0 in semitones: a measure of intonation range."""
    track = f0_track(x, sample_rate)
    voiced = track[~np.isnan(track)]
    if voiced.size < 5:
        return float("nan")
    return float(np.std(12 * np.log2(voiced / np.median(voiced))))


def soft_limit(x: np.ndarray, knee: float = 0.708) -> np.ndarray:
    """Leave samples below ``knee`` (-3 dBFS) alone and bend larger ones smoothly below full scale."""
    magnitude = np.abs(x)
    over = magnitude > knee
    y = np.array(x, dtype=np.float64, copy=True)
    y[over] = np.sign(x[over]) * (knee + (1 - knee) * np.tanh((magnitude[over] - knee) / (1 - knee)))
    return y


def set_level(x: np.ndarray, sample_rate: int, level_dbfs: float) -> np.ndarray:
    """Scale so that the active-frame RMS is ``level_dbfs``, then soft-limit the peaks."""
    return soft_limit(x * 10 ** ((level_dbfs - active_rms_dbfs(x, sample_rate)) / 20))


def band_energy_share(x: np.ndarray, sample_rate: int, low: float, high: float) -> float:
    """Share of the active frames' power that lies between ``low`` and ``high`` Hz."""
    frame, hop = int(_FRAME_S * sample_rate), int(_HOP_S * sample_rate)
    frames = _frames(np.asarray(x, np.float64), frame, hop)[active_mask(x, sample_rate)]
    power = (np.abs(np.fft.rfft(frames * np.hanning(frame), axis=1)) ** 2).sum(axis=0)
    freqs = np.fft.rfftfreq(frame, 1 / sample_rate)
    return float(power[(freqs >= low) & (freqs < high)].sum() / (power.sum() + 1e-20))
