"""The asyncio client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from paraseek.client.base import DEFAULT, BaseClient
from paraseek.client.protocol import server_streaming

T = TypeVar("T")


class AsyncClient(BaseClient):
    """An asyncio connection to a paraseek server; the same calls as :class:`~paraseek.client.Client`, awaited.

    Its settings are those of :class:`~paraseek.client.base.BaseClient`.

    Example::

        async with AsyncClient("127.0.0.1:50051") as client:
            for hit in await client.search("breathy low-pitched angry woman", where="duration<8", top_k=5):
                print(hit.score, hit.payload["path"], hit.styles)
    """

    _channels = grpc.aio

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(self, method: str, request: Message, timeout: float | None = DEFAULT,
                    retries: int | None = DEFAULT) -> Any:
        """The raw response of ``method`` (every message of a stream, in a list), retried while the server is UNAVAILABLE."""
        attempts = self._attempts(method, timeout, retries)
        call = getattr(self._stub, method)
        streaming = server_streaming(method)
        while True:
            try:
                response = call(request, timeout=attempts.remaining(), metadata=self._metadata)
                return [message async for message in response] if streaming else await response
            except grpc.RpcError as error:
                await asyncio.sleep(attempts.delay_after(error))

    async def _invoke(self, method: str, build: Callable[[], Message], parse: Callable[[Any], T],
                      timeout: float | None, retries: int | None = DEFAULT) -> T:
        return parse(await self._call(method, build(), timeout, retries))
