"""The blocking client."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from paraseek.client.base import DEFAULT, BaseClient
from paraseek.client.protocol import server_streaming

T = TypeVar("T")


class Client(BaseClient):
    """A connection to a paraseek server.

    A blocking client; its settings are those of :class:`~paraseek.client.base.BaseClient`.

    Example::

        with Client("127.0.0.1:50051") as client:
            for hit in client.search("breathy low-pitched angry woman", where="duration<8", top_k=5):
                print(hit.score, hit.payload["path"], hit.styles)
    """

    _channels = grpc

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, request: Message, timeout: float | None = DEFAULT,
              retries: int | None = DEFAULT) -> Any:
        """The raw response of ``method`` (every message of a stream, in a list), retried while the server is UNAVAILABLE."""
        attempts = self._attempts(method, timeout, retries)
        call = getattr(self._stub, method)
        streaming = server_streaming(method)
        while True:
            try:
                response = call(request, timeout=attempts.remaining(), metadata=self._metadata)
                return list(response) if streaming else response
            except grpc.RpcError as error:
                time.sleep(attempts.delay_after(error))

    def _invoke(self, method: str, build: Callable[[], Message], parse: Callable[[Any], T],
                timeout: float | None, retries: int | None = DEFAULT) -> T:
        return parse(self._call(method, build(), timeout, retries))
