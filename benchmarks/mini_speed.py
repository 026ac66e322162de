"""Per-clip latency of paraseek-mini against the ParaSpeechCLAP architecture, same clips, same threads.

Embeds ``--clips`` clips of ``--clip-seconds`` one at a time (the latency a query-by-example or a
single-file indexer sees) with the shipped paraseek-mini and with ParaSpeechCLAP built with random
weights (same FLOPs as the release) in bfloat16, its fastest CPU setting; prints milliseconds per
clip and the ratio. Text: milliseconds per single query for both text encoders.

    python benchmarks/mini_speed.py --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from paraseek.model import load_model
from paraseek.testing import tone


def median_ms(work: Callable[[], object], repeats: int) -> float:
    work()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip-seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=20, help="paraseek-mini repeats (ParaSpeechCLAP: 3)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--baseline", default="paraspeechclap-intrinsic")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clip = tone(args.clip_seconds, frequency=150.0)
    query = ["A low-pitched man speaks slowly and quietly in an echoey room."]
    mini = load_model()
    baseline = load_model(args.baseline, random_init=True, dtype="bfloat16")
    mini_audio = median_ms(lambda: mini.embed_audio([clip]), args.repeats)
    base_audio = median_ms(lambda: baseline.embed_audio([clip]), 3)
    mini_text = median_ms(lambda: mini.embed_text(query), args.repeats)
    base_text = median_ms(lambda: baseline.embed_text(query), args.repeats) if _has_tokenizer(baseline) else None
    print(f"{args.threads} thread(s), one {args.clip_seconds:.0f} s clip per call")
    print(f"audio  paraseek-mini {mini_audio:8.1f} ms   {args.baseline} (bf16) {base_audio:8.1f} ms   "
          f"ratio {base_audio / mini_audio:6.1f}x")
    if base_text is not None:
        print(f"text   paraseek-mini {mini_text:8.1f} ms   {args.baseline} (bf16) {base_text:8.1f} ms   "
              f"ratio {base_text / mini_text:6.1f}x")
    else:
        print(f"text   paraseek-mini {mini_text:8.1f} ms   ({args.baseline} tokenizer not available offline)")


def _has_tokenizer(model: object) -> bool:
    try:
        _ = model.tokenizer  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any load failure means the baseline text side cannot be timed here
        return False
    return True


if __name__ == "__main__":
    main()
