"""Speech-encoder speed: real-time factor of fp32 vs bf16 on the real-size architecture.

Embeds the same clips (60 s of audio in total by default) with a registered model built with seeded
random weights (same FLOPs as the released checkpoint) in float32 and in bfloat16, and prints each
run's real-time factor, the bf16/fp32 speed ratio and the per-clip cosine between the two.

``--int8`` also runs the int8 schemes of ``torchao`` (``pip install torchao``) on every linear layer
of the network: int8 weights with int8 activations quantized per batch, and int8 weights with
bfloat16 activations; each is printed like bf16, against the same float32 run.

    python benchmarks/embed_speed.py --model paraspeechclap-combined --seconds 60 --threads 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np
import torch

from paraseek.model import load_model
from paraseek.testing import tone


def int8_schemes() -> dict[str, tuple[str, Any]]:
    """``{name: (activation dtype, torchao config)}`` of the int8 schemes measured by ``--int8``."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig

    return {"int8_dynamic": ("float32", Int8DynamicActivationInt8WeightConfig()),
            "int8_weight_only": ("bfloat16", Int8WeightOnlyConfig())}


def run(model_name: str, clips: list[np.ndarray], dtype: str, device: str,
        quantization: Any = None) -> tuple[np.ndarray, float]:
    model = load_model(model_name, random_init=True, dtype=dtype, device=device)
    if quantization is not None:
        from torchao.quantization import quantize_

        quantize_(model.network, quantization)  # type: ignore[attr-defined]
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
    parser.add_argument("--int8", action="store_true", help="also measure torchao's int8 schemes")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args()
    try:
        schemes = int8_schemes() if args.int8 else {}
    except ImportError:
        sys.exit("--int8 needs torchao: pip install torchao")
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
    result = {"model": args.model, "device": args.device, "threads": args.threads,
              "audio_seconds": audio_seconds, "fp32_real_time_factor": round(audio_seconds / fp32_time, 2),
              "bf16_real_time_factor": round(audio_seconds / bf16_time, 2),
              "bf16_speedup": round(fp32_time / bf16_time, 2), "cosine_min": round(float(cosine.min()), 6),
              "cosine_mean": round(float(cosine.mean()), 6)}
    for name, (activations, quantization) in schemes.items():
        embeddings, seconds = run(args.model, clips, activations, args.device, quantization)
        scheme_cosine = (fp32 * embeddings).sum(axis=1)
        print(f"{name} ({activations} activations): {seconds:7.2f} s  real-time factor {audio_seconds / seconds:6.2f}x"
              f"  {fp32_time / seconds:.2f}x fp32, {bf16_time / seconds:.2f}x bf16, cosine min {scheme_cosine.min():.6f}")
        result.update({f"{name}_speedup": round(fp32_time / seconds, 2),
                       f"{name}_vs_bf16": round(bf16_time / seconds, 2),
                       f"{name}_cosine_min": round(float(scheme_cosine.min()), 6)})
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
