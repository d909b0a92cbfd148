"""Answerers turn a question and its retrieved passages into an `Answer`.

An answerer is a small class with one abstract method, `answer`. The
extractive answerer is the default and needs no model; generative ones (a
local GGUF model, an OpenAI-compatible server) live beside it and fall back to
it when their output cannot be verified.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from qa_bot.answering.followup import ResolvedQuestion
from qa_bot.answering.retrieve import Candidate, ChunkTable
from qa_bot.types import Answer, Chunk, Source


class Answerer(ABC):
    name: str = ""

    @abstractmethod
    def answer(
        self, question: ResolvedQuestion, candidates: Sequence[Candidate], table: ChunkTable
    ) -> Answer:
        """Answer `question` from `candidates` (best first), citing chunks of `table`."""


def source_for(chunk: Chunk, score: float, table: ChunkTable) -> Source:
    return Source(
        text=chunk.text,
        score=round(float(score), 4),
        doc_id=chunk.doc_id,
        title=table.title(chunk.doc_id),
        start=chunk.start,
        end=chunk.end,
        chunk_id=chunk.chunk_id,
    )


def passages_for(candidates: Sequence[Candidate], table: ChunkTable) -> tuple[Source, ...]:
    return tuple(source_for(c.chunk, c.dense, table) for c in candidates)


def abstention_text(table: ChunkTable) -> str:
    subject = "The article doesn't" if len(table.articles) <= 1 else "The indexed articles don't"
    return f"{subject} say. I found no passage that answers this question."


ANSWERER_SPECS = ("extractive", "llamacpp:smollm2", "llamacpp:<path.gguf>", "openai:<model>")


def make_answerer(spec: str, settings=None, *, embedder=None) -> Answerer:
    """Resolve an answerer spec string; an unknown one lists the valid ones.

    Generative specs build nothing heavy here: the model loads (or the server
    is first called) on the first answer, so a missing model shows up as a
    notice on that answer rather than as a crash at start-up. `embedder` is
    the engine's, reused by the grounding check.
    """
    from qa_bot.errors import UnknownBackendError

    if spec == "extractive":
        from qa_bot.answering.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer()
    kind, _, rest = spec.partition(":")
    if kind in ("llamacpp", "openai") and rest.strip():
        from qa_bot.answering.answerers.generative import GenerativeAnswerer

        return GenerativeAnswerer(spec=spec, settings=settings, embedder=embedder)
    raise UnknownBackendError("answerer", spec, ANSWERER_SPECS)
