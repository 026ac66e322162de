"""Which file holds a point's audio, what type it is, and signed audio URLs for players.

Only files named by the payload of a stored point are ever served: the API takes a collection
and a point id, never a path. A relative payload ``path`` resolves under the media root (the
server's working directory without one) and may not leave it.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from paraseek.errors import MediaUnavailable, Unauthenticated

#: Audio types browsers play, by suffix; anything else falls back to the system's table.
_AUDIO_TYPES = mimetypes.MimeTypes()
for _type, _suffix in (("audio/wav", ".wav"), ("audio/flac", ".flac"), ("audio/mpeg", ".mp3"), ("audio/ogg", ".ogg"),
                       ("audio/ogg", ".oga"), ("audio/ogg", ".opus"), ("audio/mp4", ".m4a"), ("audio/aiff", ".aiff"),
                       ("audio/webm", ".webm")):
    _AUDIO_TYPES.add_type(_type, _suffix)
#: How long a signed audio URL stays valid, in seconds.
AUDIO_URL_LIFETIME = 6 * 3600


def content_type(path: Path) -> str:
    """The Content-Type of an audio file, from its suffix."""
    guessed, _ = _AUDIO_TYPES.guess_type(path.name)
    return guessed or "application/octet-stream"


def clip_file(collection: str, point_id: str, payload: dict[str, Any], media_root: Path | None) -> Path:
    """The readable audio file of a point, or ``MediaUnavailable`` saying why not and what to do."""
    where = f"point {point_id!r} of collection {collection!r}"
    location = payload.get("path")
    if not isinstance(location, str) or not location:
        raise MediaUnavailable(f"{where} has no 'path' in its payload, so it has no audio file to stream")
    if "table_row" in payload:
        raise MediaUnavailable(f"{where} was indexed from a row of the table {location!r}; "
                               "its audio lives inside the table and cannot be streamed as a file")
    root = (media_root or Path.cwd()).resolve()
    candidates = [_under(root, location, where)] if not Path(location).is_absolute() else [Path(location)]
    relative = payload.get("relative_path")
    if media_root is not None and isinstance(relative, str) and relative:
        candidates.append(_under(root, relative, where))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    hint = ("start the server with --media-root DIR, the folder that the relative payload paths "
            "(or the collection's 'relative_path' values) resolve under"
            if media_root is None else
            f"the media root is {root}; payload paths that are relative (and 'relative_path' values) resolve under it")
    tried = ", ".join(str(candidate) for candidate in candidates)
    raise MediaUnavailable(f"the audio file of {where} is not readable by the server (tried {tried}); {hint}")


def _under(root: Path, relative: str, where: str) -> Path:
    resolved = (root / relative).resolve()
    if not resolved.is_relative_to(root):
        raise MediaUnavailable(f"the payload path of {where} leaves the media root {root}; it is not served")
    return resolved


class AudioUrls:
    """Audio URLs of points; with authentication on, each carries an expiring signature.

    ``<audio>`` elements cannot send an ``Authorization`` header, so the API hands out URLs
    signed with a per-process secret instead of putting the token in them.
    """

    def __init__(self, signed: bool, lifetime: float = AUDIO_URL_LIFETIME) -> None:
        self._signed = signed
        self._secret = secrets.token_bytes(32)
        self._lifetime = lifetime

    def url(self, collection: str, point_id: str) -> str:
        """The API path of a point's audio (signed when authentication is on)."""
        path = f"/api/v1/collections/{quote(collection, safe='')}/points/{quote(point_id, safe='')}/audio"
        if not self._signed:
            return path
        expires = int(time.time() + self._lifetime)
        return f"{path}?{urlencode({'expires': expires, 'signature': self._sign(collection, point_id, expires)})}"

    def verify(self, collection: str, point_id: str, expires: int, signature: str) -> None:
        """Raise ``Unauthenticated`` unless ``signature`` is this server's, for this point, and not expired."""
        if not self._signed:
            return
        if expires < time.time():
            raise Unauthenticated("the audio URL has expired; search again for a fresh one")
        if not hmac.compare_digest(signature, self._sign(collection, point_id, expires)):
            raise Unauthenticated("the audio URL's signature is not valid for this point")

    def _sign(self, collection: str, point_id: str, expires: int) -> str:
        message = f"{collection}\n{point_id}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
