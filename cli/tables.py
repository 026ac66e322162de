"""Search hits as a table that fits the terminal (rich): rank, score, short id, clip, duration, style tags."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from rich.console import Console
from rich.table import Table

from paraseek.client import QueryUnderstanding, SearchHit, SearchResult

#: Characters of a point id the table shows; ``--like-id`` takes them back.
SHORT_ID = 8


def print_hits(result: SearchResult, fields: Sequence[str] | None, offset: int = 0) -> None:
    """Print the hits, ranked from ``offset + 1``: the compact columns, or rank, score, id and ``fields``."""
    console = Console(file=sys.stdout, soft_wrap=False)
    if not result.hits:
        console.print(f"no matches in {result.collection}", highlight=False)
        _print_understanding(console, result.query)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("id", no_wrap=True)
    columns = list(fields) if fields else ["clip", "duration", "tags"]
    for name in columns:
        table.add_column(name, overflow="ellipsis", no_wrap=name != "tags",
                         justify="right" if name == "duration" else "left")
    for rank, hit in enumerate(result.hits, start=offset + 1):
        cells = [_field(hit, name) for name in fields] if fields else [_clip(hit), _duration(hit), _tags(hit)]
        table.add_row(str(rank), f"{hit.score:.3f}", hit.id[:SHORT_ID], *cells)
    console.print(table, highlight=False)
    shown = f"hits {offset + 1}-{offset + len(result.hits)}" if offset else f"{len(result.hits)} hits"
    console.print(f"{shown} from {result.collection} in {result.total_ms:.1f} ms (search time)", highlight=False)
    _print_understanding(console, result.query)


def understanding_line(query: QueryUnderstanding) -> str:
    """``understood as: low-pitched 0.61, deep 0.58; not understood: 'zorblaxian'`` (empty without a description)."""
    parts = []
    if query.understood:
        parts.append("understood as: " + ", ".join(f"{u.style} {u.score:.2f}" for u in query.understood))
    if query.unknown:
        parts.append("not understood: " + ", ".join(repr(word) for word in query.unknown))
    return "; ".join(parts)


def _print_understanding(console: Console, query: QueryUnderstanding) -> None:
    line = understanding_line(query)
    if line:
        console.print(line, highlight=False, markup=False)


def _clip(hit: SearchHit) -> str:
    """The clip's file name, else its speaker."""
    path = hit.payload.get("relative_path") or hit.payload.get("path")
    if isinstance(path, str) and path:
        return PurePath(path).name
    return str(hit.payload.get("speaker", ""))


def _duration(hit: SearchHit) -> str:
    duration = hit.payload.get("duration")
    return f"{duration:.1f} s" if isinstance(duration, (int, float)) else ""


def _tags(hit: SearchHit) -> str:
    """The best style tag per group: the hit's explanation, else the tags stored at indexing."""
    if hit.styles:
        return ", ".join(scores[0].tag for scores in hit.styles.values() if scores)
    stored = hit.payload.get("style")
    return ", ".join(str(tag) for tag in stored.values()) if isinstance(stored, dict) else ""


def _field(hit: SearchHit, name: str) -> str:
    value: Any = hit.payload
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)
