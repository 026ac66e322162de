"""Random English sentences for synthetic speech, from templates and word lists.

Every sentence belongs to exactly one split by a hash of its text (one in five is "test"), so test
sentences never occur in training, whatever the seed or corpus size.
"""

from __future__ import annotations

import hashlib
import random

from paraseek.errors import InvalidArgument

_NAMES = ["Anna", "Peter", "Maria", "James", "Laura", "Daniel", "Sofia", "Thomas", "Helen", "Oliver",
          "Grace", "Samuel", "Emma", "Lucas", "Clara", "Henry", "Julia", "Victor", "Nora", "Felix",
          "Irene", "Martin", "Alice", "George", "Ruth", "Simon", "Diana", "Oscar", "Paula", "Arthur"]
_NOUNS = ["garden", "kitchen", "letter", "window", "river", "market", "bicycle", "teacher", "doctor",
          "station", "bridge", "library", "picture", "machine", "village", "harbour", "engine", "ticket",
          "basket", "candle", "mountain", "forest", "meeting", "report", "concert", "journey", "painting",
          "hospital", "airport", "museum", "question", "answer", "message", "package", "recipe", "island",
          "castle", "camera", "blanket", "guitar", "lantern", "carpet", "orchard", "tunnel", "factory",
          "festival", "notebook", "umbrella", "jacket", "puzzle", "horse", "kitten", "neighbour", "sailor",
          "farmer", "student", "driver", "captain", "baker", "singer"]
_ADJECTIVES = ["old", "new", "small", "large", "quiet", "busy", "green", "yellow", "broken", "shiny",
               "heavy", "empty", "narrow", "ancient", "modern", "wooden", "golden", "famous", "strange",
               "lovely", "simple", "careful", "friendly", "distant", "crowded", "hidden", "colourful",
               "gentle", "tiny", "enormous", "dusty", "fresh", "frozen", "lucky", "secret"]
_PAST_VERBS = ["found", "painted", "opened", "visited", "repaired", "carried", "cleaned", "watched",
               "described", "borrowed", "returned", "discovered", "photographed", "ordered", "delivered",
               "followed", "counted", "measured", "packed", "remembered"]
_BASE_VERBS = ["find", "paint", "open", "visit", "repair", "carry", "clean", "watch", "describe", "borrow",
               "return", "discover", "order", "deliver", "follow", "count", "measure", "pack", "check", "move"]
_PLACES = ["near the station", "by the river", "behind the library", "at the market", "in the old town",
           "across the bridge", "on the hill", "next to the harbour", "under the big tree",
           "at the end of the street", "in the north wing", "outside the museum", "beside the lake"]
_TIMES = ["this morning", "last night", "on Monday", "after lunch", "before sunset", "next week",
          "every Sunday", "in the spring", "at noon", "tomorrow evening", "two days ago", "on Friday"]
_NUMBERS = ["two", "three", "four", "five", "six", "seven", "eight", "ten", "twelve", "twenty"]
_FEELINGS = ["surprised", "happy", "tired", "worried", "curious", "pleased", "confused", "excited"]

_TEMPLATES = [
    "The {adj} {noun} {past} the {noun2} {place}.",
    "{name} {past} a {adj} {noun} {time}.",
    "Please {base} the {adj} {noun} {place}.",
    "Did you {base} the {noun} {time}?",
    "We will {base} {number} {noun}s {time}.",
    "{name} said that the {noun} was {adj} {time}.",
    "I think the {noun} {place} is {adj}.",
    "{name} was {feeling} when the {noun} arrived {time}.",
    "The {noun} and the {noun2} are {place}.",
    "My {noun} {past} the {adj} {noun2} {time}.",
    "Could you {base} the {noun} for {name}?",
    "There are {number} {adj} {noun}s {place}.",
    "{name} and {name2} {past} the {noun} {time} {place}.",
    "Nobody knew why the {adj} {noun} was {place}.",
    "The {noun} {past} by {name} looked {adj}.",
    "{name} will {base} the {adj} {noun} {place}.",
]
_TEST_BUCKET = 0
_BUCKETS = 5


def sentence_split(text: str) -> str:
    """The split ("train" or "test") a sentence belongs to, fixed by a hash of its text."""
    bucket = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") % _BUCKETS
    return "test" if bucket == _TEST_BUCKET else "train"


def _fill(rng: random.Random) -> str:
    template = rng.choice(_TEMPLATES)
    name, name2 = rng.sample(_NAMES, 2)
    noun, noun2 = rng.sample(_NOUNS, 2)
    return template.format(
        adj=rng.choice(_ADJECTIVES), noun=noun, noun2=noun2, past=rng.choice(_PAST_VERBS),
        base=rng.choice(_BASE_VERBS), place=rng.choice(_PLACES), time=rng.choice(_TIMES),
        name=name, name2=name2, number=rng.choice(_NUMBERS), feeling=rng.choice(_FEELINGS))


def random_sentence(rng: random.Random, split: str, min_words: int, max_words: int) -> str:
    """A sentence of the given split with ``min_words``..``max_words`` words (loosened if none is found)."""
    for attempt in range(400):
        text = _fill(rng)
        words = len(text.split())
        slack = attempt // 100
        if sentence_split(text) == split and min_words - slack <= words <= max_words + slack:
            return text
    raise InvalidArgument(f"no {split} sentence has {min_words}-{max_words} words")


#: Marks a pause inside a planned sentence; the renderer turns it into silence (an SSML break for
#: espeak-ng, a comma for flite) and the transcript drops it.
PAUSE = "|"
_FILLERS = ["um", "uh", "er", "erm", "well", "uh, well"]


def _word_slots(words: list[str], count: int, rng: random.Random) -> list[int]:
    return sorted(rng.sample(range(1, len(words)), min(count, len(words) - 1)))


def hesitate(text: str, rng: random.Random, count: int) -> str:
    """Insert ``count`` hesitations (a pause, sometimes a filler such as "um", another pause) between words."""
    words = text.split()
    for slot in reversed(_word_slots(words, count, rng)):
        filler = [rng.choice(_FILLERS), PAUSE] if rng.random() < 0.75 else []
        words[slot:slot] = [PAUSE, *filler]
    return " ".join(words)


def stammer(text: str, rng: random.Random, count: int) -> str:
    """Repeat the start of ``count`` words two or three times ("ga- ga- garden", "the, the, the")."""
    words = text.split()
    for slot in sorted(rng.sample(range(len(words)), min(count, len(words))), reverse=True):
        word = words[slot].strip(".,?")
        vowel = next((i for i, ch in enumerate(word.lower()) if ch in "aeiouy" and i > 0), len(word) - 1)
        onset = word if len(word) <= 3 or rng.random() < 0.4 else word[:vowel + 1]
        words[slot:slot] = [f"{onset}-"] * rng.randint(2, 3)
    return " ".join(words)


def punctuate(text: str, rng: random.Random) -> str:
    """Break the sentence into short phrases of one to three words separated by pauses."""
    words = text.split()
    out: list[str] = []
    while words:
        take = rng.randint(1, 3)
        out.extend(words[:take])
        words = words[take:]
        if words:
            out.append(PAUSE)
    return " ".join(out)


def spoken_text(planned: str) -> str:
    """The transcript of a planned sentence: pause marks removed."""
    return " ".join(w for w in planned.split() if w != PAUSE)
