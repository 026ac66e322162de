"""Band-limited resampling with a Hann-windowed sinc kernel, in numpy.

The algorithm and defaults (lowpass filter width 6, rolloff 0.99) follow torchaudio's default
``Resample``, so released ParaSpeechCLAP checkpoints see the audio they were trained on.

The polyphase kernel maps each frame of ``orig`` input samples (plus the filter's width on either
side) to ``new`` output samples, for the reduced ratio ``new / orig``; resampling is then one matrix
product per ``orig``-wide slice of the kernel, over all frames at once. Where ``orig`` is small
(48 kHz -> 16 kHz is 3 -> 1), several frames are taken as one (``MIN_FRAME_SAMPLES``) so that each
product stays large enough to run at full speed. At odd rates (8001 Hz -> 16000 Hz) the exact ratio
would need a kernel of ``16000 x 8001`` taps. Ratios whose reduced terms exceed ``MAX_PHASES`` are
therefore replaced by the closest ratio with bounded terms (the rate error is far below anything
audible, e.g. 2e-7 for 44099 Hz), so time and memory stay bounded for any rate; ordinary rates keep
their exact ratio. Kernels are cached up to ``KERNEL_CACHE_BYTES``.

Plain numpy keeps the decode path free of torch: an indexer decode worker starts in 0.14 s with
104 MB resident, against 1.1 s and 299 MB with torch imported.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from threadpoolctl import ThreadpoolController

from paraseek.errors import AudioError

LOWPASS_FILTER_WIDTH = 6
ROLLOFF = 0.99
#: Largest reduced numerator or denominator of the rate ratio (phases of the polyphase kernel).
MAX_PHASES = 1024
#: Input samples per matrix product row at least (frames of a small ``orig`` are grouped up to this).
MIN_FRAME_SAMPLES = 128
#: Bytes of kernels kept for reuse, all ratios together.
KERNEL_CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Kernel:
    """A polyphase kernel: ``step`` inputs (plus ``half_width`` either side) -> ``outputs`` samples.

    ``slices`` cut the kernel's input taps into ``step``-row pieces; slice ``i`` multiplies the
    frames ``i`` rows further on.
    """

    slices: tuple[np.ndarray, ...]
    half_width: int
    step: int
    outputs: int

    @property
    def nbytes(self) -> int:
        return sum(part.nbytes for part in self.slices)


class KernelCache:
    """A thread-safe LRU of polyphase kernels, bounded by the bytes they hold."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, int], Kernel] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached kernels."""
        with self._lock:
            return sum(kernel.nbytes for kernel in self._entries.values())

    def get(self, key: tuple[int, int], build: Callable[[], Kernel]) -> Kernel:
        """The cached value of ``key``, built (outside the lock) and kept if it fits."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = build()
        size = value.nbytes
        with self._lock:
            if size <= self.max_bytes:
                self._entries[key] = value
                held = sum(kernel.nbytes for kernel in self._entries.values())
                while held > self.max_bytes:
                    held -= self._entries.popitem(last=False)[1].nbytes
        return value

    def clear(self) -> None:
        """Drop every cached kernel."""
        with self._lock:
            self._entries.clear()


kernel_cache = KernelCache(KERNEL_CACHE_BYTES)


def reduced_ratio(orig_sr: int, new_sr: int) -> tuple[int, int]:
    """``(orig, new)``: the rate ratio in lowest terms, approximated when a term exceeds ``MAX_PHASES``."""
    ratio = Fraction(new_sr, orig_sr)
    if not Fraction(1, MAX_PHASES) <= ratio <= MAX_PHASES:
        raise AudioError(f"cannot resample {orig_sr} Hz to {new_sr} Hz: the ratio is beyond 1:{MAX_PHASES}")
    if ratio.numerator > MAX_PHASES or ratio.denominator > MAX_PHASES:
        ratio = ratio.limit_denominator(max(1, math.floor(MAX_PHASES / max(ratio, Fraction(1)))))
    return ratio.denominator, ratio.numerator


@functools.cache
def _blas() -> ThreadpoolController:
    """numpy's BLAS, run single-threaded while resampling.

    Its threads, once woken, keep spinning for a while after the product, taking cores from torch's
    threads when both run in one process (the per-file loop of ``benchmarks/index_throughput.py``
    took 8.1-9.0 s instead of 2.3 s for its 200 clips); one thread resamples a clip as fast.
    """
    return ThreadpoolController()


def _sinc_kernel(orig: int, new: int, frames: int) -> Kernel:
    """The polyphase kernel of ``frames`` frames of the reduced rates ``orig`` -> ``new`` at once."""
    cutoff = min(orig, new) * ROLLOFF
    half_width = math.ceil(LOWPASS_FILTER_WIDTH * orig / cutoff)
    step = frames * orig
    taps = np.arange(-half_width, half_width + step, dtype=np.float64)[:, None] / orig
    phases = np.arange(0, -frames * new, -1, dtype=np.float64)[None] / new
    t = np.clip((phases + taps) * cutoff, -LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH)
    window = np.cos(t * math.pi / LOWPASS_FILTER_WIDTH / 2) ** 2
    t = t * math.pi
    sinc = np.sin(t) / np.where(t == 0, 1.0, t)
    sinc[t == 0] = 1.0
    matrix = (sinc * window * (cutoff / orig)).astype(np.float32)
    return Kernel(slices=tuple(np.ascontiguousarray(matrix[i : i + step]) for i in range(0, matrix.shape[0], step)),
                  half_width=half_width, step=step, outputs=frames * new)


def resample(x: np.ndarray, orig_sr: int, new_sr: int) -> np.ndarray:
    """Resample a float array along its last axis from ``orig_sr`` to ``new_sr`` Hz.

    Keeps any leading shape; the last axis gets ``ceil(n * new_sr / orig_sr)`` samples (float32).
    """
    if orig_sr <= 0 or new_sr <= 0 or int(orig_sr) != orig_sr or int(new_sr) != new_sr:
        raise AudioError(f"sample rates must be positive integers, got {orig_sr} -> {new_sr}")
    wave = np.asarray(x, dtype=np.float32)
    if orig_sr == new_sr:
        return wave
    orig, new = reduced_ratio(int(orig_sr), int(new_sr))
    frames = max(1, min(-(-MIN_FRAME_SAMPLES // orig), MAX_PHASES // new))
    kernel = kernel_cache.get((orig, new), lambda: _sinc_kernel(orig, new, frames))
    shape = wave.shape
    length = shape[-1]
    target = -(-int(new_sr) * length // int(orig_sr))
    # rows of ``step`` inputs, each yielding ``outputs`` samples; every kernel slice reads one row further
    rows = -(-target // kernel.outputs)
    flat = wave.reshape(-1, length)
    padded = np.zeros((flat.shape[0], (rows + len(kernel.slices) - 1) * kernel.step), dtype=np.float32)
    kept = min(length, padded.shape[1] - kernel.half_width)
    padded[:, kernel.half_width : kernel.half_width + kept] = flat[:, :kept]
    framed = padded.reshape(flat.shape[0], -1, kernel.step)
    with _blas().limit(limits=1, user_api="blas"):
        out = framed[:, :rows] @ kernel.slices[0]
        for offset, part in enumerate(kernel.slices[1:], start=1):
            out += framed[:, offset : offset + rows, : part.shape[0]] @ part
    return out.reshape(flat.shape[0], -1)[:, :target].reshape(*shape[:-1], target)
