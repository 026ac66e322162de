"""Runs the HTTP app with uvicorn on a background thread of the server process."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from paraseek.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument

STARTUP_SECONDS = 30.0


class HttpServer:
    """``app`` served on ``address`` (``host:port``, port 0 picks one; ``[::1]:port`` for IPv6).

    ``max_concurrency`` requests at once (more are answered 503), TLS when both files are given.
    """

    def __init__(self, app: ASGIApp, address: str, *, max_concurrency: int, grace_seconds: float,
                 tls_cert: Path | None = None, tls_key: Path | None = None) -> None:
        host, _, port = address.rpartition(":")
        if not port.isdigit():
            raise InvalidArgument(f"the HTTP address must be HOST:PORT, got {address!r}")
        self.host = host.strip("[]") or "0.0.0.0"
        self.port = int(port)
        self.tls = tls_cert is not None
        self._server = uvicorn.Server(uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", limit_concurrency=max_concurrency,
            timeout_graceful_shutdown=max(1, round(grace_seconds)),
            ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL (the real port when the address asked for port 0)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> HttpServer:
        """Bind and serve on a daemon thread; returns once it accepts connections."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            listener = socket.create_server((self.host, self.port), family=family)
        except OSError as error:
            raise FailedPrecondition(f"cannot listen for HTTP on {self.host}:{self.port}: {error}") from None
        self.port = listener.getsockname()[1]
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [listener]},
                                        name="paraseek-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                raise DeadlineExceeded(f"the HTTP server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop accepting, let running requests finish within the grace period, and join the thread."""
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join()
        self._thread = None
