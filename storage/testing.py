"""Synthetic collections for tests and benchmarks: clustered unit vectors with speech-like payloads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np

from paraseek.storage.types import FieldType, Point

SAMPLE_SCHEMA: dict[str, FieldType] = {
    "gender": FieldType.KEYWORD,
    "duration": FieldType.FLOAT,
    "speaker": FieldType.KEYWORD,
    "year": FieldType.INTEGER,
    "studio": FieldType.BOOL,
    "tags.pitch": FieldType.KEYWORD,
    "transcript": FieldType.TEXT,
}
_PITCHES = ("low-pitched", "medium-pitched", "high-pitched")
_WORDS = ("rain", "sun", "wind", "snow", "cloud", "storm", "calm", "cold")


def clustered_vectors(n: int, dim: int, *, clusters: int = 32, spread: float = 0.35, seed: int = 0) -> np.ndarray:
    """``n`` unit float32 vectors drawn around ``clusters`` random centres (like real embeddings)."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((clusters, dim)).astype(np.float32))
    return _unit(centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim))


def clustered_vector_chunks(n: int, dim: int, *, chunk: int = 50_000, clusters: int = 32, spread: float = 0.35,
                            seed: int = 0) -> Iterator[np.ndarray]:
    """Vectors distributed as :func:`clustered_vectors`, made ``chunk`` rows at a time (for millions of points)."""
    centres = _unit(np.random.default_rng(seed).standard_normal((clusters, dim)).astype(np.float32))
    for index, start in enumerate(range(0, n, chunk)):
        rng = np.random.default_rng([seed, index])
        size = min(chunk, n - start)
        noise = rng.standard_normal((size, dim), dtype=np.float32)
        noise *= spread / np.sqrt(dim)
        noise += centres[rng.integers(0, clusters, size)]
        yield _unit(noise)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` scaled to unit length, as float32."""
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def random_points(n: int, dim: int, *, seed: int = 0, speakers: int = 40) -> list[Point]:
    """``n`` points with deterministic UUIDs, clustered vectors and payloads fitting ``SAMPLE_SCHEMA``."""
    rng = np.random.default_rng(seed + 1)
    vectors = clustered_vectors(n, dim, seed=seed)
    points = []
    for i in range(n):
        payload = {
            "gender": "female" if rng.random() < 0.5 else "male",
            "duration": round(float(rng.uniform(0.5, 16.0)), 3),
            "speaker": f"spk{int(rng.integers(0, speakers)):03d}",
            "year": int(rng.integers(2000, 2025)),
            "studio": bool(rng.random() < 0.3),
            "tags": {"pitch": _PITCHES[int(rng.integers(0, 3))]},
            "transcript": " ".join(rng.choice(_WORDS, 3)),
        }
        point_id = str(uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | i, version=4))
        points.append(Point(id=point_id, vector=vectors[i], payload=payload))
    return points
