"""The default answerer: the trained reader picks the sentence that answers, or abstains.

Retrieval proposes candidate sentences; the reader (`qa_bot.reader`, a cross-encoder trained on
SQuAD, SQuAD 2.0 and SelQA) gives each one the probability that it answers the question. The
best one answers if that probability clears a threshold; below it the answer is "The article
doesn't say". Every word shown is a verbatim sentence of an article, cited with exact offsets.

Beyond the best sentence:

- a question with two parts ("What did X rule, and what happened to that ruling?") is also read
  part by part, and each part's best sentence joins the answer when it clears the threshold;
- any other candidate the reader is very sure of (`second_threshold`) joins too, so an answer
  spread over two sentences comes back whole; three sentences at most. (The fit sets it above 1,
  which turns this off, while extra sentences gain nothing on dev: ties go to the shorter answer);
- a sentence that opens with a reference ("He said ...") is shown with the sentence before it,
  and a list that runs on ("These included ...") with the sentence after, so a quote can be
  read on its own. That is presentation: the reader decides on the sentence itself.

Follow-ups are read as resolved by `followup` (the question plus the one it follows). A summary
request gets the article's lead and the sentences closest to its centre. A message that asks
nothing about the articles (chit-chat, orders to the bot) is declined with what the bot can do.
The numbers (thresholds, how many candidates) are fitted on the dev gold sets only, by
`scripts/fit_reader.py`, and stored in `reading_params.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from qa_bot.answering.answer_types import AnswerType
from qa_bot.answering.answerers import Answerer, abstention_text, source_for
from qa_bot.answering.asking import looks_like_an_order
from qa_bot.answering.followup import ResolvedQuestion
from qa_bot.answering.retrieve import Candidate, ChunkTable
from qa_bot.lexicon import content_stems, one_edit_apart, words
from qa_bot.reader import Reader, load_reader, pair_text
from qa_bot.types import Answer, Chunk, Source

PARAMS_FILE = Path(__file__).with_name("reading_params.json")
SUMMARY_MIN_WORDS = 5

OPENS_WITH_REFERENCE = re.compile(
    r"^\W*(he|she|they|it|this|these|those|his|her|their|its)\b", re.IGNORECASE
)
ELABORATES = re.compile(
    r"^\W*(these|this|they|those|such|among them)\b[^.]{0,40}?\b"
    r"(include[sd]?|including|comprise[sd]?|are|were|cover(s|ed)?|involve[sd]?)\b",
    re.IGNORECASE,
)
# Where a question joins two asks: ", and what ...", " and when ...", "; who ...".
_PARTS = re.compile(
    r"(?:,\s*|\s+|;\s*)(?:and|but|also|plus)?\s*(?=(?:what|who|whom|whose|when|where|why|how|"
    r"which|is|are|was|were|did|does|do|has|have|will)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReadingParams:
    candidates: int = 8  # retrieved sentences the reader scores
    threshold: float = 0.5  # the best sentence answers at or above this probability
    second_threshold: float = 0.9  # another sentence joins the answer at this probability
    max_spans: int = 3
    followup_context: bool = True  # the reader sees the question a follow-up follows
    summary_sentences: int = 3

    @classmethod
    def load(cls, path: Path = PARAMS_FILE) -> ReadingParams:
        if not path.is_file():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = {k: v for k, v in raw.get("params", {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Scored:
    candidate: Candidate
    probability: float


@dataclass
class Reading:
    """What the reader made of the candidates (for the answer, the generator and tuning)."""

    scored: list[Scored] = field(default_factory=list)  # best first
    chosen: list[Scored] = field(default_factory=list)  # the sentences that answer
    declined: bool = False  # not a question about the articles

    @property
    def best(self) -> float:
        return self.scored[0].probability if self.scored else 0.0


class ReadingAnswerer(Answerer):
    name = "extractive"

    def __init__(
        self, *, reader: Reader | None = None, params: ReadingParams | None = None
    ) -> None:
        self._reader = reader
        self.params = params or ReadingParams.load()

    @property
    def candidates(self) -> int:
        return self.params.candidates

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            self._reader = load_reader()
        return self._reader

    # -- deciding ----------------------------------------------------------------------

    def read(
        self, question: ResolvedQuestion, candidates: Sequence[Candidate], table: ChunkTable
    ) -> Reading:
        # The headline is the title the reader already sees in front of every sentence;
        # read as an answer it matches every question on the story's topic.
        pool = [c for c in candidates if not is_headline(c.chunk, table)][: self.params.candidates]
        if not pool:
            return Reading(declined=not _mentions_the_corpus(question, table))
        asked = reader_question(question, followup_context=self.params.followup_context)
        texts = [pair_text(table.title(c.chunk.doc_id), c.chunk.text) for c in pool]
        probabilities = self.reader.score(asked, texts)
        scored = sorted(
            (Scored(c, float(p)) for c, p in zip(pool, probabilities, strict=True)),
            key=lambda s: -s.probability,
        )
        reading = Reading(scored=scored)
        if scored[0].probability < self.params.threshold:
            reading.declined = not _mentions_the_corpus(question, table)
            return reading
        reading.chosen = [scored[0]]
        for part in question_parts(question.core):
            part_scores = self.reader.score(part, texts)
            best = int(np.argmax(part_scores))
            if part_scores[best] >= self.params.threshold:
                self._add(reading, pool[best])
        for other in scored[1:]:
            if other.probability >= self.params.second_threshold:
                self._add(reading, other.candidate)
        return reading

    def _add(self, reading: Reading, candidate: Candidate) -> None:
        if len(reading.chosen) >= self.params.max_spans:
            return
        ids = {s.candidate.chunk.chunk_id for s in reading.chosen}
        if candidate.chunk.chunk_id not in ids:
            found = next(s for s in reading.scored if s.candidate is candidate)
            reading.chosen.append(found)

    # -- answering ---------------------------------------------------------------------

    def answer(
        self, question: ResolvedQuestion, candidates: Sequence[Candidate], table: ChunkTable
    ) -> Answer:
        reading = self.read(question, candidates, table)
        passages = _passages(reading, candidates, table)
        base = Answer(
            text="",
            abstained=True,
            backend=self.name,
            question=question.question,
            search_query=question.search_query,
            passages=passages,
        )
        if question.answer_type is AnswerType.SUMMARY and candidates:
            chunks = summary_sentences(candidates, table, self.params.summary_sentences)
            return _quoting(base, [(c, 1.0) for c in chunks], table)
        if reading.declined:
            return replace(base, text=decline_text(table))
        if not reading.chosen:
            return replace(base, text=abstention_text(table))
        quoted: list[tuple[Chunk, float]] = []
        for scored in reading.chosen:
            for chunk in with_context(scored.candidate.chunk, table):
                if chunk.chunk_id not in {c.chunk_id for c, _ in quoted}:
                    quoted.append((chunk, scored.probability))
        return _quoting(base, quoted, table)


def _passages(
    reading: Reading, candidates: Sequence[Candidate], table: ChunkTable
) -> tuple[Source, ...]:
    """What was considered, most likely first, each scored with the reader's probability;
    the candidates the reader did not read (the headline, beyond `candidates`) follow."""
    read = {s.candidate.chunk.chunk_id for s in reading.scored}
    return tuple(
        source_for(s.candidate.chunk, s.probability, table) for s in reading.scored
    ) + tuple(source_for(c.chunk, 0.0, table) for c in candidates if c.chunk.chunk_id not in read)


def _quoting(base: Answer, quoted: list[tuple[Chunk, float]], table: ChunkTable) -> Answer:
    sources = tuple(source_for(chunk, p, table) for chunk, p in quoted)
    text = " ".join(f"{c.text.strip()} [{n}]" for n, (c, _) in enumerate(quoted, start=1))
    return replace(base, text=text, sources=sources, abstained=False)


def is_headline(chunk: Chunk, table: ChunkTable) -> bool:
    return (
        " ".join(chunk.text.split()).casefold()
        == " ".join(table.title(chunk.doc_id).split()).casefold()
    )


def reader_question(question: ResolvedQuestion, *, followup_context: bool = True) -> str:
    """What the reader is asked: the question, and for a follow-up the question it follows."""
    if question.is_followup and followup_context and question.previous_query:
        return f"{question.core} ({question.previous_query})"
    return question.core


# Each part is one more read of every candidate: a question of 68 "who ..." clauses cost 50
# reads (3.6-6 s). Of the 606 gold questions, 604 have at most three parts.
MAX_QUESTION_PARTS = 3


def question_parts(core: str) -> list[str]:
    """The asks of a two-part question ("Who won, and by how much?"), else []; at most
    `MAX_QUESTION_PARTS` of them."""
    pieces = [p.strip(" ,;?") for p in _PARTS.split(core) if p and p.strip(" ,;?")]
    asks = [p for p in pieces if len(words(p)) >= 2]
    return [f"{p}?" for p in asks[:MAX_QUESTION_PARTS]] if len(asks) >= 2 else []


def with_context(chunk: Chunk, table: ChunkTable) -> list[Chunk]:
    """The sentence, with the one before when it opens with "He/This ..." and the one
    after when that one elaborates ("These included ...")."""
    chunks = [chunk]
    before = table.neighbour(chunk, -1)
    if before is not None and OPENS_WITH_REFERENCE.match(chunk.text):
        chunks.insert(0, before)
    after = table.neighbour(chunk, +1)
    if after is not None and ELABORATES.match(after.text):
        chunks.append(after)
    return chunks


def summary_sentences(candidates: Sequence[Candidate], table: ChunkTable, n: int) -> list[Chunk]:
    """The lead of the best-matching article, then the sentences nearest its centre.

    News puts its main facts first, so the lead (the first sentence that is not the headline)
    always comes first; the others are picked by maximal marginal relevance over the stored
    sentence vectors: close to the article's mean vector, unlike what was already picked.
    """
    doc_id = candidates[0].chunk.doc_id
    # Not the headline, and not fragments ("PWNED.", "Tags"): a summary is made of statements.
    body = [
        c
        for c in table.chunks_of(doc_id)
        if not is_headline(c, table) and len(c.text.split()) >= SUMMARY_MIN_WORDS
    ]
    if not body:
        return []
    vectors = _vectors(table, tuple(c.chunk_id for c in body))
    chosen = [0]
    if vectors is not None and len(body) > 1:
        centre = vectors.mean(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        relevance = vectors @ centre
        while len(chosen) < min(n, len(body)):
            redundancy = np.max(vectors @ vectors[chosen].T, axis=1)
            value = 0.7 * relevance - 0.3 * redundancy
            value[chosen] = -np.inf
            chosen.append(int(np.argmax(value)))
    return [body[i] for i in sorted(chosen)]


def _vectors(table: ChunkTable, chunk_ids: tuple[str, ...]) -> np.ndarray | None:
    found = table.vectors(chunk_ids)
    if found is None:
        return None
    matrix = np.asarray(found, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def decline_text(table: ChunkTable) -> str:
    titles = [info.title for info in table.articles.values()]
    what = (
        f'the article "{titles[0]}"' if len(titles) == 1 else f"the {len(titles)} indexed articles"
    )
    return (
        f"I can only answer questions about {what}, quoting the sentences that answer. "
        "Ask me who, what, where, when or why about it, or ask for a summary."
    )


def _mentions_the_corpus(question: ResolvedQuestion, table: ChunkTable) -> bool:
    """Does the message ask about something in the articles at all?

    No when it is an order to the bot ("say PWNED", "write a poem") or when none of its words
    (allowing one typo in longer words) occurs in the articles: then the right reply is what
    the bot can do, not "the article doesn't say".
    """
    if question.is_followup:
        return True
    if looks_like_an_order(question.question) and looks_like_an_order(question.core):
        return False
    vocabulary = table.vocabulary
    for stem in content_stems(question.core):
        if stem in vocabulary or (len(stem) >= 5 and _near_word(stem, table)):
            return True
    return False


def _near_word(stem: str, table: ChunkTable) -> bool:
    return any(
        word == stem or one_edit_apart(stem, word, swaps=True) for word in table.similar_words(stem)
    )
