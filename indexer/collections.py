"""Where an indexing run writes: the version of an alias it adds to, or a new one it builds.

Indexing into ``NAME`` adds to the version the alias points to (creating ``NAME_v1`` and the alias
on first use). A re-index builds ``NAME_v{N+1}`` from scratch and only then re-points the alias,
so readers of ``NAME`` never see a half-built index. Old versions stay until deleted. Version
names, metadata and the model check belong to :mod:`paraseek.storage.catalog`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paraseek.errors import FailedPrecondition
from paraseek.model import EmbeddingModel
from paraseek.storage import FieldType, VectorStore
from paraseek.storage.catalog import (
    BuildRecord,
    ModelSignature,
    built_with,
    check_collection_name,
    check_model,
    create_collection,
    describe_or_none,
    version_name,
    version_of,
    versions,
)


@dataclass(frozen=True)
class Target:
    """Where a run writes: the physical collection, and whether the alias moves to it once verified."""

    alias: str
    collection: str
    created: bool
    swap_alias: bool


def _remedy(alias: str, built: str | None) -> str:
    return (f"pass --reindex to build a new version of {alias!r} with this model and swap the alias when it is "
            f"complete, or use --model {built} to add to the current version")


def prepare_target(store: VectorStore, alias: str, model: EmbeddingModel, schema: dict[str, FieldType], *,
                   corpus: str, reindex: bool, collection_options: dict[str, Any] | None = None) -> Target:
    """Resolve or create the physical collection a run writes to (see the module docstring).

    ``collection_options`` go to ``create_collection`` when a version is created (quantization,
    on-disk vectors, shard number, replication factor, shard key).

    A re-index resumes an unfinished build: if the newest version is newer than the alias target,
    holds no alias and was built with the same model, the run continues it instead of starting over.
    """
    check_collection_name(alias)
    signature = ModelSignature.of(model)
    current = describe_or_none(store, alias)
    if current is not None and current.name == alias:
        if reindex:
            raise FailedPrecondition(
                f"{alias!r} is a collection, not an alias, so it cannot be re-indexed in place; "
                f"index into a new name and point an alias at it")
        check_model(current, signature, _remedy(alias, BuildRecord.of(current).model))
        return Target(alias=alias, collection=alias, created=False, swap_alias=False)
    existing = versions(store, alias)
    current_version = version_of(current.name, alias) if current is not None else None
    if current is not None and not reindex:
        check_model(current, signature, _remedy(alias, BuildRecord.of(current).model))
        return Target(alias=alias, collection=current.name, created=False, swap_alias=False)
    if reindex and existing:
        newest = max(existing)
        info = describe_or_none(store, existing[newest])
        if (info is not None and (current_version is None or newest > current_version) and not info.aliases
                and BuildRecord.of(info).model is not None and built_with(info, signature)):
            return Target(alias=alias, collection=info.name, created=False, swap_alias=True)
    name = version_name(alias, max(existing, default=0) + 1)
    record = BuildRecord.new(signature, corpus=corpus, alias=alias, style_groups=model.style_groups(),
                             payload_schema=schema, source=model.source)
    create_collection(store, name, record, payload_schema=schema, **(collection_options or {}))
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
