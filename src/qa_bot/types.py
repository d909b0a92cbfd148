"""Plain data passed between the layers: documents, chunks, sources, answers.

These are frozen dataclasses with no behaviour beyond small conveniences, so
every layer can build and compare them without importing a heavy library.
Offsets (`start`, `end`) always index the *original* document text, so
``document.text[source.start:source.end] == source.text`` holds for every
citation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Document:
    """One article as loaded from the corpus."""

    doc_id: str
    title: str
    text: str  # the original text (for a web page, PDF or Word file: the extracted text)
    source: str = ""  # e.g. "Reuters"
    path: str = ""
    content_hash: str = ""  # sha256 of `text` plus the metadata below
    date: str = ""  # ISO date (YYYY-MM-DD) when the article states one
    author: str = ""
    # For a PDF: the offset in `text` where each page begins (page 1 first); else empty.
    page_starts: tuple[int, ...] = ()

    def page_of(self, offset: int) -> int:
        """The 1-based page holding `offset`, or 0 for an article without pages."""
        return page_at(self.page_starts, offset)


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit: one sentence (or a piece of an over-long one)."""

    chunk_id: str
    doc_id: str
    seq: int  # position within the document, 0-based
    start: int
    end: int
    text: str  # == document.text[start:end]


@dataclass(frozen=True)
class Source:
    """A passage of an article, as retrieved or cited."""

    text: str
    score: float
    doc_id: str
    title: str
    start: int
    end: int
    chunk_id: str = ""
    page: int = 0  # the PDF page the passage starts on; 0 when the article has no pages


def page_at(page_starts: tuple[int, ...], offset: int) -> int:
    """The 1-based page whose text holds `offset` (0 without pages)."""
    from bisect import bisect_right

    return bisect_right(page_starts, offset) if page_starts else 0


ANSWERED, UNSURE, NOT_FOUND = "answered", "unsure", "not_found"
STATUSES = (ANSWERED, UNSURE, NOT_FOUND)


@dataclass(frozen=True)
class Answer:
    """What `qa_bot.answer()` returns.

    `text` carries ``[n]`` markers; ``[n]`` refers to ``sources[n - 1]``.
    `passages` are all retrieved passages (for the UI and for retrieval
    metrics); `sources` are the ones the answer cites.

    `status` is one of three states:

    - ``"answered"``: the reader is confident the cited sentences answer;
    - ``"unsure"``: the closest passage is shown and cited, plainly marked as possibly not
      answering the question;
    - ``"not_found"``: the article doesn't say (or the message asked nothing about it).

    `abstained` is True for both of the last two: only a confident answer is an answer.
    The two always agree: `status` follows `abstained` unless it is ``"unsure"``.
    """

    text: str
    sources: tuple[Source, ...] = ()
    abstained: bool = False
    status: str = ""
    backend: str = "extractive"
    question: str = ""
    search_query: str = ""  # the question after follow-up rewriting
    passages: tuple[Source, ...] = ()
    removed_sentences: int = 0  # generated sentences dropped by the grounding check
    notice: str = ""  # shown to the user, e.g. "the LLM server was down"
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.abstained:
            status = ANSWERED
        elif self.status in (UNSURE, NOT_FOUND):
            status = self.status
        else:
            status = NOT_FOUND
        object.__setattr__(self, "status", status)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


@dataclass(frozen=True)
class StreamEvent:
    """One step of `Engine.answer_stream`.

    ``kind == "token"``: `text` is more of the answer as a generator writes it.
    Generative answerers stream only sentences that already passed the
    grounding check, so even the draft never shows an unverified claim.
    ``kind == "answer"``: the final, verified `answer`; always the last event.
    """

    kind: Literal["token", "answer"]
    text: str = ""
    answer: Answer | None = None
