"""Where clips come from: audio folders, CSV/JSONL/parquet manifests, ParaSpeechCaps and HF tables.

Every source yields ``ClipRef``s: a stable key (the clip's path relative to the corpus, used in
point ids and for sharding), where its bytes are (a file, or bytes embedded in a table row), and
its metadata columns as JSON-able values. ``open_source`` picks the kind from the path:

* a folder of audio files (searched recursively: wav, flac, ogg, opus, mp3), or a single file;
* a CSV/TSV, JSONL or parquet manifest with a path column (``path``, ``audio_path``,
  ``audio_filepath``, ``file_name``, ``file``, ``filename``, ``wav`` or ``audio``; relative paths are resolved
  against the manifest's folder) and any metadata columns;
* a ParaSpeechCaps-style manifest (columns ``source`` and ``relative_audio_path``): audio at
  ``{audio_root}/{source}/{relative_audio_path}``, ``audio_root`` defaulting to the manifest's folder;
* a Hugging Face style table (parquet file, or a folder of parquet files) whose audio column holds
  ``{bytes, path}`` structs, raw bytes or path strings; a folder with ``metadata.csv`` or
  ``metadata.jsonl`` (the "audiofolder" layout, ``file_name`` column) is read through that file.

A folder is read as a manifest folder, then as a parquet table folder, then as an audio folder.
"""

from __future__ import annotations

import abc
import datetime
import decimal
import functools
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paraseek.errors import InvalidArgument

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".mp3"})
PATH_COLUMNS = ("path", "audio_path", "audio_filepath", "file_name", "file", "filename", "wav", "audio")
PARASPEECHCAPS_COLUMNS = ("source", "relative_audio_path")
#: A folder holding one of these (Hugging Face "audiofolder" layout) is read through it.
FOLDER_MANIFESTS = ("metadata.csv", "metadata.jsonl")
TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
                  ".parquet": "parquet"}
_HASH_CHUNK = 1 << 20
_ROW_BATCH = 256


@dataclass(frozen=True)
class ClipRef:
    """One clip of a source: a stable key, where its audio lives, and its metadata."""

    key: str
    location: str
    metadata: dict[str, Any] = field(default_factory=dict)
    file: Path | None = None
    data: bytes | None = None
    row: int | None = None

    def content_hash(self) -> str:
        """BLAKE2b-128 of the encoded audio bytes (raises ``OSError`` if the file cannot be read)."""
        digest = hashlib.blake2b(digest_size=16)
        if self.data is not None:
            digest.update(self.data)
        elif self.file is not None:
            with open(self.file, "rb") as handle:
                while chunk := handle.read(_HASH_CHUNK):
                    digest.update(chunk)
        return digest.hexdigest()

    @property
    def size(self) -> int:
        """Encoded size in bytes (0 if the file is missing)."""
        if self.data is not None:
            return len(self.data)
        try:
            return self.file.stat().st_size if self.file is not None else 0
        except OSError:
            return 0


class Source(abc.ABC):
    """An iterable of ``ClipRef``s with a default corpus name."""

    kind: str
    name: str

    @abc.abstractmethod
    def __iter__(self) -> Iterator[ClipRef]:
        """The clips, in a stable order."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of clips."""

    def sample_metadata(self, n: int = 1000) -> list[dict[str, Any]]:
        """Metadata of up to ``n`` leading clips (to infer the payload schema)."""
        rows: list[dict[str, Any]] = []
        for ref in self:
            if len(rows) >= n:
                break
            rows.append(ref.metadata)
        return rows


class DirectorySource(Source):
    """Audio files under a folder (recursive), or one audio file; keys are paths relative to the folder."""

    kind = "directory"

    def __init__(self, root: str | Path) -> None:
        root = Path(root).expanduser().resolve()
        if root.is_file():
            self.root, self.files = root.parent, [root]
        else:
            self.root = root
            self.files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        self.name = root.stem if root.is_file() else root.name

    def __iter__(self) -> Iterator[ClipRef]:
        for path in self.files:
            yield ClipRef(key=path.relative_to(self.root).as_posix(), location=str(path), file=path)

    def __len__(self) -> int:
        return len(self.files)

    def sample_metadata(self, n: int = 1000) -> list[dict[str, Any]]:
        return []


class TableSource(Source):
    """Rows of a CSV/JSONL/parquet table (or several parquet files) that name or embed audio."""

    def __init__(self, files: list[Path], *, audio_root: str | Path | None = None, path_column: str | None = None,
                 audio_column: str | None = None, name: str | None = None) -> None:
        if not files:
            raise InvalidArgument("no table files given")
        self.files = [Path(f).expanduser().resolve() for f in files]
        self.base = self.files[0].parent
        self.name = name or (self.files[0].stem if len(self.files) == 1 else self.base.name)
        self.schema = _read_schema(self.files[0])
        self.columns = list(self.schema.names)
        self.audio_root = Path(audio_root).expanduser().resolve() if audio_root else self.base
        self.paraspeechcaps = path_column is None and audio_column is None and all(
            c in self.columns for c in PARASPEECHCAPS_COLUMNS)
        if self.paraspeechcaps:
            self.kind = "paraspeechcaps"
            self.audio_column = "relative_audio_path"
            self.skip_columns = {"relative_audio_path"}
        else:
            chosen = audio_column or path_column or next((c for c in PATH_COLUMNS if c in self.columns), None)
            if chosen is None:
                chosen = next((f.name for f in self.schema if _is_audio_struct(f.type)), None)
            if chosen is None or chosen not in self.columns:
                raise InvalidArgument(
                    f"{self.files[0]}: no audio column found among {self.columns}; name it with --path-column "
                    f"(one of {', '.join(PATH_COLUMNS)} is found automatically)")
            self.kind = "table" if self.files[0].suffix == ".parquet" else "manifest"
            self.audio_column = chosen
            self.skip_columns = {chosen}
        self._length: int | None = None

    def __len__(self) -> int:
        if self._length is None:
            self._length = sum(_count_rows(f) for f in self.files)
        return self._length

    def __iter__(self) -> Iterator[ClipRef]:
        row_index = 0
        for table_file in self.files:
            for rows in _iter_rows(table_file, None):
                for row in rows:
                    yield self._ref(table_file, row_index, row)
                    row_index += 1

    def sample_metadata(self, n: int = 1000) -> list[dict[str, Any]]:
        columns = [c for c in self.columns if c not in self.skip_columns]
        sample: list[dict[str, Any]] = []
        for rows in _iter_rows(self.files[0], columns):
            sample.extend(_metadata(row, set()) for row in rows)
            if len(sample) >= n:
                break
        return sample[:n]

    def _ref(self, table_file: Path, index: int, row: dict[str, Any]) -> ClipRef:
        metadata = _metadata(row, self.skip_columns)
        value = row.get(self.audio_column)
        if self.paraspeechcaps:
            relative = f"{row.get('source')}/{value}"
            file = self.audio_root / str(row.get("source")) / str(value)
            return ClipRef(key=relative, location=str(file), metadata=metadata, file=file)
        data: bytes | None = None
        written: str | None = None
        if isinstance(value, dict):
            data = value.get("bytes") or None
            written = value.get("path") or None
        elif isinstance(value, bytes | bytearray):
            data = bytes(value) or None
        elif value is not None:
            written = str(value)
        if data is not None:
            key = written or f"{table_file.stem}#{index}"
            return ClipRef(key=key, location=str(table_file), metadata=metadata, data=data, row=index)
        if not written:
            return ClipRef(key=f"{table_file.stem}#{index}", location=str(table_file), metadata=metadata, row=index)
        file = Path(written).expanduser()
        if not file.is_absolute():
            file = self.base / file
        file = file.resolve()
        key = file.relative_to(self.base).as_posix() if file.is_relative_to(self.base) else str(file)
        return ClipRef(key=key, location=str(file), metadata=metadata, file=file)


def open_source(source: str | Path, *, audio_root: str | Path | None = None, path_column: str | None = None,
                audio_column: str | None = None) -> Source:
    """The right ``Source`` for a folder, audio file, manifest or table (see the module docstring)."""
    path = Path(source).expanduser()
    if not path.exists():
        raise InvalidArgument(f"source {source} does not exist")
    if path.is_dir():
        for name in FOLDER_MANIFESTS:
            if (path / name).is_file():
                return TableSource([path / name], audio_root=audio_root, path_column=path_column,
                                   audio_column=audio_column, name=path.resolve().name)
        tables = sorted(path.rglob("*.parquet"))
        if tables:
            return TableSource(tables, audio_root=audio_root, path_column=path_column, audio_column=audio_column,
                               name=path.resolve().name)
        folder = DirectorySource(path)
        if len(folder):
            return folder
        raise InvalidArgument(f"{path} holds no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) and no parquet tables")
    suffix = path.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return DirectorySource(path)
    if suffix in TABLE_SUFFIXES:
        return TableSource([path], audio_root=audio_root, path_column=path_column, audio_column=audio_column)
    raise InvalidArgument(f"{path}: unknown source type {suffix!r}; expected a folder, an audio file, "
                          f"or a manifest ({', '.join(sorted(TABLE_SUFFIXES))})")


def jsonable(value: Any) -> Any:
    """A payload-safe copy of ``value``: JSON types only; NaN becomes None; bytes are dropped (None)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items() if not isinstance(v, bytes | bytearray | memoryview)}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item())
    return str(value)


def _metadata(row: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in skip or isinstance(value, bytes | bytearray):
            continue
        if isinstance(value, dict) and "bytes" in value:  # a second audio column: keep its path only
            value = value.get("path")
        out[str(key)] = jsonable(value)
    return out


def _is_audio_struct(arrow_type: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_struct(arrow_type) and {"bytes", "path"} <= {f.name for f in arrow_type}


def _table_kind(path: Path) -> str:
    return TABLE_SUFFIXES[path.suffix.lower()]


def _read_text_table(path: Path) -> Any:
    """A whole CSV/TSV/JSONL file as an Arrow table (column types inferred by pyarrow), or row dicts."""
    stat = path.stat()
    return _read_text_table_cached(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _read_text_table_cached(name: str, mtime_ns: int, size: int) -> Any:
    path = Path(name)
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.json

    try:
        if _table_kind(path) == "csv":
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
            return pa.csv.read_csv(path, parse_options=pa.csv.ParseOptions(delimiter=delimiter))
        try:
            return pa.json.read_json(path)
        except pa.ArrowInvalid:  # mixed types across rows: let Python parse, keep values as they are
            import json

            with open(path, encoding="utf-8") as handle:
                rows = [json.loads(line) for line in handle if line.strip()]
            return rows
    except (pa.ArrowInvalid, OSError, ValueError) as error:
        raise InvalidArgument(f"cannot read manifest {path}: {error}") from error


def _read_schema(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if _table_kind(path) == "parquet":
        try:
            return pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as error:
            raise InvalidArgument(f"cannot read table {path}: {error}") from error
    table = _read_text_table(path)
    if isinstance(table, list):
        names: dict[str, None] = {}
        for row in table:
            names.update(dict.fromkeys(row))
        return pa.schema([(name, pa.null()) for name in names])
    return table.schema


def _count_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    if _table_kind(path) == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    table = _read_text_table(path)
    return len(table) if isinstance(table, list) else int(table.num_rows)


def _iter_rows(path: Path, columns: list[str] | None) -> Iterator[list[dict[str, Any]]]:
    """Row dicts in batches; parquet is streamed, text manifests are read whole."""
    import pyarrow.parquet as pq

    if _table_kind(path) == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=_ROW_BATCH, columns=columns):
            yield batch.to_pylist()
        return
    table = _read_text_table(path)
    if isinstance(table, list):
        for start in range(0, len(table), _ROW_BATCH):
            rows = table[start : start + _ROW_BATCH]
            yield rows if columns is None else [{c: r.get(c) for c in columns} for r in rows]
        return
    if columns is not None:
        table = table.select(columns)
    for batch in table.to_batches(max_chunksize=_ROW_BATCH):
        yield batch.to_pylist()
