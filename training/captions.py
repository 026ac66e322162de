"""Natural-language captions for labelled styled-speech clips.

A caption names the speaker's gender and every non-default tag of the clip (default tags such as
"clear" or "clean" are mentioned now and then), with the synonyms people type into a search box:
"A woman with a deep, raspy voice speaks quickly in an echoey room."
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


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _finish(text: str) -> str:
    text = " ".join(text.split())
    return text[0].upper() + text[1:] + "."


def _caption(gender: str, tags: dict[str, str], rng: random.Random) -> str:
    mentioned = [t for t in tags.values() if t not in _DEFAULT_TAGS or rng.random() < _DEFAULT_MENTION_RATE]
    voice = [rng.choice(_VOICE_ADJ[t]) for t in mentioned if t in _VOICE_ADJ]
    speech = [t for t in mentioned if t in _SPEECH_ADJ]
    scene = [rng.choice(_SCENE[t]) for t in mentioned if t in _SCENE]
    rng.shuffle(scene)
    whispered = "whispered" in mentioned
    voiced = "voiced" in mentioned
    noun = rng.choice(_NOUNS[gender])
    shape = rng.randrange(3)
    if shape == 0:  # A woman with a deep, raspy voice speaks quickly in an echoey room.
        subject = f"{_article(noun)} {noun}"
        if voice:
            subject += f" with {_article(voice[0])} {', '.join(voice)} voice"
        verb = rng.choice(["whispers", "is whispering"] if whispered else ["speaks", "talks", "says something"])
        adverbs = [rng.choice(_ADVERB[t]) for t in speech if t in _ADVERB]
        if voiced and not adverbs:
            adverbs.append(rng.choice(_ADVERB["voiced"]))
        return _finish(" ".join([subject, verb, *adverbs, *scene]))
    if shape == 1:  # Whispered, slow speech from a man on a muffled line.
        adjectives = [rng.choice(_SPEECH_ADJ[t]) for t in speech]
        rng.shuffle(adjectives)
        if voiced:
            adjectives.append("voiced")
        head = f"{', '.join(adjectives)} speech" if adjectives else rng.choice(["speech", "a recording"])
        text = f"{head} from {_article(noun)} {noun}"
        if voice:
            text += f" with {_article(voice[0])} {' and '.join(voice) if len(voice) == 2 else ', '.join(voice)} voice"
        return _finish(" ".join([text, *scene]))
    # Male speaker, deep and raspy voice, fast and loud, over the phone.
    parts = [rng.choice((_WHISPER_HEAD if whispered else _GENDER_HEAD)[gender])]
    if voice:
        parts.append(f"{_join(voice)} voice")
    adjectives = [rng.choice(_SPEECH_ADJ[t]) for t in speech if t != "whispered"]
    if adjectives:
        parts.append(_join(adjectives))
    parts.extend(scene)
    return _finish(", ".join(parts))


def make_captions(gender: str, tags: dict[str, str], rng: random.Random, count: int) -> list[str]:
    """``count`` distinct captions (fewer if the tags allow only few) for a clip's gender and tags."""
    captions: list[str] = []
    for _ in range(count * 4):
        caption = _caption(gender, tags, rng)
        if caption not in captions:
            captions.append(caption)
        if len(captions) == count:
            break
    return captions
