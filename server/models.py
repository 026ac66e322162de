"""The models a server serves: the default one, and each collection's own, loaded on first use within a memory budget.

A collection names its model in the catalog (name, fingerprint, and how to load it again). The
pool keeps one :class:`ServedModel` per model (its zero-shot scorer and its own text micro-batcher),
loads a collection's model the first time a request needs it, and keeps the loaded models within
the memory budget by evicting the least recently used one that no request holds. The default
model is never evicted: it answers the calls that name no collection.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np

from paraseek.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    ModelUnavailable,
    ParaseekError,
    ResourceExhausted,
    Unavailable,
)
from paraseek.model import EmbeddingModel, ZeroShotScorer, load_model
from paraseek.model.base import ModelSource
from paraseek.model.understanding import QueryVocabulary
from paraseek.server.batching import MicroBatcher
from paraseek.server.cache import EmbeddingCache
from paraseek.server.config import ServerConfig
from paraseek.server.metrics import Metrics
from paraseek.storage import CollectionInfo, Hit
from paraseek.storage.catalog import BuildRecord, ModelSignature, built_with, check_model

log = logging.getLogger("paraseek.server")
#: A model that failed to load is not tried again for this long (each try may read a large checkpoint).
MODEL_RETRY_SECONDS = 30.0
_MIB = 2**20

#: Query-understanding phrase embeddings each served model keeps (a vocabulary's words recur across descriptions).
PHRASE_CACHE_ENTRIES = 8192

#: Loads a model from its recorded source.
ModelLoader = Callable[[ModelSource], EmbeddingModel]


class ServedModel:
    """A loaded model and what serving it takes: its zero-shot scorer, its own text micro-batcher and the
    embeddings of the query-understanding phrases it has read (kept whatever the query cache's size)."""

    def __init__(self, model: EmbeddingModel, config: ServerConfig, metrics: Metrics) -> None:
        self.model = model
        self.signature = ModelSignature.of(model)
        self.scorer = ZeroShotScorer(model)  # embeds the style-tag prompts used for explanations
        self.vocabulary = QueryVocabulary(self.scorer, model.embed_text)  # calibrates the model's threshold
        self.phrases = EmbeddingCache(PHRASE_CACHE_ENTRIES)
        self.batcher = (MicroBatcher(model.embed_text, max_batch=config.max_batch, max_chars=config.max_batch_chars,
                                     max_wait=config.max_wait_ms / 1000,
                                     on_batch=functools.partial(metrics.record_batch, model.name)) if config.batching else None)

    def warm(self) -> None:
        """Run every encoder once, so the first request pays no start-up cost."""
        self.model.embed_text(["a calm voice"])
        rate = self.model.sample_rate
        t = np.arange(rate, dtype=np.float32) / rate
        self.model.embed_audio([0.1 * np.sin(2 * np.pi * 220 * t)], rate)

    def explain(self, vector: np.ndarray, top: int | None) -> dict[str, list[tuple[str, float]]]:
        """The ``top`` (``None``: all) best-matching style tags of a clip embedding, per attribute group."""
        return self.scorer.rank(vector, top)

    def explain_hits(self, hits: Sequence[Hit], top: int | None) -> list[dict[str, list[tuple[str, float]]]]:
        """``explain`` of every hit's vector, with the tags scored for all hits in one product (no vector: no styles)."""
        styles: list[dict[str, list[tuple[str, float]]]] = [{} for _ in hits]
        rows = [index for index, hit in enumerate(hits) if hit.vector is not None]
        if top == 0 or not rows:
            return styles
        ranked_rows = self.scorer.rank_rows(np.stack([np.asarray(hits[index].vector, dtype=np.float32) for index in rows]), top)
        for index, row_styles in zip(rows, ranked_rows, strict=True):
            styles[index] = row_styles
        return styles

    def close(self) -> None:
        """Stop the batcher thread."""
        if self.batcher is not None:
            self.batcher.close()


@dataclass(frozen=True)
class ModelStatus:
    """One model as ``GetServerInfo`` lists it: loaded or not, and the collections built with it."""

    signature: ModelSignature
    loaded: bool
    default: bool
    memory_bytes: int
    collections: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The fields of ``paraseek.v1.ModelInfo`` (and of the HTTP API's)."""
        return {"name": self.signature.name, "fingerprint": self.signature.fingerprint,
                "embedding_dim": self.signature.dim, "loaded": self.loaded, "is_default": self.default,
                "memory_bytes": self.memory_bytes, "collections": list(self.collections)}


@dataclass
class _Entry:
    served: ServedModel
    memory_bytes: int
    holds: int = 0


def _key(signature: ModelSignature) -> tuple[str, str]:
    return signature.name, signature.fingerprint


class ModelPool:
    """The default model and the collection models loaded so far, within ``config.model_memory_bytes``; thread-safe.

    :meth:`acquire` gives the model a collection was built with and holds it (not evictable) until
    :meth:`release`. ``loader`` loads a collection's model from its recorded source.
    """

    def __init__(self, default: EmbeddingModel, config: ServerConfig, metrics: Metrics, loader: ModelLoader) -> None:
        self.config = config
        self.metrics = metrics
        self._loader = loader
        self._budget = config.model_memory_bytes
        if default.memory_bytes > self._budget:
            raise FailedPrecondition(f"the default model {default.name} takes {default.memory_bytes / _MIB:.0f} MiB, "
                                     f"more than the model memory budget of {config.model_memory_mb} MiB")
        self.default = ServedModel(default, config, metrics)
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()  # least recently used first
        self._entries[_key(self.default.signature)] = _Entry(self.default, default.memory_bytes)
        self._loading: dict[tuple[str, str], Future[None]] = {}
        self._failures: dict[tuple[str, str], tuple[float, ParaseekError]] = {}
        self._closed = False

    # --- holding models ---------------------------------------------------------------------------

    def acquire(self, info: CollectionInfo, timeout: float | None = None) -> ServedModel:
        """The model ``info`` was built with, held until :meth:`release`; loaded first if need be.

        A collection that records no model is served by the default model if its width fits.
        ``ModelMismatch`` / ``ModelUnavailable`` (FAILED_PRECONDITION) when the recorded model cannot
        be loaded or loads other weights; ``ResourceExhausted`` when it does not fit the budget beside
        the models requests hold; ``DeadlineExceeded`` when another request's load of it outlasts ``timeout``.
        """
        record = BuildRecord.of(info)
        wanted = record.signature
        key = _key(self.default.signature if wanted is None else wanted)
        if wanted is None:
            check_model(info, self.default.signature, "re-index it with the server's default model")
        while True:
            with self._lock:
                if self._closed:
                    raise Unavailable("the server is shutting down")
                held = self._hold(key)
                if held is not None:
                    return held
                failed = self._failures.get(key)
                if failed is not None and time.monotonic() - failed[0] < MODEL_RETRY_SECONDS:
                    raise type(failed[1])(str(failed[1]))
                loading = self._loading.get(key)
                if loading is None:
                    self._loading[key] = Future()
            if loading is None:
                return self._load(info, record, key)
            try:
                loading.result(timeout)
            except FutureTimeout:
                raise DeadlineExceeded(f"the deadline passed while model {key[0]} was loading") from None
            except Exception:  # noqa: BLE001 - the loading request reports it; the failure record answers next turn
                pass

    def release(self, served: ServedModel) -> None:
        """A request is done with ``served``."""
        with self._lock:
            entry = self._entries.get(_key(served.signature))
            if entry is not None and entry.served is served:
                entry.holds -= 1

    def _hold(self, key: tuple[str, str]) -> ServedModel | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        entry.holds += 1
        self._entries.move_to_end(key)
        return entry.served

    # --- loading and evicting ---------------------------------------------------------------------

    def _load(self, info: CollectionInfo, record: BuildRecord, key: tuple[str, str]) -> ServedModel:
        """Load ``info``'s model (this request loads it; others with the same model wait), admit and hold it."""
        done = self._loading[key]
        try:
            served = self._build(info, record)
            evicted = self._admit(key, served)
        except BaseException as error:
            with self._lock:
                if isinstance(error, ParaseekError) and not isinstance(error, ResourceExhausted):
                    self._failures[key] = (time.monotonic(), error)
                del self._loading[key]
            done.set_exception(error)
            raise
        with self._lock:
            self._failures.pop(key, None)
            del self._loading[key]
        done.set_result(None)
        log.info("model loaded", extra={"model": served.model.name, "fingerprint": served.model.fingerprint[:16],
                                        "collection": info.name, "mib": round(served.model.memory_bytes / _MIB, 1)})
        for entry in evicted:
            entry.served.close()
            log.info("model unloaded", extra={"model": entry.served.model.name,
                                              "fingerprint": entry.served.model.fingerprint[:16]})
        return served

    def _build(self, info: CollectionInfo, record: BuildRecord) -> ServedModel:
        """Load, check and warm the model ``record`` names."""
        source = ModelSource(record.model_config or str(record.model), record.model_checkpoint)
        try:
            model = self._loader(source)
        except Exception as error:  # noqa: BLE001 - whatever stops the load, the collection cannot be served
            raise ModelUnavailable(
                f"collection {info.name!r} was built with model {record.model!r} (fingerprint "
                f"{str(record.model_fingerprint)[:16]}), which this server cannot load from {_describe(source)}: "
                f"{type(error).__name__}: {error}") from None
        check_model(info, ModelSignature.of(model),
                    f"its recorded source ({_describe(source)}) no longer holds those weights; re-index the "
                    f"collection, or restore them")
        served = ServedModel(model, self.config, self.metrics)
        try:
            served.warm()
        except BaseException:
            served.close()
            raise
        return served

    def _admit(self, key: tuple[str, str], served: ServedModel) -> list[_Entry]:
        """Add ``served`` (held once), evicting unheld models, least recently used first, to stay in budget.

        Returns the evicted entries (closed by the caller, outside the lock).
        """
        size = served.model.memory_bytes
        with self._lock:
            used = sum(entry.memory_bytes for entry in self._entries.values())
            default_key = _key(self.default.signature)
            idle = [k for k, entry in self._entries.items() if entry.holds == 0 and k != default_key]
            evict: list[tuple[str, str]] = []
            while used + size > self._budget and idle:
                victim = idle.pop(0)
                evict.append(victim)
                used -= self._entries[victim].memory_bytes
            if used + size > self._budget:
                served.close()
                raise ResourceExhausted(
                    f"model {served.model.name} takes {size / _MIB:.0f} MiB, which does not fit the model memory "
                    f"budget of {self.config.model_memory_mb} MiB beside the models requests are using; retry later")
            evicted = [self._entries.pop(victim) for victim in evict]
            self._entries[key] = _Entry(served, size, holds=1)
        return evicted

    # --- listing and closing ----------------------------------------------------------------------

    def status(self, collections: Iterable[CollectionInfo]) -> list[ModelStatus]:
        """The default model, the loaded ones, and those ``collections`` were built with (default first)."""
        built: dict[tuple[str, str], tuple[ModelSignature, list[str]]] = {}
        for info in collections:
            signature = BuildRecord.of(info).signature
            if signature is None and built_with(info, self.default.signature):
                signature = self.default.signature
            if signature is not None:
                built.setdefault(_key(signature), (signature, []))[1].append(info.name)
        with self._lock:
            loaded = {key: (entry.served.signature, entry.memory_bytes) for key, entry in self._entries.items()}
        default_key = _key(self.default.signature)
        keys = [default_key, *(k for k in loaded if k != default_key), *(k for k in built if k not in loaded)]
        listed = []
        for key in keys:
            signature = loaded[key][0] if key in loaded else built[key][0]
            listed.append(ModelStatus(signature, key in loaded, key == default_key,
                                      loaded[key][1] if key in loaded else 0,
                                      tuple(sorted(built[key][1])) if key in built else ()))
        return listed

    def close(self) -> None:
        """Stop every model's batcher; later requests are refused with ``Unavailable``."""
        with self._lock:
            self._closed = True
            entries = list(self._entries.values())
        for entry in entries:
            entry.served.close()


def source_loader(config: ServerConfig) -> ModelLoader:
    """Loads a recorded source on ``config``'s device and precision."""

    def load(source: ModelSource) -> EmbeddingModel:
        return load_model(config=source.config, checkpoint=source.checkpoint, device=config.device, dtype=config.dtype)

    return load


def _describe(source: ModelSource) -> str:
    return f"{source.config}" + (f" with checkpoint {source.checkpoint}" if source.checkpoint else "")
