"""Indexing throughput: a per-file loop (the reference scripts' way) vs the ``paraseek index`` pipeline.

Both embed the same espeak-ng clips (22.05 kHz, so both resample) with the same weights:

  (a) baseline: for each file, decode, resample, embed in fp32 as a batch of one, torch's
      default threads;
  (b) pipeline: ``paraseek.indexer.index_corpus`` into a fresh embedded store: decode, resample
      and acoustics (inline or in worker processes, as the run's own measurements choose), model
      chunks of ``--batch-seconds`` sorted by length (at most ``--batch-items`` clips per forward
      pass), ``--dtype`` weights on CPU (autocast on CUDA), plus style tags and upserts (the
      acoustics that need Praat only where the ``praat`` extra is installed: ``pipeline_not_measured``);
  (c) model-only limit: the encoder alone on the same clips already decoded and resampled, in
      length-sorted batches, at the pipeline's dtype with every core: no pipeline beats it.

Prints clips/s and audio hours per hour for each, the speed ratio b/a, the pipeline's fraction of
the limit (c/b in time), and the cosine between (a) and (b) embeddings per clip (min and mean).
Random weights keep FLOPs honest where a checkpoint is not available (``--random-init``,
automatic when the model's weights are not installed).

  python benchmarks/index_throughput.py --model paraseek-mini --clips 200
  python benchmarks/index_throughput.py --model paraspeechclap-combined --clips 16 --max-seconds 8
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WORDS = ("the quick brown fox jumps over a lazy dog while seven bright stars shine above quiet hills and "  # noqa: SIM905  a sentence reads better
         "rivers carry old stories toward distant towns where people speak softly of summer rain").split()
VOICES = ("en+m1", "en+m3", "en+f2", "en+f4", "en+m7", "en+whisper", "en+croak", "en+f5")


def synthesise(folder: Path, n_clips: int, min_seconds: float, max_seconds: float, seed: int) -> list[Path]:
    """``n_clips`` espeak-ng clips of about ``min_seconds``..``max_seconds`` (22.05 kHz wav)."""
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is needed: apt-get install espeak-ng")
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(n_clips):
        target = rng.uniform(min_seconds, max_seconds)
        speed = int(rng.integers(130, 220))
        n_words = max(1, int(target * speed / 60))
        text = " ".join(rng.choice(WORDS, n_words))
        path = folder / f"clip{index:04d}.wav"
        subprocess.run(["espeak-ng", "-v", VOICES[index % len(VOICES)], "-p", str(int(rng.integers(20, 80))),
                        "-s", str(speed), "-w", str(path), text], check=True, capture_output=True)
        paths.append(path)
    return paths


def load(name: str, device: str, dtype: str, random_init: bool, tokenizer: str | None):  # type: ignore[no-untyped-def]
    from paraseek.model import load_model

    return load_model(name, device=device, dtype=dtype, random_init=random_init, tokenizer=tokenizer)


def baseline(paths: list[Path], model) -> tuple[dict[str, np.ndarray], float]:  # type: ignore[no-untyped-def]
    """Per-file loop: decode, resample, fp32, batch of one."""
    from paraseek.audio import load_audio

    started = time.perf_counter()
    embeddings = {}
    for path in paths:
        wave, rate = load_audio(path)
        embeddings[path.name] = model.embed_audio([wave], rate)[0]
    return embeddings, time.perf_counter() - started


def model_only(paths: list[Path], model, batch_seconds: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds the encoder alone takes on the clips, decoded beforehand, length-sorted, all cores."""
    import torch

    from paraseek.audio import load_audio
    from paraseek.machine import available_cores

    inputs = sorted((model.prepare(*load_audio(path)) for path in paths), key=len, reverse=True)
    previous = torch.get_num_threads()
    torch.set_num_threads(available_cores())
    try:
        model.embed_prepared(inputs[-1:])  # warm-up
        started = time.perf_counter()
        model.embed_prepared(inputs, max_batch_seconds=batch_seconds)
        return time.perf_counter() - started
    finally:
        torch.set_num_threads(previous)


def pipeline(folder: Path, model, args: argparse.Namespace,
             data_dir: Path) -> tuple[dict[str, np.ndarray], float, dict]:  # type: ignore[no-untyped-def]
    from paraseek.indexer import IndexOptions, index_corpus
    from paraseek.storage import open_store

    options = IndexOptions(collection="bench", workers=args.workers, threads=args.threads,
                           batch_seconds=args.batch_seconds, progress=False, finalize=False)
    started = time.perf_counter()
    with open_store(data_dir) as store:
        summary = index_corpus(folder, store, model, options)
        elapsed = time.perf_counter() - started
        points, offset = store.scroll(summary.collection, limit=1024, with_vectors=True)
        while offset is not None:
            page, offset = store.scroll(summary.collection, limit=1024, offset=offset, with_vectors=True)
            points.extend(page)
    return {p.payload["relative_path"]: np.asarray(p.vector, dtype=np.float32) for p in points}, elapsed, summary.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="registered model (default: paraseek-mini-v3)")
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="auto",
                        help="pipeline precision, as paraseek index's --dtype (baseline is always float32)")
    parser.add_argument("--workers", type=int, default=None, help="pipeline decode workers (default: automatic)")
    parser.add_argument("--threads", type=int, default=None, help="pipeline model threads (default: automatic)")
    parser.add_argument("--baseline-threads", type=int, default=None,
                        help="torch threads of the per-file loop (default: torch's default, all cores)")
    parser.add_argument("--batch-seconds", type=float, default=60.0)
    parser.add_argument("--batch-items", type=int, default=None,
                        help="clips per forward pass of the pipeline and the limit (default: the model's own; on CPU "
                             "the real-size models take 1)")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the model's)")
    parser.add_argument("--random-init", action="store_true", help="random weights (same FLOPs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args()
    if args.batch_items is not None and args.batch_items < 1:
        parser.error("--batch-items must be at least 1")

    import torch

    from paraseek.model import DEFAULT_MODEL, get_config
    from paraseek.model.factory import resolve_dtype
    from paraseek.model.hub import load_tokenizer, resolve_checkpoint

    name = args.model or DEFAULT_MODEL
    random_init = args.random_init
    if not random_init:
        try:
            resolve_checkpoint(get_config(name), None)
        except Exception as error:  # weights not installed or not downloadable here
            print(f"{name}: no weights available ({type(error).__name__}); using random weights", file=sys.stderr)
            random_init = True

    tokenizer = args.tokenizer
    if tokenizer is None and random_init and get_config(name).architecture == "paraspeechclap":
        try:  # random weights need no particular vocabulary: any offline WordPiece/SentencePiece tokenizer will do
            load_tokenizer(get_config(name).tokenizer or "ibm-granite/granite-embedding-278m-multilingual")
        except Exception:
            from paraseek.testing import minilm_tokenizer_dir

            tokenizer = str(minilm_tokenizer_dir())
            print(f"{name}: its tokenizer is not cached; tagging prompts are tokenised with {tokenizer}",
                  file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="paraseek-bench-") as tmp:
        folder = Path(tmp) / "clips"
        started = time.perf_counter()
        paths = synthesise(folder, args.clips, args.min_seconds, args.max_seconds, args.seed)
        import soundfile

        durations = [soundfile.info(str(p)).duration for p in paths]
        audio_seconds = float(sum(durations))
        print(f"{len(paths)} clips, {audio_seconds:.0f} s of audio ({min(durations):.1f}-{max(durations):.1f} s), "
              f"synthesised in {time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs, torch threads "
              f"{torch.get_num_threads()}", file=sys.stderr)

        default_threads = torch.get_num_threads()
        if args.baseline_threads:
            torch.set_num_threads(args.baseline_threads)
        reference = load(name, args.device, "float32", random_init, tokenizer)
        ref_embeddings, ref_seconds = baseline(paths, reference)
        torch.set_num_threads(default_threads)
        del reference
        args.dtype = resolve_dtype(args.dtype, args.device)
        model = load(name, args.device, args.dtype, random_init, tokenizer)
        if args.batch_items is not None:
            model.max_batch_items = args.batch_items
        run_embeddings, run_seconds, summary = pipeline(folder, model, args, Path(tmp) / "data")
        limit_seconds = model_only(paths, model, args.batch_seconds)

    cosines = np.array([float(np.dot(ref_embeddings[key], run_embeddings[key])) for key in ref_embeddings])
    hours = audio_seconds / 3600.0
    result = {
        "model": name, "random_init": random_init, "device": args.device, "pipeline_dtype": args.dtype,
        "baseline_threads": args.baseline_threads or default_threads,
        "clips": len(paths), "audio_seconds": round(audio_seconds, 1),
        "baseline_seconds": round(ref_seconds, 2), "pipeline_seconds": round(run_seconds, 2),
        "baseline_clips_per_second": round(len(paths) / ref_seconds, 3),
        "pipeline_clips_per_second": round(len(paths) / run_seconds, 3),
        "baseline_audio_hours_per_hour": round(hours / (ref_seconds / 3600.0), 2),
        "pipeline_audio_hours_per_hour": round(hours / (run_seconds / 3600.0), 2),
        "speedup": round(ref_seconds / run_seconds, 2),
        "model_only_seconds": round(limit_seconds, 2),
        "model_only_audio_hours_per_hour": round(hours / (limit_seconds / 3600.0), 2),
        "fraction_of_limit": round(limit_seconds / run_seconds, 3),
        "pipeline_workers": summary["workers"], "pipeline_threads": summary["threads"],
        "cosine_min": round(float(cosines.min()), 6), "cosine_mean": round(float(cosines.mean()), 6),
        "pipeline_indexed": summary["indexed"], "pipeline_failed": summary["failed"],
        "pipeline_not_measured": summary["not_measured"],
    }
    print(f"model {name} ({'random weights' if random_init else 'trained weights'}) on {args.device}: "
          f"{len(paths)} clips, {audio_seconds:.0f} s audio")
    print(f"  (a) per-file fp32 loop : {ref_seconds:8.2f} s  {result['baseline_clips_per_second']:7.2f} clips/s  "
          f"{result['baseline_audio_hours_per_hour']:8.2f} audio h/h")
    print(f"  (b) paraseek index     : {run_seconds:8.2f} s  {result['pipeline_clips_per_second']:7.2f} clips/s  "
          f"{result['pipeline_audio_hours_per_hour']:8.2f} audio h/h  ({args.dtype}, {summary['workers']} decode "
          f"workers, {summary['threads']} model threads)")
    print(f"  (c) model-only limit   : {limit_seconds:8.2f} s  {len(paths) / limit_seconds:7.2f} clips/s  "
          f"{result['model_only_audio_hours_per_hour']:8.2f} audio h/h  ({args.dtype}, all cores)")
    print(f"  speed b/a: {result['speedup']:.2f}x   pipeline at {100 * result['fraction_of_limit']:.0f} % of the "
          f"model-only limit   cosine a vs b per clip: min {result['cosine_min']:.6f} mean {result['cosine_mean']:.6f}")
    if summary["not_measured"]:
        print(f"  Praat is not installed: the pipeline left out {', '.join(summary['not_measured'])}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
