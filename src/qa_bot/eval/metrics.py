"""Eval metrics as pure functions: known inputs give known scores.

Each function scores one case (or aggregates plain numbers); the runner in
`evaluate` applies them and the report averages them. Definitions:

- SQuAD token F1 / exact match: the SQuAD v1.1 evaluation script's
  normalisation (lower case, drop punctuation, drop the articles a/an/the,
  squeeze whitespace), after removing ``[n]`` citation markers.
- Evidence matching (for recall@k, MRR and citation precision): a passage
  *contains* an evidence item when the item's text, after `fold_case`, is a
  substring of the passage's; a passage that is a piece of a longer item (a
  long sentence split into chunks) counts when it covers at least half of it.
- Faithfulness: the answer is cut into *claims*, each ending at its ``[n]``
  markers (a citation covers every sentence since the previous citation);
  each sentence of a claim is *supported* when, normalised, it is a substring
  of its cited passages' text, or at least 90% of its content tokens occur in
  them. A sentence with no citation is unsupported, except one that says the
  article does *not* say something ("The article doesn't say: by how much?"):
  it claims nothing from the article, so it is not counted. This deliberately shares
  no code with the answerers' grounding check, so it can catch that check's
  mistakes.

Left out: anything that needs a model (semantic similarity, LLM judges).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

from qa_bot.normalise import fold_case

MARKER = re.compile(r"\s*\[\d+\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)
# Sentence ends: . ! ? (optionally closed by a quote or bracket) before whitespace.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)\]]))\s+")
SUPPORT_SHARE = 0.9  # content tokens of a sentence that must occur in its cited passages
# Function words that say nothing about support: a sentence is judged on the rest.
_STOPWORDS = frozenset(
    "a an the and or but of to in on at by for with from as is are was were be been being it its "
    "this that these those he she they his her their them which who whom what when where while "
    "also has have had not no do does did will would can could may might than then there here "
    "so such into over under about after before again once".split()
)


# -- SQuAD answer overlap --------------------------------------------------------------


def strip_markers(text: str) -> str:
    """The answer text without its ``[n]`` citation markers."""
    return MARKER.sub("", text).strip()


def squad_normalise(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD v1.1)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    return float(squad_normalise(strip_markers(prediction)) == squad_normalise(reference))


def token_f1(prediction: str, reference: str) -> float:
    predicted = squad_normalise(strip_markers(prediction)).split()
    expected = squad_normalise(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


# -- evidence in passages ------------------------------------------------------------------


def contains_evidence(passage: str, evidence: str) -> bool:
    """Whether `passage` holds the evidence item (or is at least half of it)."""
    passage, evidence = fold_case(passage), fold_case(evidence)
    if not passage or not evidence:
        return False
    if evidence in passage:
        return True
    return passage in evidence and len(passage) >= len(evidence) / 2


def first_relevant_rank(passages: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage holding any evidence item, or None."""
    for rank, passage in enumerate(passages, start=1):
        if any(contains_evidence(passage, item) for item in evidence):
            return rank
    return None


def recall_at_k(passages: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Share of evidence items held by at least one of the top `k` passages."""
    if not evidence:
        return 0.0
    top = passages[:k]
    found = sum(any(contains_evidence(p, item) for p in top) for item in evidence)
    return found / len(evidence)


def reciprocal_rank(passages: Sequence[str], evidence: Sequence[str]) -> float:
    rank = first_relevant_rank(passages, evidence)
    return 0.0 if rank is None else 1.0 / rank


def citation_precision(cited: Sequence[str], evidence: Sequence[str]) -> float | None:
    """Share of cited passages that hold (or are part of) an evidence item; None if none cited."""
    if not cited:
        return None
    return sum(any(contains_evidence(c, item) for item in evidence) for c in cited) / len(cited)


# -- faithfulness ----------------------------------------------------------------------------


def claims(answer_text: str) -> list[tuple[str, tuple[int, ...]]]:
    """(text, cited numbers) pieces, each ending at its run of ``[n]`` markers."""
    pieces, position = [], 0
    for run in re.finditer(r"(?:\s*\[\d+\])+", answer_text):
        numbers = tuple(int(n) for n in re.findall(r"\[(\d+)\]", run.group()))
        pieces.append((answer_text[position : run.start()], numbers))
        position = run.end()
    pieces.append((answer_text[position:], ()))
    return [(text.strip(), numbers) for text, numbers in pieces if text.strip(" \n\t.,;:")]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip(" \n\t.,;:")]


def content_tokens(text: str) -> list[str]:
    return [t for t in squad_normalise(fold_case(text)).split() if t not in _STOPWORDS]


def sentence_supported(sentence: str, cited_texts: Sequence[str]) -> bool:
    """Substring of the cited text, or >= 90% of its content tokens found in it."""
    if not cited_texts:
        return False
    support = " ".join(fold_case(t) for t in cited_texts)
    claim = fold_case(sentence).rstrip(" .!?;:,")
    if claim and claim in support:
        return True
    tokens = content_tokens(sentence)
    if not tokens:
        return False
    available = set(content_tokens(support))
    return sum(t in available for t in tokens) / len(tokens) >= SUPPORT_SHARE


# "The article doesn't say: ...", "The indexed articles don't say ...": a statement of absence.
_SAYS_NOTHING = re.compile(
    r"^the (?:indexed )?articles? (?:doesn't|does not|don't|do not) say\b", re.IGNORECASE
)


def faithfulness_counts(answer_text: str, sources: Sequence[str]) -> tuple[int, int]:
    """(supported sentences, sentences); ``[n]`` refers to ``sources[n - 1]``. A statement
    that the article doesn't say something is not a claim and is not counted."""
    supported = total = 0
    for text, numbers in claims(answer_text):
        cited = [sources[n - 1] for n in numbers if 0 < n <= len(sources)]
        for sentence in sentences(text):
            if _SAYS_NOTHING.match(sentence):
                continue
            total += 1
            supported += sentence_supported(sentence, cited)
    return supported, total


# -- aggregation ----------------------------------------------------------------------------


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the defined values; None when there are none."""
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    return float(np.percentile(values, q)) if len(values) else None


def abstention_scores(abstained: Sequence[bool], unanswerable: Sequence[bool]) -> dict:
    """Precision and recall of abstaining, with abstention as the positive class."""
    pairs = list(zip(abstained, unanswerable, strict=True))
    tp = sum(a and u for a, u in pairs)
    fp = sum(a and not u for a, u in pairs)
    fn = sum(u and not a for a, u in pairs)
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}
