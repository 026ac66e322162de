"""Typed errors at the gRPC edge: one way to answer with an error, and requests that do not parse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import grpc

from paraseek.errors import InvalidArgument, ParaseekError, shorten, status_name
from paraseek.limits import ERROR_TYPE_METADATA_KEY, MAX_ERROR_MESSAGE_CHARS


def abort(context: grpc.ServicerContext, error: ParaseekError) -> NoReturn:
    """End the call with ``error``'s status code, its (bounded) message and its class name in the trailing metadata."""
    context.set_trailing_metadata(((ERROR_TYPE_METADATA_KEY, type(error).__name__),))
    context.abort(grpc.StatusCode[status_name(error)], shorten(error, MAX_ERROR_MESSAGE_CHARS))
    raise error  # not reached: gRPC's abort raises


class _Undecodable:
    """Stands in for a request whose bytes are not a valid message."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class RequestDecodingInterceptor(grpc.ServerInterceptor):
    """Answers INVALID_ARGUMENT (``InvalidArgument``) to calls of ``service`` whose single request does not parse.

    Without it gRPC answers such calls INTERNAL, as if the server were at fault.
    """

    def __init__(self, service: str) -> None:
        self._prefix = f"/{service}/"

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
                          handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if (handler is None or not method.startswith(self._prefix) or handler.request_streaming
                or handler.request_deserializer is None):
            return handler
        parse = handler.request_deserializer
        streaming = handler.response_streaming
        behaviour = handler.unary_stream if streaming else handler.unary_unary
        name = method.removeprefix(self._prefix)

        def tolerant_parse(data: bytes) -> Any:
            try:
                return parse(data)
            except Exception as error:  # protobuf raises DecodeError, or RecursionError when nested too deep
                return _Undecodable(error)

        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            if isinstance(request, _Undecodable):
                abort(context, InvalidArgument(f"the {name} request is not a valid message "
                                               f"({type(request.error).__name__}: {shorten(request.error)})"))
            return behaviour(request, context)

        make = grpc.unary_stream_rpc_method_handler if streaming else grpc.unary_unary_rpc_method_handler
        return make(guarded, tolerant_parse, handler.response_serializer)
