"""Query understanding: which words of a description a model knows as styles, and which it does not.

A description is split into candidate phrases: its content words (stopwords, function words,
words every description shares, such as "voice", and scene nouns, such as "room", are dropped;
hyphenated words such as "low-pitched" stay whole) and each pair of adjacent content words ("low
pitched"). Each phrase is embedded in the zero-shot prompt and compared with the prompts of the
model's style tags (the embeddings :class:`~paraseek.model.zeroshot.ZeroShotScorer` holds). A phrase
is understood when its best tag scores at least the model's threshold; a pair replaces its two words
when it scores at least as well as both.

The threshold is calibrated for each model at load, deterministically: it is the
``CALIBRATION_QUANTILE`` quantile of the best scores of seeded made-up words and of everyday words
that name no way of speaking, so about one such word in twenty passes as understood.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from paraseek.model.zeroshot import prompt_texts

if TYPE_CHECKING:
    from paraseek.model.zeroshot import ZeroShotScorer

_STOPWORD_TEXT = """
a about above after again all also am an and any are as at be because been before being below but by can could
did do does doing down during each either few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just like me more most my myself neither no nor not of off on once
only or other our ours out over own quite rather really same she should so some somewhat such than that the their
them then there these they this those through to too under until up very was we were what when where which while
who whom why will with would you your yours slightly bit lot kind sort way
voice voices speaker speakers speaking speaks speak spoken speech talking talks talk person people
someone somebody sounding sounds sound style styled tone tones manner says saying said clip clips recording
room rooms space place line background
"""
#: Words of a description that carry no style: English function words, words every description shares,
#: and the nouns that scene phrases end in ("in an echoey room", "on a telephone line"), whose style is
#: their adjective's.
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

#: The most candidate words taken from one description (the rest are neither understood nor reported).
MAX_QUERY_WORDS = 24
#: The quantile of the nonsense scores that becomes the threshold.
CALIBRATION_QUANTILE = 0.95
#: Made-up words in the calibration set.
CALIBRATION_NONSENSE = 96
#: Everyday words that name no way of speaking, for calibration.
CALIBRATION_EVERYDAY = (
    "banana", "table", "computer", "mountain", "river", "yesterday", "purple", "seven", "bicycle", "window",
    "kitchen", "politics", "elephant", "paper", "garden", "carrot", "invoice", "galaxy", "spoon", "tuesday",
    "granite", "umbrella", "algebra", "village", "ticket", "lemon", "furniture", "harbour", "pencil", "orange",
)
_CONSONANTS = "bcdfghjklmnprstvwxz"
_VOWELS = "aeiou"
_ENDINGS = ("", "", "ian", "ish", "y", "ous", "ed", "ic")

#: What the calibration embeds with: texts -> (n, d) unit rows (the model's ``embed_text``).
Embed = Callable[[Sequence[str]], np.ndarray]

_WORD = re.compile(r"[^\W\d_]+(?:['\-][^\W\d_]+)*")


def made_up_words(count: int, seed: int = 0) -> list[str]:
    """``count`` pronounceable non-words (consonant-vowel syllables), the same for a given seed."""
    rng = random.Random(seed)
    words = []
    for _ in range(count):
        stem = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 4)))
        words.append(stem + rng.choice(_ENDINGS))
    return words


def candidate_phrases(text: str) -> tuple[list[str], list[str]]:
    """``(words, pairs)`` of a description: its content words in order (lower case, at most
    ``MAX_QUERY_WORDS``, each once) and the pairs of them that stand next to each other with only
    spaces between (``"low pitched"``)."""
    words: list[str] = []
    pairs: list[str] = []
    previous: str | None = None
    lowered = text.lower()
    end = 0
    for match in _WORD.finditer(lowered):
        word = match.group().strip("'").removesuffix("'s")
        if lowered[end:match.start()].strip():  # punctuation or digits end a run of adjacent words
            previous = None
        end = match.end()
        if word in STOPWORDS or len(word) < 2:
            previous = None
            continue
        if previous is not None and f"{previous} {word}" not in pairs:
            pairs.append(f"{previous} {word}")
        if word not in words:
            if len(words) == MAX_QUERY_WORDS:
                break
            words.append(word)
        previous = word
    return words, [pair for pair in pairs if all(part in words for part in pair.split(" "))]


@dataclass(frozen=True)
class QueryReading:
    """How a description maps to the model's styles.

    ``understood``: ``(tag, score)``, best first, each tag once: the best tag of every understood
    phrase. ``unknown``: the words the model does not know, in the description's order.
    """

    understood: list[tuple[str, float]]
    unknown: list[str]

    @classmethod
    def empty(cls) -> QueryReading:
        """The reading of a search without a description."""
        return cls([], [])


class QueryVocabulary:
    """The model's style tags as a vocabulary for descriptions, with the model's calibrated threshold.

    Built from a :class:`ZeroShotScorer` (its prompt embeddings); the calibration embeds its words
    once with ``embed`` (the model's ``embed_text``). Embedding the phrases of a description is left
    to the caller (:meth:`texts` gives what to embed), so it can go through a cache or a batcher.
    """

    def __init__(self, scorer: ZeroShotScorer, embed: Embed, *, seed: int = 0) -> None:
        names = [tag for tags in scorer.groups.values() for tag in tags]
        matrix = np.concatenate([scorer.tag_embeddings[group] for group in scorer.groups]) if names else np.zeros((0, 0))
        first = list(dict.fromkeys(names))
        rows = [names.index(tag) for tag in first]
        self.tags = first
        self.tag_embeddings = np.asarray(matrix, dtype=np.float32)[rows]
        #: the score a phrase needs against its best tag (a model without tags understands nothing: ``read`` says so)
        self.threshold = self._calibrate(embed, seed) if self.tags else 1.0

    def _calibrate(self, embed: Embed, seed: int) -> float:
        """The ``CALIBRATION_QUANTILE`` quantile of the best tag scores of words that are no style."""
        nonsense = made_up_words(CALIBRATION_NONSENSE, seed) + list(CALIBRATION_EVERYDAY)
        best = (np.asarray(embed(prompt_texts(nonsense))) @ self.tag_embeddings.T).max(axis=1)
        return float(np.quantile(best, CALIBRATION_QUANTILE))

    def best(self, embeddings: np.ndarray) -> list[tuple[str, float]]:
        """The best tag and its score for each prompted phrase embedding (rows of ``embeddings``)."""
        scores = np.asarray(embeddings, dtype=np.float32) @ self.tag_embeddings.T
        return [(self.tags[int(index)], float(row[index])) for row, index in zip(scores, scores.argmax(axis=1), strict=True)]

    @staticmethod
    def texts(phrases: Sequence[str]) -> list[str]:
        """What each phrase is embedded as: the zero-shot prompt around it."""
        return prompt_texts(phrases)

    def read(self, words: Sequence[str], pairs: Sequence[str], embeddings: np.ndarray) -> QueryReading:
        """The reading of a description from its ``candidate_phrases`` and their prompted embeddings
        (``embeddings``: the rows of ``texts(words + pairs)``, in that order)."""
        if not words or not self.tags:
            return QueryReading([], list(words))
        matches = dict(zip([*words, *pairs], self.best(embeddings), strict=True))
        covered: set[str] = set()
        chosen: list[str] = []
        for pair in pairs:
            first, second = pair.split(" ")
            score = matches[pair][1]
            if (score >= self.threshold and score >= max(matches[first][1], matches[second][1])
                    and not covered & {first, second}):
                chosen.append(pair)
                covered |= {first, second}
        chosen += [word for word in words if word not in covered and matches[word][1] >= self.threshold]
        understood: dict[str, float] = {}
        for phrase in chosen:
            tag, score = matches[phrase]
            understood[tag] = max(score, understood.get(tag, score))
        unknown = [word for word in words if word not in covered and matches[word][1] < self.threshold]
        return QueryReading(sorted(understood.items(), key=lambda item: -item[1]), unknown)
