"""Versioned collections behind an alias: ``NAME`` -> ``NAME_v1``, ``NAME_v2``, ...

Indexing into ``NAME`` adds to the version the alias points to (creating ``NAME_v1`` and the alias
on first use). A re-index builds ``NAME_v{N+1}`` from scratch and only then re-points the alias,
so readers of ``NAME`` never see a half-built index. Old versions stay until deleted.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from paraseek.errors import CollectionNotFound, FailedPrecondition, InvalidArgument, ModelMismatch, shorten
from paraseek.model import EmbeddingModel
from paraseek.storage import CollectionInfo, FieldType, VectorStore

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Target:
    """Where a run writes: the physical collection, and whether the alias moves to it once verified."""

    alias: str
    collection: str
    created: bool
    swap_alias: bool


def version_of(name: str, alias: str) -> int | None:
    """``3`` for ``{alias}_v3``; ``None`` for any other name."""
    match = re.fullmatch(re.escape(alias) + r"_v(\d+)", name)
    return int(match.group(1)) if match else None


def versions(store: VectorStore, alias: str) -> dict[int, str]:
    """Existing physical versions of ``alias``: ``{version: collection name}``."""
    found: dict[int, str] = {}
    for entry in store.list_collections():
        name = getattr(entry, "name", entry)
        number = version_of(name, alias)
        if number is not None:
            found[number] = name
    return found


def describe_or_none(store: VectorStore, name: str) -> CollectionInfo | None:
    """The collection or alias ``name``, or ``None`` if neither exists."""
    try:
        return store.describe(name)
    except CollectionNotFound:
        return None


def collection_metadata(model: EmbeddingModel, corpus: str, schema: dict[str, FieldType], alias: str) -> dict[str, Any]:
    """What a collection records about how it was built."""
    return {
        "model": model.name,
        "model_fingerprint": model.fingerprint,
        "embedding_dim": model.embedding_dim,
        "style_groups": model.style_groups(),
        "payload_schema": {key: getattr(kind, "value", str(kind)) for key, kind in schema.items()},
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "corpus": corpus,
        "alias": alias,
    }


def check_model(info: CollectionInfo, model: EmbeddingModel, alias: str) -> None:
    """Refuse to mix embeddings of two models in one collection."""
    built_with = info.metadata.get("model")
    fingerprint = info.metadata.get("model_fingerprint")
    if built_with is None and fingerprint is None:
        return
    if built_with != model.name or fingerprint != model.fingerprint:
        raise ModelMismatch(
            f"collection {info.name} was built with model {built_with!r} (fingerprint {str(fingerprint)[:16]}), "
            f"but this run uses {model.name!r} (fingerprint {model.fingerprint[:16]}); pass --reindex to build a "
            f"new version of {alias!r} with this model and swap the alias when it is complete, or use --model "
            f"{built_with} to add to the current version")


def prepare_target(store: VectorStore, alias: str, model: EmbeddingModel, schema: dict[str, FieldType], *,
                   corpus: str, reindex: bool, collection_options: dict[str, Any] | None = None) -> Target:
    """Resolve or create the physical collection a run writes to (see the module docstring).

    ``collection_options`` go to ``create_collection`` when a version is created (quantization,
    on-disk vectors, shard number, replication factor, shard key).

    A re-index resumes an unfinished build: if the newest version is newer than the alias target,
    holds no alias and was built with the same model, the run continues it instead of starting over.
    """
    if not _NAME.fullmatch(alias):
        raise InvalidArgument(f"collection name {shorten(alias)!r} must be 1-128 letters, digits, '_', '.' or '-'")
    current = describe_or_none(store, alias)
    if current is not None and current.name == alias:
        if reindex:
            raise FailedPrecondition(
                f"{alias!r} is a collection, not an alias, so it cannot be re-indexed in place; "
                f"index into a new name and point an alias at it")
        check_model(current, model, alias)
        return Target(alias=alias, collection=alias, created=False, swap_alias=False)
    existing = versions(store, alias)
    current_version = version_of(current.name, alias) if current is not None else None
    if current is not None and not reindex:
        check_model(current, model, alias)
        return Target(alias=alias, collection=current.name, created=False, swap_alias=False)
    if reindex and existing:
        newest = max(existing)
        info = describe_or_none(store, existing[newest])
        if (info is not None and (current_version is None or newest > current_version) and not info.aliases
                and info.metadata.get("model_fingerprint") == model.fingerprint
                and info.metadata.get("model") == model.name):
            return Target(alias=alias, collection=info.name, created=False, swap_alias=True)
    name = f"{alias}_v{max(existing, default=0) + 1}"
    store.create_collection(name, dim=model.embedding_dim, payload_schema=schema,
                            metadata=collection_metadata(model, corpus, schema, alias),
                            **(collection_options or {}))
    if current is None and not reindex:
        store.set_alias(alias, name)
    return Target(alias=alias, collection=name, created=True, swap_alias=reindex)


def discard_target(store: VectorStore, target: Target) -> None:
    """Remove a version this run created (and the alias it pointed at it), e.g. when nothing went in."""
    if not target.created:
        return
    current = describe_or_none(store, target.alias)
    if current is not None and current.name == target.collection and target.alias != target.collection:
        store.delete_alias(target.alias)
    store.delete_collection(target.collection)


def describe_all(store: VectorStore) -> dict[str, Any]:
    """``{"collections": [{name, aliases, count, dim, model, model_fingerprint, corpus, created}], "aliases": {alias: name}}``."""
    entries: list[dict[str, Any]] = []
    aliases: dict[str, str] = {}
    for entry in store.list_collections():
        info = entry if isinstance(entry, CollectionInfo) else store.describe(entry)
        entries.append({
            "name": info.name,
            "aliases": sorted(info.aliases),
            "count": info.count,
            "dim": info.dim,
            "model": info.metadata.get("model"),
            "model_fingerprint": info.metadata.get("model_fingerprint"),
            "corpus": info.metadata.get("corpus"),
            "created": info.metadata.get("created"),
        })
        aliases.update(dict.fromkeys(info.aliases, info.name))
    entries.sort(key=lambda e: e["name"])
    return {"collections": entries, "aliases": dict(sorted(aliases.items()))}


def apply_changes(store: VectorStore, *, delete: tuple[str, ...] = (), set_alias: tuple[str, ...] = (),
                  delete_alias: tuple[str, ...] = ()) -> None:
    """Alias moves first, then alias removals, then deletions (refused while an alias points to one)."""
    for spec in set_alias:
        alias, sep, name = spec.partition("=")
        if not sep or not alias or not name:
            raise InvalidArgument(f"--set-alias takes ALIAS=COLLECTION, got {shorten(spec)!r}")
        store.set_alias(alias, store.resolve(name))
    for alias in delete_alias:
        store.delete_alias(alias)
    for name in delete:
        info = store.describe(name)
        if info.name != name:
            raise InvalidArgument(f"{shorten(name)!r} is an alias of {info.name}; delete collections by their own name")
        if info.aliases:
            raise FailedPrecondition(
                f"alias {', '.join(sorted(info.aliases))} points to {name}; point it elsewhere "
                f"(--set-alias) or remove it (--delete-alias) first")
        store.delete_collection(name)
