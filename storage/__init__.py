"""Vector storage: named collections of cosine vectors with indexed payloads, aliases and filters.

Two backends behind one interface (:class:`VectorStore`): the embedded :class:`EdgeStore` (Qdrant
Edge shards in a local directory) and :class:`ServerStore` (a Qdrant server through qdrant-client).
Filters are :mod:`paraseek.filters` (the store compiles them to its backend's own classes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paraseek.errors import InvalidArgument, require
from paraseek.storage.base import VectorStore
from paraseek.storage.types import CollectionInfo, FieldType, Hit, Point

if TYPE_CHECKING:
    from paraseek.storage.edge import EdgeStore
    from paraseek.storage.qdrant import ServerStore

DATA_DIR_ENV = "PARASEEK_DATA_DIR"


def default_data_dir() -> Path:
    """``$PARASEEK_DATA_DIR`` if set, else ``~/.local/share/paraseek``."""
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".local" / "share" / "paraseek"


def open_store(data_dir: str | Path | None = None, *, url: str | None = None, api_key: str | None = None,
               **server_options: Any) -> VectorStore:
    """Open a vector store.

    With ``url``, a :class:`ServerStore` on that Qdrant server (gRPC preferred; ``":memory:"`` is
    qdrant-client's in-process local mode). ``api_key`` and ``server_options`` (``timeout``,
    ``grpc_port``, ``https``, ...) go to ``QdrantClient``. Without ``url``, an :class:`EdgeStore`
    in ``data_dir``, which defaults to ``$PARASEEK_DATA_DIR`` or else ``~/.local/share/paraseek``.
    """
    if url is not None:
        require("qdrant_client")
        from paraseek.storage.qdrant import ServerStore

        return ServerStore(url, api_key=api_key, **server_options)
    if server_options or api_key is not None:
        raise InvalidArgument("api_key and server options need a server url")
    require("qdrant_edge", extra="engine")
    from paraseek.storage.edge import EdgeStore

    return EdgeStore(default_data_dir() if data_dir is None else data_dir)


def __getattr__(name: str) -> Any:
    # The backends import their engines, so load them only when asked for.
    if name == "EdgeStore":
        from paraseek.storage.edge import EdgeStore

        return EdgeStore
    if name == "ServerStore":
        from paraseek.storage.qdrant import ServerStore

        return ServerStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CollectionInfo", "DATA_DIR_ENV", "EdgeStore", "FieldType", "Hit", "Point", "ServerStore", "VectorStore",
    "default_data_dir", "open_store",
]
