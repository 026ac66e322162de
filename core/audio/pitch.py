"""Pitch tracking of mono speech with Praat (``praat-parselmouth``): the one tracker the indexer and the
training tools share.

Praat is GPL-3.0 licensed, so it is an optional extra (``pip install 'paraseek[praat]'``) rather than
part of the engine: this module imports without it, ``praat_installed`` says whether it is there,
and its Praat functions raise ``MissingDependency`` with the install hint when it is not.

Praat's autocorrelation method (Boersma 1993, "Accurate short-term analysis of the fundamental
frequency and the harmonics-to-noise ratio of a sampled sound") with its default voicing settings.
The indexer's voice-quality measures (HNR, jitter, shimmer) reuse the same ``parselmouth.Pitch``
object, so every periodicity figure in a payload comes from this one analysis.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import numpy as np

from paraseek.errors import require

if TYPE_CHECKING:
    import parselmouth

#: The extra that installs Praat.
PRAAT_EXTRA = "praat"

#: Pitch search range (Hz): covers low male to high child voices.
F0_MIN_HZ = 60.0
F0_MAX_HZ = 500.0
#: Praat's voicing threshold: a frame is voiced when its normalised autocorrelation peak exceeds this.
VOICING_THRESHOLD = 0.45
#: The frame grid of per-frame measures (``pitch_frames``, the indexer's levels).
HOP_SECONDS = 0.01
#: The indexer's pitch analysis hop: half the frames of ``HOP_SECONDS`` and half the cost, with the
#: bins' agreement with known labels unchanged (docs/measurements.md); grid frames take the nearest.
ANALYSIS_HOP_SECONDS = 0.02


def praat_installed() -> bool:
    """Whether Praat (``praat-parselmouth``, the ``praat`` extra) can be imported."""
    return importlib.util.find_spec("parselmouth") is not None


def to_sound(wave: np.ndarray, sample_rate: int) -> parselmouth.Sound:
    """A mono float waveform as a Praat sound; ``MissingDependency`` without the ``praat`` extra."""
    require("parselmouth", PRAAT_EXTRA)
    import parselmouth

    return parselmouth.Sound(np.asarray(wave, dtype=np.float64), sampling_frequency=float(sample_rate))


def analyse_pitch(sound: parselmouth.Sound, *, f0_min: float = F0_MIN_HZ, f0_max: float = F0_MAX_HZ,
                  voicing_threshold: float = VOICING_THRESHOLD,
                  hop_seconds: float = HOP_SECONDS) -> parselmouth.Pitch:
    """Praat's ``To Pitch (ac)`` of ``sound``: frames every ``hop_seconds``, the best path through candidates."""
    return sound.to_pitch_ac(time_step=hop_seconds, pitch_floor=f0_min, pitch_ceiling=f0_max,
                             voicing_threshold=voicing_threshold)


def pitch_frames(pitch: parselmouth.Pitch, n_frames: int, hop_seconds: float = HOP_SECONDS) -> np.ndarray:
    """F0 in Hz on a grid of ``n_frames`` hops (frame ``i`` covers ``[i, i + 1) * hop_seconds``), ``nan`` unvoiced.

    Each grid frame takes the analysis frame nearest its centre, where one lies within half an
    analysis hop (so a grid as fine as the analysis gets each analysis frame once).
    """
    f0 = np.full(n_frames, np.nan, dtype=np.float32)
    times = pitch.xs()
    if not times.size or not n_frames:
        return f0
    frequency = pitch.selected_array["frequency"]
    centres = (np.arange(n_frames) + 0.5) * hop_seconds
    nearest = np.clip(np.round((centres - times[0]) / pitch.time_step).astype(np.int64), 0, times.size - 1)
    keep = (np.abs(times[nearest] - centres) <= pitch.time_step / 2) & (frequency[nearest] > 0)
    f0[keep] = frequency[nearest[keep]]
    return f0


def track_pitch(wave: np.ndarray, sample_rate: int, *, f0_min: float = F0_MIN_HZ, f0_max: float = F0_MAX_HZ,
                voicing_threshold: float = VOICING_THRESHOLD, hop_seconds: float = HOP_SECONDS) -> np.ndarray:
    """F0 in Hz per hop (frame ``i`` covers ``[i, i + 1) * hop_seconds``), ``nan`` where unvoiced."""
    sound = to_sound(wave, sample_rate)
    n_frames = max(1, int(np.ceil(sound.duration / hop_seconds)))
    pitch = analyse_pitch(sound, f0_min=f0_min, f0_max=f0_max, voicing_threshold=voicing_threshold,
                          hop_seconds=hop_seconds)
    return pitch_frames(pitch, n_frames, hop_seconds)
