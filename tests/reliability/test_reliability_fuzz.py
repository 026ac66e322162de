"""Fuzz every RPC of the service: random bytes, hostile strings and numbers, oversized fields, odd audio.

Each case is sent as raw bytes over a plain channel. No answer may be UNKNOWN or INTERNAL, each
comes within ``CASE_SECONDS``, the server's memory grows by less than ``MAX_RSS_GROWTH`` over the
set, and its CPU returns to idle afterwards.
"""

from __future__ import annotations

import io
import math
import random
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import numpy as np
import soundfile
from conftest import COLLECTION, FULL, Figures
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from probes import cpu_share, rss_bytes

from paraseek.limits import ERROR_TYPE_METADATA_KEY
from paraseek.server.testing import ServeProcess
from paraseek.v1 import paraseek_pb2

SERVICE = paraseek_pb2.DESCRIPTOR.services_by_name["Paraseek"]
CASE_SECONDS = 5.0
MAX_RSS_GROWTH = 1 << 30
IDLE_CPU_SHARE = 0.1
FAST_SAMPLE = 250
SEED = 20240611

HOSTILE_STRINGS = [
    "", " ", "\x00", "a\x00b", "\u202egnp.exe", "../../../../etc/passwd", "/dev/zero", "%s%s%n%x{0}{}${x}",
    "'; DROP TABLE voices; --", "\n\r\t\x0b\x0c", "\u0000" * 64, "é" * 5000, "🙂" * 2000, "x" * 1_000_000,
    "9" * 400, "gender=", "[a,b", "voices\x00/../x",
]
# Payload fields of the demo collection that filter conditions test: a keyword one and an integer one.
CONDITION_KEYS = ("speaker", "year")
HOSTILE_INTS = [0, -1, 2**31 - 1, -(2**31)]
HOSTILE_INT64 = [2**63 - 1, -(2**63), 2**53 + 1]
HOSTILE_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 3.4e38, -1e-45]
_INT64_TYPES = {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64,
                FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64}
_INT32_TYPES = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32,
                FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_ENUM}
_FLOAT_TYPES = {FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE}


# --- odd audio -------------------------------------------------------------------------------------


def _wav(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def _wav_header(channels: int, rate: int, bits: int = 16, data: bytes = b"") -> bytes:
    block = (channels * bits // 8) & 0xFFFF
    fmt = struct.pack("<HHIIHH", 1, channels, rate, (rate * block) & 0xFFFFFFFF, block, bits)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


def voice_clip() -> bytes:
    """One second of a 16 kHz tone: a clip every model takes."""
    return _wav(0.1 * np.sin(np.linspace(0, 400 * np.pi, 16000)).astype(np.float32), 16000)


def odd_audio() -> list[tuple[str, bytes]]:
    """Encoded clips a decoder must refuse or survive: odd rates and lengths, NaN/inf, broken headers."""
    rng = np.random.default_rng(SEED)
    voice = 0.1 * np.sin(np.linspace(0, 400 * np.pi, 16000)).astype(np.float32)
    nan_wave = voice.copy()
    nan_wave[::7] = np.nan
    inf_wave = voice.copy()
    inf_wave[::5] = np.inf
    good = _wav(voice, 16000)
    cases = [(f"rate {rate}", _wav(0.1 * np.sin(np.linspace(0, 400 * np.pi, rate)).astype(np.float32), rate))
             for rate in (8001, 16001, 96001)]
    cases += [
        ("one sample", _wav(np.zeros(1, np.float32), 16000)),
        ("nan float wav", _wav(nan_wave, 16000, "FLOAT")),
        ("inf float wav", _wav(inf_wave, 16000, "FLOAT")),
        ("truncated header", good[:20]),
        ("header only", good[:44]),
        ("truncated data", good[:len(good) // 3 + 1]),
        ("riff then random bytes", b"RIFF" + rng.bytes(4096)),
        ("zero channels", _wav_header(0, 16000, data=bytes(3200))),
        ("rate 0", _wav_header(1, 0, data=bytes(3200))),
        ("rate 2^32-1", _wav_header(1, 2**32 - 1, data=bytes(3200))),
        ("65535 channels", _wav_header(65535, 16000, data=bytes(3200))),
        ("long silence", _wav(np.zeros(16000 * 59, np.float32), 16000)),
        ("too long silence", _wav(np.zeros(8000 * 600, np.float32), 8000)),
        ("random bytes", rng.bytes(2048)),
        ("empty", b""),
    ]
    return cases


# --- cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    method: str
    name: str
    payload: bytes


def base_requests(clip: bytes) -> dict[str, Message]:
    """A valid request per RPC, so a mutated field reaches the code behind the first checks."""
    audio = paraseek_pb2.AudioInput(data=clip)
    return {
        "Search": paraseek_pb2.SearchRequest(collection=COLLECTION, text="a calm voice"),
        "SearchByAudio": paraseek_pb2.SearchByAudioRequest(collection=COLLECTION, audio=audio),
        "Classify": paraseek_pb2.ClassifyRequest(audio=audio),
        "Rerank": paraseek_pb2.RerankRequest(text="a calm voice", clips=[clip]),
        "EmbedText": paraseek_pb2.EmbedTextRequest(texts=["a calm voice"]),
        "EmbedAudio": paraseek_pb2.EmbedAudioRequest(clips=[audio]),
        "DescribeCollection": paraseek_pb2.DescribeCollectionRequest(name=COLLECTION),
    }


def leaf_values(field: FieldDescriptor, audio: list[tuple[str, bytes]]) -> list[tuple[str, object]]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return [(repr(value[:24]) + (f"x{len(value)}" if len(value) > 24 else ""), value) for value in HOSTILE_STRINGS]
    if field.type == FieldDescriptor.TYPE_BYTES:
        return list(audio)
    if field.type in _INT64_TYPES:
        unsigned = field.type in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64)
        return [(str(v), v) for v in HOSTILE_INT64 if v >= 0 or not unsigned]
    if field.type in _INT32_TYPES:
        unsigned = field.type in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32)
        return [(str(v), v) for v in HOSTILE_INTS if v >= 0 or not unsigned]
    if field.type in _FLOAT_TYPES:
        return [(repr(v), v) for v in HOSTILE_FLOATS]
    if field.type == FieldDescriptor.TYPE_BOOL:
        return [("true", True)]
    return []


def mutations(descriptor: Descriptor, audio: list[tuple[str, bytes]], depth: int = 0
              ) -> Iterator[tuple[str, list[FieldDescriptor], object]]:
    """(label, field path, value) for each hostile value of each leaf field, ``depth`` messages deep at most."""
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry or depth >= 3:
                continue
            for label, path, value in mutations(field.message_type, audio, depth + 1):
                yield f"{field.name}.{label}", [field, *path], value
            continue
        for label, value in leaf_values(field, audio):
            yield f"{field.name}={label}", [field], value


def apply(message: Message, path: list[FieldDescriptor], value: object, condition_key: str) -> None:
    """Set the leaf at ``path`` (a new element of each repeated field on the way).

    Filter conditions on the way test ``condition_key``, so the hostile value reaches the filter's checks.
    """
    field, rest = path[0], path[1:]
    repeated = field.is_repeated
    if rest:
        child = getattr(message, field.name).add() if repeated else getattr(message, field.name)
        if child.DESCRIPTOR.full_name == "paraseek.v1.Condition":
            child.key = condition_key
        apply(child, rest, value, condition_key)
        if not repeated:
            getattr(message, field.name).SetInParent()
    elif repeated:
        getattr(message, field.name).append(value)
    else:
        setattr(message, field.name, value)


def nested_filter(depth: int) -> paraseek_pb2.SearchRequest:
    request = paraseek_pb2.SearchRequest(collection=COLLECTION, text="a calm voice")
    condition = request.filter.must.add()
    for _ in range(depth):
        condition = condition.filter.must.add()
    condition.key, condition.match_keyword = "gender", "female"
    return request


def oversized(clip: bytes) -> list[Case]:
    """Requests over the counts, lengths and message size the server allows."""
    many_audio = [paraseek_pb2.AudioInput(data=b"RIFF")] * 5000
    requests = {
        "EmbedText": [("100k texts", paraseek_pb2.EmbedTextRequest(texts=["a voice"] * 100_000)),
                      ("40 MB of text", paraseek_pb2.EmbedTextRequest(texts=["x" * 1_000_000] * 40))],
        "Search": [("10k negatives", paraseek_pb2.SearchRequest(
                       text="calm", negatives=[paraseek_pb2.NegativeDescription(text="loud")] * 10_000)),
                   ("100k payload fields", paraseek_pb2.SearchRequest(text="calm", payload_fields=["a.b"] * 100_000)),
                   ("filter 60 deep", nested_filter(60)), ("filter 200 deep", nested_filter(200)),
                   ("10k conditions", paraseek_pb2.SearchRequest(text="calm", where=" ".join(["gender=male"] * 10_000)))],
        "Classify": [("10k styles", paraseek_pb2.ClassifyRequest(audio=paraseek_pb2.AudioInput(data=clip),
                                                                 styles=["calm"] * 10_000))],
        "Rerank": [("5000 clips", paraseek_pb2.RerankRequest(text="calm", clips=[b"RIFF"] * 5000)),
                   ("33 real clips", paraseek_pb2.RerankRequest(text="calm", clips=[clip] * 33))],
        "EmbedAudio": [("5000 clips", paraseek_pb2.EmbedAudioRequest(clips=many_audio))],
    }
    return [Case(method, name, request.SerializeToString())
            for method, named in requests.items() for name, request in named]


def all_cases(clip: bytes) -> list[Case]:
    rng = random.Random(SEED)
    audio = odd_audio()
    bases = base_requests(clip)
    cases = []
    for method in SERVICE.methods:
        cases += [Case(method.name, f"random {size} bytes #{i}", rng.randbytes(size))
                  for size in (1, 2, 7, 64, 1024, 65536) for i in range(3)]
        descriptor = method.input_type
        base = bases.get(method.name)
        for label, path, value in mutations(descriptor, audio):
            in_filter = any(f.message_type is not None and f.message_type.name == "Condition" for f in path)
            for key in CONDITION_KEYS if in_filter else CONDITION_KEYS[:1]:
                message = GetMessageClass(descriptor)()
                if base is not None:
                    message.MergeFrom(base)
                apply(message, path, value, key)
                cases.append(Case(method.name, f"{label} (key {key})" if in_filter else label,
                                  message.SerializeToString()))
    return cases + oversized(clip)


# --- the run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    case: Case
    code: grpc.StatusCode
    error_type: str
    details: str
    seconds: float


def send(channel: grpc.Channel, case: Case) -> Answer:
    call = channel.unary_unary(f"/{SERVICE.full_name}/{case.method}")  # identity (de)serializers: raw bytes
    started = time.monotonic()
    try:
        call(case.payload, timeout=CASE_SECONDS)
        return Answer(case, grpc.StatusCode.OK, "", "", time.monotonic() - started)
    except grpc.RpcError as error:
        trailing = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
        return Answer(case, error.code(), str(trailing.get(ERROR_TYPE_METADATA_KEY, "")),  # type: ignore[attr-defined]
                      (error.details() or "")[:300], time.monotonic() - started)  # type: ignore[attr-defined]


def test_every_rpc_survives_hostile_input(served: ServeProcess, figures: Figures) -> None:
    clip = voice_clip()
    cases = all_cases(clip)
    assert {case.method for case in cases} == {method.name for method in SERVICE.methods}
    if not FULL:
        cases = random.Random(SEED).sample(cases, min(FAST_SAMPLE, len(cases)))
    options = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]
    rss_before = rss_bytes(served.pid)
    started = time.monotonic()
    with grpc.insecure_channel(served.address, options=options) as channel:
        answers = [send(channel, case) for case in cases]
    elapsed = time.monotonic() - started
    rss_after = rss_bytes(served.pid)
    idle = cpu_share(served.pid)

    codes: dict[str, int] = {}
    for answer in answers:
        codes[answer.code.name] = codes.get(answer.code.name, 0) + 1
    bad = [a for a in answers if a.code in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)]
    late = [a for a in answers if a.code == grpc.StatusCode.DEADLINE_EXCEEDED or a.seconds > CASE_SECONDS]
    figures(cases=len(answers), codes=codes, seconds=round(elapsed, 1),
            slowest_ms=round(max(a.seconds for a in answers) * 1e3, 1),
            rss_before_mb=round(rss_before / 2**20, 1), rss_growth_mb=round((rss_after - rss_before) / 2**20, 1),
            idle_cpu_share=round(idle, 3))
    assert not bad, sorted({(a.case.method, a.case.name, a.code.name, a.error_type, a.details) for a in bad})[:40]
    assert not late, [(a.case.method, a.case.name, a.code.name, round(a.seconds, 2)) for a in late[:20]]
    assert rss_after - rss_before < MAX_RSS_GROWTH
    assert idle < IDLE_CPU_SHARE
    assert served.process.poll() is None
