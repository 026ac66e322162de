"""Cost of the indexer's acoustic measures per audio second, against the default model's embedding.

Synthesises espeak-ng clips of ``--seconds`` (16 kHz), then times, on the same clips: (a) the default
model's ``embed_prepared`` on one torch thread (the indexer's per-clip model cost) and (b)
``paraseek.indexer.acoustics.measure`` (pitch, levels, rate, SNR, voice quality, reverberation).
Prints milliseconds per audio second for both, of wall time and of CPU time (all the process's
threads: Praat runs its pitch analysis on every core, so its CPU time is what a busy machine pays),
and the ratios b/a.

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


def ms_per_audio_second(work: Callable[[np.ndarray], object], clips: list[np.ndarray],
                        repeats: int) -> tuple[float, float]:
    """Medians over ``repeats`` of the wall and CPU time to process every clip, per second of audio (ms)."""
    work(clips[0])  # warm-up
    audio_seconds = sum(clip.shape[0] for clip in clips) / 16000
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for clip in clips:
            work(clip)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return 1000 * statistics.median(walls) / audio_seconds, 1000 * statistics.median(cpus) / audio_seconds


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
    model_ms, model_cpu = ms_per_audio_second(lambda clip: model.embed_prepared([model.prepare(clip, 16000)]), clips,
                                              args.repeats)
    acoustics_ms, acoustics_cpu = ms_per_audio_second(lambda clip: measure(clip, 16000), clips, args.repeats)
    seconds = sum(clip.shape[0] for clip in clips) / 16000 / len(clips)
    print(f"{len(clips)} clips of {seconds:.1f} s; ms per audio second, wall and CPU")
    print(f"model {model.name} {model_ms:7.2f} wall {model_cpu:7.2f} CPU (one torch thread)")
    print(f"acoustics          {acoustics_ms:7.2f} wall {acoustics_cpu:7.2f} CPU   ratio acoustics/model "
          f"{acoustics_ms / model_ms:5.2f}x wall, {acoustics_cpu / model_cpu:5.2f}x CPU")
    if args.json:
        print(json.dumps({"model": model.name, "clips": len(clips), "clip_seconds": round(seconds, 2),
                          "model_ms_per_audio_second": round(model_ms, 3),
                          "acoustics_ms_per_audio_second": round(acoustics_ms, 3),
                          "ratio": round(acoustics_ms / model_ms, 2),
                          "model_cpu_ms_per_audio_second": round(model_cpu, 3),
                          "acoustics_cpu_ms_per_audio_second": round(acoustics_cpu, 3),
                          "cpu_ratio": round(acoustics_cpu / model_cpu, 2)}))


if __name__ == "__main__":
    main()
