"""``index_corpus``: decode (inline or in worker processes), embed and tag here, upsert in small batches.

The main process plans work (shard filter, content hash, "already stored?" check against the
store, all before any decoding), keeps a bounded number of clips decoding, and feeds the model
forward passes of about ``batch_seconds`` of audio, each cut from ``SORT_BATCHES`` times as much
decoded audio sorted by length (so clips of like length share a pass and little is padding).
Unless ``workers`` is fixed, decoding starts inline and moves to worker processes only when the
measured costs say that is faster (``paraseek.indexer.balance``). Points are upserted in small
batches with deterministic ids, so a re-run skips what is stored and an interrupted run (even
``kill -9``) resumes exactly.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paraseek.audio.pitch import PRAAT_EXTRA, praat_installed
from paraseek.errors import AudioError, FailedPrecondition, InvalidArgument, shorten
from paraseek.indexer import acoustics
from paraseek.indexer.balance import Split, StageClock, choose_split
from paraseek.indexer.collections import Target, discard_target, prepare_target
from paraseek.indexer.decode import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_SILENCE_DBFS,
    Decoded,
    DecodeFailure,
    DecodeLimits,
    DecodeTask,
    decode_or_fail,
    init_worker,
)
from paraseek.indexer.sources import ClipRef, Source, open_source
from paraseek.limits import MIN_CLIP_SECONDS
from paraseek.machine import available_cores
from paraseek.model import EmbeddingModel, ZeroShotScorer
from paraseek.storage import FieldType, Point, VectorStore

log = logging.getLogger("paraseek.indexer")

#: Namespace of point ids: uuid5(namespace, corpus \n relative path \n content hash).
POINT_NAMESPACE = uuid.UUID("5d0c2a8e-6f57-4c1e-9a54-7b1f4f0a9e3d")
#: Payload keys the indexer writes; source metadata columns with these names get a ``meta_`` prefix.
ACOUSTIC_FIELDS: dict[str, FieldType] = {
    "duration": FieldType.FLOAT,
    "sample_rate": FieldType.INTEGER,
    "channels": FieldType.INTEGER,
    **acoustics.PAYLOAD_FIELDS,
}
BASE_FIELDS: dict[str, FieldType] = {
    "path": FieldType.KEYWORD,
    "relative_path": FieldType.KEYWORD,
    "corpus": FieldType.KEYWORD,
    "content_hash": FieldType.KEYWORD,
    "model": FieldType.KEYWORD,
    "table_row": FieldType.INTEGER,
    **ACOUSTIC_FIELDS,
}
RESERVED_KEYS = frozenset(BASE_FIELDS) | {"style", "style_score", "measured"}
#: Metadata strings longer than this on average are indexed as full text rather than keywords.
TEXT_FIELD_CHARS = 64
_PLAN_CHUNK = 256
#: Flushes are ``flush_seconds`` apart, and (unless that is 0: every batch) at least this many times the last flush's duration.
FLUSH_SHARE = 20.0
#: Once the split is chosen, the model gets this many batches' worth of clips at a time to sort by length.
SORT_BATCHES = 8


@dataclass
class IndexOptions:
    """How to index. ``collection`` is the alias searched by clients (see ``paraseek.indexer.collections``)."""

    collection: str
    corpus: str | None = None
    reindex: bool = False
    shard: tuple[int, int] = (0, 1)
    workers: int | None = None
    threads: int | None = None
    batch_seconds: float = 60.0
    upsert_batch: int = 64
    flush_seconds: float = 5.0
    max_in_flight: int = 64
    limit: int | None = None
    min_seconds: float = MIN_CLIP_SECONDS
    max_seconds: float = DEFAULT_MAX_SECONDS
    silence_dbfs: float = DEFAULT_SILENCE_DBFS
    errors_file: str | Path | None = None
    progress: bool | None = None
    finalize: bool = True
    collection_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class IndexSummary:
    """What a run did. ``to_dict`` is the ``--json`` output."""

    collection: str
    alias: str
    corpus: str
    model: str
    indexed: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    audio_seconds: float = 0.0
    count: int = 0
    swapped: bool = False
    shard: str = "0/1"
    errors_file: str | None = None
    failures_by_type: dict[str, int] = field(default_factory=dict)
    #: decode worker processes the run ended with (0: decoded inline) and the model's torch threads
    workers: int = 0
    threads: int = 0
    #: payload fields left empty because Praat (the ``praat`` extra) is not installed
    not_measured: list[str] = field(default_factory=list)

    @property
    def audio_hours(self) -> float:
        return self.audio_seconds / 3600.0

    @property
    def clips_per_second(self) -> float:
        return self.indexed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["audio_hours"] = round(self.audio_hours, 6)
        out["clips_per_second"] = round(self.clips_per_second, 3)
        out["seconds"] = round(self.seconds, 3)
        out["audio_seconds"] = round(self.audio_seconds, 3)
        return out


def point_id(corpus: str, key: str, content_hash: str) -> str:
    """Deterministic point id of a clip."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{corpus}\n{key}\n{content_hash}"))


def shard_of(key: str, shards: int) -> int:
    """Stable shard of a clip key (independent of the file's bytes, the run and the platform)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big") % shards


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` -> ``(i, N)`` with ``0 <= i < N``."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError as error:
        raise InvalidArgument(f"--shard must look like i/N (e.g. 0/4), got {shorten(text)!r}") from error
    if count < 1 or not 0 <= index < count:
        raise InvalidArgument(f"--shard {text}: need 0 <= i < N")
    return index, count


def infer_field_type(values: Sequence[Any]) -> FieldType | None:
    """Index type for a metadata column from sample values (``None``: store but do not index)."""
    flat: list[Any] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, list):
            flat.extend(v for v in value if v is not None)
        else:
            flat.append(value)
    if not flat or any(isinstance(v, dict | list) for v in flat):
        return None
    if all(isinstance(v, bool) for v in flat):
        return FieldType.BOOL
    if all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        return FieldType.INTEGER
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
        return FieldType.FLOAT
    if all(isinstance(v, str) for v in flat):
        mean_length = sum(len(v) for v in flat) / len(flat)
        return FieldType.TEXT if mean_length > TEXT_FIELD_CHARS else FieldType.KEYWORD
    return None


def payload_schema(model: EmbeddingModel, sample: Sequence[dict[str, Any]]) -> dict[str, FieldType]:
    """Every filterable payload field: the indexer's own, style tags per group, typed metadata columns."""
    schema = dict(BASE_FIELDS)
    for group in model.style_groups():
        schema[f"style.{group}"] = FieldType.KEYWORD
        schema[f"style_score.{group}"] = FieldType.FLOAT
    columns: dict[str, list[Any]] = {}
    for row in sample:
        for key, value in row.items():
            columns.setdefault(key, []).append(value)
    for column, values in columns.items():
        name = payload_key(column)
        kind = infer_field_type(values)
        if kind is not None and not any(ch in name for ch in ".[]"):
            schema[name] = kind
    return schema


def payload_key(column: str) -> str:
    """Payload key of a source metadata column (prefixed if it would shadow an indexer field)."""
    return f"meta_{column}" if column in RESERVED_KEYS else column


def style_payloads(scorer: ZeroShotScorer, scores: dict[str, np.ndarray]) -> list[dict[str, dict[str, Any]]]:
    """``{"style": {group: best tag}, "style_score": {group: its score}}`` per clip row of ``scores``.

    The best tag is the first of the highest-scoring ones (tag order breaks ties), found for every
    clip and group at once.
    """
    tags: dict[str, list[str]] = {}
    best_scores: dict[str, list[float]] = {}
    for group, matrix in scores.items():
        best = matrix.argmax(axis=1)
        tags[group] = [scorer.groups[group][i] for i in best]
        best_scores[group] = np.round(matrix[np.arange(matrix.shape[0]), best].astype(np.float64), 5).tolist()
    rows = next(iter(scores.values())).shape[0] if scores else 0
    return [{"style": {group: tags[group][row] for group in scores},
             "style_score": {group: best_scores[group][row] for group in scores}} for row in range(rows)]


class ErrorReport:
    """JSONL of clips that could not be indexed: one object per clip with path, reason and error type."""

    def __init__(self, path: Path, collection: str) -> None:
        self.path = path
        self.collection = collection
        self.count = 0
        self.by_type: dict[str, int] = {}
        self._handle: Any = None
        path.unlink(missing_ok=True)

    def add(self, ref: ClipRef, reason: str, error_type: str) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115  open across add() calls; close() ends it
        record: dict[str, Any] = {"path": ref.location, "key": ref.key, "reason": reason, "error_type": error_type,
                  "collection": self.collection,
                  "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
        if ref.row is not None:
            record["row"] = ref.row
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()
        self.count += 1
        self.by_type[error_type] = self.by_type.get(error_type, 0) + 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


class _InlineExecutor(concurrent.futures.Executor):
    """Runs each task at submission, in this process (``workers=0``)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_result(fn(*args, **kwargs))
        return future


def default_errors_file(store: VectorStore, collection: str, shard: tuple[int, int]) -> Path:
    """``<data dir>/reports/<collection>.errors.jsonl`` (embedded store) or ``./<collection>.errors.jsonl``."""
    suffix = "" if shard[1] == 1 else f".shard{shard[0]}of{shard[1]}"
    data_dir = getattr(store, "data_dir", None) or getattr(store, "root", None)
    folder = Path(data_dir) / "reports" if data_dir else Path.cwd()
    return folder / f"{collection}{suffix}.errors.jsonl"


def index_corpus(source: Source | str | Path, store: VectorStore, model: EmbeddingModel,
                 options: IndexOptions) -> IndexSummary:
    """Index every clip of ``source`` into the collection aliased ``options.collection``.

    Returns the run's summary; bad clips are listed in the error report and never stop the run.
    Raises ``ModelMismatch`` if the collection was built with another model (unless re-indexing),
    ``FailedPrecondition`` if a re-index fails its count check (the alias is then not moved) and
    ``InvalidArgument`` if no clip could be used (a version the run created is removed again).
    """
    started = time.perf_counter()
    if not isinstance(source, Source):
        source = open_source(source)
    if options.reindex and options.shard[1] > 1:
        raise InvalidArgument(
            "--reindex cannot be combined with --shard: index each shard into a new collection name, "
            "then point the alias at it with `paraseek collections --set-alias`")
    corpus = options.corpus or source.name
    tagger = ZeroShotScorer(model)  # embeds the tag prompts: fails early if the text side cannot load
    schema = payload_schema(model, source.sample_metadata())
    target = prepare_target(store, options.collection, model, schema, corpus=corpus, reindex=options.reindex,
                            collection_options=options.collection_options)
    errors_path = Path(options.errors_file) if options.errors_file else default_errors_file(
        store, target.collection, options.shard)
    summary = IndexSummary(collection=target.collection, alias=target.alias, corpus=corpus, model=model.name,
                           shard=f"{options.shard[0]}/{options.shard[1]}")
    if not praat_installed():
        summary.not_measured = list(acoustics.PRAAT_MEASURES)
        log.warning("Praat is not installed: pitch, speaking rate and voice quality are left out of the payloads "
                    "(pip install 'paraseek[%s]' adds them)", PRAAT_EXTRA)
    report = ErrorReport(errors_path, target.collection)
    run = _Run(source, store, model, options, target, corpus, summary, report, tagger)
    try:
        run.execute()
    finally:
        report.close()
    summary.failed = report.count
    summary.failures_by_type = dict(report.by_type)
    summary.errors_file = str(errors_path) if report.count else None
    summary.workers, summary.threads = run.split.workers, run.split.threads
    if not summary.indexed and not summary.skipped:
        discard_target(store, target)
        if report.count:
            raise InvalidArgument(f"none of the {report.count} clips of {shorten(source.name)!r} could be indexed; "
                                  f"see {errors_path}")
        raise InvalidArgument(f"{shorten(source.name)!r} holds no clips to index (after --shard and --limit)")
    store.flush()
    if options.finalize and (summary.indexed or target.created):
        store.finalize(target.collection)
    summary.count = store.count(target.collection)
    if target.swap_alias:
        expected = summary.indexed + summary.skipped
        if summary.count != expected:
            raise FailedPrecondition(
                f"{target.collection} holds {summary.count} points but {expected} clips were indexed; "
                f"alias {target.alias!r} was not moved")
        store.release(target.collection)  # a server on the same embedded store can open it once the alias moves
        store.set_alias(target.alias, target.collection)
        summary.swapped = True
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class _Planned:
    ref: ClipRef
    point_id: str
    content_hash: str


class _Run:
    """State of one indexing run (see ``index_corpus``)."""

    def __init__(self, source: Source, store: VectorStore, model: EmbeddingModel, options: IndexOptions,
                 target: Target, corpus: str, summary: IndexSummary, report: ErrorReport, tagger: ZeroShotScorer) -> None:
        self.source, self.store, self.model, self.options = source, store, model, options
        self.tagger = tagger
        self.target, self.corpus, self.summary, self.report = target, corpus, summary, report
        self.limits = DecodeLimits(target_rate=model.sample_rate, min_seconds=options.min_seconds,
                                   max_seconds=options.max_seconds, silence_dbfs=options.silence_dbfs)
        self.cuda = str(getattr(model, "device", "cpu")).startswith("cuda")
        self.cores = available_cores()
        workers = 0 if options.workers is None else max(0, options.workers)
        self.split = Split(workers, options.threads or max(1, self.cores - workers))
        #: measures stage costs while the split is still to be chosen (``None``: fixed or chosen)
        self.clock: StageClock | None = None
        if options.workers is None:
            self.clock = StageClock(self.split.threads, probe_one_thread=not self.cuda and options.threads is None,
                                    cores=self.cores)
        self.last_flush = time.monotonic()
        #: seconds the last flush took: flushes are spaced so they take at most 1/FLUSH_SHARE of the run
        self.flush_cost = 0.0
        self.started = time.perf_counter()
        self.progress: Any = None
        self.seen: set[bytes] = set()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._executor: concurrent.futures.Executor = _InlineExecutor()

    # --- planning: shard, hash, skip what is stored -------------------------------------------

    def _refs(self) -> Iterator[ClipRef]:
        index, count = self.options.shard
        taken = 0
        for ref in self.source:
            if self.options.limit is not None and taken >= self.options.limit:
                return
            if count > 1 and shard_of(ref.key, count) != index:
                continue
            taken += 1
            yield ref

    def _plan(self) -> Iterator[_Planned]:
        chunk: list[ClipRef] = []
        for ref in self._refs():
            chunk.append(ref)
            if len(chunk) >= _PLAN_CHUNK:
                yield from self._plan_chunk(chunk)
                chunk = []
        if chunk:
            yield from self._plan_chunk(chunk)

    def _plan_chunk(self, refs: list[ClipRef]) -> Iterator[_Planned]:
        planned: list[_Planned] = []
        for ref in refs:
            try:
                digest = ref.content_hash()
            except OSError as error:
                self._fail(ref, f"cannot read {ref.location}: {error.strerror or error}", type(error).__name__)
                continue
            planned.append(_Planned(ref, point_id(self.corpus, ref.key, digest), digest))
        stored = self.store.existing_ids(self.target.collection, [p.point_id for p in planned]) if planned else set()
        for item in planned:
            key = uuid.UUID(item.point_id).bytes
            if item.point_id in stored or key in self.seen:  # stored already, or a duplicate of an earlier row
                self.summary.skipped += 1
                self._advance()
                continue
            self.seen.add(key)
            yield item

    # --- the loop -----------------------------------------------------------------------------

    def execute(self) -> None:
        import torch
        from tqdm import tqdm

        total = len(self.source)
        if self.options.shard[1] > 1:
            total = round(total / self.options.shard[1])
        if self.options.limit is not None:
            total = min(total, self.options.limit)
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(self.split.threads)
        self.progress = tqdm(total=total, unit="clip", desc=f"index {self.target.alias}", dynamic_ncols=True,
                             disable=None if self.options.progress is None else not self.options.progress)
        try:
            with self._pools():
                self._loop()
        finally:
            self.progress.close()
            torch.set_num_threads(previous_threads)

    @contextlib.contextmanager
    def _pools(self) -> Iterator[None]:
        """Decode workers from the start when ``workers`` is fixed above 0; any pool is shut down at the end."""
        if self.split.workers:
            self._executor = self._pool = self._new_pool()
        try:
            yield
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _rebalance(self) -> None:
        """Choose the split from the costs measured inline; start the decode workers if it has any."""
        import torch

        if self.clock is None or not self.clock.ready():
            return
        costs = self.clock.costs()
        self.split = choose_split(costs, self.cores, cuda=self.cuda, threads=self.options.threads)
        log.info("decode %.4f (CPU %.4f), model %.4f on %d threads (%s on one), other %.4f s per audio second: "
                 "%d decode workers, %d model threads", costs.decode, costs.worker_decode, costs.model, costs.threads,
                 "-" if costs.model_one_thread is None else f"{costs.model_one_thread:.4f}", costs.other,
                 self.split.workers, self.split.threads)
        self.clock = None
        torch.set_num_threads(self.split.threads)
        if self.split.workers:
            self._executor = self._pool = self._new_pool()

    def _batch_threads(self) -> int:
        """Set and return the model's threads for the next batch (calibration may probe one thread)."""
        import torch

        threads = self.split.threads if self.clock is None else self.clock.batch_threads()
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return threads

    def _submit(self, item: _Planned) -> concurrent.futures.Future:
        task = DecodeTask(file=str(item.ref.file) if item.ref.file else None, data=item.ref.data,
                          name=item.ref.location)
        if self.clock is None:
            return self._executor.submit(decode_or_fail, task, self.limits)
        started, cpu_started = time.perf_counter(), time.process_time()
        future = self._executor.submit(decode_or_fail, task, self.limits)
        result = future.result()
        self.clock.decoded(time.perf_counter() - started, time.process_time() - cpu_started,
                           result.duration if isinstance(result, Decoded) else 0.0)
        return future

    def _loop(self) -> None:
        plan = self._plan()
        in_flight: dict[concurrent.futures.Future, _Planned] = {}
        ready: list[tuple[_Planned, Decoded]] = []
        ready_seconds = 0.0
        exhausted = False
        while True:
            # inline decoding holds one clip at a time, so batches close at batch_seconds
            max_in_flight = max(self.options.max_in_flight, 2 * self.split.workers) if self._pool else 1
            while not exhausted and len(in_flight) < max_in_flight:
                item = next(plan, None)
                if item is None:
                    exhausted = True
                    break
                in_flight[self._submit(item)] = item
            window = self.options.batch_seconds * (1 if self.clock else SORT_BATCHES)
            if ready and (ready_seconds >= window or (exhausted and not in_flight)):
                if exhausted and not in_flight:
                    self._decoding_done()
                self._embed_and_store(ready)
                ready, ready_seconds = [], 0.0
                self._rebalance()
                continue
            if not in_flight:
                if exhausted:
                    return
                continue
            done, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
            broken = False
            for future in done:
                item = in_flight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as error:
                    broken = True
                    result = DecodeFailure(f"decoder process crashed ({error}); the clip is retried on the next run",
                                           "WorkerCrashed")
                if isinstance(result, DecodeFailure):
                    self._fail(item.ref, result.reason, result.error_type)
                else:
                    ready.append((item, result))
                    ready_seconds += result.duration
            if broken and not in_flight:
                self._restart_pool()

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        """Decode workers that die with this process (see ``paraseek.indexer.decode``)."""
        import multiprocessing

        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.split.workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker,
            initargs=(os.getpid(),))

    def _decoding_done(self) -> None:
        """Every clip is decoded: stop the workers and give the model the cores they used."""
        import torch

        if self._pool is None:
            return
        self._pool.shutdown(wait=False)
        self._executor, self._pool = _InlineExecutor(), None
        if not self.cuda:
            torch.set_num_threads(max(self.split.threads, self.cores))

    def _restart_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._executor = self._pool = self._new_pool()

    # --- model and store ----------------------------------------------------------------------

    def _embed_and_store(self, batch: list[tuple[_Planned, Decoded]]) -> None:
        started = time.perf_counter()
        prepared: list[tuple[_Planned, Decoded, np.ndarray]] = []
        for item, decoded in batch:
            try:
                prepared.append((item, decoded, self.model.prepare(decoded.wave, self.model.sample_rate)))
            except AudioError as error:
                self._fail(item.ref, str(error), type(error).__name__)
        if not prepared:
            return
        threads = self._batch_threads()
        model_started = time.perf_counter()
        try:
            embeddings = self.model.embed_prepared([inputs for _, _, inputs in prepared],
                                                   max_batch_seconds=self.options.batch_seconds)
        except Exception:  # one clip may break a batched forward pass: retry clip by clip
            kept, rows = [], []
            for entry in prepared:
                try:
                    rows.append(self.model.embed_prepared([entry[2]])[0])
                    kept.append(entry)
                except Exception as error:  # the model failing on one clip must not stop the run
                    self._fail(entry[0].ref, f"model failed on this clip: {error}", type(error).__name__)
            if not kept:
                return
            prepared, embeddings = kept, np.stack(rows)
        model_seconds = time.perf_counter() - model_started
        points = []
        styles = style_payloads(self.tagger, self.tagger.scores(embeddings))
        for row, (item, decoded, _) in enumerate(prepared):
            payload = self._payload(item, decoded)
            payload.update(styles[row])
            points.append(Point(id=item.point_id, vector=embeddings[row], payload=payload))
        for start in range(0, len(points), self.options.upsert_batch):
            self.store.upsert(self.target.collection, points[start : start + self.options.upsert_batch])
        spacing = self.options.flush_seconds and max(self.options.flush_seconds, self.flush_cost * FLUSH_SHARE)
        if time.monotonic() - self.last_flush >= spacing:
            flush_started = time.monotonic()
            self.store.flush()
            self.last_flush = time.monotonic()
            self.flush_cost = self.last_flush - flush_started
        audio = sum(decoded.duration for _, decoded, _ in prepared)
        if self.clock is not None:
            self.clock.embedded(model_seconds, time.perf_counter() - started - model_seconds, audio, threads)
        self.summary.indexed += len(points)
        self.summary.audio_seconds += audio
        self._advance(len(points))

    def _payload(self, item: _Planned, decoded: Decoded) -> dict[str, Any]:
        payload = {payload_key(key): value for key, value in item.ref.metadata.items()}
        payload.update({
            "path": item.ref.location,
            "relative_path": item.ref.key,
            "corpus": self.corpus,
            "content_hash": item.content_hash,
            "model": self.model.name,
            "duration": round(decoded.duration, 3),
            "sample_rate": decoded.sample_rate,
            "channels": decoded.channels,
            **acoustics.measured_payload(decoded.acoustics, item.ref.metadata),
        })
        if item.ref.row is not None:
            payload["table_row"] = item.ref.row
        return payload

    def _fail(self, ref: ClipRef, reason: str, error_type: str) -> None:
        self.report.add(ref, reason, error_type)
        self._advance()

    def _advance(self, n: int = 1) -> None:
        if self.progress is None:
            return
        self.progress.update(n)
        hours_per_second = self.summary.audio_seconds / 3600.0 / max(time.perf_counter() - self.started, 1e-9)
        self.progress.set_postfix_str(
            f"audio {hours_per_second:.4f} h/s ({hours_per_second * 3600:.1f}x real time), failed {self.report.count}",
            refresh=False)

