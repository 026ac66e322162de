"""Speech-encoder speed: real-time factor of fp32 vs bf16 on the real-size architecture.

Embeds the same clips (60 s of audio in total by default) with a registered model built with seeded
random weights (same FLOPs as the released checkpoint) in float32 and in bfloat16, and prints each
run's real-time factor, the bf16/fp32 speed ratio and the per-clip cosine between the two.

    python benchmarks/embed_speed.py --model paraspeechclap-combined --seconds 60 --threads 2
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from paraseek.model import load_model
from paraseek.testing import tone


def run(model_name: str, clips: list[np.ndarray], dtype: str, device: str) -> tuple[np.ndarray, float]:
    model = load_model(model_name, random_init=True, dtype=dtype, device=device)
    model.embed_audio([clips[0][:16000]])  # warm-up
    start = time.perf_counter()
    embeddings = model.embed_audio(clips)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return embeddings, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="paraspeechclap-combined")
    parser.add_argument("--seconds", type=float, default=60.0, help="total audio to embed")
    parser.add_argument("--clip-seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    count = max(1, round(args.seconds / args.clip_seconds))
    clips = [tone(args.clip_seconds, 16000, frequency=90 + 25 * i, seed=i) for i in range(count)]
    audio_seconds = count * args.clip_seconds
    print(f"model {args.model} (random weights), {count} clips x {args.clip_seconds:.0f} s, "
          f"{args.threads} threads, {args.device}")
    fp32, fp32_time = run(args.model, clips, "float32", args.device)
    bf16, bf16_time = run(args.model, clips, "bfloat16", args.device)
    cosine = (fp32 * bf16).sum(axis=1)
    print(f"float32 : {fp32_time:7.2f} s  real-time factor {audio_seconds / fp32_time:6.2f}x")
    print(f"bfloat16: {bf16_time:7.2f} s  real-time factor {audio_seconds / bf16_time:6.2f}x")
    print(f"bf16 speed-up vs fp32: {fp32_time / bf16_time:.2f}x")
    print(f"bf16 vs fp32 cosine: min {cosine.min():.6f}, mean {cosine.mean():.6f}")
    if args.json:
        print(json.dumps({"model": args.model, "device": args.device, "threads": args.threads,
                          "audio_seconds": audio_seconds, "fp32_real_time_factor": round(audio_seconds / fp32_time, 2),
                          "bf16_real_time_factor": round(audio_seconds / bf16_time, 2),
                          "bf16_speedup": round(fp32_time / bf16_time, 2), "cosine_min": round(float(cosine.min()), 6),
                          "cosine_mean": round(float(cosine.mean()), 6)}))


if __name__ == "__main__":
    main()
