"""The collection catalog: what a collection records about how it was built, and its version names.

Every layer reads and writes collection metadata through this module: the indexer when it creates
a version, the server when it checks a request's collection against the served model and when it
describes collections, the CLI when it lists and re-points them. Nothing else reads metadata keys.

Versions live behind an alias: ``NAME`` -> ``NAME_v1``, ``NAME_v2``, ... The catalog takes a
:class:`ModelSignature` (name, fingerprint, width) rather than a model, so storage needs no model code.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from paraseek.errors import CollectionNotFound, FailedPrecondition, InvalidArgument, ModelMismatch
from paraseek.limits import MAX_COLLECTION_NAME_CHARS
from paraseek.storage import CollectionInfo, FieldType, VectorStore

_NAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_COLLECTION_NAME_CHARS - 1}}}$")


class DescribesModel(Protocol):
    """Anything with a model's identity (an ``EmbeddingModel`` qualifies)."""

    @property
    def name(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def embedding_dim(self) -> int: ...


class LoadableFrom(Protocol):
    """Where a model loads from (a ``paraseek.model.base.ModelSource`` qualifies)."""

    @property
    def config(self) -> str: ...

    @property
    def checkpoint(self) -> str | None: ...


@dataclass(frozen=True)
class ModelSignature:
    """The identity of the model whose embeddings a collection holds."""

    name: str
    fingerprint: str
    dim: int

    @classmethod
    def of(cls, model: DescribesModel) -> ModelSignature:
        """The signature of a loaded model."""
        return cls(model.name, model.fingerprint, model.embedding_dim)


@dataclass(frozen=True)
class BuildRecord:
    """What a collection records about how it was built (``None`` where a collection says nothing)."""

    model: str | None = None
    model_fingerprint: str | None = None
    embedding_dim: int | None = None
    corpus: str | None = None
    alias: str | None = None
    created: str | None = None
    style_groups: dict[str, list[str]] = field(default_factory=dict)
    payload_schema: dict[str, str] = field(default_factory=dict)
    #: How to load the model again: its config (registered name or config file) and checkpoint
    #: (file or ``hf-hub:owner/repo``; ``None`` with a config: the config's own weights).
    model_config: str | None = None
    model_checkpoint: str | None = None

    @classmethod
    def new(cls, signature: ModelSignature, *, corpus: str | None = None, alias: str | None = None,
            style_groups: dict[str, list[str]] | None = None,
            payload_schema: dict[str, FieldType] | None = None, source: LoadableFrom | None = None) -> BuildRecord:
        """The record of a collection created now with ``signature``'s model (loaded from ``source``, when known)."""
        return cls(
            model=signature.name,
            model_fingerprint=signature.fingerprint,
            embedding_dim=signature.dim,
            model_config=source.config if source else None,
            model_checkpoint=source.checkpoint if source else None,
            corpus=corpus,
            alias=alias,
            created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            style_groups={group: list(tags) for group, tags in (style_groups or {}).items()},
            payload_schema={key: kind.value for key, kind in (payload_schema or {}).items()},
        )

    @classmethod
    def of(cls, info: CollectionInfo) -> BuildRecord:
        """The record stored in ``info``'s metadata."""
        metadata = info.metadata
        dim = metadata.get("embedding_dim")
        return cls(
            model=_text(metadata.get("model")),
            model_fingerprint=_text(metadata.get("model_fingerprint")),
            embedding_dim=None if dim is None else int(dim),
            corpus=_text(metadata.get("corpus")),
            alias=_text(metadata.get("alias")),
            created=_text(metadata.get("created")),
            style_groups={str(g): [str(t) for t in tags] for g, tags in (metadata.get("style_groups") or {}).items()},
            payload_schema={str(k): str(v) for k, v in (metadata.get("payload_schema") or {}).items()},
            model_config=_text(metadata.get("model_config")),
            model_checkpoint=_text(metadata.get("model_checkpoint")),
        )

    @property
    def signature(self) -> ModelSignature | None:
        """The recorded model's identity, when the record names a model, its fingerprint and width."""
        if self.model is None or self.model_fingerprint is None or self.embedding_dim is None:
            return None
        return ModelSignature(self.model, self.model_fingerprint, self.embedding_dim)

    def to_metadata(self) -> dict[str, Any]:
        """The metadata dict written with ``create_collection`` (unset fields left out)."""
        items = {
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "embedding_dim": self.embedding_dim,
            "model_config": self.model_config,
            "model_checkpoint": self.model_checkpoint,
            "corpus": self.corpus,
            "alias": self.alias,
            "created": self.created,
            "style_groups": self.style_groups or None,
            "payload_schema": self.payload_schema or None,
        }
        return {key: value for key, value in items.items() if value is not None}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def built_with(info: CollectionInfo, signature: ModelSignature) -> bool:
    """Whether ``info`` may hold ``signature``'s embeddings.

    The one compatibility rule: the width must match, and a recorded model name and fingerprint
    must match too. A collection that records no model (made by other tools) is judged by width.
    """
    record = BuildRecord.of(info)
    return (info.dim == signature.dim
            and record.model in (None, signature.name)
            and record.model_fingerprint in (None, signature.fingerprint))


def check_model(info: CollectionInfo, signature: ModelSignature, remedy: str) -> None:
    """Raise ``ModelMismatch`` (ending with ``remedy``) unless ``built_with(info, signature)``."""
    if built_with(info, signature):
        return
    record = BuildRecord.of(info)
    raise ModelMismatch(
        f"collection {info.name!r} was built with model {record.model!r} (fingerprint "
        f"{(record.model_fingerprint or 'unknown')[:16]}, {info.dim}-d), but this one is {signature.name!r} "
        f"(fingerprint {signature.fingerprint[:16]}, {signature.dim}-d); {remedy}")


def check_collection_name(name: str) -> str:
    """``name`` if it is a valid collection or alias name, else ``InvalidArgument``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidArgument(f"collection name {name!r} must be 1-{MAX_COLLECTION_NAME_CHARS} letters, digits, "
                              f"'_', '.' or '-', starting with a letter or digit")
    return name


def create_collection(store: VectorStore, name: str, record: BuildRecord, *,
                      payload_schema: dict[str, FieldType], **options: Any) -> None:
    """Create ``name`` for ``record``'s model, recording how it was built.

    ``options`` go to ``VectorStore.create_collection`` (quantization, on-disk vectors, shards, ...).
    """
    if record.embedding_dim is None:
        raise InvalidArgument("a new collection needs the embedding width of its model")
    store.create_collection(name, dim=record.embedding_dim, payload_schema=payload_schema,
                            metadata=record.to_metadata(), **options)


def version_name(alias: str, version: int) -> str:
    """``{alias}_v{version}``: the physical collection of one version of ``alias``."""
    return f"{alias}_v{version}"


def version_of(name: str, alias: str) -> int | None:
    """``3`` for ``{alias}_v3``; ``None`` for any other name."""
    match = re.fullmatch(re.escape(alias) + r"_v(\d+)", name)
    return int(match.group(1)) if match else None


def versions(store: VectorStore, alias: str) -> dict[int, str]:
    """Existing physical versions of ``alias``: ``{version: collection name}``."""
    found: dict[int, str] = {}
    for info in store.list_collections():
        number = version_of(info.name, alias)
        if number is not None:
            found[number] = info.name
    return found


def describe_or_none(store: VectorStore, name: str) -> CollectionInfo | None:
    """The collection or alias ``name``, or ``None`` if neither exists."""
    try:
        return store.describe(name)
    except CollectionNotFound:
        return None


@dataclass(frozen=True)
class CatalogEntry:
    """One collection as listings show it."""

    name: str
    aliases: list[str]
    count: int
    dim: int
    record: BuildRecord

    def to_dict(self) -> dict[str, Any]:
        """``{name, aliases, count, dim, model, model_fingerprint, corpus, created}``."""
        return {"name": self.name, "aliases": self.aliases, "count": self.count, "dim": self.dim,
                "model": self.record.model, "model_fingerprint": self.record.model_fingerprint,
                "corpus": self.record.corpus, "created": self.record.created}


def entry(info: CollectionInfo) -> CatalogEntry:
    """The listing entry of one collection."""
    return CatalogEntry(info.name, sorted(info.aliases), info.count, info.dim, BuildRecord.of(info))


def describe_all(store: VectorStore) -> dict[str, Any]:
    """``{"collections": [CatalogEntry.to_dict(), ...], "aliases": {alias: name}}``, sorted by name."""
    entries = sorted((entry(info) for info in store.list_collections()), key=lambda e: e.name)
    aliases = {alias: e.name for e in entries for alias in e.aliases}
    return {"collections": [e.to_dict() for e in entries], "aliases": dict(sorted(aliases.items()))}


def apply_changes(store: VectorStore, *, delete: tuple[str, ...] = (), set_alias: tuple[str, ...] = (),
                  delete_alias: tuple[str, ...] = ()) -> None:
    """Alias moves (``ALIAS=COLLECTION``) first, then alias removals, then deletions (refused while aliased)."""
    for spec in set_alias:
        alias, sep, name = spec.partition("=")
        if not sep or not alias or not name:
            raise InvalidArgument(f"--set-alias takes ALIAS=COLLECTION, got {spec!r}")
        store.set_alias(check_collection_name(alias), store.resolve(name))
    for alias in delete_alias:
        store.delete_alias(alias)
    for name in delete:
        info = store.describe(name)
        if info.name != name:
            raise InvalidArgument(f"{name!r} is an alias of {info.name}; delete collections by their own name")
        if info.aliases:
            raise FailedPrecondition(
                f"alias {', '.join(sorted(info.aliases))} points to {name}; point it elsewhere "
                f"(--set-alias) or remove it (--delete-alias) first")
        store.delete_collection(name)
