"""Natural-language captions for labelled styled-speech clips.

A caption names the speaker's gender and every non-default tag of the clip (default tags such as
"clear" or "clean" are mentioned now and then), with the synonyms people type into a search box:
"A woman with a deep, raspy voice speaks quickly in an echoey room."

``extended=True`` (the corpora of paraseek-mini-v2) adds the vocabulary of ParaSpeechCaps (silky,
vocal fry, husky for a breathy and rough voice, ...), the tags of the breathiness, rhythm and emotion
groups, and a fourth, compositional shape: "A breathy, deep voice speaking hesitantly."
"""

from __future__ import annotations

import random

_NOUNS = {
    "male": ["man", "male speaker", "man", "guy", "gentleman", "male voice"],
    "female": ["woman", "female speaker", "woman", "lady", "female voice"],
}
_GENDER_HEAD = {
    "male": ["male speaker", "male voice", "a man's voice", "man speaking"],
    "female": ["female speaker", "female voice", "a woman's voice", "woman speaking"],
}
_WHISPER_HEAD = {"male": ["male whisper", "a man whispering"], "female": ["female whisper", "a woman whispering"]}

# Adjectives that describe a voice ("a deep, raspy voice").
_VOICE_ADJ = {
    "low-pitched": ["deep", "low", "low-pitched"],
    "high-pitched": ["high", "high-pitched", "shrill"],
    "rough": ["rough", "raspy", "gravelly"],
    "creaky": ["creaky", "croaky"],
    "smooth": ["smooth"],
}
# Adjectives that describe speech ("slow, whispered speech").
_SPEECH_ADJ = {
    "slow": ["slow", "unhurried"],
    "fast": ["fast", "rapid", "quick"],
    "quiet": ["quiet", "soft", "hushed"],
    "loud": ["loud", "booming"],
    "whispered": ["whispered", "whispering"],
    "monotonous": ["monotonous", "flat", "monotone"],
    "expressive": ["expressive", "lively", "animated"],
}
# Adverbial phrases after the verb ("speaks quickly").
_ADVERB = {
    "slow": ["slowly", "at a slow pace", "in an unhurried way"],
    "fast": ["quickly", "fast", "rapidly", "at a rapid pace"],
    "quiet": ["quietly", "softly", "in a hushed voice"],
    "loud": ["loudly", "in a booming voice", "very loudly"],
    "monotonous": ["in a flat monotone", "monotonously", "with flat, monotonous intonation"],
    "expressive": ["expressively", "in a lively way", "with expressive intonation"],
    "voiced": ["in a normal voice", "aloud"],
}
# Phrases about the recording and the place.
_SCENE = {
    "muffled": ["on a muffled recording", "sounding muffled", "with a dull, muffled sound"],
    "telephone-like": ["over the phone", "on a telephone line", "with a telephone-like sound"],
    "clear": ["in a clear recording", "recorded clearly"],
    "echoey": ["in an echoey room", "in a reverberant space", "in a large hall", "with lots of echo"],
    "noisy": ["with background noise", "in a noisy place", "over background noise"],
    "clean": ["with no background noise", "in a clean recording", "in a dry studio"],
}
_DEFAULT_TAGS = {"voiced", "smooth", "clear", "clean"}
_DEFAULT_MENTION_RATE = 0.3

# The extended vocabulary: more synonyms for v1's tags, and the tags of the v2 groups.
_EXTENDED_VOICE_ADJ = {
    **_VOICE_ADJ,
    "low-pitched": ["deep", "low", "low-pitched", "deep, low"],
    "high-pitched": ["high", "high-pitched", "shrill", "thin, high"],
    "rough": ["rough", "raspy", "gravelly", "harsh"],
    "creaky": ["creaky", "croaky", "vocal-fry", "creaky, vocal-fry"],
    "smooth": ["smooth", "silky", "velvety"],
    "breathy": ["breathy", "airy", "breathy", "wispy"],
}
_EXTENDED_SPEECH_ADJ = {
    **_SPEECH_ADJ,
    "slow": ["slow", "unhurried", "leisurely"],
    "fast": ["fast", "rapid", "quick", "hurried"],
    "quiet": ["quiet", "soft", "hushed", "faint"],
    "loud": ["loud", "booming", "forceful"],
    "flowing": ["flowing", "fluent", "smooth-flowing"],
    "punctuated": ["punctuated", "choppy", "clipped"],
    "hesitant": ["hesitant", "halting", "faltering"],
    "stammering": ["stammering", "stuttering"],
    "singsong": ["singsong", "sing-song", "lilting"],
    "enunciated": ["enunciated", "carefully articulated", "precise"],
}
_EXTENDED_ADVERB = {
    **_ADVERB,
    "flowing": ["fluently", "in a smooth, flowing way", "without a break"],
    "punctuated": ["in short, punctuated phrases", "with pauses between short phrases", "in a choppy way"],
    "hesitant": ["hesitantly", "with hesitations like um and uh", "with long, hesitant pauses"],
    "stammering": ["with a stammer", "stuttering over words", "repeating the starts of words"],
    "singsong": ["in a singsong way", "with a lilting, sing-song melody", "in a singsong voice"],
    "enunciated": ["with careful enunciation", "enunciating every word", "articulating each word clearly"],
}
_EMOTION_ADJ = {
    "angry": ["angry", "furious", "irritated", "annoyed"],
    "happy": ["happy", "cheerful", "joyful"],
    "sad": ["sad", "sorrowful", "unhappy", "saddened"],
    "scared": ["scared", "frightened", "fearful", "afraid"],
    "sleepy": ["sleepy", "drowsy", "tired"],
    "enthusiastic": ["enthusiastic", "excited", "eager"],
    "calm": ["calm", "relaxed", "composed", "peaceful"],
}
_EXTENDED_DEFAULTS = _DEFAULT_TAGS | {"modal", "flowing", "neutral"}
_NEVER_MENTIONED = {"modal", "neutral"}


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _finish(text: str) -> str:
    text = " ".join(text.split())
    return text[0].upper() + text[1:] + "."


def _voice_words(mentioned: list[str], rng: random.Random, extended: bool) -> list[str]:
    if extended and {"breathy", "rough"} <= set(mentioned) and rng.random() < 0.6:
        mentioned = [t for t in mentioned if t not in ("breathy", "rough")] + ["husky"]
    table = _EXTENDED_VOICE_ADJ if extended else _VOICE_ADJ
    return [rng.choice(table[t]) if t in table else t for t in mentioned if t in table or t == "husky"]


def _caption(gender: str, tags: dict[str, str], rng: random.Random, extended: bool = False) -> str:
    defaults = _EXTENDED_DEFAULTS if extended else _DEFAULT_TAGS
    speech_table = _EXTENDED_SPEECH_ADJ if extended else _SPEECH_ADJ
    adverb_table = _EXTENDED_ADVERB if extended else _ADVERB
    mentioned = [t for t in tags.values() if t not in _NEVER_MENTIONED
                 and (t not in defaults or rng.random() < _DEFAULT_MENTION_RATE)]
    voice = _voice_words(mentioned, rng, extended)
    speech = [t for t in mentioned if t in speech_table]
    scene = [rng.choice(_SCENE[t]) for t in mentioned if t in _SCENE]
    rng.shuffle(scene)
    emotion = [rng.choice(_EMOTION_ADJ[t]) for t in mentioned if t in _EMOTION_ADJ]
    whispered = "whispered" in mentioned
    voiced = "voiced" in mentioned
    noun = rng.choice(_NOUNS[gender])
    shape = rng.randrange(4 if extended else 3)
    if shape == 0:  # A woman with a deep, raspy voice speaks quickly in an echoey room.
        person = " ".join([*emotion, noun])
        subject = f"{_article(person)} {person}"
        if voice:
            subject += f" with {_article(voice[0])} {', '.join(voice)} voice"
        verb = rng.choice(["whispers", "is whispering"] if whispered else ["speaks", "talks", "says something"])
        adverbs = [rng.choice(adverb_table[t]) for t in speech if t in adverb_table]
        if voiced and not adverbs:
            adverbs.append(rng.choice(_ADVERB["voiced"]))
        return _finish(" ".join([subject, verb, *adverbs, *scene]))
    if shape == 3:  # A breathy, deep voice speaking hesitantly, sounding sad, over the phone.
        head = f"{', '.join(voice)} {rng.choice(['voice', f'{gender} voice'])}" if voice else \
            rng.choice(_GENDER_HEAD[gender])
        verb = "whispering" if whispered else rng.choice(["speaking", "talking"])
        adverbs = [rng.choice(adverb_table[t]) for t in speech if t in adverb_table]
        mood = [f"sounding {' and '.join(emotion)}"] if emotion else []
        return _finish(f"{_article(head)} {head} {verb} {_join(adverbs)}" + "".join(f", {p}" for p in [*mood, *scene]))
    if shape == 1:  # Whispered, slow speech from a man on a muffled line.
        adjectives = [rng.choice(speech_table[t]) for t in speech]
        rng.shuffle(adjectives)
        if voiced:
            adjectives.append("voiced")
        head = f"{', '.join(adjectives)} speech" if adjectives else rng.choice(["speech", "a recording"])
        person = " ".join([*emotion, noun])
        text = f"{head} from {_article(person)} {person}"
        if voice:
            text += f" with {_article(voice[0])} {' and '.join(voice) if len(voice) == 2 else ', '.join(voice)} voice"
        return _finish(" ".join([text, *scene]))
    # Male speaker, deep and raspy voice, fast and loud, over the phone.
    parts = [rng.choice((_WHISPER_HEAD if whispered else _GENDER_HEAD)[gender])]
    if voice:
        parts.append(f"{_join(voice)} voice")
    adjectives = [rng.choice(speech_table[t]) for t in speech if t != "whispered"]
    if adjectives:
        parts.append(_join(adjectives))
    if emotion:
        parts.append(f"sounds {_join(emotion)}")
    parts.extend(scene)
    return _finish(", ".join(parts))


def make_captions(gender: str, tags: dict[str, str], rng: random.Random, count: int, *,
                  extended: bool = False) -> list[str]:
    """``count`` distinct captions (fewer if the tags allow only few) for a clip's gender and tags.

    ``extended`` uses the v2 vocabulary and shapes (see the module docstring).
    """
    captions: list[str] = []
    for _ in range(count * 4):
        caption = _caption(gender, tags, rng, extended)
        if caption not in captions:
            captions.append(caption)
        if len(captions) == count:
            break
    return captions
