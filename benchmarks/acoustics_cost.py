"""Cost of the indexer's acoustic measures per audio second, against the default model's embedding.

Synthesises espeak-ng clips of ``--seconds`` (16 kHz), then times, on one thread and the same clips:
(a) the default model's ``embed_prepared`` (the indexer's per-clip model cost) and (b)
``paraseek.indexer.acoustics.measure`` (pitch, levels, rate, SNR, voice quality, reverberation).
Prints milliseconds per audio second for both and the ratio b/a.

    OMP_NUM_THREADS=1 python benchmarks/acoustics_cost.py --clips 8 --seconds 6 [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile
import torch

from paraseek.indexer.acoustics import measure
from paraseek.model import load_model
from paraseek.testing import speak

TEXT = "the quick brown fox jumps over a lazy dog while seven bright stars shine above quiet hills"


def ms_per_audio_second(work: Callable[[np.ndarray], object], clips: list[np.ndarray], repeats: int) -> float:
    """Median over ``repeats`` of the time to process every clip, per second of audio (ms)."""
    work(clips[0])  # warm-up
    audio_seconds = sum(clip.shape[0] for clip in clips) / 16000
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for clip in clips:
            work(clip)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) / audio_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0, help="about this long per clip")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        clips = []
        for index in range(args.clips):
            words = " ".join([TEXT] * max(1, round(args.seconds / 5.0)))
            path = speak(Path(folder) / f"{index}.wav", words, pitch=20 + 10 * (index % 7), speed=140 + 10 * (index % 6))
            clips.append(soundfile.read(path, dtype="float32")[0])
    model = load_model()
    model_ms = ms_per_audio_second(lambda clip: model.embed_prepared([model.prepare(clip, 16000)]), clips, args.repeats)
    acoustics_ms = ms_per_audio_second(lambda clip: measure(clip, 16000), clips, args.repeats)
    seconds = sum(clip.shape[0] for clip in clips) / 16000 / len(clips)
    print(f"{len(clips)} clips of {seconds:.1f} s, one thread")
    print(f"model {model.name} {model_ms:7.2f} ms per audio second")
    print(f"acoustics          {acoustics_ms:7.2f} ms per audio second   ratio acoustics/model {acoustics_ms / model_ms:5.2f}x")
    if args.json:
        print(json.dumps({"model": model.name, "clips": len(clips), "clip_seconds": round(seconds, 2),
                          "model_ms_per_audio_second": round(model_ms, 3),
                          "acoustics_ms_per_audio_second": round(acoustics_ms, 3),
                          "ratio": round(acoustics_ms / model_ms, 2)}))


if __name__ == "__main__":
    main()
