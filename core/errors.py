"""One typed error hierarchy for the whole project.

Library code raises these; the gRPC server maps them to status codes through
``GRPC_STATUS`` and the thin client maps status codes back to the same classes,
so callers on either side of the wire catch the same types; the HTTP API answers with the
``HTTP_STATUS`` column of the same table. This module imports
nothing heavy: the thin client uses it as is.
"""

from __future__ import annotations

from paraseek.limits import MAX_QUOTED_CHARS


class ParaseekError(Exception):
    """Base class of every error paraseek raises on purpose."""


# --- bad input ---------------------------------------------------------------------------------


class InvalidArgument(ParaseekError, ValueError):
    """A request or call argument is malformed or out of range."""


class EmptyText(InvalidArgument):
    """A text query or description is empty or whitespace only."""


class TextTooLong(InvalidArgument):
    """A text is longer than the configured limit."""


class InvalidFilter(InvalidArgument):
    """A filter expression cannot be parsed or does not fit the payload schema."""


class AudioError(InvalidArgument):
    """Audio cannot be decoded or is unusable (corrupt, empty, silent, too long, bad rate)."""


class RequestTooLarge(InvalidArgument):
    """A request carries more data (clips, bytes, candidates) than the limits allow."""


# --- missing things ----------------------------------------------------------------------------


class NotFound(ParaseekError, LookupError):
    """A named thing (collection, alias, point, model) does not exist."""


class CollectionNotFound(NotFound):
    """No collection or alias of that name."""


class PointNotFound(NotFound):
    """No point with that id in the collection."""


class ModelNotFound(NotFound):
    """No registered model or config of that name."""


class MediaUnavailable(NotFound):
    """A point's source audio file cannot be found or read by the server (see ``--media-root``)."""


class AlreadyExists(ParaseekError):
    """A collection or alias of that name exists already."""


# --- state that forbids the call ---------------------------------------------------------------


class FailedPrecondition(ParaseekError):
    """The call is well formed but the system is not in a state that allows it."""


class StoreLocked(FailedPrecondition):
    """An embedded collection is open in another process (a running server, say), which holds its lock."""


class ModelMismatch(FailedPrecondition):
    """The collection was built with another model than the one used to query it."""


class ModelUnavailable(FailedPrecondition):
    """The model a collection was built with cannot be loaded here (unknown model, weights not available)."""


class CheckpointError(FailedPrecondition):
    """A checkpoint file cannot be read or does not fit the model architecture."""


class CheckpointKeyMismatch(CheckpointError):
    """A checkpoint's state-dict keys do not match the architecture (strict loading)."""

    def __init__(self, missing: list[str], unexpected: list[str]) -> None:
        self.missing = sorted(missing)
        self.unexpected = sorted(unexpected)
        parts = []
        if self.missing:
            parts.append(f"missing keys ({len(self.missing)}): {', '.join(self.missing[:20])}")
        if self.unexpected:
            parts.append(f"unexpected keys ({len(self.unexpected)}): {', '.join(self.unexpected[:20])}")
        super().__init__("checkpoint does not match the architecture; " + "; ".join(parts))


class WeightsUnavailable(FailedPrecondition):
    """Model weights or tokenizer files are neither cached nor downloadable."""


class MissingDependency(ParaseekError, ImportError):
    """An optional dependency (the ``engine`` extra, usually) is not installed."""


# --- access and capacity -----------------------------------------------------------------------


class Unauthenticated(ParaseekError):
    """No valid token was presented."""


class PermissionDenied(ParaseekError):
    """The token is valid but does not grant this operation."""


class ResourceExhausted(ParaseekError):
    """The server is at its concurrency or memory limit; retry later."""


class DeadlineExceeded(ParaseekError, TimeoutError):
    """The caller's deadline passed before the work finished."""


class Unavailable(ParaseekError, ConnectionError):
    """The server or storage backend cannot be reached."""


class Cancelled(ParaseekError):
    """The caller cancelled the request."""


class Internal(ParaseekError):
    """An unexpected failure on the server side."""


# The one error table: the gRPC status code name and the HTTP status of each error class.
# Subclasses inherit their base's row; the most specific class listed wins. The gRPC server, the
# HTTP API and the client all read it.
ERROR_STATUS: dict[type[ParaseekError], tuple[str, int]] = {
    InvalidArgument: ("INVALID_ARGUMENT", 400),
    NotFound: ("NOT_FOUND", 404),
    AlreadyExists: ("ALREADY_EXISTS", 409),
    FailedPrecondition: ("FAILED_PRECONDITION", 409),
    MissingDependency: ("FAILED_PRECONDITION", 409),
    Unauthenticated: ("UNAUTHENTICATED", 401),
    PermissionDenied: ("PERMISSION_DENIED", 403),
    ResourceExhausted: ("RESOURCE_EXHAUSTED", 429),
    DeadlineExceeded: ("DEADLINE_EXCEEDED", 504),
    Unavailable: ("UNAVAILABLE", 503),
    Cancelled: ("CANCELLED", 499),
    Internal: ("INTERNAL", 500),
}
GRPC_STATUS: dict[type[ParaseekError], str] = {cls: grpc for cls, (grpc, _) in ERROR_STATUS.items()}
HTTP_STATUS: dict[type[ParaseekError], int] = {cls: http for cls, (_, http) in ERROR_STATUS.items()}


def _row(error: BaseException) -> tuple[str, int]:
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return ERROR_STATUS[Internal]


def status_name(error: BaseException) -> str:
    """The gRPC status code name for ``error`` (``INTERNAL`` for anything unexpected)."""
    return _row(error)[0]


def http_status(error: BaseException) -> int:
    """The HTTP status for ``error`` (500 for anything unexpected)."""
    return _row(error)[1]


def error_for_status(code_name: str, message: str, error_type: str | None = None) -> ParaseekError:
    """Rebuild a typed error from a status code name and, if known, the server's class name."""
    if error_type:
        cls = _BY_NAME.get(error_type)
        if cls is not None and cls is not CheckpointKeyMismatch:
            return cls(message)
    for cls, name in GRPC_STATUS.items():
        if name == code_name:
            return cls(message)
    return Internal(message)


def shorten(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """``str(value)`` if it has at most ``limit`` characters, else its start and its full length, in ``limit``.

    Messages quote user input through this, so an error never echoes unbounded input back.
    """
    text = str(value)
    if len(text) <= limit:
        return text
    note = f"... ({len(text)} characters)"
    return text[:max(0, limit - len(note))] + note


def require(module: str, extra: str = "engine") -> None:
    """Raise ``MissingDependency`` with an install hint if ``module`` cannot be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependency(
            f"this part of paraseek needs '{module}', which is not installed; "
            f"install it with: pip install 'paraseek[{extra}]'"
        )


_BY_NAME: dict[str, type[ParaseekError]] = {
    cls.__name__: cls
    for cls in list(GRPC_STATUS)
    + [
        EmptyText,
        TextTooLong,
        InvalidFilter,
        AudioError,
        RequestTooLarge,
        CollectionNotFound,
        PointNotFound,
        ModelNotFound,
        MediaUnavailable,
        StoreLocked,
        ModelMismatch,
        ModelUnavailable,
        CheckpointError,
        WeightsUnavailable,
    ]
}
