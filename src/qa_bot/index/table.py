"""The in-memory view of one catalogue version: every visible chunk and article.

BM25 needs every chunk's text anyway, and the answerers need neighbouring sentences and
the articles' full text without another round trip to Chroma, so the `ChunkTable` holds
them (not the vectors, which are read from the store on demand). A table is never changed
in place: `with_changes` makes the next one from this one and the changed articles only,
so a change costs the article plus a pass over references, never a re-read of the library.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from qa_bot.index.embedder_base import Embedder
from qa_bot.lexicon import stems
from qa_bot.types import Chunk, page_at

PUBLIC = ""  # the owner of the articles everyone sees (corpus, CLI, Engine.add_article)


@dataclass(frozen=True)
class ArticleInfo:
    doc_id: str
    title: str
    source: str
    text: str
    path: str = ""
    owner: str = PUBLIC  # a browser session's id for a private upload
    kind: str = "corpus"  # "corpus" (QA_BOT_CORPUS, `qa-bot index`), "added" or "upload"
    filename: str = ""  # the uploaded file's name
    date: str = ""  # ISO date when the article states one
    author: str = ""
    page_starts: tuple[int, ...] = ()  # for a PDF: where each page begins in `text`

    @property
    def is_upload(self) -> bool:
        return self.kind == "upload"


class ChunkTable:
    """All visible chunks of one catalogue version, by id and by (document, position)."""

    def __init__(
        self,
        chunks: Iterable[Chunk],
        articles: dict[str, ArticleInfo],
        *,
        embedder: Embedder | None = None,
        vector_source: Callable[[Sequence[str]], dict[str, Any]] | None = None,
        by_doc: Mapping[str, Sequence[Chunk]] | None = None,
    ) -> None:
        if by_doc is None:
            grouped: dict[str, list[Chunk]] = {}
            for chunk in chunks:
                grouped.setdefault(chunk.doc_id, []).append(chunk)
            by_doc = {d: sorted(cs, key=lambda c: c.seq) for d, cs in grouped.items()}
        self._by_doc = dict(by_doc)
        self.chunks = [c for doc_id in sorted(self._by_doc) for c in self._by_doc[doc_id]]
        self.embedder = embedder  # the one the index was built with; answerers reuse it
        self.articles = articles
        self.by_id = {c.chunk_id: c for c in self.chunks}
        self._by_position = {(c.doc_id, c.seq): c for c in self.chunks}
        self._vector_source = vector_source  # the stored vectors, read on demand

    def with_changes(
        self, changed: Mapping[str, tuple[ArticleInfo, Sequence[Chunk]]], removed: Iterable[str]
    ) -> ChunkTable:
        """The next table: these articles (re)placed, those dropped; the rest shared."""
        by_doc = dict(self._by_doc)
        articles = dict(self.articles)
        gone = [*removed, *changed]
        frequency = self.__dict__.get("_document_frequency")
        if frequency is not None:  # keep the word counts up to date at the change's cost
            frequency = frequency.copy()
            for doc_id in gone:
                for chunk in by_doc.get(doc_id, ()):
                    frequency.subtract(stems(chunk.text))
        for doc_id in gone:
            by_doc.pop(doc_id, None)
            articles.pop(doc_id, None)
        for doc_id, (info, chunks) in changed.items():
            by_doc[doc_id] = sorted(chunks, key=lambda c: c.seq)
            articles[doc_id] = info
            if frequency is not None:
                for chunk in chunks:
                    frequency.update(stems(chunk.text))
        table = ChunkTable(
            (),
            articles,
            embedder=self.embedder,
            vector_source=self._vector_source,
            by_doc=by_doc,
        )
        if frequency is not None:
            table.__dict__["_document_frequency"] = +frequency  # drops the zero counts
        return table

    def warm(self) -> ChunkTable:
        """Compute the word statistics now (off the answer path); returns the table."""
        _ = self._by_initial
        return self

    def chunks_of(self, doc_id: str) -> Sequence[Chunk]:
        return self._by_doc.get(doc_id, ())

    def vectors(self, chunk_ids: Sequence[str]) -> list[Any] | None:
        """The stored vectors of these chunks, in order; None when the table has no store."""
        if self._vector_source is None:
            return None
        found = self._vector_source(chunk_ids)
        if any(cid not in found for cid in chunk_ids):
            return None
        return [found[cid] for cid in chunk_ids]

    def __len__(self) -> int:
        return len(self.chunks)

    def neighbour(self, chunk: Chunk, offset: int) -> Chunk | None:
        return self._by_position.get((chunk.doc_id, chunk.seq + offset))

    def title(self, doc_id: str) -> str:
        info = self.articles.get(doc_id)
        return info.title if info else doc_id

    def page(self, doc_id: str, offset: int) -> int:
        """The PDF page `offset` of the article is on; 0 when it has no pages."""
        info = self.articles.get(doc_id)
        return page_at(info.page_starts, offset) if info else 0

    # -- who may see what ---------------------------------------------------------------

    @cached_property
    def has_private(self) -> bool:
        """Whether any article is private to a session (then retrieval must filter)."""
        return any(info.owner != PUBLIC for info in self.articles.values())

    def visible(self, doc_id: str, viewer: str | None) -> bool:
        """Whether `viewer` (a session id; None: the operator's CLI and API) may see it."""
        info = self.articles.get(doc_id)
        return info is not None and info.owner in (PUBLIC, viewer or PUBLIC)

    # -- word statistics (typo and root matching) ----------------------------------------

    @cached_property
    def _document_frequency(self) -> Counter:
        counts: Counter = Counter()
        for chunk in self.chunks:
            counts.update(stems(chunk.text))
        return counts

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every stem in the corpus, titles included."""
        found = set(self._document_frequency)
        for info in self.articles.values():
            found |= stems(info.title)
        return frozenset(found)

    @cached_property
    def _by_initial(self) -> dict[str, list[str]]:
        buckets: dict[str, list[str]] = {}
        for word in self.vocabulary:
            buckets.setdefault(word[:1], []).append(word)
        return buckets

    def similar_words(self, word: str) -> list[str]:
        """Vocabulary stems with the same initial: candidates for typo and root matches."""
        return self._by_initial.get(word[:1], [])

    def chunk_share(self, stem: str) -> float:
        """Share of chunks that contain `stem`."""
        return self._document_frequency.get(stem, 0) / max(len(self.chunks), 1)

    def idf(self, stem: str) -> float:
        """Smoothed inverse document frequency over chunks; unseen stems score highest."""
        n = len(self.chunks)
        return math.log((n + 1) / (self._document_frequency.get(stem, 0) + 0.5))
