"""The default answerer: pick the sentence(s) that answer, or abstain.

Every word it shows is a verbatim sentence of the article, cited with exact
offsets, so it cannot invent a fact. Its two jobs are choosing well and
knowing when nothing fits.

Choosing. Each retrieved sentence is scored on three things: dense cosine to
the question, *coverage* (the IDF-weighted share of the question's content
words found in it, typos forgiven) and *type evidence* (a date for "when", a
name for "who", an enumeration for "which documents"). A sentence may be
joined by a neighbour: the previous one when it opens with a pronoun ("He
emphasised ...") whose referent the question needs, the next one when it
elaborates ("These included ...").

Abstaining. Retrieval scores overlap between answerable and unanswerable
questions, so the decision rests on what is *missing*: a name the user typed
that occurs nowhere in the corpus, no passage with the expected type of
answer, or too little of the question covered. Thresholds live in
`ExtractiveParams` and were tuned on the dev split only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..followup import ResolvedQuestion
from ..lexicon import content_stems, stem, stems
from ..question import AnswerType, contradicts_in_time, type_evidence, typed_names
from ..retrieve import Candidate, ChunkTable
from ..types import Answer, Chunk
from . import Answerer, abstention_text, passages_for, source_for

_OPENS_WITH_REFERENCE = re.compile(
    r"^\W*(he|she|they|it|this|these|those|his|her|their|its|the country|the organisation)\b",
    re.IGNORECASE,
)
_ELABORATES = re.compile(
    r"^\W*(these|this|they|those|such|the list|among them)\b[^.]{0,40}?\b"
    r"(include[sd]?|including|comprise[sd]?|are|were|cover(s|ed)?|involve[sd]?)\b",
    re.IGNORECASE,
)
_TYPED = {
    AnswerType.PERSON, AnswerType.ENTITY, AnswerType.PLACE, AnswerType.DATE,
    AnswerType.NUMBER, AnswerType.LIST, AnswerType.REASON, AnswerType.ACRONYM,
}


@dataclass(frozen=True)
class ExtractiveParams:
    candidates: int = 8  # retrieved sentences considered
    w_dense: float = 1.0
    w_coverage: float = 0.8
    w_type: float = 0.3
    elaboration_bonus: float = 0.03
    inherited_weight: float = 0.5  # weight of words a follow-up borrows from history
    min_coverage: float = 0.34  # below this, abstain unless dense is high
    min_dense_alone: float = 0.62  # dense cosine that answers despite low coverage
    min_score: float = 0.55
    abstain_on_unknown_names: bool = True


@dataclass
class Span:
    chunks: list[Chunk]
    main: Candidate
    coverage: float | None = None  # None for a summary, which is not scored
    typed: bool = False
    score: float = 0.0
    bonus: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.chunks)


class ExtractiveAnswerer(Answerer):
    name = "extractive"

    def __init__(self, params: ExtractiveParams | None = None) -> None:
        self.params = params or ExtractiveParams()

    def answer(self, question: ResolvedQuestion, candidates: Sequence[Candidate],
               table: ChunkTable) -> Answer:
        passages = passages_for(candidates, table)
        chosen = self.choose(question, candidates, table)
        if chosen is None:
            return Answer(
                text=abstention_text(table), abstained=True, backend=self.name,
                question=question.question, search_query=question.search_query, passages=passages,
            )
        sources = tuple(source_for(c, chosen.main.dense, table) for c in chosen.chunks)
        text = " ".join(f"{c.text.strip()} [{n}]" for n, c in enumerate(chosen.chunks, start=1))
        return Answer(
            text=text, sources=sources, abstained=False, backend=self.name,
            question=question.question, search_query=question.search_query, passages=passages,
        )

    # -- choosing ---------------------------------------------------------------------

    def choose(self, question: ResolvedQuestion, candidates: Sequence[Candidate],
               table: ChunkTable) -> Span | None:
        """The best span, or None to abstain."""
        best = self.best_span(question, candidates, table)
        return best if best is not None and self.answerable(best) else None

    def best_span(self, question: ResolvedQuestion, candidates: Sequence[Candidate],
                  table: ChunkTable) -> Span | None:
        """The highest-scoring span, or None when nothing can answer at all."""
        p = self.params
        pool = list(candidates[: p.candidates])
        if not pool:
            return None
        if question.answer_type is AnswerType.SUMMARY:
            return self._summary(pool, table)
        if p.abstain_on_unknown_names and _unknown_names(question.core, table):
            return None
        weights = self._term_weights(question, table)
        if not weights:
            return None
        question_stems = set(weights)
        spans = [s for c in pool for s in self._spans(c, table, question)]
        for span in spans:
            span.coverage = _coverage(weights, span.text)
            span.typed = type_evidence(question.answer_type, span.text, question_stems)
            if contradicts_in_time(question.core, span.text):
                span.typed, span.coverage = False, 0.0
            span.score = (
                p.w_dense * span.main.dense
                + p.w_coverage * span.coverage
                + (p.w_type * span.typed if question.answer_type in _TYPED else 0.0)
                + span.bonus
            )
        if question.answer_type in _TYPED:
            spans = [s for s in spans if s.typed]
        return max(spans, key=lambda s: s.score) if spans else None

    def answerable(self, span: Span) -> bool:
        p = self.params
        if span.coverage is None:  # a summary: always answerable
            return True
        return span.score >= p.min_score and (
            span.coverage >= p.min_coverage or span.main.dense >= p.min_dense_alone
        )

    def _term_weights(self, question: ResolvedQuestion, table: ChunkTable) -> dict[str, float]:
        own = content_stems(question.core)
        weights = {t: table.idf(t) for t in own}
        if question.is_followup:
            for t in content_stems(question.search_query):
                weights.setdefault(t, table.idf(t) * self.params.inherited_weight)
        return weights

    def _spans(self, cand: Candidate, table: ChunkTable, question: ResolvedQuestion) -> list[Span]:
        """The candidate, with the neighbours it cannot be read without.

        A sentence that opens with a reference ("He emphasised", "This
        schedule") always brings the one before it; a following sentence that
        elaborates it ("These included ...") is offered as a longer span with a
        small bonus, so a list that runs over two sentences comes back whole.
        """
        chunks = [cand.chunk]
        before = table.neighbour(cand.chunk, -1)
        if before is not None and _OPENS_WITH_REFERENCE.match(cand.chunk.text):
            chunks.insert(0, before)
        spans = [Span(list(chunks), cand)]
        after = table.neighbour(cand.chunk, +1)
        if after is not None and _ELABORATES.match(after.text):
            spans.append(Span([*chunks, after], cand, bonus=self.params.elaboration_bonus))
        return spans

    def _summary(self, pool: list[Candidate], table: ChunkTable) -> Span | None:
        """The lead of the best-matching article: its headline and first sentence."""
        doc_id = pool[0].chunk.doc_id
        lead = [c for c in (table.neighbour(Chunk("", doc_id, 0, 0, 0, ""), k) for k in (0, 1)) if c]
        if not lead:
            return None
        return Span(lead, pool[0])


def _coverage(weights: dict[str, float], text: str) -> float:
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    found = stems(text)
    got = 0.0
    for term, weight in weights.items():
        if term in found:
            got += weight
        elif any(_near(term, other) or _shares_root(term, other) for other in found):
            got += 0.8 * weight
    return got / total


def _shares_root(a: str, b: str) -> bool:
    """'chair' and 'chairmanship', 'weapon' and 'weaponri': one stem starts the other."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 5 and long.startswith(short)


def _unknown_names(question: str, table: ChunkTable) -> list[str]:
    """Names the user typed that occur nowhere in the corpus, typos forgiven."""
    missing = []
    for name in typed_names(question):
        term = stem(name)
        if term in table.vocabulary or any(_near(term, v) for v in table.similar_words(term)):
            continue
        missing.append(name)
    return missing


def _near(a: str, b: str) -> bool:
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
