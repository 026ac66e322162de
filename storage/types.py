"""Value types shared by every storage backend, and the validation both backends apply alike."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paraseek.errors import InvalidArgument
from paraseek.filters import FieldType
from paraseek.limits import MAX_COLLECTION_NAME_CHARS


@dataclass(frozen=True)
class Point:
    """One stored item: a UUID string id, a float32 vector and a JSON-like payload."""

    id: str
    vector: np.ndarray
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` is the cosine similarity."""

    id: str
    score: float
    payload: dict[str, Any]
    vector: np.ndarray | None = None


@dataclass(frozen=True)
class CollectionInfo:
    """What a store knows about one physical collection."""

    name: str
    aliases: list[str]
    count: int
    dim: int
    metadata: dict[str, Any]
    payload_schema: dict[str, FieldType]


# Collection and alias names: safe as a directory name and as a Qdrant collection name.
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_COLLECTION_NAME_CHARS - 1}}}")
# Payload field paths: dotted names, each optionally marked ``[]`` (every element of an array).
_FIELD_PATH = re.compile(r"[A-Za-z_][\w\-]*(?:\[\])?(?:\.[A-Za-z_][\w\-]*(?:\[\])?)*")


def check_name(name: str, what: str = "collection") -> str:
    """Return ``name`` if it is a valid collection or alias name, else raise ``InvalidArgument``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidArgument(
            f"invalid {what} name {name!r}: use 1-{MAX_COLLECTION_NAME_CHARS} letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


def check_field_path(path: Any, what: str, error: type[InvalidArgument] = InvalidArgument) -> str:
    """Return ``path`` if it is a payload field path such as ``tags.pitch`` or ``segments[].speaker``."""
    if not isinstance(path, str) or not _FIELD_PATH.fullmatch(path):
        raise error(f"{what}: {path!r} is not a payload field path (dotted names of letters, digits, '_' or '-', "
                    "each optionally followed by '[]')")
    return path


def canonical_id(point_id: Any) -> str:
    """The canonical (lower-case, hyphenated) form of a UUID point id; ``InvalidArgument`` otherwise."""
    if isinstance(point_id, uuid.UUID):
        return str(point_id)
    if not isinstance(point_id, str):
        raise InvalidArgument(f"point id must be a UUID string, got {type(point_id).__name__} {point_id!r}")
    try:
        return str(uuid.UUID(point_id))
    except ValueError:
        raise InvalidArgument(f"point id must be a UUID string, got {point_id!r}") from None


def check_vector(vector: Any, dim: int | None, what: str = "vector") -> np.ndarray:
    """``vector`` as a contiguous float32 array of shape ``(dim,)`` (any length if ``dim`` is None)
    with a finite, non-zero norm."""
    try:
        array = np.ascontiguousarray(vector, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise InvalidArgument(f"{what} is not numeric: {error}") from None
    if array.ndim != 1 or (dim is not None and array.shape != (dim,)):
        expected = f"({dim},)" if dim is not None else "one dimension"
        raise InvalidArgument(f"{what} has shape {array.shape}, the collection expects {expected}")
    norm = float(np.linalg.norm(array))
    if not math.isfinite(norm):
        raise InvalidArgument(f"{what} contains NaN or infinite values")
    if norm == 0.0:
        raise InvalidArgument(f"{what} is all zeros: cosine similarity is undefined")
    return array


def check_schema(payload_schema: Mapping[str, Any]) -> dict[str, FieldType]:
    """Validate a payload schema; values may be ``FieldType`` members or their string values."""
    if not isinstance(payload_schema, Mapping):
        raise InvalidArgument("payload_schema must be a mapping of field name to FieldType")
    schema: dict[str, FieldType] = {}
    for key, kind in payload_schema.items():
        if not isinstance(key, str) or not key or key.startswith(".") or key.endswith(".") or ".." in key:
            raise InvalidArgument(f"invalid payload field name {key!r}")
        try:
            schema[key] = FieldType(kind)
        except ValueError:
            allowed = ", ".join(t.value for t in FieldType)
            raise InvalidArgument(f"field {key!r}: unknown type {kind!r} (allowed: {allowed})") from None
    return schema


def plain_payload(value: Any, where: str = "payload") -> Any:
    """A JSON-like copy of ``value``: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgument(f"{where}: keys must be strings, got {key!r}")
            result[key] = plain_payload(item, f"{where}.{key}")
        return result
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgument(f"{where}: {value} is not a valid JSON number")
        return value
    if isinstance(value, np.ndarray):
        return plain_payload(value.tolist(), where)
    if isinstance(value, np.generic):
        return plain_payload(value.item(), where)
    if isinstance(value, (list, tuple)):
        return [plain_payload(item, f"{where}[]") for item in value]
    raise InvalidArgument(f"{where}: value of type {type(value).__name__} cannot be stored in a payload")


def _path_parts(path: str) -> list[str]:
    return [part[:-2] if part.endswith("[]") else part for part in path.split(".")]


def _parents(payload: Any, parts: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Every dict that holds the last part of ``parts``, following lists along the way."""
    if isinstance(payload, list):
        for item in payload:
            yield from _parents(item, parts)
        return
    if not isinstance(payload, dict):
        return
    if len(parts) == 1:
        yield payload
        return
    child = payload.get(parts[0])
    if child is not None:
        yield from _parents(child, parts[1:])


def map_leaves(payload: dict[str, Any], path: str, convert: Any) -> None:
    """Apply ``convert`` in place to every value at the dotted ``path`` (lists are walked element-wise)."""
    parts = _path_parts(path)
    leaf = parts[-1]
    for parent in _parents(payload, parts):
        if leaf not in parent:
            continue
        value = parent[leaf]
        parent[leaf] = [convert(item) for item in value] if isinstance(value, list) else convert(value)


def values_at(payload: dict[str, Any], path: str) -> list[Any]:
    """Every value stored at the dotted ``path`` (array values and arrays along the way are flattened)."""
    parts = _path_parts(path)
    found: list[Any] = []
    for parent in _parents(payload, parts):
        value = parent.get(parts[-1])
        if isinstance(value, list):
            found.extend(value)
        elif value is not None:
            found.append(value)
    return found


def select_payload(payload: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The part of ``payload`` under the dotted ``keys``, keeping its nesting."""
    result: dict[str, Any] = {}
    for key in keys:
        source: Any = payload
        parts = key.split(".")
        for part in parts:
            if not isinstance(source, dict) or part not in source:
                break
            source = source[part]
        else:
            target = result
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = source
    return result
