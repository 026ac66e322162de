"""``paraseek index`` and ``paraseek collections``: build and manage vector collections."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from paraseek.limits import PRECISIONS

DATA_DIR_HELP = ("Embedded store folder (default: $PARASEEK_DATA_DIR, else ~/.local/share/paraseek). "
                 "One process at a time may write a collection here.")


def store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--data-dir`` | ``--qdrant-url`` (+ ``--qdrant-api-key``): where collections live."""
    command = click.option("--qdrant-api-key", type=str, default=None, envvar="PARASEEK_QDRANT_API_KEY",
                           help="API key of the Qdrant server ($PARASEEK_QDRANT_API_KEY).")(command)
    command = click.option("--qdrant-url", type=str, default=None, envvar="PARASEEK_QDRANT_URL",
                           help="Qdrant server URL ($PARASEEK_QDRANT_URL) instead of the embedded store.")(command)
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=DATA_DIR_HELP)(command)


def open_store_from(data_dir: Path | None, qdrant_url: str | None, qdrant_api_key: str | None) -> Any:
    """The store named by the command line options."""
    from paraseek.storage import open_store

    if data_dir is not None and qdrant_url:
        raise click.UsageError("pass either --data-dir or --qdrant-url, not both")
    if qdrant_url:
        return open_store(url=qdrant_url, api_key=qdrant_api_key)
    return open_store(data_dir)


def typed_errors(as_json_option: str | None = "as_json") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Report paraseek errors as a one-line message (and a JSON last line under ``--json``), exit 1."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            from paraseek.errors import ParaseekError

            try:
                return command(*args, **kwargs)
            except ParaseekError as error:
                if as_json_option and kwargs.get(as_json_option):
                    click.echo(json.dumps({"error": str(error), "error_type": type(error).__name__}))
                raise click.ClickException(f"{type(error).__name__}: {error}") from error

        return run

    return decorate


def claim_collection(store: Any, name: str) -> None:
    """Open the collection (or alias target) ``name`` if it exists: the embedded store locks it then.

    Raises ``FailedPrecondition`` at once when another process holds it.
    """
    from paraseek.errors import CollectionNotFound

    with contextlib.suppress(CollectionNotFound):
        store.count(name)


@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--collection", required=True, help="Alias to index into; physical versions are NAME_v1, NAME_v2, ...")
@store_options
@click.option("--model", type=str, default=None, help="Registered model name (default: paraseek-mini-v3).")
@click.option("--checkpoint", type=str, default=None, help="Weights file or hf-hub:owner/repo for --model.")
@click.option("--device", type=str, default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", type=click.Choice(list(PRECISIONS)), default="auto", show_default=True,
              help="Model precision: weights cast on CPU, autocast on CUDA; auto is bfloat16 where the device "
                   "runs it natively (cosine >= 0.999 to float32), else float32.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Decode processes (default: chosen from the stage costs measured on the first batches; "
                   "0 decodes in this process).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch threads for the model (default: the cores the workers leave free).")
@click.option("--reindex", is_flag=True,
              help="Build a new version NAME_v{N+1} from scratch, verify it, then swap the alias to it.")
@click.option("--shard", type=str, default="0/1", show_default=True,
              help="Index only clips whose stable key hash mod N equals i (i/N).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Index at most N clips of the source.")
@click.option("--corpus", type=str, default=None, help="Corpus name stored with each clip (default: the source name).")
@click.option("--audio-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="ParaSpeechCaps manifests: folder holding {source}/{relative_audio_path}.")
@click.option("--path-column", type=str, default=None, help="Manifest column with audio paths or bytes.")
@click.option("--errors-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSONL report of clips that failed (default: DATA_DIR/reports/COLLECTION.errors.jsonl).")
@click.option("--batch-seconds", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Audio per model call (on CPU the real-size models take one clip per call).")
@click.option("--min-seconds", type=click.FloatRange(min=0.0), default=0.25, show_default=True,
              help="Shorter clips are reported and skipped.")
@click.option("--max-seconds", type=click.FloatRange(min=1.0), default=7200.0, show_default=True,
              help="Longer clips are reported and skipped.")
@click.option("--flush-seconds", type=click.FloatRange(min=0.0), default=5.0, show_default=True,
              help="Flush the store at most this often (0: after every batch); bounds work redone after a crash.")
@click.option("--no-finalize", is_flag=True, help="Skip building the HNSW graph at the end (embedded store).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
@click.option("--quantization", type=click.Choice(["int8"]), default=None,
              help="New collections: scalar int8 quantization, rescored with the original vectors.")
@click.option("--on-disk", is_flag=True, help="New collections: keep original vectors on disk (memory-mapped).")
@click.option("--segment-points", type=click.IntRange(min=1), default=None,
              help="New collections: the most points per graph segment (embedded store default 500000; "
                   "segments are searched in parallel).")
@click.option("--shard-number", type=click.IntRange(min=1), default=None,
              help="New collections on a Qdrant server: shards to spread the collection over.")
@click.option("--replication-factor", type=click.IntRange(min=1), default=None,
              help="New collections on a Qdrant server: copies of each shard.")
@click.option("--shard-key", type=str, default=None,
              help="New collections on a Qdrant server: custom shard key this corpus is written under.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (the last line of stdout).")
@typed_errors()
def index(source: Path, collection: str, data_dir: Path | None, qdrant_url: str | None, qdrant_api_key: str | None,
          model: str | None, checkpoint: str | None, device: str, dtype: str, workers: int | None,
          threads: int | None, reindex: bool, shard: str, limit: int | None, corpus: str | None,
          audio_root: Path | None, path_column: str | None, errors_file: Path | None, batch_seconds: float,
          min_seconds: float, max_seconds: float, flush_seconds: float, no_finalize: bool, progress: bool | None,
          quantization: str | None, on_disk: bool, segment_points: int | None, shard_number: int | None,
          replication_factor: int | None, shard_key: str | None, as_json: bool) -> None:
    """Embed, measure and tag every clip of SOURCE into collection (alias) NAME.

    SOURCE is a folder of audio files, a CSV/JSONL/parquet manifest, a ParaSpeechCaps-style
    manifest (source, relative_audio_path) or a Hugging Face parquet table with an audio column.
    Re-running skips clips already stored and resumes an interrupted run. Clips that cannot be
    used are listed in the errors file and never stop the run.

    \b
    The embedded store lives in $PARASEEK_DATA_DIR (default ~/.local/share/paraseek). Sharding:
    with --qdrant-url all shards write one collection; with the embedded store give each shard
    its own collection (e.g. --collection voices-s0 --shard 0/4).

    \b
    Examples:
      paraseek index ./clips --collection voices
      paraseek index psc_train.jsonl --audio-root /data/psc --collection psc --device cuda --dtype bfloat16
      paraseek index ./clips --collection voices --reindex --model paraspeechclap-combined --json
    """
    from paraseek.indexer import IndexOptions, index_corpus, open_source, parse_shard
    from paraseek.model import DEFAULT_MODEL, load_model

    options = IndexOptions(
        collection=collection, corpus=corpus, reindex=reindex, shard=parse_shard(shard), workers=workers,
        threads=threads, batch_seconds=batch_seconds, limit=limit, min_seconds=min_seconds, max_seconds=max_seconds,
        errors_file=errors_file, progress=progress, finalize=not no_finalize, flush_seconds=flush_seconds)
    requested = {"quantization": quantization, "on_disk": on_disk or None, "segment_points": segment_points,
                 "shard_number": shard_number, "replication_factor": replication_factor, "shard_key": shard_key}
    options.collection_options = {key: value for key, value in requested.items() if value is not None}
    clips = open_source(source, audio_root=audio_root, path_column=path_column)
    with open_store_from(data_dir, qdrant_url, qdrant_api_key) as store:
        if not reindex:  # a re-index writes a new version only, so a server may keep the current one open
            claim_collection(store, collection)  # a lock conflict is reported before the model loads
        embedding_model = load_model(model or DEFAULT_MODEL, checkpoint=checkpoint, device=device, dtype=dtype)
        summary = index_corpus(clips, store, embedding_model, options)
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
        return
    click.echo(f"{summary.alias} -> {summary.collection}: indexed {summary.indexed}, skipped {summary.skipped}, "
               f"failed {summary.failed} in {summary.seconds:.1f} s ({summary.clips_per_second:.2f} clips/s, "
               f"{summary.audio_hours:.3f} h of audio); {summary.count} points in the collection")
    if summary.swapped:
        click.echo(f"alias {summary.alias} now points to {summary.collection}")
    if summary.errors_file:
        click.echo(f"{summary.failed} clips failed; see {summary.errors_file}")
    if summary.not_measured:
        click.echo(f"not measured (needs Praat: pip install 'paraseek[praat]'): {', '.join(summary.not_measured)}")


@click.command()
@store_options
@click.option("--delete", "delete", multiple=True, help="Delete this physical collection (not one an alias points to).")
@click.option("--set-alias", "set_alias", multiple=True, help="ALIAS=COLLECTION: point an alias (atomic), e.g. roll back.")
@click.option("--delete-alias", "delete_alias", multiple=True, help="Remove this alias.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@typed_errors()
def collections(data_dir: Path | None, qdrant_url: str | None, qdrant_api_key: str | None, delete: tuple[str, ...],
                set_alias: tuple[str, ...], delete_alias: tuple[str, ...], as_json: bool) -> None:
    """List collections with their aliases, point counts and models; delete versions; move aliases.

    \b
    Examples:
      paraseek collections
      paraseek collections --json
      paraseek collections --set-alias voices=voices_v1     # roll back
      paraseek collections --delete voices_v1
    """
    from paraseek.storage.catalog import apply_changes, describe_all

    with open_store_from(data_dir, qdrant_url, qdrant_api_key) as store:
        apply_changes(store, delete=delete, set_alias=set_alias, delete_alias=delete_alias)
        listing = describe_all(store)
    if as_json:
        click.echo(json.dumps(listing))
        return
    if not listing["collections"]:
        click.echo("no collections")
        return
    click.echo(f"{'collection':28} {'aliases':20} {'points':>10} {'dim':>5}  model")
    for entry in listing["collections"]:
        click.echo(f"{entry['name']:28} {','.join(entry['aliases']) or '-':20} {entry['count']:>10} "
                   f"{entry['dim']:>5}  {entry['model'] or '-'}")
