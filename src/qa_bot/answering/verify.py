"""The grounding check: keep a generated sentence only if the passages back it.

A generated answer is split into sentences (`qa_bot.answering.sentences`). Each
sentence is checked against the passages it cites, ``[n]`` meaning the n-th
passage of the prompt, and is kept only if all of these hold (a sentence that
leaks the system prompt's canary, or is cut off, is removed outright):

1. **Facts.** Every number, date word, proper name, quoted phrase and web
   address in it occurs in a cited passage (after `normalise`, case-folded).
   A run of capitalised words ("Sadyr Japarov") must sit in one passage, so
   two real names cannot be spliced into a false one. An injected "PWNED",
   "Washington" or "evil.example.com" fails here: no passage holds it.
2. **Words.** At most `max_novel_words` content words (stemmed) that no cited
   passage contains: room for "held" against "took place", none for a new claim.
3. **About the news.** No claims about the sources ("The article does not
   mention ...", "The passage is about ..."): no passage can back those, and
   the model is only asked when the extractive answerer found an answer.
4. **Polarity.** The sentence is negated ("not", "never", "n't") exactly when
   its best passage is; embeddings barely tell "is leaving" from "is not
   considering leaving".
5. **Meaning.** The cosine between the sentence and its best cited passage
   sentence (the engine's `Embedder`) is at least `min_similarity`, a threshold
   set on the dev split only (`bench/calibrate_grounding.py`).

Citations: SmolLM2-135M wrote a ``[n]`` marker in 1 of 43 answers on the
dev split (2 of 43 with a worked example in the prompt), so a sentence
*without* one is checked against each passage in turn and, if one backs it, cited to that passage
(`attribute_uncited`; switch it off to demand the model's own citations). A
sentence whose citation points at a passage that does not back it is removed;
it is never re-attributed, since the model claimed a source it misread.

Left out: entailment models (none ships offline at a usable size) and
arithmetic ("four countries" when the passage lists them): such sentences are
removed, and the extractive answer stands in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa_bot.answering.prompts import CANARY
from qa_bot.answering.sentences import GeneratedSentence, split_passage
from qa_bot.index.embeddings import Embedder
from qa_bot.lexicon import STOPWORDS, content_stems, stem, words
from qa_bot.normalise import fold_case, normalise


@dataclass(frozen=True)
class GroundingParams:
    # Tuned on the dev split with all-MiniLM-L6-v2 (bench/calibrate_grounding.py).
    min_similarity: float = 0.59
    max_novel_words: int = 2
    attribute_uncited: bool = True


@dataclass(frozen=True)
class SentenceCheck:
    text: str  # the sentence without citation markers
    cited: tuple[int, ...]  # 0-based passage indices that back it (after attribution)
    supported: bool
    reason: str = ""  # why it was removed
    similarity: float = 0.0
    attributed: bool = False  # cited by the checker, not by the model


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th|s)?\b", re.I)
_NUMBER_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve thirteen fifteen twenty thirty "
    "forty fifty sixty hundred hundreds thousand thousands million millions billion billions "
    "trillion dozen dozens percent first second third fourth fifth sixth seventh eighth ninth "
    "tenth twice".split()
)
_TIME_WORDS = frozenset(
    "today tomorrow yesterday tonight monday tuesday wednesday thursday friday saturday sunday "
    "weekend".split()
)
_QUOTED = re.compile(r'"([^"]{2,})"')
_ADDRESS = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", re.I)
_NEGATION = re.compile(r"\b(not|no|never|none|nor|neither|without|cannot)\b|n't\b", re.I)
_ABOUT_THE_TEXT = re.compile(
    r"\b(the|this|that|these|each|every|no|which) "
    r"(article|articles|passage|passages|text|context)\b|"
    r"\b(not|n't|never) (say|says|mention|mentions|mentioned|"
    r"provide|provides|specify|specifies|state|states|contain|contains)\b|\bno information\b",
    re.I,
)
_ANSWER_PARTICLE = re.compile(r"^\W*(yes|no)\b\W*", re.I)
# Capitalised sentence openers that are ordinary words, not names.
_OPENERS = frozenset(
    "yes no however according overall instead meanwhile additionally finally first second "
    "also both leaders officials".split()
)


class GroundingChecker:
    def __init__(self, embedder: Embedder, params: GroundingParams | None = None) -> None:
        self.embedder = embedder
        self.params = params or GroundingParams()

    def check_sentence(self, sentence: GeneratedSentence, passages: Sequence[str]) -> SentenceCheck:
        text = sentence.text
        if not sentence.finished:
            return SentenceCheck(text, (), False, "unfinished sentence")
        if CANARY.casefold() in text.casefold():
            return SentenceCheck(text, (), False, "leaks the system prompt")
        if not content_stems(text):
            return SentenceCheck(text, (), False, "says nothing checkable")
        if _ABOUT_THE_TEXT.search(normalise(text)):
            # "The article does not mention X", "The passage is about Y": claims
            # about the sources rather than from them, which no passage can back.
            return SentenceCheck(text, (), False, "talks about the passages, not the news")
        cited = tuple(sorted({n - 1 for n in sentence.citations if 1 <= n <= len(passages)}))
        if cited:
            return self._against(text, cited, passages)
        if not sentence.citations and self.params.attribute_uncited:
            tries = [
                self._against(text, (i,), passages, attributed=True) for i in range(len(passages))
            ]
            backed = [t for t in tries if t.supported]
            if backed:
                return max(backed, key=lambda t: t.similarity)
            closest = max(tries, key=lambda t: t.similarity, default=None)
            reason = f"no passage backs it ({closest.reason})" if closest else "no passages"
            return SentenceCheck(text, (), False, reason, closest.similarity if closest else 0.0)
        return SentenceCheck(text, (), False, "cites no passage of the prompt")

    # -- the four tests -----------------------------------------------------------------

    def _against(
        self,
        text: str,
        cited: tuple[int, ...],
        passages: Sequence[str],
        *,
        attributed: bool = False,
    ) -> SentenceCheck:
        sources = [passages[i] for i in cited]
        missing = missing_facts(text, sources)
        if missing:
            return SentenceCheck(
                text, cited, False, f"{missing[0]!r} is in no cited passage", attributed=attributed
            )
        novel = novel_words(text, sources)
        if len(novel) > self.params.max_novel_words:
            return SentenceCheck(
                text, cited, False, f"new words: {', '.join(novel)}", attributed=attributed
            )
        pieces = [p for source in sources for p in split_passage(source)]
        scores = self._similarities(text, pieces)
        best = int(np.argmax(scores))
        similarity = round(float(scores[best]), 4)
        if _negated(text) != _negated(pieces[best]):
            return SentenceCheck(
                text, cited, False, "negation differs from the passage", similarity, attributed
            )
        if similarity < self.params.min_similarity:
            return SentenceCheck(
                text,
                cited,
                False,
                f"similarity {similarity:.2f} < {self.params.min_similarity:.2f}",
                similarity,
                attributed,
            )
        return SentenceCheck(text, cited, True, "", similarity, attributed)

    def _similarities(self, text: str, pieces: Sequence[str]) -> np.ndarray:
        return self.embedder.embed_documents(list(pieces)) @ self.embedder.embed_query(text)


def missing_facts(text: str, sources: Sequence[str]) -> list[str]:
    """Numbers, names, dates, quotes and addresses of `text` found in none of `sources`."""
    folded = [fold_case(s) for s in sources]
    source_words = [_word_keys(s) for s in sources]
    source_numbers = {n for s in sources for n in _numbers(s)}
    missing = [n for n in _numbers(text) if n not in source_numbers]
    for run in name_runs(text):
        # Every word of a run of names must occur in one and the same passage.
        if not any(all(_key(w) in found for w in run) for found in source_words):
            missing.append(" ".join(run))
    for token in _word_keys(text):
        if token in _NUMBER_WORDS | _TIME_WORDS and not any(token in f for f in source_words):
            missing.append(token)
    for phrase in _QUOTED.findall(normalise(text)) + _ADDRESS.findall(normalise(text)):
        if not any(fold_case(phrase).strip(" .,;:") in f for f in folded):
            missing.append(phrase)
    return missing


def name_runs(text: str) -> list[list[str]]:
    """Runs of capitalised words (names, titles, acronyms) in `text`."""
    tokens = words(_ANSWER_PARTICLE.sub("", normalise(text)))
    runs: list[list[str]] = []
    run: list[str] = []
    for position, token in enumerate(tokens + [""]):
        opener = position == 0 and (token.casefold() in STOPWORDS or token.casefold() in _OPENERS)
        if token[:1].isupper() and not opener:
            run.append(token)
            continue
        if run:
            runs.append(run)
        run = []
    return runs


def novel_words(text: str, sources: Sequence[str]) -> list[str]:
    """Content words of `text` (stemmed) that occur in none of `sources`."""
    known = {stem(w) for s in sources for w in words(s)}
    return [s for s in content_stems(_ANSWER_PARTICLE.sub("", text)) if s not in known]


def _numbers(text: str) -> set[str]:
    # "1,000" matches "1000", but "11" does not match "11th": the model wrote
    # "Russia's first in 11 years" against "the 11th of November".
    return {n.replace(",", "").casefold() for n in _NUMBER.findall(normalise(text))}


def _word_keys(text: str) -> set[str]:
    """Case-folded words of `text`, possessives stripped, hyphenated words also in parts."""
    keys = set()
    for word in words(text):
        keys.add(_key(word))
        keys.update(part for part in word.casefold().split("-") if part)
    return keys


def _key(word: str) -> str:
    return word.casefold().removesuffix("'s")


def _negated(text: str) -> bool:
    return bool(_NEGATION.search(_ANSWER_PARTICLE.sub("", normalise(text))))
