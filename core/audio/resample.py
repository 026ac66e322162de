"""Band-limited resampling with a Hann-windowed sinc kernel.

The algorithm and defaults (lowpass filter width 6, rolloff 0.99) follow torchaudio's default
``Resample``, so released ParaSpeechCLAP checkpoints see the audio they were trained on.
"""

from __future__ import annotations

import functools
import math
from typing import TypeVar

import numpy as np
import torch

from paraseek.errors import AudioError

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

LOWPASS_FILTER_WIDTH = 6
ROLLOFF = 0.99


@functools.lru_cache(maxsize=32)
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

    Accepts a numpy array or torch tensor of any leading shape and returns the same kind.
    """
    if orig_sr <= 0 or new_sr <= 0 or int(orig_sr) != orig_sr or int(new_sr) != new_sr:
        raise AudioError(f"sample rates must be positive integers, got {orig_sr} -> {new_sr}")
    is_numpy = isinstance(x, np.ndarray)
    wave = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) if is_numpy else x
    if orig_sr == new_sr:
        return x
    gcd = math.gcd(int(orig_sr), int(new_sr))
    orig, new = int(orig_sr) // gcd, int(new_sr) // gcd
    kernels, half_width = _sinc_kernel(orig, new)
    kernels = kernels.to(device=wave.device, dtype=wave.dtype if wave.is_floating_point() else torch.float32)
    shape = wave.shape
    length = shape[-1]
    flat = wave.reshape(-1, length).to(kernels.dtype)
    padded = torch.nn.functional.pad(flat, (half_width, half_width + orig))
    out = torch.nn.functional.conv1d(padded[:, None], kernels, stride=orig)
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)
    target = math.ceil(new * length / orig)
    out = out[:, :target].reshape(*shape[:-1], target)
    return out.numpy() if is_numpy else out
