"""Labelled styled-speech corpus from Debian's speech synthesisers and sox.

``generate_corpus(out_dir, n_clips, seed=..., workers=...)`` writes ``clips/NNNNNN.flac`` (16 kHz mono,
2-6 s) and ``manifest.jsonl`` with one row per clip::

    {"path": "clips/000012.flac", "duration": 3.42, "speaker": "espeak:en-us+m3", "voice": "en-us+m3",
     "engine": "espeak-ng", "gender": "male", "tags": {"gender": "male", "speed": "fast", ...},
     "captions": ["A man speaks quickly ..."], "transcript": "...", "split": "train", "sample_rate": 16000}

How each tag is made (random values inside each class, gaps between classes):

- gender: the voice's gender (espeak-ng variants with a documented gender, flite's kal16/awb/rms (male) and
  slt (female)).
- pitch, relative to the gender (no tag = middle setting): espeak-ng ``-p`` (male 0-18 / 38-60 / 80-97,
  female 14-30 / 45-62 / 84-99);
  flite ``int_f0_target_mean`` (male 70-88 / 100-125 / 150-185 Hz, female 135-160 / 185-220 / 260-310 Hz);
  flite's rms voice ignores that setting and is shifted by sox ``pitch`` (-500..-300 / -80..80 /
  +350..+550 cents). Whispered clips have no pitch and no intonation tag.
- speed: espeak-ng ``-s`` 95-125 / 160-195 / 260-320 words per minute; flite ``duration_stretch``
  1.4-1.7 / 0.9-1.1 / 0.55-0.68.
- volume: the speech's active-frame RMS is set to -38..-32 (quiet) / -27..-21 / -16..-12 dBFS (loud) at
  the very end, with a soft limiter above -3 dBFS that keeps peaks below full scale. No later
  normalisation.
- whisper: espeak-ng's ``whisper``/``whisperf`` variants (training voices only), or any voice turned into
  a whisper by replacing its excitation with noise under the voice's own spectral envelope.
- texture: rough = sox ``overdrive`` gain 15-30; creaky = glottal-fry-like pulses (22-40 Hz, jittered)
  imposed on a voice whose pitch is low or middle, sometimes espeak-ng's ``croak`` voice; smooth = neither.
- clarity: muffled = two sox ``lowpass`` at 450-900 Hz; telephone-like = sox ``sinc`` 250-400 to
  3000-3500 Hz; clear = neither.
- environment: echoey = sox ``reverb`` (reverberance 60-95 %, room scale 60-100 %); noisy = white, pink,
  brown or babble-like noise at 5-15 dB SNR; clean = neither.
- intonation (only where the engine controls it, otherwise the group is absent): espeak-ng SSML
  ``<prosody range>`` 0-10 (monotonous) or +60..+100 % (expressive); flite ``int_f0_target_stddev``
  1-4 Hz or 60-90 Hz (kal16: 30-40 Hz). Flite's rms voice has no such control.

Style set 2 (``styles=2``, the corpora of paraseek-mini-v2) adds three groups drawn from a second
generator seeded with ``(seed, clip index, "v2")``, so that style set 1 stays bit-identical:

- breathiness (voiced clips): breathy = the voice mixed with its own noise-excited copy (30-55 % of the
  power) or with aspiration noise (high-passed noise that follows the speech envelope, 6-12 dB below
  it); modal = neither.
- rhythm: flowing (the sentence as written); punctuated = espeak-ng word gaps of 180-350 ms, or
  phrases of 1-3 words separated by 250-500 ms pauses; hesitant = 1-2 pauses of 350-900 ms, mostly
  with a filler ("um", "uh", "er", "well"); stammering = the start of 1-2 words repeated 2-3 times
  ("ga- ga- garden"); singsong (espeak-ng) = words or word pairs alternately raised 30-60 % and
  lowered 15-35 % in pitch with SSML ``<prosody pitch>`` (no intonation tag); enunciated (espeak-ng)
  = 60-100 ms gaps after every word and a treble boost of 3-6 dB at 3 kHz. Flite renders pauses as
  ellipses.
- emotion (voiced clips, half of them neutral): each emotion is a vocal-affect profile after Scherer
  (1986) and Juslin & Laukka (2003), drawn afresh for every clip, so no single effect stands for it.
  The profile redraws pitch, speed, volume and intonation from its own weights (so those groups' tags
  stay true) and adds voice-quality effects with a probability each: angry = high/middle pitch,
  fast, loud, expressive, tense (treble +4..+9 dB) and often rough; happy = high pitch, expressive,
  bright (treble +2..+5 dB); enthusiastic = high pitch, fast, loud, very expressive, bright; sad = low
  pitch, slow, quiet, monotonous, dark (treble -4..-9 dB), often breathy; scared = high pitch, fast,
  tremolo 5-9 Hz (depth 20-50 %), often breathy; sleepy = low pitch, slow, quiet, monotonous, dark,
  often creaky or breathy; calm = middle/low pitch, slow or middle speed, quiet or middle level,
  narrow-to-middle range, smooth, slightly dark.

Style set 3 (``styles=3``; the model card's emotion experiment) is style set 2 with emotion profiles whose key
cues are always present (``DISTINCT_EMOTION_PROFILES``), so no emotion is rendered as a draw that neutral
clips also take: angry = loud, tense (treble +5..+9 dB) and rough (or creaky), mostly fast, high or
middle pitch; happy = expressive and bright (treble +2..+5 dB) at middle speed and level, mostly high;
enthusiastic = expressive, bright, fast and loud, mostly high; sad = dark (treble -5..-9 dB) and breathy,
mostly low, slow, quiet and monotonous; scared = tremolo 5-9 Hz, mostly high and fast, often breathy;
sleepy = dark, creaky (or rough), slow and monotonous, mostly low and quiet; calm = slow, monotonous and
slightly dark (treble -2..-4 dB) at middle level. A rhythm's own treble boost adds to the emotion's.
Each cue's size is drawn for every clip, and the voices, engines and sentences vary as in set 2.

Style set 4 (``styles=4``) is style set 3 whose neutral clips speak at middle pitch, speed and intonation (no
tag in those groups), so a neutral clip never carries the prosodic cues that tell the emotions apart; its level,
texture, breathiness, clarity and room are drawn as in set 3. Every other clip is set 3's, clip for clip.

Held-out split: a fixed set of voices (``TEST_VOICES``: espeak-ng variants m7, Hugo, victor, paul, f4,
linda, steph2 with any accent, and flite's awb) speaks only "test" clips and never "train" clips; sentences
belong to a split by a hash of their text (``synth_text.sentence_split``), so test clips say sentences
that no training clip says. The last clip of every block of ``round(1 / test_fraction)`` is a test clip.

Determinism and resumption: every clip's attributes, parameters, sentences and noise seed come from
``numpy``/``random`` generators seeded with ``(seed, clip index)``; the engines, sox (``-R``, float
output, no dither) and libFLAC are deterministic, so the same seed and clip count give the same manifest
and the same audio bytes. Next to each clip a ``.json`` file records its manifest row and a hash of its
plan; a re-run skips clips whose audio and record exist and match the plan, and rebuilds the manifest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import escape

import numpy as np

from paraseek.errors import Internal, InvalidArgument, MissingDependency
from paraseek.training.captions import make_captions
from paraseek.training.synth_acoustics import active_mask, active_rms_dbfs, soft_limit
from paraseek.training.synth_text import PAUSE, hesitate, punctuate, random_sentence, spoken_text, stammer

STYLE_GROUPS: dict[str, list[str]] = {
    "gender": ["male", "female"],
    "pitch": ["low-pitched", "high-pitched"],
    "speed": ["slow", "fast"],
    "volume": ["quiet", "loud"],
    "whisper": ["whispered", "voiced"],
    "texture": ["rough", "creaky", "smooth"],
    "clarity": ["muffled", "telephone-like", "clear"],
    "environment": ["echoey", "noisy", "clean"],
    "intonation": ["monotonous", "expressive"],
    "breathiness": ["breathy", "modal"],
    "rhythm": ["flowing", "punctuated", "hesitant", "stammering", "singsong", "enunciated"],
    "emotion": ["angry", "happy", "sad", "scared", "sleepy", "enthusiastic", "calm", "neutral"],
}
#: The groups each style set renders: set 1 made paraseek-mini's corpus, set 2 paraseek-mini-v2's; sets 3 and 4
#: render set 2's groups with ``DISTINCT_EMOTION_PROFILES`` (set 4 also speaks neutral clips in the middle).
STYLE_SETS: dict[int, tuple[str, ...]] = {1: tuple(STYLE_GROUPS)[:9], 2: tuple(STYLE_GROUPS), 3: tuple(STYLE_GROUPS),
                                          4: tuple(STYLE_GROUPS)}

SAMPLE_RATE = 16000
MIN_DURATION = 2.0
MAX_DURATION = 6.0
MANIFEST_NAME = "manifest.jsonl"
APT_PACKAGES = ["espeak-ng", "sox", "libsox-fmt-all", "flite"]
_TOOLS = {"espeak-ng": "espeak-ng", "flite": "flite", "sox": "sox"}
_MAX_SPEECH_S = 5.4  # longest synthesised speech kept before a shorter sentence is tried
_PLAN_VERSION = 1

ESPEAK_ACCENTS = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd", "en-us-nyc"]
ESPEAK_VARIANTS: dict[str, str] = {
    **{v: "male" for v in ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "Andy", "Denis", "Diogo",
                           "Henrique", "Hugo", "Lee", "Marco", "antonio", "michel", "miguel", "sandro",
                           "travis", "victor", "paul", "robert", "gustave", "david", "quincy"]},
    **{v: "female" for v in ["f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "anika", "aunty",
                             "belinda", "grandma", "linda", "steph", "steph2", "steph3"]},
}
ESPEAK_WHISPER_VARIANTS = {"male": "whisper", "female": "whisperf"}
ESPEAK_CREAKY_VARIANT = "croak"
FLITE_VOICES: dict[str, str] = {"kal16": "male", "awb": "male", "rms": "male", "slt": "female"}
_FLITE_F0_CONTROL = {"kal16", "awb", "slt"}
TEST_VOICES: frozenset[str] = frozenset({"espeak-ng:m7", "espeak-ng:Hugo", "espeak-ng:victor", "espeak-ng:paul",
                                         "espeak-ng:f4", "espeak-ng:linda", "espeak-ng:steph2",
                                         "flite:awb"})

_FLITE_MEAN_F0 = {
    "male": {"low-pitched": (70, 88), None: (100, 125), "high-pitched": (150, 185)},
    "female": {"low-pitched": (135, 160), None: (185, 220), "high-pitched": (260, 310)},
}
_ESPEAK_PITCH = {
    "male": {"low-pitched": (0, 18), None: (38, 60), "high-pitched": (80, 97)},
    "female": {"low-pitched": (14, 30), None: (45, 62), "high-pitched": (84, 99)},
}
_SOX_PITCH_CENTS = {"low-pitched": (-500, -300), None: (-80, 80), "high-pitched": (350, 550)}
_ESPEAK_WPM = {"slow": (95, 125), None: (160, 195), "fast": (260, 320)}
_FLITE_STRETCH = {"slow": (1.4, 1.7), None: (0.9, 1.1), "fast": (0.55, 0.68)}
_LEVEL_DBFS = {"quiet": (-38, -32), None: (-27, -21), "loud": (-16, -12)}
_WORDS = {"slow": (4, 7), None: (5, 10), "fast": (7, 13)}


@dataclasses.dataclass(frozen=True)
class EmotionProfile:
    """Weights of the basic dimensions and probabilities/ranges of the voice-quality effects of an emotion."""

    pitch: dict[str | None, float]
    speed: dict[str | None, float]
    volume: dict[str | None, float]
    intonation: dict[str | None, float]
    treble_db: tuple[float, float] = (0.0, 0.0)
    treble_probability: float = 0.0
    rough: float = 0.0
    creaky: float = 0.0
    breathy: float = 0.15
    tremolo: float = 0.0


_HIGH, _LOW, _MID = "high-pitched", "low-pitched", None
EMOTION_PROFILES: dict[str, EmotionProfile] = {
    "angry": EmotionProfile({_HIGH: .5, _MID: .5}, {"fast": .6, None: .4}, {"loud": .8, None: .2},
                            {"expressive": .6, None: .4}, (4, 9), .8, rough=.5, breathy=0.0),
    "happy": EmotionProfile({_HIGH: .7, _MID: .3}, {"fast": .4, None: .6}, {"loud": .3, None: .7},
                            {"expressive": .8, None: .2}, (2, 5), .6, breathy=.1),
    "enthusiastic": EmotionProfile({_HIGH: .7, _MID: .3}, {"fast": .7, None: .3}, {"loud": .7, None: .3},
                                   {"expressive": 1.0}, (3, 6), .6, breathy=.05),
    "sad": EmotionProfile({_LOW: .6, _MID: .4}, {"slow": .7, None: .3}, {"quiet": .6, None: .4},
                          {"monotonous": .6, None: .4}, (-9, -4), .7, breathy=.4),
    "scared": EmotionProfile({_HIGH: .7, _MID: .3}, {"fast": .6, None: .4}, {"quiet": .3, None: .5, "loud": .2},
                             {None: .6, "expressive": .4}, breathy=.5, tremolo=.8),
    "sleepy": EmotionProfile({_LOW: .7, _MID: .3}, {"slow": .9, None: .1}, {"quiet": .7, None: .3},
                             {"monotonous": .8, None: .2}, (-9, -4), .6, creaky=.4, breathy=.4),
    "calm": EmotionProfile({_LOW: .4, _MID: .6}, {"slow": .5, None: .5}, {"quiet": .4, None: .6},
                           {"monotonous": .3, None: .7}, (-4, -2), .5, breathy=.1),
}
#: Style set 3's profiles: each emotion's key cues are always present (see the module docstring).
DISTINCT_EMOTION_PROFILES: dict[str, EmotionProfile] = {
    "angry": EmotionProfile({_HIGH: .6, _MID: .4}, {"fast": .8, None: .2}, {"loud": 1.0},
                            {"expressive": .8, None: .2}, (5, 9), 1.0, rough=1.0, breathy=0.0),
    "happy": EmotionProfile({_HIGH: .9, _MID: .1}, {None: 1.0}, {None: 1.0}, {"expressive": 1.0}, (2, 5), 1.0,
                            breathy=0.0),
    "enthusiastic": EmotionProfile({_HIGH: .8, _MID: .2}, {"fast": 1.0}, {"loud": 1.0}, {"expressive": 1.0},
                                   (2, 5), 1.0, breathy=0.0),
    "sad": EmotionProfile({_LOW: .8, _MID: .2}, {"slow": .9, None: .1}, {"quiet": .9, None: .1},
                          {"monotonous": .9, None: .1}, (-9, -5), 1.0, breathy=1.0),
    "scared": EmotionProfile({_HIGH: .8, _MID: .2}, {"fast": .8, None: .2}, {"quiet": .4, None: .6},
                             {None: .5, "expressive": .5}, breathy=.5, tremolo=1.0),
    "sleepy": EmotionProfile({_LOW: .8, _MID: .2}, {"slow": 1.0}, {"quiet": .9, None: .1}, {"monotonous": 1.0},
                             (-9, -5), 1.0, creaky=1.0, breathy=0.0),
    "calm": EmotionProfile({_LOW: .3, _MID: .7}, {"slow": 1.0}, {None: 1.0}, {"monotonous": 1.0}, (-4, -2), 1.0,
                           breathy=0.0),
}
#: The emotion profiles of each style set that renders emotions.
_PROFILES_OF_SET = {2: EMOTION_PROFILES, 3: DISTINCT_EMOTION_PROFILES, 4: DISTINCT_EMOTION_PROFILES}
#: The style sets whose neutral clips have middle pitch, speed and intonation (no prosodic cue of an emotion).
_NEUTRAL_IN_THE_MIDDLE = frozenset({4})
_EMOTION_SHARE = 0.5
_RHYTHM_WEIGHTS: dict[str, float] = {"flowing": .5, "punctuated": .1, "hesitant": .1, "stammering": .1,
                                     "singsong": .1, "enunciated": .1}
_ESPEAK_ONLY_RHYTHMS = {"singsong", "enunciated"}
_PLAIN_BREATHY_SHARE = 0.18


def _plan_extended(rng: random.Random, engine: str, whispered: bool, choices: dict[str, str | None],
                   params: dict[str, Any], profiles: dict[str, EmotionProfile],
                   neutral_in_the_middle: bool = False) -> dict[str, str | None]:
    """Draw style set 2's (3's, 4's) tags for a clip; redraw ``choices`` by the emotion's profile (one of
    ``profiles``), or set a neutral clip's pitch, speed and intonation to the middle when
    ``neutral_in_the_middle``; add render params."""
    rhythms = {k: w for k, w in _RHYTHM_WEIGHTS.items() if engine == "espeak-ng" or k not in _ESPEAK_ONLY_RHYTHMS}
    rhythm = _pick(rng, rhythms)
    params["rhythm"] = {"tag": rhythm}
    if rhythm == "punctuated":
        method = "gap" if engine == "espeak-ng" and rng.random() < 0.5 else "phrases"
        params["rhythm"].update(method=method, gap=round(rng.uniform(18, 35)), pause_ms=round(rng.uniform(250, 500)))
    elif rhythm == "hesitant":
        params["rhythm"].update(count=rng.randint(1, 2), pause_ms=round(rng.uniform(350, 900)))
    elif rhythm == "stammering":
        params["rhythm"].update(count=rng.randint(1, 2))
    elif rhythm == "singsong":
        params["rhythm"].update(up=round(rng.uniform(30, 60)), down=round(rng.uniform(15, 35)), span=rng.randint(1, 2))
        choices["intonation"] = None
    elif rhythm == "enunciated":
        params["rhythm"].update(gap=round(rng.uniform(6, 10)))
        params["treble_db"] = _uniform(rng, (3, 6))
    if whispered:
        return {"rhythm": rhythm}
    emotion = rng.choice(sorted(profiles)) if rng.random() < _EMOTION_SHARE else None
    breathy_share = _PLAIN_BREATHY_SHARE
    if emotion is not None:
        profile = profiles[emotion]
        choices["pitch"] = _pick(rng, profile.pitch)
        if choices["texture"] == "creaky" and choices["pitch"] == _HIGH:
            choices["pitch"] = None
        choices["speed"] = _pick(rng, profile.speed)
        choices["volume"] = _pick(rng, profile.volume)
        if choices["intonation"] is not None:
            choices["intonation"] = _pick(rng, profile.intonation)
        if choices["texture"] == "smooth" and rng.random() < profile.rough:
            choices["texture"] = "rough"
        elif choices["texture"] == "smooth" and choices["pitch"] != _HIGH and rng.random() < profile.creaky:
            choices["texture"] = "creaky"
        if rng.random() < profile.treble_probability:
            params["treble_db"] = round(params.get("treble_db", 0.0) + rng.uniform(*profile.treble_db), 2)
        if rng.random() < profile.tremolo:
            params["tremolo"] = [_uniform(rng, (5, 9)), round(rng.uniform(20, 50))]
        breathy_share = profile.breathy
    elif neutral_in_the_middle:
        choices["pitch"] = choices["speed"] = choices["intonation"] = None
    if rng.random() < breathy_share:
        params["breathy"] = {"method": rng.choice(["mix", "aspiration"]), "share": _uniform(rng, (0.3, 0.55)),
                             "below_db": _uniform(rng, (6, 12))}
    return {"rhythm": rhythm, "breathiness": "breathy" if "breathy" in params else "modal",
            "emotion": emotion or "neutral"}


def _shape_sentence(text: str, rhythm: dict[str, Any], rng: random.Random) -> str:
    if rhythm["tag"] == "hesitant":
        return hesitate(text, rng, rhythm["count"])
    if rhythm["tag"] == "stammering":
        return stammer(text, rng, rhythm["count"])
    if rhythm["tag"] == "punctuated" and rhythm["method"] == "phrases":
        return punctuate(text, rng)
    return text


def check_tools() -> None:
    """Raise ``MissingDependency`` naming the apt-get command when a synthesiser or sox is missing."""
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        raise MissingDependency(
            f"{', '.join(missing)} not found; install with: apt-get install -y {' '.join(APT_PACKAGES)}")


@dataclasses.dataclass(frozen=True)
class ClipPlan:
    """Everything needed to render one clip, fixed before any audio is made."""

    index: int
    split: str
    engine: str
    voice: str
    speaker: str
    gender: str
    tags: dict[str, str]
    params: dict[str, Any]
    sentences: list[str]
    captions: list[str]
    noise_seed: int

    @property
    def stem(self) -> str:
        return f"clips/{self.index:06d}"

    def fingerprint(self) -> str:
        blob = json.dumps([_PLAN_VERSION, dataclasses.asdict(self)], sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _voices(engine: str, gender: str, split: str) -> list[str]:
    table = ESPEAK_VARIANTS if engine == "espeak-ng" else FLITE_VOICES
    held_out = split == "test"
    return sorted(v for v, g in table.items() if g == gender and (f"{engine}:{v}" in TEST_VOICES) == held_out)


Choice = TypeVar("Choice")


def _pick(rng: random.Random, weighted: dict[Choice, float]) -> Choice:
    keys = list(weighted)
    return rng.choices(keys, weights=[weighted[k] for k in keys])[0]


def _uniform(rng: random.Random, bounds: tuple[float, float], digits: int = 2) -> float:
    return round(rng.uniform(*bounds), digits)


def plan_clip(index: int, seed: int, split: str, styles: int = 1) -> ClipPlan:
    """The deterministic plan of clip ``index`` of a corpus generated with ``seed`` and style set ``styles``."""
    if styles not in STYLE_SETS:
        raise InvalidArgument(f"unknown style set {styles}; known: {sorted(STYLE_SETS)}")
    rng = random.Random(f"{seed}:{index}")
    gender = rng.choice(["male", "female"])
    engine = "flite" if rng.random() < 0.3 else "espeak-ng"
    if not _voices(engine, gender, split):
        engine = "espeak-ng"
    whispered = rng.random() < 0.15
    textures = {"rough": 0.15, "smooth": 0.85} if whispered else {"rough": 0.2, "creaky": 0.15, "smooth": 0.65}
    texture = _pick(rng, textures)
    pitch = None if whispered else _pick(rng, {"low-pitched": 0.3, None: 0.4, "high-pitched": 0.3})
    if texture == "creaky" and pitch == "high-pitched":
        pitch = rng.choice(["low-pitched", None])
    speed = _pick(rng, {"slow": 0.3, None: 0.4, "fast": 0.3})
    volume = _pick(rng, {"quiet": 0.3, None: 0.4, "loud": 0.3})
    clarity = _pick(rng, {"muffled": 0.15, "telephone-like": 0.15, "clear": 0.7})
    environment = _pick(rng, {"echoey": 0.2, "noisy": 0.2, "clean": 0.6})

    voice_name = rng.choice(_voices(engine, gender, split))
    whisper_method = None
    if whispered:
        whisper_method = "variant" if engine == "espeak-ng" and split == "train" and rng.random() < 0.5 else "noise"
        if whisper_method == "variant":
            voice_name = ESPEAK_WHISPER_VARIANTS[gender]
    elif texture == "creaky" and engine == "espeak-ng" and gender == "male" and split == "train" and rng.random() < 0.3:
        voice_name = ESPEAK_CREAKY_VARIANT
    intonation_control = not whispered and (engine == "espeak-ng" or voice_name in _FLITE_F0_CONTROL)
    intonation = _pick(rng, {"monotonous": 0.3, None: 0.4, "expressive": 0.3}) if intonation_control else None

    params: dict[str, Any] = {"whisper_method": whisper_method}
    extended: dict[str, str | None] = {}
    extended_rng = random.Random(f"{seed}:{index}:v2")
    if styles >= 2:
        redrawn: dict[str, str | None] = {"pitch": pitch, "speed": speed, "volume": volume, "intonation": intonation,
                                          "texture": texture}
        extended = _plan_extended(extended_rng, engine, whispered, redrawn, params, _PROFILES_OF_SET[styles],
                                  styles in _NEUTRAL_IN_THE_MIDDLE)
        pitch, speed, volume, intonation = redrawn["pitch"], redrawn["speed"], redrawn["volume"], redrawn["intonation"]
        texture = redrawn["texture"] or texture
    if engine == "espeak-ng":
        accent = rng.choice(ESPEAK_ACCENTS)
        voice = f"{accent}+{voice_name}"
        speaker = f"espeak:{voice}"
        params["pitch"] = round(rng.uniform(*_ESPEAK_PITCH[gender][pitch]))
        params["wpm"] = round(rng.uniform(*_ESPEAK_WPM[speed]))
        if intonation == "monotonous":
            params["range"] = str(round(rng.uniform(0, 10)))
        elif intonation == "expressive":
            params["range"] = f"+{round(rng.uniform(60, 100))}%"
    else:
        voice = voice_name
        speaker = f"flite:{voice}"
        params["stretch"] = _uniform(rng, _FLITE_STRETCH[speed])
        if voice_name in _FLITE_F0_CONTROL:
            if not whispered:
                params["f0_mean"] = _uniform(rng, _FLITE_MEAN_F0[gender][pitch], 1)
            if intonation == "monotonous":
                params["f0_stddev"] = _uniform(rng, (1, 4))
            elif intonation == "expressive":
                params["f0_stddev"] = _uniform(rng, (30, 40) if voice_name == "kal16" else (60, 90))
        elif not whispered:
            params["pitch_cents"] = round(rng.uniform(*_SOX_PITCH_CENTS[pitch]))
    if texture == "rough":
        params["overdrive"] = [_uniform(rng, (15, 30)), _uniform(rng, (10, 30))]
    elif texture == "creaky":
        params["fry"] = {"rate": _uniform(rng, (22, 40)), "decay_ms": _uniform(rng, (3, 7)),
                         "floor": _uniform(rng, (0.05, 0.2)), "jitter": 0.2}
    if clarity == "muffled":
        params["lowpass"] = round(rng.uniform(450, 900))
    elif clarity == "telephone-like":
        params["band"] = [round(rng.uniform(250, 400)), round(rng.uniform(3000, 3500))]
    if environment == "echoey":
        params["reverb"] = [round(rng.uniform(60, 95)), round(rng.uniform(20, 60)), round(rng.uniform(60, 100)),
                            round(rng.uniform(5, 40)), _uniform(rng, (-2, 3))]
    elif environment == "noisy":
        params["noise"] = {"snr_db": _uniform(rng, (5, 15)), "colour": rng.choice(["white", "pink", "brown", "babble"])}
    params["level_dbfs"] = _uniform(rng, _LEVEL_DBFS[volume])
    params["lead_s"] = _uniform(rng, (0.05, 0.3))

    chosen = {"gender": gender, "pitch": pitch, "speed": speed, "volume": volume,
            "whisper": "whispered" if whispered else "voiced", "texture": texture, "clarity": clarity,
            "environment": environment, "intonation": intonation, **extended}
    tags = {group: tag for group, tag in chosen.items() if tag is not None}
    words = _WORDS[speed]
    sentences = [random_sentence(rng, split, *words)] + [random_sentence(rng, split, 4, 6) for _ in range(2)]
    captions = make_captions(gender, tags, rng, rng.randint(1, 3))
    if styles >= 2:
        if params["rhythm"]["tag"] != "flowing":
            sentences = [random_sentence(extended_rng, split, 4, 7)] + sentences[1:]
        sentences = [_shape_sentence(text, params["rhythm"], extended_rng) for text in sentences]
        captions = make_captions(gender, tags, extended_rng, extended_rng.randint(1, 3), extended=True)
    return ClipPlan(index=index, split=split, engine=engine, voice=voice, speaker=speaker, gender=gender,
                    tags=tags, params=params, sentences=sentences, captions=captions,
                    noise_seed=rng.getrandbits(63))


def plan_corpus(n_clips: int, seed: int, test_fraction: float = 0.1, styles: int = 1) -> list[ClipPlan]:
    """Plans of all clips; clip ``i`` is "test" when it is the last of its block of ``1/test_fraction``."""
    if n_clips < 1:
        raise InvalidArgument("n_clips must be at least 1")
    if not 0.0 <= test_fraction < 1.0:
        raise InvalidArgument("test_fraction must lie in [0, 1)")
    block = round(1 / test_fraction) if test_fraction > 0 else 0
    return [plan_clip(i, seed, "test" if block and i % block == block - 1 else "train", styles) for i in range(n_clips)]


# --- rendering ---------------------------------------------------------------------------------


def _run(cmd: list[str], stdin: bytes | None = None) -> bytes:
    done = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        raise Internal(f"{cmd[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-400:]}")
    return done.stdout


def _synthesise(plan: ClipPlan, text: str, wav: Path) -> tuple[np.ndarray, int]:
    import soundfile

    p = plan.params
    if plan.engine == "espeak-ng":
        cmd = ["espeak-ng", "-v", plan.voice, "-p", str(p["pitch"]), "-s", str(p["wpm"]), "-w", str(wav)]
        if "gap" in p.get("rhythm", {}) and p["rhythm"].get("method") != "phrases":
            cmd += ["-g", str(p["rhythm"]["gap"])]
        markup = _espeak_markup(text, p)
        cmd += ["-m", markup] if markup else [text]
    else:
        text = text.replace(f" {PAUSE} ", "... ")
        cmd = ["flite", "-voice", plan.voice, "--setf", f"duration_stretch={p['stretch']}"]
        if "f0_mean" in p:
            cmd += ["--setf", f"int_f0_target_mean={p['f0_mean']}"]
        if "f0_stddev" in p:
            cmd += ["--setf", f"int_f0_target_stddev={p['f0_stddev']}"]
        cmd += ["-o", str(wav), "-t", text]
    _run(cmd)
    audio, rate = soundfile.read(wav, dtype="float64", always_2d=True)
    return audio.mean(axis=1), rate


def _espeak_markup(text: str, p: dict[str, Any]) -> str | None:
    """SSML for espeak-ng when the clip needs pauses, a pitch range or a singsong melody; else None."""
    rhythm = p.get("rhythm", {})
    if "range" not in p and PAUSE not in text and rhythm.get("tag") != "singsong":
        return None
    words = [escape(w) for w in text.split()]
    if rhythm.get("tag") == "singsong":
        span = rhythm["span"]
        steps = [" ".join(words[i:i + span]) for i in range(0, len(words), span)]
        words = [f'<prosody pitch="{"+" + str(rhythm["up"]) if k % 2 == 0 else "-" + str(rhythm["down"])}%">{w}</prosody>'
                 for k, w in enumerate(steps)]
    body = " ".join(words).replace(PAUSE, f'<break time="{rhythm.get("pause_ms", 300)}ms"/>')
    if "range" in p:
        body = f'<prosody range="{p["range"]}">{body}</prosody>'
    return f"<speak>{body}</speak>"


def breathe(x: np.ndarray, rate: int, breathy: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Add breathiness: mix in the voice's own noise-excited copy, or aspiration noise that follows the speech."""
    level = np.sqrt((x**2).mean()) + 1e-12
    if breathy["method"] == "mix":
        noise = whisperise(x, rate, rng)
        noise *= level / (np.sqrt((noise**2).mean()) + 1e-12)
        return np.sqrt(1 - breathy["share"]) * x + np.sqrt(breathy["share"]) * noise
    window = int(0.02 * rate)
    envelope = np.convolve(np.abs(x), np.ones(window) / window, mode="same")
    spectrum = np.fft.rfft(rng.standard_normal(len(x)))
    spectrum[np.fft.rfftfreq(len(x), 1 / rate) < 1500.0] = 0.0
    aspiration = np.fft.irfft(spectrum, len(x)) * envelope
    aspiration *= level * 10 ** (-breathy["below_db"] / 20) / (np.sqrt((aspiration**2).mean()) + 1e-12)
    return x + aspiration


def _trim_silence(x: np.ndarray, rate: int, margin_s: float = 0.06) -> np.ndarray:
    mask = active_mask(x, rate, floor_db=45.0)
    hop = int(0.010 * rate)
    on = np.flatnonzero(mask)
    start = max(0, on[0] * hop - int(margin_s * rate))
    end = min(len(x), (on[-1] + 4) * hop + int(margin_s * rate))
    return x[start:end]


def _stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    window = np.hanning(n_fft + 1)[:-1]
    padded = np.pad(x, (n_fft, n_fft + hop))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    return np.fft.rfft(frames * window, axis=1)


def _istft(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    window = np.hanning(n_fft + 1)[:-1]
    frames = np.fft.irfft(spec, n_fft, axis=1) * window
    out = np.zeros(hop * (len(frames) - 1) + n_fft)
    norm = np.zeros_like(out)
    for i, frame in enumerate(frames):
        out[i * hop:i * hop + n_fft] += frame
        norm[i * hop:i * hop + n_fft] += window**2
    return (out / np.maximum(norm, 1e-8))[n_fft:n_fft + length]


def whisperise(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Replace the voice's excitation by noise under its own (cepstrally smoothed) spectral envelope."""
    n_fft = 1 << int(np.ceil(np.log2(0.032 * rate)))
    hop = n_fft // 4
    spec = _stft(x, n_fft, hop)
    log_mag = np.log(np.abs(spec) + 1e-9)
    cepstrum = np.fft.irfft(log_mag, n_fft, axis=1)
    keep = int(0.0012 * rate)
    cepstrum[:, keep:n_fft - keep + 1] = 0.0
    envelope = np.exp(np.fft.rfft(cepstrum, n_fft, axis=1).real)
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    tilt = np.clip(freqs / 500.0, 0.05, 1.0)  # whispers carry little energy below ~500 Hz
    noise = _stft(rng.standard_normal(len(x)), n_fft, hop)
    noise /= np.sqrt((np.hanning(n_fft + 1)[:-1] ** 2).sum())
    return _istft(envelope * tilt * noise, n_fft, hop, len(x))


def _fry(x: np.ndarray, rate: int, fry: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Impose glottal-fry-like pulses: a jittered low-rate train of sharply decaying amplitude bursts."""
    period = rate / fry["rate"]
    count = int(len(x) / period) + 2
    starts = np.cumsum(period * (1 + fry["jitter"] * rng.uniform(-1, 1, count)))
    starts = np.concatenate([[0.0], starts])
    n = np.arange(len(x))
    last = starts[np.searchsorted(starts, n, side="right") - 1]
    envelope = fry["floor"] + (1 - fry["floor"]) * np.exp(-(n - last) / (fry["decay_ms"] * rate / 1000))
    return x * envelope


def _noise(length: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(length)
    if colour == "white":
        return white
    freqs = np.fft.rfftfreq(length, 1 / SAMPLE_RATE)
    exponent = {"pink": 0.5, "brown": 1.0, "babble": 0.5}[colour]
    shaped = np.fft.irfft(np.fft.rfft(white) / np.maximum(freqs, 20.0) ** exponent, length)
    if colour == "babble":  # pink noise band-limited to speech and modulated at syllable rates
        band = (freqs > 150) & (freqs < 4000)
        shaped = np.fft.irfft(np.fft.rfft(shaped) * band, length)
        t = np.arange(length) / SAMPLE_RATE
        rates = rng.uniform(2, 6, 4)
        phases = rng.uniform(0, 2 * np.pi, 4)
        shaped *= 1.2 + np.sin(2 * np.pi * rates[:, None] * t + phases[:, None]).mean(axis=0)
    return shaped


def _sox_effects(plan: ClipPlan) -> list[str]:
    p = plan.params
    effects = ["rate", "-v", str(SAMPLE_RATE)]
    if "pitch_cents" in p:
        effects += ["pitch", str(p["pitch_cents"])]
    if "overdrive" in p:
        effects += ["overdrive", *map(str, p["overdrive"])]
    if "treble_db" in p:
        effects += ["treble", str(p["treble_db"]), "3000"]
    if "tremolo" in p:
        effects += ["tremolo", *map(str, p["tremolo"])]
    if "lowpass" in p:
        effects += ["lowpass", str(p["lowpass"]), "lowpass", str(p["lowpass"])]
    if "band" in p:
        effects += ["sinc", f"{p['band'][0]}-{p['band'][1]}"]
    if "reverb" in p:
        reverberance, damping, room, predelay, wet_gain = p["reverb"]
        effects += ["pad", "0", "0.6", "reverb", str(reverberance), str(damping), str(room), "0",
                    str(predelay), str(wet_gain)]
    return effects


def render_audio(plan: ClipPlan, workdir: Path) -> tuple[np.ndarray, str]:
    """Synthesise and style one clip: (16 kHz float waveform, transcript)."""
    rng = np.random.default_rng(plan.noise_seed)
    raw = workdir / f"{plan.index}.wav"
    for attempt, text in enumerate(plan.sentences):
        speech, rate = _synthesise(plan, text, raw)
        speech = _trim_silence(speech, rate)
        if len(speech) / rate <= _MAX_SPEECH_S or attempt == len(plan.sentences) - 1:
            break
    raw.unlink(missing_ok=True)
    speech = speech[: int(_MAX_SPEECH_S * rate)]
    if plan.params["whisper_method"] == "noise":
        speech = whisperise(speech, rate, rng)
    if "fry" in plan.params:
        speech = _fry(speech, rate, plan.params["fry"], rng)
    if "breathy" in plan.params:
        speech = breathe(speech, rate, plan.params["breathy"], rng)
    speech = 0.3 * speech / (np.abs(speech).max() + 1e-12)
    sox = ["sox", "-R", "-V1", "-t", "f32", "-r", str(rate), "-c", "1", "-", "-t", "f32", "-r", str(SAMPLE_RATE),
           "-c", "1", "-", *_sox_effects(plan)]
    styled = np.frombuffer(_run(sox, speech.astype("<f4").tobytes()), dtype="<f4").astype(np.float64)
    styled = _trim_silence(styled, SAMPLE_RATE, margin_s=0.03)

    lead = int(plan.params["lead_s"] * SAMPLE_RATE)
    total = min(max(lead + len(styled) + int(0.1 * SAMPLE_RATE), int(MIN_DURATION * SAMPLE_RATE)),
                int(MAX_DURATION * SAMPLE_RATE))
    clip = np.zeros(total)
    body = styled[: total - lead]
    fade = min(len(body), int(0.03 * SAMPLE_RATE))
    body[len(body) - fade:] *= np.linspace(1, 0, fade)
    clip[lead:lead + len(body)] = body
    speech_level = active_rms_dbfs(body, SAMPLE_RATE)
    if "noise" in plan.params:
        noise = _noise(total, plan.params["noise"]["colour"], rng)
        noise_level = 10 * np.log10((noise**2).mean())
        clip += noise * 10 ** ((speech_level - plan.params["noise"]["snr_db"] - noise_level) / 20)
    clip *= 10 ** ((plan.params["level_dbfs"] - speech_level) / 20)
    return soft_limit(clip), spoken_text(text)


def _record_path(out_dir: Path, plan: ClipPlan) -> Path:
    return out_dir / f"{plan.stem}.json"


def _existing_row(out_dir: Path, plan: ClipPlan) -> dict[str, Any] | None:
    import soundfile

    record_path = _record_path(out_dir, plan)
    audio_path = out_dir / f"{plan.stem}.flac"
    if not (record_path.is_file() and audio_path.is_file()):
        return None
    try:
        record = json.loads(record_path.read_text())
        row = record["row"]
        if record["plan"] != plan.fingerprint():
            return None
        frames = soundfile.info(str(audio_path)).frames
    except (ValueError, RuntimeError, OSError, KeyError, TypeError):
        return None
    return row if abs(frames / SAMPLE_RATE - row["duration"]) <= 1e-3 else None


def render_clip(plan: ClipPlan, out_dir: Path) -> dict[str, Any]:
    """Render a clip into ``out_dir`` unless a valid copy exists; return its manifest row."""
    import soundfile

    row = _existing_row(out_dir, plan)
    if row is not None:
        return row
    audio_path = out_dir / f"{plan.stem}.flac"
    audio_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="paraseek-synth-") as tmp:
        audio, transcript = render_audio(plan, Path(tmp))
    partial = audio_path.with_suffix(".flac.part")
    soundfile.write(partial, audio.astype(np.float32), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    os.replace(partial, audio_path)
    row = {"path": f"{plan.stem}.flac", "duration": round(len(audio) / SAMPLE_RATE, 4), "speaker": plan.speaker,
           "voice": plan.voice, "engine": plan.engine, "gender": plan.gender, "tags": plan.tags,
           "captions": plan.captions, "transcript": transcript, "split": plan.split, "sample_rate": SAMPLE_RATE}
    record_path = _record_path(out_dir, plan)
    partial_record = record_path.with_suffix(".json.part")
    partial_record.write_text(json.dumps({"plan": plan.fingerprint(), "row": row}))
    os.replace(partial_record, record_path)
    return row


def _render_job(job: tuple[ClipPlan, str]) -> dict[str, Any]:
    plan, out_dir = job
    return render_clip(plan, Path(out_dir))


def generate_corpus(out_dir: Path, n_clips: int, *, seed: int = 0, test_fraction: float = 0.1, styles: int = 1,
                    workers: int | None = None,
                    progress: Callable[[int, int], None] | None = None) -> Path:
    """Generate (or complete) a corpus of ``n_clips`` clips in ``out_dir``; return the manifest path.

    ``styles`` picks the style set (``STYLE_SETS``). ``workers`` processes render clips in parallel
    (default: all cores); ``progress(done, total)`` is called after each clip. Existing valid clips
    are kept, so an interrupted run can simply be repeated.
    """
    check_tools()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plans = plan_corpus(n_clips, seed, test_fraction, styles)
    workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    jobs = [(plan, str(out_dir)) for plan in plans]
    rows: list[dict[str, Any]] = []
    if workers == 1:
        results = map(_render_job, jobs)
        for row in results:
            rows.append(row)
            if progress:
                progress(len(rows), n_clips)
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for row in pool.imap(_render_job, jobs, chunksize=4):
                rows.append(row)
                if progress:
                    progress(len(rows), n_clips)
    manifest = out_dir / MANIFEST_NAME
    partial = manifest.with_suffix(".jsonl.part")
    with partial.open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    os.replace(partial, manifest)
    return manifest


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``manifest.jsonl``."""
    with Path(path).open() as handle:
        return [json.loads(line) for line in handle if line.strip()]
