"""The default answerer: the trained reader finds the sentence that answers, a calibrator decides.

Retrieval proposes candidate sentences; the reader (`qa_bot.reader`, a cross-encoder trained on
SQuAD, SQuAD 2.0 and SelQA with a "no answer" option) gives each a logit. The calibrator
(`calibration`) turns the best one's logit and other signals into the probability that the
answer is right, and that gives one of three answers:

- **answered**: the sentence is quoted and cited;
- **unsure**: "The article may not answer this directly. The closest passage: ..." with the
  passage cited, plainly marked (the closest passage is right far more often than the
  calibrated confidence lets us claim);
- **not found**: "The article doesn't say".

Every word shown is a verbatim sentence of an article, cited with exact offsets.

Reading depth: the first `first_read` retrieved sentences are read; unless the best of them is
already certain (`sure_logit`), the rest up to `candidates` are read too, which for a news
article of a few dozen sentences is nearly all of it. Retrieval's cut then costs little.

Beyond the best sentence:

- a question with two or three parts ("Who won, and by how much?") is also read part by part,
  all parts in one batch; each part the article answers adds its sentence, and a part it
  doesn't is named in the answer ("The article doesn't say: by how much?");
- the sentence before joins the quote when the quote opens with a reference ("He said ...",
  "This ...") *and* the reader finds that sentence relevant to the question too; the same for
  a sentence after that elaborates ("These included ..."). A pronoun alone is not enough.

Follow-ups are read with the question they follow (`followup`). A summary request gets the
article's lead and the sentences closest to its centre. A message that asks nothing about the
articles (chit-chat, orders to the bot) is declined with what the bot can do. The numbers
(depths, the calibrator, its two cut points) are fitted on the dev gold sets only, by
`scripts/fit_reader.py`, and stored in `reading_params.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from qa_bot.answering.answer_types import AnswerType, expected_type
from qa_bot.answering.answerers import Answerer, abstention_text, not_said, source_for
from qa_bot.answering.asking import looks_like_an_order
from qa_bot.answering.calibration import Calibrator, signals
from qa_bot.answering.followup import ResolvedQuestion
from qa_bot.answering.retrieve import Candidate, ChunkTable
from qa_bot.lexicon import content_stems, one_edit_apart, words
from qa_bot.reader import Reader, load_reader, pair_text, sigmoid
from qa_bot.types import ANSWERED, NOT_FOUND, UNSURE, Answer, Chunk, Source

PARAMS_FILE = Path(__file__).with_name("reading_params.json")
SUMMARY_MIN_WORDS = 5
UNSURE_TEXT = "The article may not answer this directly. The closest passage:"

OPENS_WITH_REFERENCE = re.compile(
    r"^\W*(he|she|they|it|this|these|those|his|her|their|its)\b", re.IGNORECASE
)
ELABORATES = re.compile(
    r"^\W*(these|this|they|those|such|among them)\b[^.]{0,40}?\b"
    r"(include[sd]?|including|comprise[sd]?|are|were|cover(s|ed)?|involve[sd]?)\b",
    re.IGNORECASE,
)
# Where a question joins two asks: ", and what ...", " and when ...", "; who ...", ", and by
# how much": a comma, semicolon or conjunction, then a question word. ("Where was ..." is one
# ask: a question word alone does not start a new one.)
_PARTS = re.compile(
    r"(?:\s*[,;]\s*(?:(?:and|but|also|plus)\s+)?|\s+(?:and|but|also|plus)\s+)"
    r"(?=(?:(?:by|in|on|at|for|to|from|with|of)\s+)?(?:what|who|whom|whose|when|where|why|how|"
    r"which|is|are|was|were|did|does|do|has|have|will)\b)",
    re.IGNORECASE,
)
# A logit of -2 is a probability of 0.12: not an answer, but not "unrelated" either.
QUOTED_PART_LOGIT = -2.0
_ASKS = re.compile(
    r"\b(what|who|whom|whose|when|where|why|how|which)\b|^\W*(is|are|was|were|did|does|do|has|"
    r"have|will|can|could|should|would)\b",
    re.IGNORECASE,
)
# Each part is one more read: a question of 68 "who ..." clauses cost 50 reads (3.6-6 s). Of
# the 606 gold questions, 604 have at most three parts.
MAX_QUESTION_PARTS = 3


@dataclass(frozen=True)
class ReadingParams:
    candidates: int = 24  # retrieved sentences the reader may read
    first_read: int = 8  # read first; the rest only when none of these is certain
    sure_logit: float = 6.0  # a logit this high needs no deeper reading
    answer_at: float = 0.5  # calibrated confidence to answer
    unsure_at: float = 0.25  # ... to show the closest passage as "unsure"
    part_depth: int = 12  # candidates each part of a multi-part question is read against
    context_at: float = 0.3  # reader probability for a neighbouring sentence to join a quote
    max_spans: int = 3
    followup_context: bool = True  # the reader sees the question a follow-up follows
    summary_sentences: int = 3
    calibrator: Calibrator = field(default_factory=Calibrator.reader_only)

    @classmethod
    def load(cls, path: Path = PARAMS_FILE) -> ReadingParams:
        if not path.is_file():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        params = raw.get("params", {})
        known = {
            k: v for k, v in params.items() if k in cls.__dataclass_fields__ and k != "calibrator"
        }
        if "calibrator" in raw:
            known["calibrator"] = Calibrator.from_dict(raw["calibrator"])
        return cls(**known)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["calibrator"] = self.calibrator.to_dict()
        return out


@dataclass
class Scored:
    candidate: Candidate
    logit: float

    @property
    def probability(self) -> float:
        return float(sigmoid(np.asarray(self.logit)))


@dataclass
class Judged:
    """What the reader and the calibrator made of one ask (a question, or one of its parts)."""

    asked: str
    scored: list[Scored]  # best first
    confidence: float = 0.0
    status: str = NOT_FOUND
    features: dict[str, float] = field(default_factory=dict)

    @property
    def best(self) -> Scored | None:
        return self.scored[0] if self.scored else None


@dataclass
class Reading:
    """What the reader made of the candidates (for the answer, the generator and tuning)."""

    whole: Judged | None = None
    parts: list[Judged] = field(default_factory=list)
    chosen: list[Scored] = field(default_factory=list)  # the sentences that answer
    missing: list[str] = field(default_factory=list)  # parts the article doesn't answer
    status: str = NOT_FOUND
    declined: bool = False  # not a question about the articles

    @property
    def scored(self) -> list[Scored]:
        return self.whole.scored if self.whole else []

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
        params = self.params
        # The headline is the title the reader already sees in front of every sentence;
        # read as an answer it matches every question on the story's topic.
        pool = [c for c in candidates if not is_headline(c.chunk, table)][: params.candidates]
        if not pool:
            return Reading(declined=not _mentions_the_corpus(question, table))
        asked = reader_question(question, followup_context=params.followup_context)
        texts = [pair_text(table.title(c.chunk.doc_id), c.chunk.text) for c in pool]
        logits = list(self.reader.logits(asked, texts[: params.first_read]))
        if max(logits) < params.sure_logit and len(texts) > params.first_read:
            logits += list(self.reader.logits(asked, texts[params.first_read :]))
        read = pool[: len(logits)]
        typed = question.question
        reading = Reading(
            whole=self._judge(asked, question.answer_type, typed, read, logits, table)
        )
        parts = question_parts(question.core)
        if parts:
            # Each part is read against the sentences the whole question ranked highest: a
            # sentence that answers one part reads as relevant to the whole question too.
            assert reading.whole is not None
            # All parts together read at most two whole reads' worth of pairs, so a question
            # of many clauses costs at most three reads (three parts: 10 sentences each).
            per_part = min(params.part_depth, 2 * params.candidates // len(parts))
            depth = [s.candidate for s in reading.whole.scored[:per_part]]
            text_of = {c.chunk.chunk_id: t for c, t in zip(pool, texts, strict=False)}
            pairs = [(part, text_of[c.chunk.chunk_id]) for part in parts for c in depth]
            part_logits = self.reader.pair_logits(pairs).reshape(len(parts), len(depth))
            reading.parts = [
                self._judge(part, expected_type(part), typed, depth, list(row), table)
                for part, row in zip(parts, part_logits, strict=True)
            ]
        self._choose(reading)
        if reading.status == NOT_FOUND:
            reading.declined = not _mentions_the_corpus(question, table)
        return reading

    def _judge(
        self,
        asked: str,
        answer_type: AnswerType,
        typed: str,
        read: Sequence[Candidate],
        logits: Sequence[float],
        table: ChunkTable,
    ) -> Judged:
        """Rank what was read for one ask and decide with the calibrator."""
        order = sorted(range(len(read)), key=lambda i: -logits[i])
        scored = [Scored(read[i], float(logits[i])) for i in order]
        best = order[0]
        features = signals(
            logits=logits,
            dense=[c.dense for c in read],
            best=best,
            answer_type=answer_type,
            sentence=read[best].chunk.text,
            question=asked,
            typed=typed,
            vocabulary=table.vocabulary,
        )
        confidence = self.params.calibrator.probability(features)
        if confidence >= self.params.answer_at:
            status = ANSWERED
        elif confidence >= self.params.unsure_at:
            status = UNSURE
        else:
            status = NOT_FOUND
        return Judged(asked, scored, confidence, status, features)

    def _choose(self, reading: Reading) -> None:
        whole = reading.whole
        assert whole is not None and whole.best is not None
        if whole.status == ANSWERED:
            reading.chosen.append(whole.best)
        for part in reading.parts:
            if part.status == ANSWERED and part.best is not None:
                self._add(reading, part.best)
        if reading.chosen:
            reading.status = ANSWERED
            # A part is not named as missing when its best sentence is quoted anyway and the
            # reader gives it some chance: the quote may well answer it ("..., and he only
            # trails Alan Shearer (250)"). Saying the article is silent would then be false.
            quoted = {s.candidate.chunk.chunk_id for s in reading.chosen}
            reading.missing = [
                p.asked
                for p in reading.parts
                if p.status == NOT_FOUND
                and not (
                    p.best is not None
                    and p.best.candidate.chunk.chunk_id in quoted
                    and p.best.logit > QUOTED_PART_LOGIT
                )
            ]
            return
        judged = [whole, *reading.parts]
        reading.status = UNSURE if any(j.status == UNSURE for j in judged) else NOT_FOUND

    def _add(self, reading: Reading, scored: Scored) -> None:
        if len(reading.chosen) >= self.params.max_spans:
            return
        if scored.candidate.chunk.chunk_id not in {
            s.candidate.chunk.chunk_id for s in reading.chosen
        }:
            reading.chosen.append(scored)

    def accepted(self, reading: Reading) -> list[Chunk]:
        """Sentences the reader itself finds likely to answer (its logit above 0), best first:
        what a generative answerer may word its answer from."""
        return [s.candidate.chunk for s in reading.scored if s.logit > 0]

    # -- answering ---------------------------------------------------------------------

    def answer(
        self, question: ResolvedQuestion, candidates: Sequence[Candidate], table: ChunkTable
    ) -> Answer:
        base = Answer(
            text="",
            abstained=True,
            backend=self.name,
            question=question.question,
            search_query=question.search_query,
        )
        if question.answer_type is AnswerType.SUMMARY and candidates:
            chunks = summary_sentences(candidates, table, self.params.summary_sentences)
            # A summary is chosen, not scored: its passages carry no reader probability.
            summary = _quoting(base, [(c, None) for c in chunks], table)
            return replace(
                summary, passages=tuple(source_for(c.chunk, 0.0, table) for c in candidates)
            )
        reading = self.read(question, candidates, table)
        base = replace(base, passages=_passages(reading, candidates, table))
        if reading.declined:
            return replace(base, text=decline_text(table))
        if reading.status == NOT_FOUND:
            return replace(base, text=abstention_text(table))
        if reading.status == UNSURE:
            closest = max(
                (j for j in [reading.whole, *reading.parts] if j and j.best),
                key=lambda j: j.confidence,
            )
            assert closest.best is not None
            chunk = closest.best.candidate.chunk
            source = source_for(chunk, closest.best.probability, table)
            return replace(
                base,
                text=f"{UNSURE_TEXT} {chunk.text.strip()} [1]",
                sources=(source,),
                status=UNSURE,
            )
        quoted = self._with_context(reading, table)
        answer = _quoting(base, quoted, table)
        if reading.missing:
            said = " ".join(f"{not_said(table)}: {m.rstrip('?')}?" for m in reading.missing)
            answer = replace(answer, text=f"{answer.text} {said}")
        return answer

    def _with_context(
        self, reading: Reading, table: ChunkTable
    ) -> list[tuple[Chunk, float | None]]:
        """The chosen sentences, each with a neighbour that the quote leans on ("He said ...",
        "These included ...") when the reader finds that neighbour relevant too."""
        assert reading.whole is not None
        asked = reading.whole.asked
        known = {s.candidate.chunk.chunk_id: s.logit for s in reading.scored}
        wanted: list[tuple[Scored, Chunk | None, Chunk | None]] = []
        for scored in reading.chosen:
            chunk = scored.candidate.chunk
            before = table.neighbour(chunk, -1)
            after = table.neighbour(chunk, +1)
            before = (
                before if before is not None and OPENS_WITH_REFERENCE.match(chunk.text) else None
            )
            after = after if after is not None and ELABORATES.match(after.text) else None
            wanted.append((scored, before, after))
        unknown = [
            c for _, b, a in wanted for c in (b, a) if c is not None and c.chunk_id not in known
        ]
        if unknown:
            texts = [pair_text(table.title(c.doc_id), c.text) for c in unknown]
            for chunk, logit in zip(unknown, self.reader.logits(asked, texts), strict=True):
                known[chunk.chunk_id] = float(logit)
        floor = float(np.log(self.params.context_at / (1 - self.params.context_at)))
        quoted: list[tuple[Chunk, float | None]] = []
        seen: set[str] = set()
        for scored, before, after in wanted:
            group = [
                (c, known[c.chunk_id])
                for c in (before, scored.candidate.chunk, after)
                if c is not None and (c is scored.candidate.chunk or known[c.chunk_id] >= floor)
            ]
            for chunk, logit in group:
                if chunk.chunk_id not in seen:
                    seen.add(chunk.chunk_id)
                    quoted.append((chunk, float(sigmoid(np.asarray(logit)))))
        return quoted


def _passages(
    reading: Reading, candidates: Sequence[Candidate], table: ChunkTable
) -> tuple[Source, ...]:
    """What was considered, most likely first, each scored with the reader's probability;
    the candidates the reader did not read (the headline, beyond the depth) follow."""
    read = {s.candidate.chunk.chunk_id for s in reading.scored}
    return tuple(
        source_for(s.candidate.chunk, s.probability, table) for s in reading.scored
    ) + tuple(source_for(c.chunk, 0.0, table) for c in candidates if c.chunk.chunk_id not in read)


def _quoting(
    base: Answer, quoted: Sequence[tuple[Chunk, float | None]], table: ChunkTable
) -> Answer:
    sources = tuple(source_for(chunk, p or 0.0, table) for chunk, p in quoted)
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


def question_parts(core: str) -> list[str]:
    """The asks of a multi-part question ("Who won, and by how much?"), at most
    `MAX_QUESTION_PARTS` of them; [] for a question with one ask."""
    pieces = [p.strip(" ,;?") for p in _PARTS.split(core) if p and p.strip(" ,;?")]
    # A first piece that asks nothing ("According to the EC, which body ...?") frames the
    # next one: it joins it rather than being read as an ask of its own.
    if len(pieces) > 1 and not _ASKS.search(pieces[0]):
        pieces = [f"{pieces[0]}, {pieces[1]}", *pieces[2:]]
    asks = [p for p in pieces if len(words(p)) >= 2]
    return [f"{p}?" for p in asks[:MAX_QUESTION_PARTS]] if len(asks) >= 2 else []


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
