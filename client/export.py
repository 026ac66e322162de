"""Search results as corpus manifests: one row per hit that ``paraseek index`` reads back as a corpus.

A row is the clip's ``path`` (the manifest's audio column), its point ``id`` and ``score``, and the
payload fields that describe the clip. The fields the indexer measures or derives again on
re-indexing (duration, loudness, style tags, its bookkeeping) are left out, so a re-indexed export
holds each field once, under its own name.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from paraseek.client.types import SearchHit, SearchResult

#: Payload keys ``paraseek index`` writes itself (its ``RESERVED_KEYS``).
INDEXER_FIELDS = frozenset({
    "path", "relative_path", "corpus", "content_hash", "model", "table_row", "duration", "sample_rate", "channels",
    "loudness_dbfs", "peak_dbfs", "f0_median_hz", "f0_std_semitones", "voiced_fraction", "speaking_rate", "snr_db",
    "hnr_db", "cpp_db", "jitter_percent", "shimmer_percent", "reverberation_seconds", "measured",
    "style", "style_score",
})
#: The leading columns of every manifest row.
MANIFEST_COLUMNS = ("path", "id", "score")


def manifest_row(hit: SearchHit) -> dict[str, Any]:
    """``path``, ``id``, ``score`` and the descriptive payload fields of a hit."""
    row: dict[str, Any] = {"path": hit.payload.get("path"), "id": hit.id, "score": hit.score}
    row.update((key, value) for key, value in hit.payload.items()
               if key not in INDEXER_FIELDS and key not in MANIFEST_COLUMNS)
    return row


def write_jsonl(result: SearchResult, stream: TextIO) -> None:
    """One JSON object per hit (:func:`manifest_row`), best first."""
    for hit in result.hits:
        stream.write(json.dumps(manifest_row(hit), ensure_ascii=False) + "\n")


def write_csv(result: SearchResult, stream: TextIO) -> None:
    """A CSV manifest: a header, then one row per hit; lists and objects are written as JSON."""
    rows = [manifest_row(hit) for hit in result.hits]
    writer = csv.DictWriter(stream, fieldnames=_columns(rows), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: json.dumps(value) if isinstance(value, (list, dict)) else value
                         for key, value in row.items()})


def _columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys([*MANIFEST_COLUMNS, *(key for row in rows for key in row)]))
