"""Helpers for tests of the server and its clients: a small collection of real audio, a running server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
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
from paraseek.testing import tiny_paraspeechclap_config, tone, write_audio

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

    The collection records ``model`` as its builder (with its source, when it has one), or
    ``recorded_as`` (to make a mismatched one).
    """
    from paraseek.audio import load_audio

    waves = [load_audio(clip.path) for clip in clips]
    vectors = model.embed_audio([w for w, _ in waves], [sr for _, sr in waves])
    record = BuildRecord.new(recorded_as or ModelSignature.of(model), alias=alias, style_groups=model.style_groups(),
                             payload_schema=DEMO_SCHEMA, source=model.source if recorded_as is None else None)
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


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServeProcess:
    """A ``paraseek serve`` child process; its JSON log lines go to ``log``."""

    process: subprocess.Popen[bytes]
    address: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send ``signum`` and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve_process(data_dir: Path, workdir: Path, *extra: str, collection: str = "voices",
                  ready_timeout: float = 120.0) -> Iterator[ServeProcess]:
    """``paraseek serve`` of ``data_dir`` with the random-weight tiny model on a free loopback port, ready.

    Files (the model config, the log) go to ``workdir``. The process is killed if still running at exit.
    """
    from paraseek.client import Client

    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "tiny.json"
    config.write_text(json.dumps(tiny_paraspeechclap_config().to_dict()))
    address = f"127.0.0.1:{free_port()}"
    log = workdir / f"serve-{address.rsplit(':', 1)[1]}.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PARASEEK_COLLECTION": collection}
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "paraseek.cli.main", "serve", "--address", address,
                                    "--data-dir", str(data_dir), "--model", str(config), "--random-init",
                                    "--threads", "1", "--grace", "1", *extra],
                                   env=env, stdout=sink, stderr=subprocess.STDOUT)
    served = ServeProcess(process, address, log)
    try:
        with Client(address, retries=40, backoff=0.25) as client:
            client.wait_ready(timeout=ready_timeout)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
