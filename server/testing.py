"""Helpers for tests of the server and its clients: a small collection of real audio, a running server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paraseek.model import EmbeddingModel
from paraseek.server.app import ParaseekServer
from paraseek.server.config import ServerConfig
from paraseek.storage import FieldType, Point, VectorStore
from paraseek.storage.catalog import BuildRecord, ModelSignature, create_collection
from paraseek.testing import tone, write_audio

DEMO_SCHEMA: dict[str, FieldType] = {
    "gender": FieldType.KEYWORD,
    "speaker": FieldType.KEYWORD,
    "duration": FieldType.FLOAT,
    "year": FieldType.INTEGER,
    "studio": FieldType.BOOL,
    "path": FieldType.KEYWORD,
}


@dataclass(frozen=True)
class DemoClip:
    """One clip of the demo collection: its file, stored point id and payload."""

    path: Path
    id: str
    payload: dict[str, Any]


def demo_clips(directory: str | Path, count: int = 12) -> list[DemoClip]:
    """Write ``count`` harmonic-tone wav files (varied pitch and length) with speech-like payloads."""
    clips = []
    for i in range(count):
        seconds = 0.5 + 0.25 * (i % 7)
        path = write_audio(Path(directory) / f"clip{i:02d}.wav",
                           tone(seconds, 16000, frequency=90.0 + 35.0 * i, seed=i))
        payload = {"gender": "female" if i % 2 else "male", "speaker": f"spk{i % 4}", "duration": seconds,
                   "year": 2000 + i, "studio": i % 3 == 0, "path": str(path)}
        clips.append(DemoClip(path, str(uuid.uuid5(uuid.NAMESPACE_URL, str(path))), payload))
    return clips


def build_collection(store: VectorStore, model: EmbeddingModel, clips: list[DemoClip], name: str, *,
                     alias: str | None = None, extra_payload: dict[str, Any] | None = None,
                     recorded_as: ModelSignature | None = None) -> None:
    """Create ``name`` with the real embeddings of ``clips`` (and point ``alias`` at it).

    The collection records ``model`` as its builder, or ``recorded_as`` (to make a mismatched one).
    """
    from paraseek.audio import load_audio

    waves = [load_audio(clip.path) for clip in clips]
    vectors = model.embed_audio([w for w, _ in waves], [sr for _, sr in waves])
    record = BuildRecord.new(recorded_as or ModelSignature.of(model), alias=alias, style_groups=model.style_groups(),
                             payload_schema=DEMO_SCHEMA)
    create_collection(store, name, record, payload_schema=DEMO_SCHEMA)
    store.upsert(name, [Point(clip.id, vector, {**clip.payload, **(extra_payload or {})})
                        for clip, vector in zip(clips, vectors, strict=True)])
    if alias is not None:
        store.set_alias(alias, name)


@contextmanager
def running_server(store: VectorStore, model: EmbeddingModel, **settings: Any) -> Iterator[ParaseekServer]:
    """A server on an ephemeral loopback port over ``store`` with ``model``, ready to answer."""
    config = ServerConfig(address="127.0.0.1:0", **settings)
    server = ParaseekServer(config, store=store, model_loader=lambda: model).start()
    try:
        server.wait_ready(60)
        yield server
    finally:
        server.stop(grace=0)
