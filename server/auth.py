"""Bearer-token authentication as a gRPC server interceptor."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from paraseek.errors import Unauthenticated
from paraseek.server.status import abort

#: Methods answered without a token: orchestrators probe health without credentials.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/",)


def bearer_accepted(authorization: str, tokens: Sequence[bytes]) -> bool:
    """True if an ``Authorization`` value is ``Bearer <token>`` for one of ``tokens`` (constant-time compare)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    presented = token.strip().encode()
    return any(hmac.compare_digest(presented, accepted) for accepted in tokens)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Refuses calls without ``authorization: Bearer <token>`` for one of ``tokens`` (UNAUTHENTICATED).

    Every paraseek RPC reads; the read token and the admin token both grant them.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = [token.encode() for token in tokens]

    def _accepts(self, metadata: Sequence[tuple[str, Any]] | None) -> bool:
        for key, value in metadata or ():
            if key == "authorization":
                return bearer_accepted(value.decode() if isinstance(value, bytes) else str(value), self._tokens)
        return False

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
                          handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        if method.startswith(PUBLIC_PREFIXES) or self._accepts(handler_call_details.invocation_metadata):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        error = Unauthenticated("missing or invalid bearer token (send 'authorization: Bearer <token>')")

        def refuse(request: object, context: grpc.ServicerContext) -> None:
            abort(context, error)

        if handler.request_streaming or handler.response_streaming:
            def refuse_stream(request: object, context: grpc.ServicerContext) -> Any:
                refuse(request, context)
                yield  # pragma: no cover - abort raises first

            if handler.request_streaming and handler.response_streaming:
                return grpc.stream_stream_rpc_method_handler(refuse_stream, handler.request_deserializer,
                                                             handler.response_serializer)
            if handler.request_streaming:
                return grpc.stream_unary_rpc_method_handler(refuse, handler.request_deserializer,
                                                            handler.response_serializer)
            return grpc.unary_stream_rpc_method_handler(refuse_stream, handler.request_deserializer,
                                                        handler.response_serializer)
        return grpc.unary_unary_rpc_method_handler(refuse, handler.request_deserializer, handler.response_serializer)
