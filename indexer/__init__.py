"""Bulk indexing of speech corpora into vector collections: ``index_corpus`` and its parts.

``index_corpus(source, store, model, IndexOptions(collection="voices"))`` embeds every clip of a
source (``open_source``: audio folder, CSV/JSONL/parquet manifest, ParaSpeechCaps manifest, Hugging
Face parquet table), measures its acoustics (``measure``) and tags its style zero-shot, and upserts
one point per clip. The payload of each point:

* source metadata columns (lists and dicts kept; a column named like an indexer field gets a
  ``meta_`` prefix);
* ``path``, ``relative_path`` (the key used for ids and shards), ``corpus``, ``content_hash``,
  ``model`` and, for audio embedded in a table, ``table_row``;
* ``duration``, ``sample_rate``, ``channels``, ``loudness_dbfs``, ``peak_dbfs``, ``f0_median_hz``,
  ``f0_std_semitones``, ``voiced_fraction``, ``speaking_rate`` (syllable nuclei per second of
  active speech), ``snr_db``;
* ``style.<group>`` (best tag) and ``style_score.<group>`` (its cosine score) per attribute group.

Every scalar field is in the collection's payload schema (and so indexed for filtering).

Point ids are ``uuid5(corpus, relative path, content hash)``: re-running skips stored clips (checked
before decoding), a changed file gets a new point, and a killed run resumes exactly.

Versions: the first run creates ``NAME_v1`` and points alias ``NAME`` at it; later runs add to the
alias target; ``reindex=True`` builds ``NAME_v{N+1}``, checks its count, and moves the alias
atomically, so searches of ``NAME`` keep working throughout. A different model is refused
(``ModelMismatch``) unless re-indexing.

Sharding (``shard=(i, N)``): a clip belongs to shard ``blake2b(relative path) mod N``. Against a
Qdrant server all shards write one collection concurrently. The embedded store allows one writer
per collection, so there each shard writes its own collection (``--collection voices-s0 --shard
0/4`` ...); to serve one collection, index unsharded or use the server backend.

Importing a part (``paraseek.indexer.decode``) loads only what that part needs: the package's
names load on first use, so the decode workers, which only decode and measure, never import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from paraseek.errors import require

require("torch")
require("pyarrow")

if TYPE_CHECKING:
    from paraseek.indexer.acoustics import Acoustics, measure
    from paraseek.indexer.collections import Target, prepare_target
    from paraseek.indexer.decode import DecodeLimits
    from paraseek.indexer.pipeline import (
        IndexOptions,
        IndexSummary,
        index_corpus,
        parse_shard,
        payload_schema,
        point_id,
        shard_of,
    )
    from paraseek.indexer.sources import ClipRef, Source, open_source

#: Each public name and the module that defines it.
_MODULES = {
    "Acoustics": "acoustics", "measure": "acoustics",
    "Target": "collections", "prepare_target": "collections",
    "DecodeLimits": "decode",
    "IndexOptions": "pipeline", "IndexSummary": "pipeline", "index_corpus": "pipeline", "parse_shard": "pipeline",
    "payload_schema": "pipeline", "point_id": "pipeline", "shard_of": "pipeline",
    "ClipRef": "sources", "Source": "sources", "open_source": "sources",
}

__all__ = [
    "Acoustics",
    "ClipRef",
    "DecodeLimits",
    "IndexOptions",
    "IndexSummary",
    "Source",
    "Target",
    "index_corpus",
    "measure",
    "open_source",
    "parse_shard",
    "payload_schema",
    "point_id",
    "prepare_target",
    "shard_of",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    globals()[name] = value
    return value
