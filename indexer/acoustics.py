"""Measured acoustics of a clip: level, pitch, voicing, speaking rate, SNR, voice quality, reverberation.

Raw values (``Acoustics``) are computed in the decode workers; the calibrated keyword bins under
``measured.`` (``measured_bins``) are added where the clip's metadata is known, since the pitch bin
is relative to the speaker's gender. Pitch, HNR, jitter and shimmer come from one Praat pitch
analysis (``paraseek.audio.pitch``), CPP from Praat's power cepstrogram (of an excerpt band-limited
to 10 kHz by FFT); levels, speaking rate, SNR and the reverberation estimate from numpy frame
levels. Levels are dB relative to full scale, where a constant signal of amplitude 1 (RMS 1) is
0 dBFS; a full-scale sine therefore reads -3 dBFS.
Praat is the optional ``praat`` extra (GPL-3.0): without it the measures that need it
(``PRAAT_MEASURES``) are ``None`` and their bins absent; levels, SNR and reverberation remain.
Thresholds and their sources: ``docs/measurements.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from paraseek.audio.pitch import (
    ANALYSIS_HOP_SECONDS,
    HOP_SECONDS,
    analyse_pitch,
    pitch_frames,
    praat_installed,
    to_sound,
)
from paraseek.storage import FieldType

if TYPE_CHECKING:
    import parselmouth

FRAME_SECONDS = 0.025
#: Frames more than this far below the loudest frame count as pauses.
ACTIVITY_RANGE_DB = 35.0
#: A syllable nucleus must rise this far above the dips on both sides (de Jong & Wempe use 2 dB).
NUCLEUS_DIP_DB = 2.0
FLOOR_DB = -120.0
#: Voice quality is measured on at most this much audio (the middle of longer clips), reusing the
#: clip's one pitch analysis: it is a property of the voice, and Praat's cepstrogram is the
#: costliest measure per second.
VOICE_QUALITY_SECONDS = 2.0
#: Praat CPPS settings of Murton, Hillman & Mehta (2020), whose thresholds the breathiness bin uses;
#: frames every 50 ms rather than 2 ms (the mean over a clip moves by < 0.2 dB, at a fraction of the cost).
CEPSTROGRAM_STEP_SECONDS = 0.05
CEPSTROGRAM_MAX_HZ = 5000.0
#: The cepstrogram analyses up to 5 kHz. Praat would first resample the excerpt to 10 kHz with sinc
#: interpolation, which costs more than the analysis itself; the excerpt is handed over at 10 kHz,
#: band-limited by FFT with the same sharp cut at 5 kHz (``band_limited``; docs/measurements.md).
CEPSTROGRAM_RATE = 2 * int(CEPSTROGRAM_MAX_HZ)
#: Praat's period limits for jitter and shimmer (shortest, longest period, largest period factor).
PERIOD_RANGE = (0.0001, 0.02, 1.3)
MAX_AMPLITUDE_FACTOR = 1.6
#: Reverberation: least-squares level slopes over windows of this many 10 ms frames ...
DECAY_WINDOW_FRAMES = 6
#: ... that fall in every step and stay this far above the noise floor; the steepest decays
#: (this percentile of the falling slopes) are bounded by the room's own decay.
DECAY_HEADROOM_DB = 10.0
DECAY_PERCENTILE = 10.0


@dataclass(frozen=True)
class Acoustics:
    """Per-clip measures stored in each point's payload (``None`` where undefined, e.g. no voicing)."""

    loudness_dbfs: float
    peak_dbfs: float
    f0_median_hz: float | None
    f0_std_semitones: float | None
    voiced_fraction: float | None
    speaking_rate: float | None
    snr_db: float
    hnr_db: float | None
    cpp_db: float | None
    jitter_percent: float | None
    shimmer_percent: float | None
    reverberation_seconds: float | None

    def to_payload(self) -> dict[str, float | None]:
        """Rounded values for the payload."""
        return {key: (None if value is None else round(float(value), 3)) for key, value in asdict(self).items()}


#: The measures that come from Praat's pitch analysis and voice-quality queries (``None`` without Praat).
PRAAT_MEASURES = ("f0_median_hz", "f0_std_semitones", "voiced_fraction", "speaking_rate", "hnr_db", "cpp_db",
                  "jitter_percent", "shimmer_percent")
#: Bin thresholds (see docs/measurements.md for the sources). Pitch: thirds (in semitones) of the
#: typical adult speaking-f0 range of each gender; unknown gender is taken from f0 at GENDER_SPLIT_HZ.
PITCH_BANDS_HZ = {"male": (109.0, 139.0), "female": (191.0, 220.0)}
GENDER_SPLIT_HZ = 165.0
SPEAKING_RATE_BANDS = (3.5, 5.5)  # syllables per second of speaking
NOISE_BANDS_DB = (15.0, 30.0)  # SNR
REVERBERATION_BANDS_SECONDS = (0.3, 0.5)  # estimated decay time (T60)
BREATHY_CPP_DB = 9.33  # CPPS of connected speech below this reads as dysphonic/breathy
BREATHY_HNR_DB = 7.0
#: Keyword bins of ``measured_bins`` and the values each can take.
BIN_VALUES: dict[str, tuple[str, ...]] = {
    "gender": ("male", "female"),
    "pitch": ("low", "medium", "high"),
    "speaking_rate": ("slow", "moderate", "fast"),
    "noise": ("noisy", "moderate", "clean"),
    "reverberation": ("close", "room", "distant"),
    "breathiness": ("breathy", "clear"),
}
#: The payload fields this module writes, with their index types.
PAYLOAD_FIELDS: dict[str, FieldType] = {
    **{name: FieldType.FLOAT for name in Acoustics.__dataclass_fields__},
    **{f"measured.{name}": FieldType.KEYWORD for name in BIN_VALUES},
}


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


def decay_seconds(levels_db: np.ndarray, noise_floor_db: float) -> float | None:
    """Blind reverberation time: 60 dB over the steepest free decays of the level contour (seconds).

    After a sound stops, its level cannot fall faster than the room lets it (Wen, Habets & Naylor,
    ICASSP 2008, "Blind estimation of reverberation time based on the distribution of signal decay
    rates"): the steep end of the distribution of falling slopes estimates the room's decay rate.
    """
    if levels_db.shape[0] < DECAY_WINDOW_FRAMES:
        return None
    windows = sliding_window_view(levels_db, DECAY_WINDOW_FRAMES)
    falling = (np.diff(windows, axis=1) < 0).all(axis=1) & (windows[:, -1] > noise_floor_db + DECAY_HEADROOM_DB)
    if not falling.any():
        return None
    times = (np.arange(DECAY_WINDOW_FRAMES) - (DECAY_WINDOW_FRAMES - 1) / 2) * HOP_SECONDS
    slopes = (windows[falling] @ times) / float(times @ times)  # dB per second, all negative
    return float(60.0 / -np.percentile(slopes, DECAY_PERCENTILE))


def band_limited(wave: np.ndarray, sample_rate: int, new_rate: int) -> np.ndarray:
    """``wave`` resampled to a lower ``new_rate`` by cutting its spectrum at the new Nyquist frequency.

    The clip is zero-padded on both sides (a tenth of a second, and up to a whole number of output
    samples) so that the FFT's circular wrap does not fold its end onto its start. Output samples
    sit at the centres of their periods within the clip's span, as Praat places them.
    """
    if new_rate >= sample_rate:
        raise ValueError(f"band_limited only lowers the rate ({sample_rate} -> {new_rate} Hz)")
    step = sample_rate // math.gcd(sample_rate, new_rate)  # input samples per whole output step
    margin = step * -(-sample_rate // (10 * step))
    tail = margin + (-(wave.shape[0] + 2 * margin)) % step
    padded = np.concatenate([np.zeros(margin), np.asarray(wave, dtype=np.float64), np.zeros(tail)])
    length = padded.shape[0] * new_rate // sample_rate
    spectrum = np.fft.rfft(padded)[: length // 2 + 1]
    delay = 0.5 / new_rate - 0.5 / sample_rate  # first output sample after the first input sample (s)
    spectrum *= np.exp(2j * np.pi * np.fft.rfftfreq(padded.shape[0], 1.0 / sample_rate)[: spectrum.shape[0]] * delay)
    resampled = np.fft.irfft(spectrum, length) * (length / padded.shape[0])
    start = margin * new_rate // sample_rate
    return resampled[start : start + wave.shape[0] * new_rate // sample_rate]


def cepstral_peak_prominence(sound: parselmouth.Sound) -> float | None:
    """Praat's smoothed CPP (CPPS, dB) of a sound, with the settings of Murton, Hillman & Mehta (2020)."""
    from parselmouth.praat import call

    rate = int(round(sound.sampling_frequency))
    if rate > CEPSTROGRAM_RATE:
        sound = to_sound(band_limited(sound.values[0], rate, CEPSTROGRAM_RATE), CEPSTROGRAM_RATE)
    cepstrogram = call(sound, "To PowerCepstrogram", 60.0, CEPSTROGRAM_STEP_SECONDS, CEPSTROGRAM_MAX_HZ, 50.0)
    return _defined(call(cepstrogram, "Get CPPS", "no", 0.01, 0.001, 60.0, 330.0, 0.05, "Parabolic", 0.001, 0.0,
                         "Straight", "Robust"))


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def voiced_within(pitch: parselmouth.Pitch, start: float, end: float) -> parselmouth.Pitch:
    """``pitch`` with its frames outside ``start``..``end`` (seconds) unvoiced: a copy where it has any.

    Praat's pulse search (``To PointProcess (cc)``) walks every voiced stretch of the pitch it is
    given, also where the sound holds no samples; an excerpt's pulses need only the excerpt's frames
    (half the search's time on a 2 s excerpt of a 9 s clip: docs/measurements.md).
    """
    from parselmouth.praat import call

    if start <= pitch.xmin and pitch.xmax <= end:
        return pitch
    within = pitch.copy()
    call(within, "Formula", f"if x < {start!r} or x > {end!r} then 0 else self fi")
    return within


def voice_quality(sound: parselmouth.Sound, pitch: parselmouth.Pitch) -> dict[str, float | None]:
    """HNR (from the pitch analysis' autocorrelation peaks), CPPS, local jitter and shimmer of a Praat sound.

    ``pitch`` may cover more than ``sound`` (the whole clip of an excerpt whose times are kept):
    only its frames within ``sound`` count.
    """
    from parselmouth.praat import call

    times = pitch.xs()
    within = (times >= sound.xmin) & (times <= sound.xmax)
    strength = pitch.selected_array["strength"][(pitch.selected_array["frequency"] > 0) & within]
    # Praat's Harmonicity (Boersma 1993): 10 log10(r / (1 - r)) of each voiced frame's autocorrelation peak r.
    strength = np.clip(strength, 1e-6, 1 - 1e-6)
    hnr = float(np.mean(10.0 * np.log10(strength / (1.0 - strength)))) if strength.size else None
    jitter = shimmer = math.nan
    if strength.size:
        pulses = call([sound, voiced_within(pitch, sound.xmin, sound.xmax)], "To PointProcess (cc)")
        jitter = call(pulses, "Get jitter (local)", 0.0, 0.0, *PERIOD_RANGE)
        shimmer = call([sound, pulses], "Get shimmer (local)", 0.0, 0.0, *PERIOD_RANGE, MAX_AMPLITUDE_FACTOR)
    return {
        "hnr_db": hnr,
        "cpp_db": cepstral_peak_prominence(sound),
        "jitter_percent": None if math.isnan(jitter) else 100.0 * jitter,
        "shimmer_percent": None if math.isnan(shimmer) else 100.0 * shimmer,
    }


def middle(sound: parselmouth.Sound, seconds: float) -> parselmouth.Sound:
    """The middle ``seconds`` of ``sound`` (all of it when shorter), on the clip's own time axis."""
    if sound.duration <= seconds:
        return sound
    start = sound.xmin + (sound.duration - seconds) / 2
    return sound.extract_part(from_time=start, to_time=start + seconds, preserve_times=True)


def measure(wave: np.ndarray, sample_rate: int, *, pitch_hop_seconds: float = ANALYSIS_HOP_SECONDS) -> Acoustics:
    """All measures of a mono clip (float array at ``sample_rate``); ``pitch_hop_seconds`` is the pitch analysis' hop.

    Without Praat, the ``PRAAT_MEASURES`` are ``None``.
    """
    wave = np.asarray(wave, dtype=np.float32)
    mean_square = float(np.mean(wave.astype(np.float64) ** 2)) if wave.size else 0.0
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    levels = frame_power_db(wave, sample_rate)
    noise, signal = np.percentile(levels, [10, 95])
    praat = (praat_measures(wave, sample_rate, levels, pitch_hop_seconds) if praat_installed()
             else dict.fromkeys(PRAAT_MEASURES))
    return Acoustics(
        loudness_dbfs=float(db(mean_square)),
        peak_dbfs=float(db(peak**2)),
        snr_db=float(np.clip(signal - noise, 0.0, 100.0)),
        reverberation_seconds=decay_seconds(levels, float(noise)),
        **praat,
    )


def praat_measures(wave: np.ndarray, sample_rate: int, levels: np.ndarray,
                   pitch_hop_seconds: float) -> dict[str, float | None]:
    """The ``PRAAT_MEASURES`` of a clip with frame ``levels`` (``frame_power_db``), from one pitch analysis."""
    sound = to_sound(wave, sample_rate)
    pitch = analyse_pitch(sound, hop_seconds=pitch_hop_seconds)
    f0 = pitch_frames(pitch, levels.shape[0])
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
    return {
        "f0_median_hz": f0_median,
        "f0_std_semitones": f0_spread,
        "voiced_fraction": float(voiced.mean()),
        "speaking_rate": count_nuclei(levels, voiced, active) / active_seconds,
        **voice_quality(middle(sound, VOICE_QUALITY_SECONDS), pitch),
    }


def _band(value: float, bounds: tuple[float, float], names: tuple[str, ...]) -> str:
    low, high = bounds
    return names[0] if value < low else names[2] if value > high else names[1]


def metadata_gender(metadata: Mapping[str, Any]) -> str | None:
    """``male``/``female`` from a ``gender`` or ``sex`` metadata column (any case; m/f, man/woman too)."""
    for key, value in metadata.items():
        if key.lower() in ("gender", "sex") and isinstance(value, str):
            word = value.strip().lower()
            if word in ("m", "male", "man"):
                return "male"
            if word in ("f", "female", "woman"):
                return "female"
    return None


def measured_bins(raw: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, str]:
    """Calibrated keyword bins of a clip's raw measures (``to_payload`` values); undefined measures get none."""
    bins: dict[str, str] = {}
    f0 = raw.get("f0_median_hz")
    gender = metadata_gender(metadata)
    if f0 is not None:
        gender = gender or ("male" if f0 < GENDER_SPLIT_HZ else "female")
        bins["pitch"] = _band(f0, PITCH_BANDS_HZ[gender], BIN_VALUES["pitch"])
    if gender is not None:
        bins["gender"] = gender
    if f0 is not None and raw["speaking_rate"] > 0:
        bins["speaking_rate"] = _band(raw["speaking_rate"], SPEAKING_RATE_BANDS, BIN_VALUES["speaking_rate"])
    bins["noise"] = _band(raw["snr_db"], NOISE_BANDS_DB, BIN_VALUES["noise"])
    if raw.get("reverberation_seconds") is not None:
        bins["reverberation"] = _band(raw["reverberation_seconds"], REVERBERATION_BANDS_SECONDS,
                                      BIN_VALUES["reverberation"])
    cpp, hnr = raw.get("cpp_db"), raw.get("hnr_db")
    if cpp is not None:
        breathy = cpp < BREATHY_CPP_DB and (hnr is None or hnr < BREATHY_HNR_DB)
        bins["breathiness"] = "breathy" if breathy else "clear"
    return bins


def measured_payload(raw: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The raw measures plus their bins under ``measured``, as written to a point's payload."""
    return {**raw, "measured": measured_bins(raw, metadata)}
