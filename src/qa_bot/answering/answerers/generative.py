"""The generative answerer: a model words the answer, the grounding check vets it.

How one answer is made:

1. The reading answerer runs first. If the reader finds no sentence that answers, this
   answerer abstains too and the model is never asked: a small model asked about something
   the article lacks answers anyway (it invented a cost, a missile range, a news agency in
   our probe).
2. The prompt (`qa_bot.answering.prompts`) numbers the passages: the sentences the reader
   chose first, then (policy ``accepted``) every other candidate whose probability clears the
   reader's threshold, up to `max_passages`, trimmed until the prompt fits the model's
   context. So a two-part question gets one answer from both passages. SmolLM2-135M uses
   policy ``chosen`` (only the reader's picks): given more passages it drifted into them on
   the dev split and wrote true-sounding sentences beside the question.
3. The reply is split into sentences as it streams; each finished sentence is
   checked (`qa_bot.answering.verify`) and, if backed, shown with its citation
   renumbered to `Answer.sources`. Unsupported sentences are dropped and
   counted (`removed_sentences`, and a `notice`).
4. The extractive answer stands in, with a notice, when no sentence survives,
   when the survivors leave out what the extractive pick says in answer to the
   question (`min_retention`: they may be true but beside the point), or when
   the model fails (server down, timeout, 5xx, malformed reply, missing or
   corrupt model file). So the checked answer is never less correct than the
   extractive one, and never holds a fact the article lacks.

`Answer.backend` names whoever wrote the text shown: the spec when model
sentences are shown, ``extractive`` when the extractive answer stands in.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from qa_bot.answering.answerers import Answerer, source_for
from qa_bot.answering.answerers.reading import ReadingAnswerer
from qa_bot.answering.followup import ResolvedQuestion
from qa_bot.answering.prompts import render_messages
from qa_bot.answering.retrieve import Candidate, ChunkTable
from qa_bot.answering.sentences import split_generated
from qa_bot.answering.verify import GroundingChecker, GroundingParams, SentenceCheck, missing_facts
from qa_bot.errors import LLMError, QaBotError
from qa_bot.lexicon import content_stems
from qa_bot.llm import LLM, make_llm
from qa_bot.types import Answer, Chunk, StreamEvent

if TYPE_CHECKING:
    from qa_bot.config import Settings
    from qa_bot.index.embeddings import Embedder

SMOLLM2 = "llamacpp:smollm2"

FALLBACK_UNVERIFIED = (
    "The model's answer could not be verified against the article; "
    "showing the quoted sentence instead."
)
FALLBACK_INCOMPLETE = (
    "The model's answer left out part of what the article says; "
    "showing the quoted sentence instead."
)
FALLBACK_FAILED = "The model ({spec}) failed, so the quoted sentence is shown instead: {error}"
REMOVED_NOTICE = (
    "{count} generated sentence{s} could not be verified against the article and {were} removed."
)


@dataclass(frozen=True)
class GenerationParams:
    # "chosen": only the sentences the reader picked; "accepted": also every candidate
    # that clears the reader's threshold (see the module docstring for who uses which);
    # "retrieved": also the next retrieved ones, whatever the reader made of them.
    passages: str = "accepted"
    max_passages: int = 4
    max_answer_tokens: int = 96  # one or two sentences; a looping model stops here
    max_sentences: int = 3  # kept sentences; the rest of the reply is not read
    prompt_margin: int = 48  # tokens kept free for tokenizer differences
    # See `retention`. On the dev split every answer that kept the pick's facts
    # and question words scored 0.85 or more; 0.5 leaves room for rewording.
    min_retention: float = 0.5
    stop: tuple[str, ...] = ("\n\n",)


class GenerativeAnswerer(Answerer):
    def __init__(
        self,
        *,
        spec: str,
        settings: Settings,
        llm: LLM | None = None,
        embedder: Embedder | None = None,
        params: GenerationParams | None = None,
        grounding: GroundingParams | None = None,
        extractive: ReadingAnswerer | None = None,
    ) -> None:
        self.name = spec
        self.settings = settings
        self.params = params or (
            GenerationParams(passages="chosen") if spec == SMOLLM2 else GenerationParams()
        )
        self.extractive = extractive or ReadingAnswerer()
        self._llm = llm
        self._embedder = embedder
        self._grounding = grounding
        self._checker: GroundingChecker | None = None
        self._lock = threading.Lock()  # two UI requests must not load the model twice

    @property
    def candidates(self) -> int:
        return self.extractive.candidates

    @property
    def llm(self) -> LLM:
        # Built on first use: a missing model then shows as a notice, not a crash at start-up.
        with self._lock:
            if self._llm is None:
                self._llm = make_llm(self.name, self.settings)
            return self._llm

    @property
    def checker(self) -> GroundingChecker:
        with self._lock:
            if self._checker is None:
                if self._embedder is None:
                    from qa_bot.index.embeddings import make_embedder

                    self._embedder = make_embedder(
                        self.settings.embedder, cache_dir=self.settings.cache_path
                    )
                self._checker = GroundingChecker(self._embedder, self._grounding)
            return self._checker

    def answer(
        self, question: ResolvedQuestion, candidates: Sequence[Candidate], table: ChunkTable
    ) -> Answer:
        final = None
        for event in self.stream(question, candidates, table):
            final = event.answer if event.kind == "answer" else final
        assert final is not None
        return final

    def stream(
        self, question: ResolvedQuestion, candidates: Sequence[Candidate], table: ChunkTable
    ) -> Iterator[StreamEvent]:
        """Verified sentences as token events while the model writes, then the Answer."""
        base = self.extractive.answer(question, candidates, table)
        if base.abstained:
            yield StreamEvent("answer", answer=base)
            return
        try:
            passages = self._passages(question, base, candidates, table)
            messages, seen = self._prompt(question, passages)
            draft = _Draft(seen)  # the check knows only the passages the model saw
            pieces = self.llm.stream(
                messages, max_tokens=self.params.max_answer_tokens, stop=self.params.stop
            )
            try:
                for piece in pieces:
                    draft.text += piece
                    for shown in self._check_finished(draft, final=False):
                        yield StreamEvent("token", text=shown)
                    if len(draft.kept) >= self.params.max_sentences:
                        break
            finally:  # free the model (or the connection) now, not at garbage collection
                getattr(pieces, "close", lambda: None)()
            for shown in self._check_finished(draft, final=True):
                yield StreamEvent("token", text=shown)
        except QaBotError as exc:
            notice = FALLBACK_FAILED.format(spec=self.name, error=exc)
            yield StreamEvent("answer", answer=replace(base, notice=notice))
            return
        yield StreamEvent("answer", answer=self._result(question, base, draft, candidates, table))

    # -- steps -------------------------------------------------------------------------

    def _passages(
        self,
        question: ResolvedQuestion,
        base: Answer,
        candidates: Sequence[Candidate],
        table: ChunkTable,
    ) -> list[Chunk]:
        chunks = [table.by_id[s.chunk_id] for s in base.sources if s.chunk_id in table.by_id]
        limit = max(self.params.max_passages, len(base.sources))
        if self.params.passages == "accepted":
            more = self.extractive.accepted(self.extractive.read(question, candidates, table))
        elif self.params.passages == "retrieved":
            more = [c.chunk for c in candidates]
        else:
            more = []
        for chunk in more:
            if len(chunks) >= limit:
                break
            if chunk not in chunks:
                chunks.append(chunk)
        return chunks

    def _prompt(
        self, question: ResolvedQuestion, chunks: list[Chunk]
    ) -> tuple[list[dict[str, str]], list[Chunk]]:
        """The messages and the passages in them: passages are dropped from the end
        (then the last one left is cut) until the prompt fits the context."""
        llm = self.llm
        budget = llm.context_window - self.params.max_answer_tokens - self.params.prompt_margin
        previous = question.previous_query
        texts = [c.text for c in chunks]
        while True:
            messages = render_messages(question.question, texts, previous_question=previous)
            over = llm.prompt_tokens(messages) - budget
            if over <= 0:
                return messages, chunks[: len(texts)]
            if len(texts) > 1:
                texts.pop()
                continue
            keep = len(texts[0]) - 4 * over - 16  # a token is about four characters
            if keep < 40:
                raise LLMError(
                    f"The question and passage do not fit the {llm.context_window}-token context "
                    f"of '{self.name}'. Ask a shorter question "
                    "or use a model with a longer context."
                )
            texts[0] = texts[0][:keep]

    def _check_finished(self, draft: _Draft, *, final: bool) -> Iterator[str]:
        """Check the sentences that are complete; yield the text of each one kept."""
        sentences = split_generated(draft.text)
        if not final:
            # The last piece may still grow (or get its "[1]"): wait for the next sentence.
            if not sentences or not re.search(r"[A-Za-z]", sentences[-1].text):
                return
            sentences = sentences[:-1]
        passages = [c.text for c in draft.chunks]
        for sentence in sentences[draft.checked :]:
            draft.checked += 1
            if len(draft.kept) >= self.params.max_sentences:
                break
            check = self.checker.check_sentence(sentence, passages)
            if not check.supported:
                draft.removed.append(check)
            elif _key(check.text) not in {_key(k.text) for k in draft.kept}:
                draft.kept.append(check)
                yield (" " if len(draft.kept) > 1 else "") + draft.render(check)

    def _result(
        self,
        question: ResolvedQuestion,
        base: Answer,
        draft: _Draft,
        candidates: Sequence[Candidate],
        table: ChunkTable,
    ) -> Answer:
        removed = len(draft.removed)
        text = " ".join(draft.render(k) for k in draft.kept)
        if not draft.kept:
            return replace(base, removed_sentences=removed, notice=FALLBACK_UNVERIFIED)
        if retention(base.text, text, question.core) < self.params.min_retention:
            return replace(base, removed_sentences=removed, notice=FALLBACK_INCOMPLETE)
        scores = {c.chunk.chunk_id: c.dense for c in candidates}
        sources = tuple(
            source_for(draft.chunks[i], scores.get(draft.chunks[i].chunk_id, 0.0), table)
            for i in draft.numbering
        )
        notice = (
            REMOVED_NOTICE.format(
                count=removed, s="" if removed == 1 else "s", were="was" if removed == 1 else "were"
            )
            if removed
            else ""
        )
        return replace(
            base,
            text=text,
            sources=sources,
            backend=self.name,
            removed_sentences=removed,
            notice=notice,
        )


class _Draft:
    """The reply so far and what the check made of it."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks
        self.text = ""
        self.checked = 0
        self.kept: list[SentenceCheck] = []
        self.removed: list[SentenceCheck] = []
        self.numbering: dict[int, int] = {}  # passage index -> number in Answer.sources

    def render(self, check: SentenceCheck) -> str:
        numbers = [self.numbering.setdefault(i, len(self.numbering) + 1) for i in check.cited]
        return f"{check.text} " + "".join(f"[{n}]" for n in numbers)


def retention(reference: str, text: str, question: str) -> float:
    """How much of `reference` (the extractive answer) `text` repeats, from 0 to 1.

    0 when `text` drops any name, number, date or quoted phrase of the
    reference (a rewording may not lose a fact), or a word the reference
    shares with the question (what ties it to the question: "Will Russia
    preside?" needs "preside" back); otherwise the share of the reference's
    other content words that it repeats.
    """
    reference = re.sub(r"\[\d+\]", " ", reference)
    if missing_facts(reference, [text]):
        return 0.0
    asked = set(content_stems(question))
    have = set(content_stems(text))
    wanted = content_stems(reference)
    if any(s in asked and s not in have for s in wanted):
        return 0.0
    rest = [s for s in wanted if s not in asked]
    return sum(s in have for s in rest) / len(rest) if rest else 1.0


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))
