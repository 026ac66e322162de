"""``paraseek search | classify | rerank``: query a running server through the thin client, or search here."""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from paraseek.cli.tables import print_hits
from paraseek.client import Client, SearchResult, StyleScore
from paraseek.client.export import write_csv, write_jsonl
from paraseek.errors import ParaseekError, StoreLocked, Unavailable, require
from paraseek.limits import DEFAULT_SERVER_ADDRESS

_FILE = click.Path(dir_okay=False, exists=True, path_type=Path)
FORMATS = ("table", "json", "jsonl", "csv")


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(command)


T = TypeVar("T")


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--server, --token, --tls-ca and --timeout, shared by the query commands."""
    command = click.option("--timeout", type=click.FloatRange(min=0.001), default=30.0, show_default=True,
                           help="Seconds before the call gives up.")(command)
    command = click.option("--tls-ca", type=_FILE, default=None, envvar="PARASEEK_TLS_CA",
                           help="PEM root certificate: connect with TLS.")(command)
    command = click.option("--token", default=None, envvar="PARASEEK_TOKEN", help="Bearer token.")(command)
    return click.option("--server", default=None, envvar="PARASEEK_SERVER",
                        help="HOST:PORT of the server (default: 127.0.0.1:50051).")(command)


@contextmanager
def connect(server: str | None, token: str | None, tls_ca: Path | None, timeout: float) -> Iterator[Client]:
    """A client whose typed errors become one-line CLI errors (exit status 1)."""
    try:
        with Client(server, token=token, tls_ca=tls_ca, timeout=timeout) as client:
            yield client
    except Unavailable as error:
        address = server or DEFAULT_SERVER_ADDRESS
        raise click.ClickException(
            f"Unavailable: no paraseek server answers at {address} ({error}). Start one with "
            f"'paraseek serve --data-dir DIR --address {address}', or search the embedded store here with "
            "'paraseek search ... --data-dir DIR'") from None
    except ParaseekError as error:
        raise click.ClickException(f"{type(error).__name__}: {error}") from None


def local_search(data_dir: Path | None, text: str, model: str | None, checkpoint: str | None,
                 options: dict[str, Any]) -> SearchResult:
    """A search in this process; typed errors become one-line CLI errors (exit status 1)."""
    try:
        require("torch")
        from paraseek.server.local import search_locally

        return search_locally(data_dir, text, model=model, checkpoint=checkpoint, **options)
    except StoreLocked:
        where = data_dir if data_dir is not None else "$PARASEEK_DATA_DIR"
        raise click.ClickException(
            f"StoreLocked: the collection in {where} is open in another process, likely a running 'paraseek serve'; "
            "search through that server with --server HOST:PORT") from None
    except ParaseekError as error:
        raise click.ClickException(f"{type(error).__name__}: {error}") from None


def answer(reply: T | Awaitable[T]) -> T:
    """What a call of the synchronous client gave back (the client classes share one signature)."""
    if inspect.isawaitable(reply):
        raise TypeError("the CLI calls the synchronous client; its replies are never awaitable")
    return reply


def _styles_json(styles: dict[str, list[StyleScore]]) -> dict[str, list[dict[str, Any]]]:
    return {group: [{"tag": s.tag, "score": round(s.score, 5)} for s in scores] for group, scores in styles.items()}


def _print_search(result: SearchResult, output: str, fields: list[str] | None, offset: int) -> None:
    if output == "json":
        click.echo(json.dumps({
            "collection": result.collection, "model": result.model,
            "timing_ms": {"encode": result.encode_ms, "search": result.search_ms, "total": result.total_ms},
            "hits": [{"id": h.id, "score": h.score, "payload": h.payload, "styles": _styles_json(h.styles)}
                     for h in result.hits],
            "query": result.query.to_dict()}, indent=2))
    elif output == "jsonl":
        write_jsonl(result, sys.stdout)
    elif output == "csv":
        write_csv(result, sys.stdout)
    else:
        print_hits(result, fields, offset)


@click.command()
@click.argument("text", default="")
@click.option("--collection", default=None, envvar="PARASEEK_COLLECTION", help="Collection or alias.")
@click.option("--where", default=None, help='Filter, e.g. "gender=female duration<8 speaker in [a,b]".')
@click.option("--filter-json", default=None, help="Filter in the JSON dict form ({\"must\": [...]}).")
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
              help="Skip the best N hits (paging: --offset 10 --top-k 10 is the second page).")
@click.option("--group-by", default=None, help="At most one hit per value of this payload field.")
@click.option("--not", "negatives", multiple=True, help="A description to steer away from (repeatable).")
@click.option("--not-weight", type=click.FloatRange(min=0, min_open=True, max=2), default=0.5, show_default=True,
              help="Weight of each --not description.")
@click.option("--like", type=_FILE, default=None, help="An example clip to combine with the description.")
@click.option("--like-id", default=None,
              help="A stored point as the example clip: its id, or the start of it as the table shows it.")
@click.option("--like-weight", type=click.FloatRange(0, 1), default=None, help="Weight of the example (default 0.5).")
@click.option("--include-example", is_flag=True, help="Keep the --like-id clip itself among the hits.")
@click.option("--threshold", type=float, default=None, help="Leave out hits scoring below this.")
@click.option("--fields", default=None,
              help="Comma-separated payload fields to return and show as table columns (default: all returned, "
                   "a compact table).")
@click.option("--explain", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Style tags per group explaining each hit.")
@click.option("--format", "output", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table, json, or a corpus manifest that 'paraseek index' reads back (jsonl, csv).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Search the embedded store in this folder, in this process (no server). Without --data-dir "
                   "and without --server/$PARASEEK_SERVER, the store in $PARASEEK_DATA_DIR is searched.")
@click.option("--model", default=None,
              help="Local search: registered model name or config file (default: the collection's model).")
@click.option("--checkpoint", default=None, help="Local search: weights file or hf-hub:owner/repo for --model.")
@connection_options
def search(text: str, collection: str | None, where: str | None, filter_json: str | None, top_k: int, offset: int,
           group_by: str | None, negatives: tuple[str, ...], not_weight: float, like: Path | None, like_id: str | None,
           like_weight: float | None, include_example: bool, threshold: float | None, fields: str | None,
           explain: int, output: str, as_json: bool, data_dir: Path | None, model: str | None, checkpoint: str | None,
           server: str | None, token: str | None, tls_ca: Path | None, timeout: float) -> None:
    """Search clips by speaking style, through a server (--server) or in this process (--data-dir).

    \b
    Examples:
      paraseek search "breathy low-pitched angry" --where "gender=female duration<8" --top-k 10
      paraseek search "calm narration" --group-by speaker --not "whispered" --collection voices
      paraseek search "like this voice, but deeper" --like ref.wav --json
      paraseek search --like-id 3f2a9c1e --collection voices --offset 10
      paraseek search "a tired voice" --data-dir ./data --collection voices --format jsonl > picks.jsonl
    """
    try:
        filter_dict = json.loads(filter_json) if filter_json else None
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="--filter-json") from None
    chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    options: dict[str, Any] = dict(
        collection=collection, where=where, filter=filter_dict, negatives={n: not_weight for n in negatives},
        like=like, like_point=like_id, like_weight=like_weight, top_k=top_k, offset=offset, score_threshold=threshold,
        group_by=group_by, fields=chosen, explain_top=explain, include_example=include_example)
    if data_dir is not None and server is not None:
        raise click.UsageError("give --data-dir (search here) or --server (search there), not both")
    if server is None:
        result = local_search(data_dir, text, model, checkpoint, options)
    else:
        with connect(server, token, tls_ca, timeout) as client:
            result = answer(client.search(text, **options))
    _print_search(result, "json" if as_json else output, chosen, offset)


@click.command()
@click.argument("files", nargs=-1, required=True, type=_FILE)
@click.option("--styles", default=None, help="Comma-separated candidate styles (default: the model's taxonomy).")
@connection_options
@json_option
def classify(files: tuple[Path, ...], styles: str | None, server: str | None, token: str | None, tls_ca: Path | None,
             timeout: float, as_json: bool) -> None:
    """Zero-shot style classification of audio files.

    \b
    Examples:
      paraseek classify clip.wav
      paraseek classify a.wav b.flac --styles angry,calm,happy --json
    """
    candidates = [s.strip() for s in styles.split(",") if s.strip()] if styles else None
    with connect(server, token, tls_ca, timeout) as client:
        results = {str(path): answer(client.classify(path, styles=candidates)) for path in files}
    if as_json:
        click.echo(json.dumps({path: _styles_json(groups) for path, groups in results.items()}, indent=2))
        return
    for path, groups in results.items():
        click.echo(path)
        for group, scores in groups.items():
            click.echo(f"  {group:12} " + ", ".join(f"{s.tag} {s.score:.3f}" for s in scores))


@click.command()
@click.argument("text")
@click.argument("files", nargs=-1, required=True, type=_FILE)
@connection_options
@json_option
def rerank(text: str, files: tuple[Path, ...], server: str | None, token: str | None, tls_ca: Path | None,
           timeout: float, as_json: bool) -> None:
    """Best-of-N: rank candidate clips by how well they match a description.

    \b
    Examples:
      paraseek rerank "a deep, slow, authoritative male voice" take1.wav take2.wav take3.wav
      paraseek rerank "whispered and anxious" candidates/*.wav --json
    """
    with connect(server, token, tls_ca, timeout) as client:
        ranked = answer(client.rerank(text, list(files)))
    if as_json:
        click.echo(json.dumps([{"file": str(files[r.index]), "index": r.index, "score": r.score} for r in ranked],
                              indent=2))
        return
    click.echo(f"{'#':>3}  {'score':>6}  file")
    for rank, clip in enumerate(ranked, 1):
        click.echo(f"{rank:>3}  {clip.score:6.3f}  {files[clip.index]}")
