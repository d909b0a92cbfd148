"""Does the reader's best sentence answer? A calibrator over several signals, not one threshold.

The reader's probability alone is not comparable from one question to the next: a casual question
gets lower scores than a SQuAD-style one for the same right sentence, and a question about a
detail the article never gives can score high on the sentence that names its subject. So the
decision reads several signals about the best sentence and the question, and a logistic
regression fitted on dev questions only (`scripts/fit_reader.py`) turns them into the probability
that the answer is right:

- ``top_logit``: the reader's logit for the best sentence (above 0: "answers");
- ``margin``: how far it leads the runner-up (for a lone sentence, the "no answer" slot at 0);
- ``answer_mass``: log of the summed odds over every sentence read (the reader was trained with a
  softmax over the sentences plus a "no answer" slot at 0: this is the slot's rival);
- ``dense_top``: MiniLM's cosine between the question and the best sentence. all-MiniLM-L6-v2 was
  trained on a billion pairs of everyday text: it knows casual wording the reader never saw;
- ``dense_lead``: how far the best sentence's cosine trails the best cosine read;
- ``type_match``: +1 when the question expects a date, number or name and the sentence has one,
  -1 when it has none, 0 when the question expects no such thing;
- ``unknown_words``: the share of the question's content words that occur nowhere in the
  articles ("Who is the *director* of Cepes?");
- ``casual``: the question was typed without capitals or a question mark.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass

from qa_bot.answering.answer_types import AnswerType
from qa_bot.lexicon import content_stems

FEATURES = (
    "top_logit",
    "margin",
    "answer_mass",
    "dense_top",
    "dense_lead",
    "type_match",
    "unknown_words",
    "casual",
)

_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
    "saturday sunday"
).split()
_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d|\d{1,2}(st|nd|rd|th)|yesterday|today|tomorrow|tonight|"
    r"(last|next|this) (week|month|year|season|weekend|spring|summer|autumn|winter)|"
    r"ago|decades?|centur(y|ies)|" + "|".join(_MONTHS) + r")\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|billion|trillion|dozen|half|quarter|double|twice|triple|"
    r"percent|per cent)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<=[\w,;:] )[A-Z][\w'’.-]+")


def type_match(answer_type: AnswerType, sentence: str) -> float:
    """+1 if the sentence holds what the question asks for, -1 if not, 0 if that is unknowable."""
    if answer_type is AnswerType.DATE:
        found = _DATE.search(sentence)
    elif answer_type is AnswerType.NUMBER:
        found = _NUMBER.search(sentence)
    elif answer_type in (AnswerType.PERSON, AnswerType.ENTITY, AnswerType.PLACE):
        found = _NAME.search(sentence)
    else:
        return 0.0
    return 1.0 if found else -1.0


def unknown_share(question: str, vocabulary: Container[str]) -> float:
    stems = content_stems(question)
    if not stems:
        return 0.0
    return sum(1 for s in stems if s not in vocabulary) / len(stems)


def is_casual(question: str) -> bool:
    return not any(c.isupper() for c in question) and "?" not in question


def signals(
    *,
    logits: Sequence[float],
    dense: Sequence[float],
    best: int,
    answer_type: AnswerType,
    sentence: str,
    question: str,
    typed: str,
    vocabulary: Container[str],
) -> dict[str, float]:
    """The calibrator's inputs for the candidate at `best` among everything read: `question` is
    what the reader was asked, `typed` what the user typed."""
    top = float(logits[best])
    others = [float(x) for i, x in enumerate(logits) if i != best]
    # A lone sentence's rival is the "no answer" slot the reader was trained with, at logit 0
    # (it used to get the maximum margin, so a one-sentence text was always "clearly best").
    runner_up = max(others) if others else 0.0
    peak = max(logits)
    mass = peak + math.log(sum(math.exp(float(x) - peak) for x in logits))
    return {
        "top_logit": top,
        "margin": min(top - runner_up, 10.0),
        "answer_mass": mass,
        "dense_top": float(dense[best]),
        "dense_lead": float(dense[best]) - max(float(d) for d in dense),
        "type_match": type_match(answer_type, sentence),
        "unknown_words": unknown_share(question, vocabulary),
        "casual": 1.0 if is_casual(typed) else 0.0,
    }


@dataclass(frozen=True)
class Calibrator:
    """A logistic regression over `FEATURES`: P(the best sentence answers the question)."""

    weights: Mapping[str, float]
    bias: float

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.bias + sum(w * features.get(name, 0.0) for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    @classmethod
    def from_dict(cls, raw: Mapping) -> Calibrator:
        weights = {k: float(v) for k, v in raw.get("weights", {}).items() if k in FEATURES}
        return cls(weights, float(raw.get("bias", 0.0)))

    def to_dict(self) -> dict:
        return {"weights": dict(self.weights), "bias": self.bias}

    @classmethod
    def reader_only(cls) -> Calibrator:
        """Before any fit: the reader's own probability (its logit, unchanged)."""
        return cls({"top_logit": 1.0}, 0.0)
