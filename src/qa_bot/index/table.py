"""The in-memory view of one catalogue version: every visible chunk and article.

BM25 needs every chunk's text anyway, and the answerers need neighbouring sentences and
the articles' full text without another round trip to Chroma, so the `ChunkTable` holds
them (not the vectors, which are read from the store on demand). A table is never changed
in place: `with_changes` makes the next one from this one and the changed articles only.
Everything it keeps is updated at the change's cost (the id map and the word counts are
copied, never recomputed; the flat list of chunks BM25 wants is built only when asked
for, off the answer path), so adding an article to a library of 10,000 costs about what
it costs in a library of 100.

Who sees what. Word statistics (typo matching, the reader's term weights) are kept per
owner, and `seen_by(viewer)` gives the table as one browser session sees it: the public
articles and its own uploads, their words and their counts. Another session's private
upload never shows in its replies, its article count or its vocabulary.
"""

from __future__ import annotations

import math
from bisect import bisect_left
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


class _Words:
    """One owner's word statistics: in how many chunks each stem occurs, the stems of the
    titles, and the stems by initial letter (candidates for typo matching)."""

    def __init__(self, chunk_stems: Counter, title_stems: Counter, chunks: int) -> None:
        self.chunk_stems = chunk_stems
        self.title_stems = title_stems
        self.chunks = chunks
        grouped: dict[str, set[str]] = {}
        for word in (*chunk_stems, *title_stems):
            grouped.setdefault(word[:1], set()).add(word)
        self.by_initial = {k: frozenset(v) for k, v in grouped.items()}

    @classmethod
    def empty(cls) -> _Words:
        return cls(Counter(), Counter(), 0)

    def __contains__(self, word: str) -> bool:
        return word in self.chunk_stems or word in self.title_stems

    def changed(
        self,
        gone: Sequence[tuple[ArticleInfo, Sequence[Chunk]]],
        new: Sequence[tuple[ArticleInfo, Sequence[Chunk]]],
    ) -> _Words:
        """The statistics after dropping `gone` articles and adding `new` ones."""
        chunk_stems, title_stems = self.chunk_stems.copy(), self.title_stems.copy()
        chunks = self.chunks
        touched: set[str] = set()
        for sign, articles in ((-1, gone), (1, new)):
            for info, article_chunks in articles:
                title = stems(info.title)
                touched |= title
                title_stems.update(dict.fromkeys(title, sign))
                for chunk in article_chunks:
                    words = stems(chunk.text)
                    touched |= words
                    chunk_stems.update(dict.fromkeys(words, sign))
                chunks += sign * len(article_chunks)
        for counter in (chunk_stems, title_stems):
            for word in touched:
                if counter.get(word, 1) <= 0:
                    del counter[word]
        result = _Words.__new__(_Words)
        result.chunk_stems, result.title_stems, result.chunks = chunk_stems, title_stems, chunks
        by_initial = dict(self.by_initial)
        for initial in {w[:1] for w in touched}:
            bucket = {w for w in by_initial.get(initial, ()) if w not in touched}
            bucket |= {w for w in touched if w[:1] == initial and w in result}
            by_initial[initial] = frozenset(bucket)
        result.by_initial = by_initial
        return result


class _Vocabulary:
    """Every stem some owners' chunks and titles hold (`in` only)."""

    def __init__(self, parts: Sequence[_Words]) -> None:
        self.parts = parts

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and any(word in part for part in self.parts)


class ChunkTable:
    """All visible chunks of one catalogue version, by id and by article."""

    def __init__(
        self,
        chunks: Iterable[Chunk],
        articles: dict[str, ArticleInfo],
        *,
        embedder: Embedder | None = None,
        vector_source: Callable[[Sequence[str]], dict[str, Any]] | None = None,
    ) -> None:
        grouped: dict[str, list[Chunk]] = {}
        for chunk in chunks:
            grouped.setdefault(chunk.doc_id, []).append(chunk)
        self.embedder = embedder  # the one the index was built with; answerers reuse it
        self.articles = articles
        self._by_doc: dict[str, tuple[Chunk, ...]] = {
            d: tuple(sorted(cs, key=_seq)) for d, cs in grouped.items()
        }
        self.by_id = {c.chunk_id: c for cs in self._by_doc.values() for c in cs}
        self._size = len(self.by_id)
        self._vector_source = vector_source  # the stored vectors, read on demand
        self._words: dict[str, _Words] | None = None  # per owner, computed on first use
        self._viewer: str | None = None  # set on the copies `seen_by` makes
        self._seen: dict[str, ChunkTable] = {}

    def with_changes(
        self, changed: Mapping[str, tuple[ArticleInfo, Sequence[Chunk]]], removed: Iterable[str]
    ) -> ChunkTable:
        """The next table: these articles (re)placed, those dropped; the rest shared."""
        by_doc = dict(self._by_doc)
        articles = dict(self.articles)
        by_id = dict(self.by_id)
        gone = [d for d in dict.fromkeys([*removed, *changed]) if d in articles]
        old = [(articles[d], by_doc.get(d, ())) for d in gone]
        size = self._size
        for doc_id in gone:
            for chunk in by_doc.pop(doc_id, ()):
                by_id.pop(chunk.chunk_id, None)
                size -= 1
            del articles[doc_id]
        new = []
        for doc_id, (info, chunks) in changed.items():
            ordered = tuple(sorted(chunks, key=_seq))
            by_doc[doc_id] = ordered
            articles[doc_id] = info
            by_id.update((c.chunk_id, c) for c in ordered)
            size += len(ordered)
            new.append((info, ordered))
        table = ChunkTable.__new__(ChunkTable)
        table.embedder, table.articles, table._by_doc = self.embedder, articles, by_doc
        table.by_id, table._size, table._vector_source = by_id, size, self._vector_source
        table._viewer, table._seen = None, {}
        table._words = None
        if self._words is not None:  # keep the word counts up to date at the change's cost
            words = dict(self._words)
            for owner in {info.owner for info, _ in (*old, *new)}:
                before = words.get(owner, _Words.empty())
                after = before.changed(
                    [a for a in old if a[0].owner == owner], [a for a in new if a[0].owner == owner]
                )
                if after.chunks or after.title_stems:
                    words[owner] = after
                else:
                    words.pop(owner, None)
            table._words = words
        return table

    def warm(self) -> ChunkTable:
        """Compute the word statistics now (off the answer path); returns the table."""
        self._owner_words()
        return self

    @cached_property
    def chunks(self) -> list[Chunk]:
        """Every chunk, article by article (what BM25 indexes: built off the answer path)."""
        return [c for doc_id in sorted(self._by_doc) for c in self._by_doc[doc_id]]

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
        if self._viewer is not None:
            return sum(words.chunks for words in self._visible_words())
        return self._size

    def neighbour(self, chunk: Chunk, offset: int) -> Chunk | None:
        """The chunk `offset` sentences from `chunk` in its article (None past either end,
        or where a dropped sentence was)."""
        chunks = self._by_doc.get(chunk.doc_id, ())
        target = chunk.seq + offset
        i = bisect_left(chunks, target, key=_seq)
        return chunks[i] if i < len(chunks) and chunks[i].seq == target else None

    def title(self, doc_id: str) -> str:
        info = self.articles.get(doc_id)
        return info.title if info else doc_id

    def page(self, doc_id: str, offset: int) -> int:
        """The PDF page `offset` of the article is on; 0 when it has no pages."""
        info = self.articles.get(doc_id)
        return page_at(info.page_starts, offset) if info else 0

    # -- who may see what ---------------------------------------------------------------

    @cached_property
    def _owners(self) -> frozenset[str]:
        return frozenset(info.owner for info in self.articles.values())

    @property
    def has_private(self) -> bool:
        """Whether any article is private to a session (then retrieval must filter)."""
        return bool(self._owners - {PUBLIC})

    def visible(self, doc_id: str, viewer: str | None) -> bool:
        """Whether `viewer` (a session id; None: the operator's CLI and API) may see it."""
        info = self.articles.get(doc_id)
        return info is not None and info.owner in (PUBLIC, viewer or PUBLIC)

    def seen_by(self, viewer: str | None) -> ChunkTable:
        """This table as `viewer` sees it: only the articles, words and counts of the
        public articles and its own uploads (the answerers read this one)."""
        if not self.has_private:
            return self
        owner = viewer or PUBLIC
        if owner not in self._owners:
            owner = PUBLIC  # nothing private of its own: the public view, shared
        seen = self._seen.get(owner)
        if seen is None:
            seen = ChunkTable.__new__(ChunkTable)
            seen.__dict__.update(self.__dict__)
            seen.__dict__.pop("chunks", None)
            seen.__dict__.pop("_owners", None)
            seen._viewer = owner
            seen._seen = {}
            seen.articles = {
                d: info for d, info in self.articles.items() if info.owner in (PUBLIC, owner)
            }
            seen._by_doc = {d: cs for d, cs in self._by_doc.items() if d in seen.articles}
            self._seen[owner] = seen
        return seen

    # -- word statistics (typo and root matching) ----------------------------------------

    def _owner_words(self) -> dict[str, _Words]:
        if self._words is None:
            grouped: dict[str, tuple[Counter, Counter, list[int]]] = {}
            for doc_id, info in self.articles.items():
                chunk_stems, title_stems, count = grouped.setdefault(
                    info.owner, (Counter(), Counter(), [0])
                )
                title_stems.update(stems(info.title))
                for chunk in self._by_doc.get(doc_id, ()):
                    chunk_stems.update(stems(chunk.text))
                count[0] += len(self._by_doc.get(doc_id, ()))
            self._words = {o: _Words(c, t, n[0]) for o, (c, t, n) in grouped.items()}
        return self._words

    def _visible_words(self) -> list[_Words]:
        """The statistics of the owners this table shows (all of them, unless `seen_by`)."""
        words = self._owner_words()
        if self._viewer is None:
            return list(words.values())
        owners = (PUBLIC,) if self._viewer == PUBLIC else (PUBLIC, self._viewer)
        return [words[o] for o in owners if o in words]

    @property
    def vocabulary(self) -> _Vocabulary:
        """Every stem in the visible articles, titles included (supports `in`)."""
        return _Vocabulary(self._visible_words())

    def similar_words(self, word: str) -> list[str]:
        """Vocabulary stems with the same initial: candidates for typo and root matches."""
        initial = word[:1]
        found: list[str] = []
        for part in self._visible_words():
            found.extend(part.by_initial.get(initial, ()))
        return found

    def _frequency(self, stem: str) -> tuple[int, int]:
        """(chunks holding `stem`, chunks) over the visible articles."""
        parts = self._visible_words()
        return sum(p.chunk_stems.get(stem, 0) for p in parts), sum(p.chunks for p in parts)

    def chunk_share(self, stem: str) -> float:
        """Share of chunks that contain `stem`."""
        holding, total = self._frequency(stem)
        return holding / max(total, 1)

    def idf(self, stem: str) -> float:
        """Smoothed inverse document frequency over chunks; unseen stems score highest."""
        holding, total = self._frequency(stem)
        return math.log((total + 1) / (holding + 0.5))


def _seq(chunk: Chunk) -> int:
    return chunk.seq
