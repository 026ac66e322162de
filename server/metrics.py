"""Prometheus metrics of one server (own registry, so several servers can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    """Request counts by RPC and status code, latency by stage, cache lookups and batch sizes.

    Cache hit rate: ``rate(paraseek_text_cache_lookups_total{result="hit"}[5m])`` over the
    sum of both results.
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
        self.model_ready = Gauge("paraseek_model_ready", "1 once the model is loaded and warmed.",
                                 registry=self.registry)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Current value of one sample (0 when it has not been recorded yet)."""
        return self.registry.get_sample_value(name, labels or {}) or 0.0

    def serve_http(self, port: int, host: str = "0.0.0.0") -> tuple[object, object]:
        """Expose ``/metrics`` on ``host:port``; returns the HTTP server and its thread."""
        return start_http_server(port, addr=host, registry=self.registry)
