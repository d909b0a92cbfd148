"""Features of a (question, candidate span) pair, for the extractive answerer.

Each feature is a number with a plain meaning, so the learned weights that
combine them (see `extractive_weights.json`) can be read and argued with:

- ``dense``: cosine of the question with the span as indexed (title + sentence);
- ``dense_bare``: cosine with the bare span text, which separates sentences of
  one article better than the title-prefixed vectors do;
- ``lexical``: IDF-weighted share of the question's content words found in the
  span (same stem, a typo away, or one stem starting the other);
- ``semantic``: the same share where an unmatched word earns the cosine of
  its contextual vector with the closest word of the span (BERTScore recall);
- ``weakest``: the worst-matched content word of the question. Unanswerable
  questions about the article's topic usually share most words with some
  sentence and miss exactly one: the thing asked ("range", "weather");
- ``typed`` / ``type_missing``: the span holds / lacks the expected kind of
  answer (a date for "when", a name for "who", ...);
- ``names``: share of the names the user typed that the span contains;
- ``bm25``: BM25 score relative to the best candidate; ``rank``: 1/(1+fused rank);
- ``extra_sentences``, ``repeated`` (a follow-up given its previous answer
  again), ``time_clash`` ("previous" asked, "new" found).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa_bot.answering.answer_types import AnswerType, answer_category, typed_names
from qa_bot.answering.evidence import contradicts_in_time, type_evidence
from qa_bot.answering.followup import ResolvedQuestion
from qa_bot.answering.retrieve import ChunkTable
from qa_bot.index.embeddings import Embedder, WordVectors
from qa_bot.lexicon import content_stems, stem, stems
from qa_bot.normalise import normalise

SPAN_FEATURES = (
    "dense",
    "dense_bare",
    "lexical",
    "semantic",
    "weakest",
    "typed",
    "type_missing",
    "names",
    "bm25",
    "rank",
    "extra_sentences",
    "repeated",
    "time_clash",
)
TYPED_ANSWERS = frozenset(
    {
        AnswerType.PERSON,
        AnswerType.ENTITY,
        AnswerType.PLACE,
        AnswerType.DATE,
        AnswerType.NUMBER,
        AnswerType.LIST,
        AnswerType.REASON,
        AnswerType.ACRONYM,
    }
)


@dataclass(frozen=True)
class QuestionProfile:
    """What the features need to know about a question, computed once."""

    resolved: ResolvedQuestion
    weights: dict[str, float]  # content stem -> IDF weight (borrowed words count less)
    own: frozenset[str]  # stems the user typed in this question
    view: WordVectors  # the question's sentence and word vectors
    word_stems: tuple[str, ...]  # stem of each word in `view`
    topic: frozenset[str]  # own stems found in a quarter or more of all chunks
    names: frozenset[str]  # stems of typed names the corpus knows
    unknown_names: int  # typed names found nowhere in the corpus
    unseen_share: float  # share of own content words absent from the corpus


def profile_question(
    resolved: ResolvedQuestion, table: ChunkTable, embedder: Embedder, *, inherited_weight: float
) -> QuestionProfile:
    category = answer_category(resolved.core)
    own = [t for t in content_stems(resolved.core) if category is None or t != stem(category)]
    weights = {t: table.idf(t) for t in own}
    if resolved.is_followup:
        for t in content_stems(resolved.search_query):
            if category is None or t != stem(category):
                weights.setdefault(t, table.idf(t) * inherited_weight)
    (view,) = embedder.embed_words(
        [resolved.search_query if resolved.is_followup else resolved.core]
    )
    names, unknown = set(), 0
    for name in typed_names(resolved.core):
        term = stem(name)
        if _known(term, table):
            names.add(term)
        else:
            unknown += 1
    unseen = [t for t in own if not _known(t, table)]
    return QuestionProfile(
        resolved=resolved,
        weights=weights,
        own=frozenset(own),
        topic=frozenset(t for t in own if table.chunk_share(t) >= 0.25),
        view=view,
        word_stems=tuple(stem(w) for w in view.words),
        names=frozenset(names),
        unknown_names=unknown,
        unseen_share=len(unseen) / len(own) if own else 1.0,
    )


def _known(term: str, table: ChunkTable) -> bool:
    """In the corpus, allowing a typo ('Bishkec') or a shared root ('Kyrgyz')."""
    if term in table.vocabulary:
        return True
    return any(near(term, v) or shares_root(term, v) for v in table.similar_words(term))


def span_features(
    profile: QuestionProfile,
    span_text: str,
    *,
    dense: float,
    bm25: float,
    rank: int,
    extra_sentences: int,
    embedder: Embedder,
) -> dict[str, float]:
    (view,) = embedder.embed_words([span_text])
    found = stems(span_text)
    match = _word_matches(profile, found, view)
    total = sum(profile.weights.values()) or 1.0
    lexical = sum(w for t, w in profile.weights.items() if _lexical(t, found)) / total
    semantic = sum(w * match.get(t, 0.0) for t, w in profile.weights.items()) / total
    own_scores = [match.get(t, 0.0) for t in profile.own]
    answer_type = profile.resolved.answer_type
    typed = type_evidence(answer_type, span_text, set(profile.weights))
    needs_type = answer_type in TYPED_ANSWERS
    repeated = bool(profile.resolved.previous_answer) and normalise(span_text) in normalise(
        profile.resolved.previous_answer
    )
    return {
        "dense": dense,
        "dense_bare": float(view.sentence @ profile.view.sentence),
        "lexical": lexical,
        "semantic": semantic,
        "weakest": min(own_scores) if own_scores else 0.0,
        "typed": float(needs_type and typed),
        "type_missing": float(needs_type and not typed),
        "names": (len(profile.names & found) / len(profile.names)) if profile.names else 1.0,
        "bm25": bm25,
        "rank": 1.0 / (1 + rank),
        "extra_sentences": float(extra_sentences),
        "repeated": float(repeated),
        "time_clash": float(contradicts_in_time(profile.resolved.core, span_text)),
    }


def _word_matches(profile: QuestionProfile, found: set[str], view) -> dict[str, float]:
    """Per question stem: 1 for a lexical match, else the best contextual cosine."""
    scores: dict[str, float] = {}
    question = profile.view
    similarity = (
        question.vectors @ view.vectors.T if len(view.words) and len(question.words) else None
    )
    for row, term in enumerate(profile.word_stems):
        if term not in profile.weights:
            continue
        if _lexical(term, found):
            score = 1.0
        elif similarity is not None:
            score = float(max(0.0, similarity[row].max()))
        else:
            score = 0.0
        scores[term] = max(scores.get(term, 0.0), score)
    return scores


def _lexical(term: str, found: set[str]) -> bool:
    return term in found or any(near(term, other) or shares_root(term, other) for other in found)


def shares_root(a: str, b: str) -> bool:
    """'chair' and 'chairmanship', 'weapon' and 'weaponri': one stem starts the other."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 5 and long.startswith(short)


def near(a: str, b: str) -> bool:
    """One edit apart (two for long words): forgives typos like 'Bishkec'."""
    if abs(len(a) - len(b)) > 2 or min(len(a), len(b)) < 5 or a[0] != b[0]:
        return False
    limit = 2 if min(len(a), len(b)) >= 8 else 1
    return _edit_distance(a, b, limit) <= limit


def _edit_distance(a: str, b: str, limit: int) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def vector(features: dict[str, float], names: Sequence[str]) -> np.ndarray:
    return np.array([features[n] for n in names], dtype=np.float64)
