"""The CPU half of indexing, run in worker processes: decode, validate, resample, measure.

Workers are started with the ``spawn`` method and run one BLAS thread each, so they never compete
with the model's threads in the main process. They never load the model, nor torch. They die with
the process that started them, however it ends (``kill -9`` included): on Linux the kernel sends
them SIGKILL when it exits (``PR_SET_PDEATHSIG``), and everywhere a watchdog thread exits once the
parent is gone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paraseek.errors import AudioError

#: Default limits on clip length (seconds) and on the peak level below which a clip counts as silent.
DEFAULT_MIN_SECONDS = 0.25
DEFAULT_MAX_SECONDS = 2 * 3600.0
DEFAULT_SILENCE_DBFS = -60.0


@dataclass(frozen=True)
class DecodeLimits:
    """What a usable clip is, and the rate the model wants."""

    target_rate: int = 16000
    min_seconds: float = DEFAULT_MIN_SECONDS
    max_seconds: float = DEFAULT_MAX_SECONDS
    silence_dbfs: float = DEFAULT_SILENCE_DBFS


@dataclass(frozen=True)
class DecodeTask:
    """One clip to decode: a file path or encoded bytes (never both), and a name for messages."""

    file: str | None
    data: bytes | None
    name: str


@dataclass
class Decoded:
    """A decoded clip: mono float32 at the target rate, and what was measured on the way."""

    wave: np.ndarray
    duration: float
    sample_rate: int
    channels: int
    acoustics: dict[str, Any]


@dataclass(frozen=True)
class DecodeFailure:
    """Why a clip could not be used."""

    reason: str
    error_type: str


#: How often a worker checks that the process that started it still runs (seconds).
PARENT_WATCH_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` (its parent) ends, however that happens."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="paraseek-parent-watch", daemon=True).start()


def init_worker(parent_pid: int) -> None:
    """Process initialiser: die with ``parent_pid``, one BLAS thread."""
    from threadpoolctl import threadpool_limits

    die_with_parent(parent_pid)
    threadpool_limits(limits=1)


def decode_clip(task: DecodeTask, limits: DecodeLimits) -> Decoded:
    """Decode and check one clip; raises ``AudioError`` for anything unusable."""
    from paraseek.audio import decode_bytes, load_audio, prepare_waveform
    from paraseek.indexer.acoustics import measure

    if task.data is not None:
        wave, rate = decode_bytes(task.data, min_seconds=limits.min_seconds, max_seconds=limits.max_seconds)
    elif task.file is not None:
        path = Path(task.file)
        if path.is_file() and path.stat().st_size == 0:
            raise AudioError(f"{task.name}: file is empty (0 bytes)")
        wave, rate = load_audio(path, min_seconds=limits.min_seconds, max_seconds=limits.max_seconds)
    else:
        raise AudioError(f"{task.name}: row holds neither audio bytes nor a path")
    duration = wave.shape[-1] / rate
    peak = float(np.abs(wave).max())
    peak_dbfs = 20.0 * np.log10(max(peak, 1e-12))
    if peak_dbfs < limits.silence_dbfs:
        raise AudioError(f"{task.name}: silent (peak {peak_dbfs:.1f} dBFS is below {limits.silence_dbfs} dBFS)")
    mono = prepare_waveform(wave, rate, limits.target_rate)
    acoustics = measure(mono, limits.target_rate).to_payload()
    return Decoded(wave=mono, duration=duration, sample_rate=rate, channels=int(wave.shape[0]), acoustics=acoustics)


def decode_or_fail(task: DecodeTask, limits: DecodeLimits) -> Decoded | DecodeFailure:
    """``decode_clip`` that reports any error as a value (one bad file never stops a run)."""
    try:
        return decode_clip(task, limits)
    except Exception as error:  # a worker must survive whatever a file does to the decoder
        return DecodeFailure(reason=str(error) or type(error).__name__, error_type=type(error).__name__)
