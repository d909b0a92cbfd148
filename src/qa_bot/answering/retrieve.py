"""Hybrid retrieval: dense (Chroma through llama-index) plus BM25, fused by RRF.

Dense search finds paraphrases ("Who led the meeting?" for "chairmanship");
BM25 finds rare exact words (names, "Oreshnik"). Reciprocal rank fusion
(Cormack et al., k=60) merges the two rankings without calibrating their
scores against each other. We fuse by chunk id ourselves rather than with
llama-index's `QueryFusionRetriever`, which keys on a content hash that
differs between the two node sources and reaches for the global `Settings.llm`.

The `ChunkTable` holds every chunk's text and position in memory (not the
vectors): BM25 needs the texts anyway, and the answerer needs neighbouring
sentences and the articles' full text without another round trip to Chroma.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from qa_bot.index.embeddings import Embedder
from qa_bot.index.indexing import page_starts_from
from qa_bot.index.store import LiveIndex
from qa_bot.lexicon import stems
from qa_bot.normalise import normalise
from qa_bot.types import Chunk, page_at

RRF_K = 60.0
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class ArticleInfo:
    doc_id: str
    title: str
    source: str
    text: str
    path: str = ""
    date: str = ""
    author: str = ""
    page_starts: tuple[int, ...] = ()


@dataclass
class Candidate:
    chunk: Chunk
    fused: float = 0.0  # reciprocal rank fusion score
    dense: float = 0.0  # cosine similarity to the query
    bm25: float = 0.0
    dense_rank: int | None = None
    bm25_rank: int | None = None


class ChunkTable:
    """All chunks of one index generation, by id and by (document, position)."""

    def __init__(
        self,
        chunks: Iterable[Chunk],
        articles: dict[str, ArticleInfo],
        *,
        embedder: Embedder | None = None,
        vector_source: Callable[[Sequence[str]], dict[str, Any]] | None = None,
    ) -> None:
        self.chunks = sorted(chunks, key=lambda c: (c.doc_id, c.seq))
        self.embedder = embedder  # the one the index was built with; answerers reuse it
        self.articles = articles
        self.by_id = {c.chunk_id: c for c in self.chunks}
        self._by_position = {(c.doc_id, c.seq): c for c in self.chunks}
        self._vector_source = vector_source  # the stored vectors, read on demand

    def vectors(self, chunk_ids: Sequence[str]) -> list[Any] | None:
        """The stored vectors of these chunks, in order; None when the table has no store."""
        if self._vector_source is None:
            return None
        found = self._vector_source(chunk_ids)
        if any(cid not in found for cid in chunk_ids):
            return None
        return [found[cid] for cid in chunk_ids]

    @classmethod
    def from_live(cls, live: LiveIndex, *, embedder: Embedder | None = None) -> ChunkTable:
        chunks, articles = [], {}
        for chunk_id, text, meta, _ in live.rows():
            chunk = Chunk(
                chunk_id=chunk_id,
                doc_id=meta["doc_id"],
                seq=int(meta["seq"]),
                start=int(meta["start"]),
                end=int(meta["end"]),
                text=text,
            )
            chunks.append(chunk)
            if chunk.seq == 0:
                articles[chunk.doc_id] = ArticleInfo(
                    doc_id=chunk.doc_id,
                    title=meta.get("title", chunk.doc_id),
                    source=meta.get("source", ""),
                    text=meta.get("doc_text", ""),
                    path=meta.get("path", ""),
                    date=meta.get("date", ""),
                    author=meta.get("author", ""),
                    page_starts=page_starts_from(meta.get("page_starts")),
                )
        return cls(chunks, articles, embedder=embedder, vector_source=live.embeddings)

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


class Bm25Index:
    """BM25 over the chunks with bm25s, set up as llama-index's `BM25Retriever` sets it up.

    The same library, tokenizer pattern, English stopwords and Snowball stemmer as
    llama-index's retriever (which wraps bm25s), used directly: importing llama-index
    costs more than a whole answer, and nothing of it is needed here.
    """

    TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # llama-index's BM25Retriever default

    def __init__(self, texts: list[str]) -> None:
        import bm25s
        import Stemmer

        # bm25s sets its own logger to DEBUG on import, which printed "Building index from
        # IDs objects" on the console at every index change.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        tokens = bm25s.tokenize(
            texts,
            stopwords="english",
            stemmer=self.stemmer,
            token_pattern=self.TOKEN_PATTERN,
            show_progress=False,
        )
        self.index = bm25s.BM25()
        self.index.index(tokens, show_progress=False)
        self.size = len(texts)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(row, score) of the `k` best texts, best first."""
        tokens = self._bm25s.tokenize(
            query, stemmer=self.stemmer, token_pattern=self.TOKEN_PATTERN, show_progress=False
        )
        rows, scores = self.index.retrieve(tokens, k=min(k, self.size), show_progress=False)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True)]


class HybridRetriever:
    def __init__(
        self,
        live: LiveIndex,
        table: ChunkTable,
        embedder: Embedder,
        *,
        mode: str = "hybrid",
        depth: int = 30,
    ) -> None:
        if mode not in RETRIEVAL_MODES:
            from qa_bot.errors import UnknownBackendError

            raise UnknownBackendError("retrieval mode", mode, RETRIEVAL_MODES)
        self.live = live
        self.table = table
        self.embedder = embedder
        self.mode = mode
        self.depth = depth  # how deep each ranking goes before fusion
        self._bm25 = self._build_bm25() if mode != "dense" and len(table) else None

    def _build_bm25(self) -> Bm25Index:
        return Bm25Index([normalise(c.text) for c in self.table.chunks])

    def retrieve(self, query: str, k: int) -> list[Candidate]:
        """The `k` best chunks for `query`, each with its dense and BM25 evidence."""
        if not len(self.table):
            return []
        query_vector = self.embedder.embed_query(query)
        found: dict[str, Candidate] = {}
        if self.mode in ("hybrid", "dense"):
            hits = self.live.dense_query(query_vector, min(self.depth, len(self.table)))
            for rank, hit in enumerate(hits):
                chunk = self.table.by_id.get(hit.chunk_id)
                if chunk is None:
                    continue
                cand = found.setdefault(hit.chunk_id, Candidate(chunk))
                cand.dense, cand.dense_rank = hit.similarity, rank
                cand.fused += 1.0 / (RRF_K + rank + 1)
        if self._bm25 is not None:
            lexical = self._bm25.search(normalise(query), min(self.depth, len(self.table)))
            for rank, (row, score) in enumerate(lexical):
                chunk = self.table.chunks[row]
                if not score:
                    continue
                cand = found.setdefault(chunk.chunk_id, Candidate(chunk))
                cand.bm25, cand.bm25_rank = score, rank
                cand.fused += 1.0 / (RRF_K + rank + 1)
        self._fill_dense_scores(found, query_vector)
        ranked = sorted(found.values(), key=lambda c: c.fused, reverse=True)
        return ranked[:k]

    def _fill_dense_scores(self, found: dict[str, Candidate], query_vector: np.ndarray) -> None:
        """Give BM25-only candidates a cosine too, so the answerer can compare them."""
        missing = [cid for cid, cand in found.items() if cand.dense_rank is None]
        if not missing:
            return
        for chunk_id, vector in self.live.embeddings(missing).items():
            found[chunk_id].dense = float(
                np.dot(np.asarray(vector, dtype=np.float32), query_vector)
            )
