"""Prometheus metrics of one server (own registry, so several servers can live in one process)."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from paraseek.errors import ParaseekError, PermissionDenied, Unauthenticated, http_status
from paraseek.server.auth import bearer_accepted

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Metrics:
    """Request counts by RPC and status code, latency by stage, cache lookups, batch sizes and encoder time.

    Cache hit rate: ``rate(paraseek_text_cache_lookups_total{result="hit"}[5m])`` over the
    sum of both results. Encoder saturation, per model:
    ``rate(paraseek_text_encoder_seconds_total[5m])`` (1 when its encoder is never idle; batching
    gains nothing more past that point).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("paraseek_requests", "RPCs handled, by method and status code.",
                                ["rpc", "code"], registry=self.registry)
        self.stage_seconds = Histogram("paraseek_stage_seconds", "Time spent per request stage (encode, search, total).",
                                       ["rpc", "stage"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.cache_lookups = Counter("paraseek_text_cache_lookups", "Text-embedding cache lookups, by result.",
                                     ["result"], registry=self.registry)
        self.batch_size = Histogram("paraseek_text_batch_size", "Texts per encoder call of the micro-batcher.",
                                    buckets=_BATCH_BUCKETS, registry=self.registry)
        self.encoder_seconds = Counter("paraseek_text_encoder_seconds",
                                       "Seconds each model's micro-batcher spent in text-encoder calls (its rate: "
                                       "how busy the encoder is).", ["model"], registry=self.registry)
        self.model_ready = Gauge("paraseek_model_ready", "1 once the model is loaded and warmed.",
                                 registry=self.registry)

    def record_batch(self, model: str, size: int, seconds: float) -> None:
        """One encoder call of ``model``'s micro-batcher: ``size`` texts in ``seconds``."""
        self.batch_size.observe(size)
        self.encoder_seconds.labels(model=model).inc(seconds)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Current value of one sample (0 when it has not been recorded yet)."""
        return self.registry.get_sample_value(name, labels or {}) or 0.0

    def serve_http(self, host: str, port: int, tokens: Sequence[str] = (),
                   admin_tokens: Sequence[str] = ()) -> MetricsEndpoint:
        """Expose ``/metrics`` on ``host:port`` (port 0: a free one), for ``admin_tokens`` when tokens are given."""
        return MetricsEndpoint(make_wsgi_app(self.registry), host, port, tokens, admin_tokens)


def _refuse(start_response: Callable[..., Any], error: ParaseekError) -> list[bytes]:
    status = http_status(error)
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    if isinstance(error, Unauthenticated):
        headers.append(("WWW-Authenticate", 'Bearer realm="paraseek metrics"'))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [f"{error}\n".encode()]


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _ThreadingWSGIServerV6(_ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


class MetricsEndpoint:
    """A running HTTP endpoint for metrics.

    With ``tokens`` set, requests need ``Authorization: Bearer <token>`` for one of ``admin_tokens``:
    no valid token answers 401, a valid token that is not an admin one 403 (``PermissionDenied``).
    """

    def __init__(self, app: WSGIApp, host: str, port: int, tokens: Sequence[str] = (),
                 admin_tokens: Sequence[str] = ()) -> None:
        accepted = [token.encode() for token in tokens]
        admins = [token.encode() for token in admin_tokens]

        def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            authorization = environ.get("HTTP_AUTHORIZATION", "")
            if not accepted or bearer_accepted(authorization, admins):
                return app(environ, start_response)
            if bearer_accepted(authorization, accepted):
                return _refuse(start_response, PermissionDenied("the metrics endpoint needs the admin token"))
            return _refuse(start_response, Unauthenticated("missing or invalid bearer token"))

        server_class = _ThreadingWSGIServerV6 if ":" in host else _ThreadingWSGIServer
        self._server = make_server(host, port, guarded, server_class=server_class, handler_class=_QuietHandler)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="paraseek-metrics", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """``host:port`` the endpoint listens on."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
