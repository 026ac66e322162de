"""Pitch tracking (YIN) of mono speech: the one tracker the indexer and the training tools share."""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

#: Pitch search range (Hz): covers low male to high child voices.
F0_MIN_HZ = 60.0
F0_MAX_HZ = 500.0
#: YIN threshold on the cumulative-mean-normalised difference: lower is stricter voicing.
YIN_THRESHOLD = 0.15
HOP_SECONDS = 0.01
#: Lowest rate the tracker runs at: even rates at or above twice this are halved first,
#: after a [1, 2, 1] / 4 low-pass (cheap; a little aliasing does not move a pitch estimate).
PITCH_RATE = 8000
HALFBAND = np.array([0.25, 0.5, 0.25], dtype=np.float32)
_FRAMES_PER_CHUNK = 2048


def track_pitch(wave: np.ndarray, sample_rate: int, *, f0_min: float = F0_MIN_HZ, f0_max: float = F0_MAX_HZ,
                threshold: float = YIN_THRESHOLD, hop_seconds: float = HOP_SECONDS) -> np.ndarray:
    """YIN pitch track: F0 in Hz per hop (frame ``i`` starts at ``i * hop_seconds``), ``nan`` where unvoiced.

    F0 needs little bandwidth, so even rates of at least ``2 * PITCH_RATE`` are halved first. Per
    frame: the squared-difference function over lags (via FFT cross-correlation), its
    cumulative-mean normalisation, the first lag under ``threshold`` followed down to its local
    minimum, and parabolic interpolation for sub-sample precision. FFTs run in float32 (torch),
    energies and the normalisation in float64.
    """
    wave = np.asarray(wave, dtype=np.float32)
    while sample_rate >= 2 * PITCH_RATE and sample_rate % 2 == 0:
        wave = np.convolve(wave, HALFBAND, mode="same")[::2]
        sample_rate //= 2
    lag_min = max(2, int(sample_rate / f0_max))
    lag_max = int(math.ceil(sample_rate / f0_min))
    window = lag_max
    length = window + lag_max + 2
    hop = max(1, int(round(hop_seconds * sample_rate)))
    if wave.shape[0] < length:
        wave = np.pad(wave, (0, length - wave.shape[0]))
    frames = sliding_window_view(wave, length)[::hop]
    squares = np.concatenate([[0.0], np.cumsum(wave.astype(np.float64) ** 2)])
    n_fft = 1 << int(math.ceil(math.log2(length + window)))
    f0 = np.full(frames.shape[0], np.nan, dtype=np.float32)
    lags = np.arange(1, lag_max + 2, dtype=np.float64)
    offsets = np.arange(lag_max + 2)
    for start in range(0, frames.shape[0], _FRAMES_PER_CHUNK):
        chunk = frames[start : start + _FRAMES_PER_CHUNK]
        frames_t = torch.from_numpy(np.ascontiguousarray(chunk))
        head = torch.fft.rfft(frames_t[:, :window], n_fft)
        full = torch.fft.rfft(frames_t, n_fft)
        correlation = torch.fft.irfft(head.conj() * full, n_fft)[:, : lag_max + 2].double().numpy()
        first = (start + np.arange(chunk.shape[0]))[:, None] * hop + offsets[None, :]
        energy = squares[first + window] - squares[first]  # energy of the window shifted by each lag
        difference = np.maximum(energy[:, :1] + energy - 2.0 * correlation, 0.0)[:, 1:]
        running = np.cumsum(difference, axis=1)
        cmnd = difference * lags / np.maximum(running, 1e-12)
        # column c holds lag c + 1
        search = cmnd[:, lag_min - 1 : lag_max]
        below = search < threshold
        voiced = below.any(axis=1) & (energy[:, 0] > 1e-10 * window)
        rows = np.nonzero(voiced)[0]
        if rows.size == 0:
            continue
        col = below[rows].argmax(axis=1) + lag_min - 1
        for _ in range(lag_max):
            step = (col + 1 < lag_max) & (cmnd[rows, np.minimum(col + 1, lag_max)] < cmnd[rows, col])
            if not step.any():
                break
            col = col + step
        left = cmnd[rows, np.maximum(col - 1, 0)]
        mid = cmnd[rows, col]
        right = cmnd[rows, col + 1]
        curvature = left - 2.0 * mid + right
        offset = np.where(np.abs(curvature) > 1e-12, 0.5 * (left - right) / np.where(curvature == 0, 1, curvature), 0.0)
        period = col + 1 + np.clip(offset, -1.0, 1.0)
        f0[start + rows] = sample_rate / period
    return f0
