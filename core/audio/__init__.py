"""Audio decoding, resampling and preprocessing in numpy (no torch or torchaudio); pitch tracking with Praat
(the optional ``praat`` extra)."""

from paraseek.errors import require

require("soundfile")
require("threadpoolctl")

from paraseek.audio.io import (  # noqa: E402
    MAX_DECODE_SECONDS,
    decode_bytes,
    load_audio,
    normalize,
    prepare_waveform,
    to_mono,
)
from paraseek.audio.pitch import track_pitch  # noqa: E402
from paraseek.audio.resample import resample  # noqa: E402

__all__ = [
    "MAX_DECODE_SECONDS",
    "decode_bytes",
    "load_audio",
    "normalize",
    "prepare_waveform",
    "resample",
    "to_mono",
    "track_pitch",
]
