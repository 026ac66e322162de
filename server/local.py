"""Searches without a server: the server's own engine and request handling, over an embedded store in this process.

The request is built and the response read by the thin client's functions, and answered by the
servicer's code, so a local search and a remote one go through the same steps.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from paraseek.client.base import BaseClient
from paraseek.client.protocol import search_request, search_result
from paraseek.client.types import SearchResult
from paraseek.model import load_model
from paraseek.server.config import ServerConfig
from paraseek.server.engine import QueryEngine, Scope
from paraseek.server.metrics import Metrics
from paraseek.server.service import ParaseekServicer
from paraseek.storage import VectorStore, open_store


def search_locally(data_dir: str | Path | None, text: str = "", *, model: str | None = None,
                   checkpoint: str | None = None, **options: Any) -> SearchResult:
    """:meth:`paraseek.client.Client.search` (same ``text`` and keyword ``options``) on the embedded store in
    ``data_dir`` (default ``$PARASEEK_DATA_DIR``), with ``model`` (default: the one the collection was built with).

    ``StoreLocked`` when another process (a running server) has the collection open.
    """
    unknown = set(options) - set(_SEARCH_DEFAULTS)
    if unknown:
        raise TypeError(f"search_locally() got unexpected options {sorted(unknown)}")
    request = search_request(text, **{**_SEARCH_DEFAULTS, **options})
    config = ServerConfig(data_dir=Path(data_dir) if data_dir is not None else None, batching=False)
    with open_store(data_dir) as store:
        loaded = load_model(model or _built_with(store, request.collection), checkpoint=checkpoint)
        metrics = Metrics()
        engine = QueryEngine(loaded, store, config, metrics)
        engine.warm()
        servicer = ParaseekServicer(store, config, metrics)
        servicer.attach(engine)
        try:
            return search_result(servicer.search(request, Scope()))
        finally:
            engine.close()


#: The options of ``Client.search`` and their defaults (all but the call's timeout).
_SEARCH_DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(BaseClient.search).parameters.items()
                    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "timeout"}


def _built_with(store: VectorStore, collection: str) -> str | None:
    """The model the collection (or the store's only collection) was built with, when it says."""
    if collection:
        return store.describe(collection).metadata.get("model")
    collections = store.list_collections()
    if len(collections) != 1:
        return None
    return collections[0].metadata.get("model")

