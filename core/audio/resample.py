"""Band-limited resampling with a Hann-windowed sinc kernel.

The algorithm and defaults (lowpass filter width 6, rolloff 0.99) follow torchaudio's default
``Resample``, so released ParaSpeechCLAP checkpoints see the audio they were trained on.

The polyphase kernel has one row per output phase of the reduced ratio ``new / orig``, and each
row spans ``orig`` input samples plus the filter's width; at odd rates (8001 Hz -> 16000 Hz) the
exact ratio would need a kernel of ``16000 x 8001`` taps. Ratios whose reduced terms exceed
``MAX_PHASES`` are therefore replaced by the closest ratio with bounded terms (the rate error is
far below anything audible, e.g. 2e-7 for 44099 Hz), so time and memory stay bounded for any rate;
ordinary rates keep their exact ratio. Kernels are cached up to ``KERNEL_CACHE_BYTES``.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from fractions import Fraction
from typing import TypeVar

import numpy as np
import torch

from paraseek.errors import AudioError

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

LOWPASS_FILTER_WIDTH = 6
ROLLOFF = 0.99
#: Largest reduced numerator or denominator of the rate ratio (phases of the polyphase kernel).
MAX_PHASES = 1024
#: Bytes of kernels kept for reuse, all ratios together.
KERNEL_CACHE_BYTES = 64 * 1024 * 1024


class KernelCache:
    """A thread-safe LRU of polyphase kernels, bounded by the bytes they hold."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, int], tuple[torch.Tensor, int]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached kernels."""
        with self._lock:
            return sum(kernel.nbytes for kernel, _ in self._entries.values())

    def get(self, key: tuple[int, int], build: Callable[[], tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, int]:
        """The cached value of ``key``, built (outside the lock) and kept if it fits."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = build()
        size = value[0].nbytes
        with self._lock:
            if size <= self.max_bytes:
                self._entries[key] = value
                held = sum(kernel.nbytes for kernel, _ in self._entries.values())
                while held > self.max_bytes:
                    evicted, _ = self._entries.popitem(last=False)[1]
                    held -= evicted.nbytes
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


def _sinc_kernel(orig: int, new: int) -> tuple[torch.Tensor, int]:
    """Polyphase kernels, shape (new, 1, taps), for reduced rates ``orig`` -> ``new``; and the half width."""
    cutoff = min(orig, new) * ROLLOFF
    half_width = math.ceil(LOWPASS_FILTER_WIDTH * orig / cutoff)
    taps = torch.arange(-half_width, half_width + orig, dtype=torch.float64)[None, None] / orig
    phases = torch.arange(0, -new, -1, dtype=torch.float64)[:, None, None] / new
    t = ((phases + taps) * cutoff).clamp(-LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH)
    window = torch.cos(t * math.pi / LOWPASS_FILTER_WIDTH / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / t)
    kernels = sinc * window * (cutoff / orig)
    return kernels.to(torch.float32), half_width


def resample(x: ArrayT, orig_sr: int, new_sr: int) -> ArrayT:
    """Resample along the last axis from ``orig_sr`` to ``new_sr`` Hz.

    Accepts a numpy array or torch tensor of any leading shape and returns the same kind, with
    ``ceil(n * new_sr / orig_sr)`` samples on the last axis.
    """
    if orig_sr <= 0 or new_sr <= 0 or int(orig_sr) != orig_sr or int(new_sr) != new_sr:
        raise AudioError(f"sample rates must be positive integers, got {orig_sr} -> {new_sr}")
    wave = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) if isinstance(x, np.ndarray) else x
    if orig_sr == new_sr:
        return x
    orig, new = reduced_ratio(int(orig_sr), int(new_sr))
    kernels, half_width = kernel_cache.get((orig, new), lambda: _sinc_kernel(orig, new))
    kernels = kernels.to(device=wave.device, dtype=wave.dtype if wave.is_floating_point() else torch.float32)
    shape = wave.shape
    length = shape[-1]
    target = -(-int(new_sr) * length // int(orig_sr))
    # each frame of ``orig`` inputs yields ``new`` outputs; an approximated ratio may need extra frames
    extra_frames = max(0, -(-target // new) - (length // orig + 1))
    flat = wave.reshape(-1, length).to(kernels.dtype)
    padded = torch.nn.functional.pad(flat, (half_width, half_width + orig * (1 + extra_frames)))
    out = torch.nn.functional.conv1d(padded[:, None], kernels, stride=orig)
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)
    out = out[:, :target].reshape(*shape[:-1], target)
    if isinstance(x, np.ndarray):
        return out.numpy()
    return out
