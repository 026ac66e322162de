"""Server settings: one frozen dataclass, filled by ``paraseek serve`` or by code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from paraseek.errors import InvalidArgument, shorten
from paraseek.limits import DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_SERVER_ADDRESS, MAX_TEXT_CHARS

MAX_EXPLAIN_TOP = 10


def split_address(address: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[v6]:PORT"`` for IPv6) -> ``(host, port)``."""
    host, sep, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InvalidArgument(f"address {shorten(address)!r} must look like HOST:PORT (e.g. 127.0.0.1:9100)")
    return host, int(port)


@dataclass(frozen=True)
class ServerConfig:
    """How a paraseek server runs.

    Storage: the embedded store in ``data_dir`` (default ``$PARASEEK_DATA_DIR``) unless
    ``qdrant_url`` names a Qdrant server. Model: ``model`` (registered name, default the shipped
    model) with optional ``checkpoint``: the default model, loaded at start, for calls that name no
    collection. A collection built with another model is served with that model (its recorded
    name, fingerprint and source), loaded on first use; the loaded models together stay within
    ``model_memory_mb`` (the least recently used one no request holds is evicted). Security:
    bearer tokens (``read_token``, ``admin_token``; none means no authentication) and TLS
    (``tls_cert`` + ``tls_key``, PEM files). Speed: an LRU
    cache of ``cache_size`` text embeddings (0 disables it) and a micro-batcher that merges
    concurrent text queries into one encoder call of at most ``max_batch`` texts, waiting at most
    ``max_wait_ms`` for company; large requests are encoded in turns of at most ``max_batch`` texts
    and ``max_batch_chars`` characters per call, so small requests never queue behind them.
    ``dtype`` is the models' precision: ``auto`` (bfloat16 where ``device`` runs it natively, else
    float32), ``float32`` or ``bfloat16``. ``threads`` sets torch's intra-op threads (``None`` leaves
    the default). ``default_collection`` is opened before the server reports SERVING, which waits at
    most ``warm_up_seconds`` while the embedded store reads its vectors and payloads into the page
    cache (0: not at all). Calls in flight: at most ``max_concurrent_rpcs`` (more are refused with
    RESOURCE_EXHAUSTED), each on one of ``max_workers`` threads (as many by default, so every text
    query in flight can join the next encoder call), of which at most ``max_audio_calls`` decode and
    encode audio at once (they bound the decoded audio the server holds).

    Metrics: Prometheus text over HTTP at ``metrics_address`` (``HOST:PORT``), or on the gRPC
    address's host at ``metrics_port``; neither serves none. When bearer tokens are configured, the
    metrics endpoint requires an admin token (see :attr:`admin_tokens`); the read token grants every RPC.
    ``max_request_seconds`` caps every call's deadline (the client's, or this when it sets none).
    ``grace_seconds`` bounds a stop: calls still running then are cancelled and stop at their next
    stage. ``http_address`` (``host:port``) also serves the HTTP/JSON API and the workbench page;
    ``media_root`` is where relative payload ``path`` values of the clips it streams resolve.
    """

    address: str = DEFAULT_SERVER_ADDRESS
    data_dir: Path | None = None
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    model: str | None = None
    checkpoint: str | None = None
    device: str = "cpu"
    dtype: str = "auto"
    model_memory_mb: int = 4096
    default_collection: str | None = None
    warm_up_seconds: float = 30.0
    read_token: str | None = None
    admin_token: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    metrics_address: str | None = None
    metrics_port: int = 0
    http_address: str | None = None
    media_root: Path | None = None
    threads: int | None = None
    max_workers: int = 64
    max_concurrent_rpcs: int = 64
    max_audio_calls: int = 16
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_text_chars: int = MAX_TEXT_CHARS
    max_negatives: int = 8
    max_rerank_clips: int = 32
    max_audio_seconds: float = 60.0
    max_embed_texts: int = 256
    cache_size: int = 10_000
    batching: bool = True
    max_batch: int = 64
    max_batch_chars: int = 16_000
    max_wait_ms: float = 2.0
    grace_seconds: float = 5.0
    max_request_seconds: float = 30.0

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidArgument("TLS needs both a certificate and a key")
        if self.admin_token is not None and self.read_token is None:
            raise InvalidArgument("an admin token needs a read token too (give both, or neither)")
        for name in ("max_workers", "max_concurrent_rpcs", "max_audio_calls", "max_message_bytes", "max_text_chars", "max_batch",
                     "max_batch_chars", "max_rerank_clips", "max_embed_texts", "model_memory_mb"):
            if getattr(self, name) < 1:
                raise InvalidArgument(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("cache_size", "metrics_port", "max_negatives", "max_wait_ms", "grace_seconds", "warm_up_seconds"):
            if getattr(self, name) < 0:
                raise InvalidArgument(f"{name} must not be negative, got {getattr(self, name)}")
        for name in ("max_audio_seconds", "max_request_seconds"):
            if not getattr(self, name) > 0:
                raise InvalidArgument(f"{name} must be positive, got {getattr(self, name)}")
        if self.threads is not None and self.threads < 1:
            raise InvalidArgument("threads must be at least 1")
        if self.metrics_address is not None and self.metrics_port:
            raise InvalidArgument("give metrics_address or metrics_port, not both")
        if self.metrics_address is not None:
            split_address(self.metrics_address)
        if self.metrics_port:
            split_address(self.address)

    @property
    def metrics_endpoint(self) -> tuple[str, int] | None:
        """``(host, port)`` of the metrics endpoint, or ``None`` when metrics are off."""
        if self.metrics_address is not None:
            return split_address(self.metrics_address)
        if self.metrics_port:
            return split_address(self.address)[0], self.metrics_port
        return None

    @property
    def model_memory_bytes(self) -> int:
        """The memory budget of the loaded models, in bytes."""
        return self.model_memory_mb * 2**20

    @property
    def tokens(self) -> tuple[str, ...]:
        """Bearer tokens the server accepts (empty: authentication is off)."""
        return tuple(t for t in (self.read_token, self.admin_token) if t)

    @property
    def admin_tokens(self) -> tuple[str, ...]:
        """Bearer tokens that grant admin operations: the admin token, or the read token when there is none."""
        return (self.admin_token,) if self.admin_token else self.tokens
