"""``paraseek serve``: the gRPC server."""

from __future__ import annotations

import functools
import os
import signal
import threading
from pathlib import Path
from typing import Any

import click

from paraseek.limits import DEFAULT_SERVER_ADDRESS, PRECISIONS


def check_model_source(model: str | None, checkpoint: str | None, random_init: bool) -> None:
    """Fail fast (before binding) on an unknown model or a missing local checkpoint; never downloads."""
    from paraseek.model.factory import resolve_config
    from paraseek.model.hub import HUB_PREFIX, resolve_checkpoint

    config = resolve_config(model)
    if random_init:
        return
    local = (not str(checkpoint).startswith(HUB_PREFIX)) if checkpoint is not None else "package_file" in config.weights
    if local:
        resolve_checkpoint(config, checkpoint)


@click.command()
@click.option("--address", default=DEFAULT_SERVER_ADDRESS, show_default=True, envvar="PARASEEK_ADDRESS",
              help="HOST:PORT to listen on (port 0 picks a free one).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, envvar="PARASEEK_DATA_DIR",
              help="Embedded store directory (default: $PARASEEK_DATA_DIR or ~/.local/share/paraseek).")
@click.option("--qdrant-url", default=None, envvar="PARASEEK_QDRANT_URL", help="Serve from this Qdrant server instead.")
@click.option("--qdrant-api-key", default=None, envvar="PARASEEK_QDRANT_API_KEY", help="API key of the Qdrant server.")
@click.option("--model", default=None, envvar="PARASEEK_MODEL",
              help="Default model, loaded at start: registered name or model config file (default: paraseek-mini-v3). "
                   "It answers calls that name no collection (EmbedText, Rerank, Classify).")
@click.option("--checkpoint", default=None, help="Weights file or hf-hub:owner/repo for --model.")
@click.option("--random-init", is_flag=True, help="Seeded random weights instead of a checkpoint (benchmarks).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", type=click.Choice(list(PRECISIONS)), default="auto", show_default=True,
              help="Text and audio encoder precision (auto: bfloat16 where the device runs it natively, else "
                   "float32).")
@click.option("--model-memory-mb", type=click.IntRange(min=1), default=4096, show_default=True,
              envvar="PARASEEK_MODEL_MEMORY_MB",
              help="Memory the loaded models may take together. A collection built with another model than "
                   "--model is served with its own model, loaded on its first request; the least recently used "
                   "model no request is using is unloaded to make room.")
@click.option("--collection", "default_collection", default=None, envvar="PARASEEK_COLLECTION",
              help="Collection or alias searched when a request names none.")
@click.option("--warm-up-seconds", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Longest start-up waits, before reporting SERVING, while the default collection's vectors and "
                   "payloads are read into memory (0: serve at once; its first queries then share the disk with "
                   "the read-ahead).")
@click.option("--read-token", default=None, envvar="PARASEEK_READ_TOKEN", help="Bearer token required for every RPC.")
@click.option("--admin-token", default=None, envvar="PARASEEK_ADMIN_TOKEN",
              help="A token that grants what the read token does, plus the metrics endpoint.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="PEM certificate (chain) for TLS; needs --tls-key.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="PEM private key for TLS.")
@click.option("--metrics-address", default=None, envvar="PARASEEK_METRICS_ADDRESS",
              help="HOST:PORT to serve Prometheus metrics on over HTTP (default: off). When tokens are set, "
                   "scrapes need the admin token (the read token when no admin token is set).")
@click.option("--metrics-port", type=click.IntRange(min=0, max=65535), default=0, show_default=True,
              help="Shorthand for --metrics-address on the --address host (0: off).")
@click.option("--http", "http_address", default=None, envvar="PARASEEK_HTTP", metavar="HOST:PORT",
              help="Also serve the HTTP/JSON API and the workbench page here (same model, store and tokens).")
@click.option("--media-root", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              envvar="PARASEEK_MEDIA_ROOT", help="Folder that relative payload paths of streamed clips resolve under.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Torch intra-op threads (default: torch's choice). One per core the server may use.")
@click.option("--max-workers", type=click.IntRange(min=1), default=64, show_default=True,
              help="RPC worker threads (text queries waiting for a shared encoder call hold one each).")
@click.option("--max-concurrent-rpcs", type=click.IntRange(min=1), default=64,
              show_default=True, help="RPCs in flight beyond this are refused with RESOURCE_EXHAUSTED.")
@click.option("--max-audio-calls", type=click.IntRange(min=1), default=16, show_default=True,
              help="Calls decoding and encoding audio at once; others wait for a slot within their deadline.")
@click.option("--cache-size", type=click.IntRange(min=0), default=10_000, show_default=True,
              help="Text embeddings kept in the LRU cache (0: off).")
@click.option("--batching/--no-batching", default=True, show_default=True,
              help="Merge concurrent text queries into one encoder call.")
@click.option("--max-batch", type=click.IntRange(min=1), default=64, show_default=True,
              help="Most texts per encoder call; larger requests are encoded in turns with others.")
@click.option("--max-batch-chars", type=click.IntRange(min=1), default=16_000, show_default=True,
              help="Most characters per encoder call.")
@click.option("--max-wait-ms", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Longest a text query waits for others to share its encoder call.")
@click.option("--max-request-seconds", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Longest any call may run: caps the client's deadline, and is the deadline of calls that set none.")
@click.option("--grace", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Seconds running calls may finish after SIGTERM; then they are cancelled.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True)
def serve(random_init: bool, grace: float, log_level: str, **settings: Any) -> None:
    """Serve style search over gRPC until SIGTERM or Ctrl-C.

    Health (grpc.health.v1) says NOT_SERVING until the model is loaded and warmed; the port
    answers from the start. Logs are JSON lines on stderr. With several workers per machine,
    set --threads and OMP_WAIT_POLICY=PASSIVE (the default here) to avoid CPU oversubscription.
    Exit status: 0 after SIGTERM/Ctrl-C, 1 when the server cannot start (unknown model, store
    locked or unreadable, address in use) or the model fails to load, 2 on bad options.

    \b
    Examples:
      paraseek serve --data-dir ./data --address 0.0.0.0:50051 --metrics-address 127.0.0.1:9090
      paraseek serve --qdrant-url http://qdrant:6334 --read-token "$TOKEN" \\
          --tls-cert server.pem --tls-key server.key
    """
    # OpenMP reads this when torch loads: idle threads sleep instead of spinning on shared cores.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from paraseek.errors import ParaseekError
    from paraseek.model import load_model
    from paraseek.server import ParaseekServer, ServerConfig
    from paraseek.server.logs import configure_json_logging

    configure_json_logging(log_level.upper())
    loader = None
    if random_init:
        loader = functools.partial(load_model, settings["model"], device=settings["device"], dtype=settings["dtype"],
                                   random_init=True)
    try:
        config = ServerConfig(grace_seconds=grace, **settings)
        check_model_source(config.model, config.checkpoint, random_init)
        server = ParaseekServer(config, model_loader=loader).start()
    except ParaseekError as error:
        raise click.ClickException(f"{type(error).__name__}: {error}") from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"paraseek listening on {server.address}", err=True)
    if server.http is not None:
        click.echo(f"paraseek workbench and HTTP API on {server.http.url}/", err=True)
    while not stop.wait(0.2):
        if server.load_error is not None:
            server.stop(grace=0)
            failure = server.load_error
            raise click.ClickException(f"the model failed to load: {type(failure).__name__}: {failure}")
    server.stop(grace)
