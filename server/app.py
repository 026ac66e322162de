"""The paraseek gRPC server: services, health, reflection, auth, TLS, metrics, background model loading."""

from __future__ import annotations

import errno
import functools
import gc
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from threadpoolctl import threadpool_limits

from paraseek.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, ParaseekError
from paraseek.model import EmbeddingModel, load_model
from paraseek.server.auth import TokenAuthInterceptor
from paraseek.server.config import ServerConfig, split_address
from paraseek.server.engine import QueryEngine
from paraseek.server.metrics import Metrics, MetricsEndpoint
from paraseek.server.service import ParaseekServicer
from paraseek.server.status import RequestDecodingInterceptor
from paraseek.storage import VectorStore, open_store
from paraseek.v1 import paraseek_pb2, paraseek_pb2_grpc

if TYPE_CHECKING:
    from paraseek.server.web import HttpServer

log = logging.getLogger("paraseek.server")
SERVICE_NAME = paraseek_pb2.DESCRIPTOR.services_by_name["Paraseek"].full_name
# How long a stop waits for gRPC's own shutdown beyond the grace period.
_STOP_MARGIN_SECONDS = 1.0


def join_address(host: str, port: int) -> str:
    """``host:port``, with IPv6 hosts in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_address_free(address: str) -> None:
    """Raise ``FailedPrecondition`` if another socket listens on ``address`` (checked before gRPC binds it)."""
    try:
        host, port = split_address(address)
    except InvalidArgument:
        return  # not HOST:PORT (a unix: socket, say): gRPC binds or reports it itself
    if port == 0:
        return
    try:
        candidates = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return  # gRPC reports an unresolvable host itself
    for family, kind, proto, _, sockaddr in candidates:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(sockaddr)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise FailedPrecondition(busy_address_message(address)) from None


def busy_address_message(address: str) -> str:
    """One line saying ``address`` cannot be bound, and what to pass instead."""
    problem = f"cannot listen on {address}: the address is in use (or not available on this machine)"
    try:
        host, port = split_address(address)
    except InvalidArgument:
        return f"{problem}; choose another address"
    other = join_address(host, port + 1 if 0 < port < 65535 else 0)
    return f"{problem}; choose another port, e.g. {other}, or port 0 for a free one"


class ParaseekServer:
    """A paraseek server over ``store`` (default: opened from ``config``).

    :meth:`start` binds the port and returns at once; the model (``model_loader()``, default
    ``load_model`` with the config's model) loads and warms in a background thread. Until then,
    health says NOT_SERVING and model RPCs answer UNAVAILABLE, while liveness (the health
    service itself) and the collection RPCs already answer. An address another process serves
    is refused (no port sharing). :meth:`stop` returns within the grace period plus at most one
    encoder call: calls still running then are cancelled and stop at their next stage.
    """

    def __init__(self, config: ServerConfig, *, store: VectorStore | None = None,
                 model_loader: Callable[[], EmbeddingModel] | None = None) -> None:
        self.config = config
        self.metrics = Metrics()
        self._owns_store = store is None
        self.store = store if store is not None else open_store(config.data_dir, url=config.qdrant_url,
                                                                 api_key=config.qdrant_api_key)
        self._loader = model_loader or functools.partial(load_model, config.model, checkpoint=config.checkpoint,
                                                         device=config.device, dtype=config.dtype)
        self.servicer = ParaseekServicer(self.store, config, self.metrics)
        self.health = health.HealthServicer()
        self.engine: QueryEngine | None = None
        self.port = 0
        self._server: grpc.Server | None = None
        self._metrics_http: MetricsEndpoint | None = None
        self._executor: futures.ThreadPoolExecutor | None = None
        self.http: HttpServer | None = None  # the HTTP API and workbench, when the config has an http_address
        self._loaded = threading.Event()
        self._load_error: BaseException | None = None
        self._stopped = False
        self._blas_limits: threadpool_limits | None = None
        self._froze_objects = False

    @property
    def address(self) -> str:
        """``host:port`` the server listens on (the real port when the config asked for port 0)."""
        host = self.config.address.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    @property
    def metrics_address(self) -> str | None:
        """``host:port`` of the metrics endpoint, or ``None`` when metrics are off."""
        return self._metrics_http.address if self._metrics_http is not None else None

    def start(self) -> ParaseekServer:
        """Bind, start serving, and begin loading the model in the background.

        Raises ``FailedPrecondition`` when the address (or the metrics address) cannot be bound.
        """
        config = self.config
        check_address_free(config.address)
        interceptors: list[grpc.ServerInterceptor] = [TokenAuthInterceptor(config.tokens)] if config.tokens else []
        interceptors.append(RequestDecodingInterceptor(SERVICE_NAME))
        self._executor = futures.ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="paraseek-rpc")
        server = grpc.server(
            self._executor,
            interceptors=interceptors,
            options=[("grpc.max_receive_message_length", config.max_message_bytes),
                     ("grpc.max_send_message_length", config.max_message_bytes),
                     ("grpc.so_reuseport", 0)],
            maximum_concurrent_rpcs=config.max_concurrent_rpcs,
        )
        paraseek_pb2_grpc.add_ParaseekServicer_to_server(self.servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        for service in ("", SERVICE_NAME):
            self.health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
        try:
            if config.tls_cert is not None and config.tls_key is not None:
                credentials = grpc.ssl_server_credentials([(Path(config.tls_key).read_bytes(),
                                                            Path(config.tls_cert).read_bytes())])
                self.port = server.add_secure_port(config.address, credentials)
            else:
                self.port = server.add_insecure_port(config.address)
        except RuntimeError:
            self.port = 0
        if not self.port:
            self._executor.shutdown(wait=False)
            raise FailedPrecondition(busy_address_message(config.address)) from None
        endpoint = config.metrics_endpoint
        if endpoint is not None:
            try:
                self._metrics_http = self.metrics.serve_http(*endpoint, tokens=config.tokens,
                                                             admin_tokens=config.admin_tokens)
            except OSError as error:
                server.stop(0)
                self._executor.shutdown(wait=False)
                raise FailedPrecondition(f"metrics: {busy_address_message(join_address(*endpoint))} "
                                         f"({error.strerror or error})") from None
        server.start()
        self._server = server
        if config.http_address:
            self.http = _start_http(self, server)
        log.info("listening", extra={"address": self.address, "tls": config.tls_cert is not None,
                                     "auth": bool(config.tokens), "metrics_address": self.metrics_address})
        # Requests run in parallel threads, each with small matrix products (explanations, query
        # understanding): a multi-threaded BLAS in each makes them wait on one another, so numpy's
        # BLAS runs one thread per request while the server runs (torch's threads are its own).
        self._blas_limits = threadpool_limits(limits=1, user_api="blas")
        threading.Thread(target=self._load, name="paraseek-model-loader", daemon=True).start()
        return self

    def _load(self) -> None:
        try:
            if self.config.threads is not None:
                import torch

                torch.set_num_threads(self.config.threads)
            model = self._loader()
            engine = QueryEngine(model, self.store, self.config, self.metrics)
            engine.warm()
            self._freeze_startup_objects()
            self._open_default_collection()
            if self._stopped:  # stopped while loading: stop() may have run before the objects were frozen
                self._unfreeze_startup_objects()
                engine.close()
                return
            self.engine = engine
            self.servicer.attach(engine)
            for service in ("", SERVICE_NAME):
                self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
            self.metrics.model_ready.set(1)
            log.info("serving", extra={"model": model.name, "fingerprint": model.fingerprint[:16]})
        except BaseException as error:  # reported by wait_ready; health stays NOT_SERVING
            self._load_error = error
            log.exception("the model failed to load")
        finally:
            self._loaded.set()

    def _freeze_startup_objects(self) -> None:
        """Keep what start-up loaded (modules, the default model, the engine) out of the garbage
        collector's full passes for the server's life: they would walk it all, about 400,000 objects,
        while every other thread waits, every few seconds under load."""
        gc.collect()
        gc.freeze()
        self._froze_objects = True

    def _unfreeze_startup_objects(self) -> None:
        if self._froze_objects:
            self._froze_objects = False
            gc.unfreeze()

    def _open_default_collection(self) -> None:
        """Open the default collection before serving, and wait at most ``warm_up_seconds`` while its
        memory-mapped data is read into the page cache, so its first searches neither load it nor
        share the disk with the read-ahead."""
        name = self.config.default_collection
        if not name:
            return
        started = time.monotonic()
        try:
            advised = self.store.warm_up(name, timeout=self.config.warm_up_seconds)
        except ParaseekError as error:  # not created yet, say: it opens when first searched
            log.warning("default collection not opened", extra={"collection": name, "reason": str(error)})
            return
        log.info("default collection open", extra={"collection": name, "read_ahead_bytes": advised,
                                                   "seconds": round(time.monotonic() - started, 2)})

    @property
    def load_error(self) -> BaseException | None:
        """Why the model failed to load, once it has (``None`` while loading or when loaded)."""
        return self._load_error

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the model is loaded and warmed; re-raise its loading error if it failed."""
        if not self._loaded.wait(timeout):
            raise DeadlineExceeded(f"the model was not ready within {timeout} s")
        if self._load_error is not None:
            raise self._load_error

    def stop(self, grace: float | None = None) -> None:
        """Stop taking calls, let running ones finish for ``grace`` seconds, release everything.

        Calls still running after ``grace`` are cancelled: their clients get CANCELLED at once, and
        their work stops at its next stage (queued text encoding is dropped). A store that cannot
        be closed cleanly (its folder removed, say) is logged, not raised.
        """
        if self._stopped:
            return
        self._stopped = True
        grace = self.config.grace_seconds if grace is None else grace
        self.health.enter_graceful_shutdown()
        if self._server is not None:
            self._server.stop(grace).wait(grace + _STOP_MARGIN_SECONDS)
        if self.http is not None:
            self.http.stop()
        if self.engine is not None:
            self.engine.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._metrics_http is not None:
            self._metrics_http.close()
        if self._owns_store:
            try:
                self.store.close()
            except (ParaseekError, OSError) as error:
                log.error("the store did not close cleanly", extra={"error": f"{type(error).__name__}: {error}"})
        if self._blas_limits is not None:
            self._blas_limits.restore_original_limits()
        self._unfreeze_startup_objects()
        log.info("stopped")

    def __enter__(self) -> ParaseekServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop(grace=0)


def _start_http(server: ParaseekServer, grpc_server: grpc.Server) -> HttpServer:
    """Serve the HTTP API and workbench beside gRPC; stop gRPC again if the HTTP port cannot be had."""
    from paraseek.server.web import HttpServer, create_app

    config = server.config
    app = create_app(server.store, config, lambda: server.servicer.engine, server.metrics)
    try:
        return HttpServer(app, str(config.http_address), max_concurrency=config.max_concurrent_rpcs,
                          grace_seconds=config.grace_seconds, tls_cert=config.tls_cert, tls_key=config.tls_key).start()
    except BaseException:
        grpc_server.stop(0)
        raise
