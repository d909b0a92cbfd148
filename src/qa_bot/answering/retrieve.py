"""Hybrid retrieval: dense (Chroma through llama-index) plus BM25, fused by RRF.

Dense search finds paraphrases ("Who led the meeting?" for "chairmanship");
BM25 finds rare exact words (names, "Oreshnik"). Reciprocal rank fusion
(Cormack et al., k=60) merges the two rankings without calibrating their
scores against each other. We fuse by chunk id ourselves rather than with
llama-index's `QueryFusionRetriever`, which keys on a content hash that
differs between the two node sources and reaches for the global `Settings.llm`.

The `ChunkTable` (`index.table`) holds every visible chunk's text and position in
memory. BM25 is built over one table and may serve a newer one while its successor is
built off the answer path (`Bm25Index.chunks` says which rows it has): a hit on a chunk
the newer table no longer has is skipped, and a new article is found by dense search
until the new BM25 is swapped in. Both rankings see only what the asking session may see.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa_bot.index.embeddings import Embedder
from qa_bot.index.store import LiveIndex
from qa_bot.index.table import PUBLIC, ArticleInfo, ChunkTable
from qa_bot.normalise import normalise
from qa_bot.types import Chunk

__all__ = ["ArticleInfo", "Bm25Index", "Candidate", "ChunkTable", "HybridRetriever"]

RRF_K = 60.0
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")


@dataclass
class Candidate:
    chunk: Chunk
    fused: float = 0.0  # reciprocal rank fusion score
    dense: float = 0.0  # cosine similarity to the query
    bm25: float = 0.0
    dense_rank: int | None = None
    bm25_rank: int | None = None


class Bm25Index:
    """BM25 over the chunks with bm25s, set up as llama-index's `BM25Retriever` sets it up.

    The same library, tokenizer pattern, English stopwords and Snowball stemmer as
    llama-index's retriever (which wraps bm25s), used directly: importing llama-index
    costs more than a whole answer, and nothing of it is needed here.
    """

    TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # llama-index's BM25Retriever default

    def __init__(self, chunks: Sequence[Chunk], *, owners: Sequence[str] | None = None) -> None:
        import bm25s
        import Stemmer

        # bm25s sets its own logger to DEBUG on import, which printed "Building index from
        # IDs objects" on the console at every index change.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.chunks = list(chunks)  # row i of the index is chunks[i]
        # Row i belongs to owners[i] (PUBLIC or a session): a viewer's mask is one numpy
        # comparison, not a pass over the chunks.
        self._owner_codes: dict[str, int] = {PUBLIC: 0}
        codes = [self._owner_codes.setdefault(o, len(self._owner_codes)) for o in owners or ()]
        self.row_owners = np.asarray(codes or [0] * len(self.chunks), dtype=np.int32)
        self.built_for: object = None  # the table it was built from (set by `for_table`)
        texts = [normalise(c.text) for c in self.chunks]
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

    @classmethod
    def for_table(cls, table: ChunkTable) -> Bm25Index:
        """BM25 over every chunk of `table` (slow: build it off the answer path)."""
        chunks = table.chunks
        index = cls(chunks, owners=[table.articles[c.doc_id].owner for c in chunks])
        index.built_for = table
        return index

    def visible_rows(self, viewer: str | None) -> np.ndarray:
        """Rows of the public articles and of `viewer`'s own."""
        own = self._owner_codes.get(viewer or PUBLIC, 0)
        return (self.row_owners == 0) | (self.row_owners == own)

    def search(
        self, query: str, k: int, *, allowed: np.ndarray | None = None
    ) -> list[tuple[Chunk, float]]:
        """(chunk, score) of the `k` best texts, best first; only rows `allowed` marks."""
        if not self.size:
            return []
        tokens = self._bm25s.tokenize(
            query, stemmer=self.stemmer, token_pattern=self.TOKEN_PATTERN, show_progress=False
        )
        extra = {} if allowed is None else {"weight_mask": allowed.astype(np.float32)}
        rows, scores = self.index.retrieve(
            tokens, k=min(k, self.size), show_progress=False, **extra
        )
        return [(self.chunks[int(r)], float(s)) for r, s in zip(rows[0], scores[0], strict=True)]


class HybridRetriever:
    def __init__(
        self,
        live: LiveIndex,
        table: ChunkTable,
        embedder: Embedder,
        *,
        mode: str = "hybrid",
        depth: int = 30,
        bm25: Bm25Index | None = None,
    ) -> None:
        if mode not in RETRIEVAL_MODES:
            from qa_bot.errors import UnknownBackendError

            raise UnknownBackendError("retrieval mode", mode, RETRIEVAL_MODES)
        self.live = live
        self.table = table
        self.embedder = embedder
        self.mode = mode
        self.depth = depth  # how deep each ranking goes before fusion
        if mode == "dense":
            bm25 = None
        elif bm25 is None and len(table):
            bm25 = Bm25Index.for_table(table)
        self.bm25 = bm25
        self._present: np.ndarray | None = None  # BM25 rows this table still has

    def with_table(self, table: ChunkTable, bm25: Bm25Index | None = None) -> HybridRetriever:
        """The same retriever over a newer table (and BM25, if one was built for it)."""
        return HybridRetriever(
            self.live,
            table,
            self.embedder,
            mode=self.mode,
            depth=self.depth,
            bm25=bm25 if bm25 is not None else self.bm25,
        )

    def warm(self) -> HybridRetriever:
        """Work the first answer would do otherwise (off the answer path); returns self."""
        self._present_rows()
        return self

    def _present_rows(self) -> np.ndarray | None:
        """None when BM25 was built from this table; else which of its rows the table still
        has (BM25 follows a change in the background: until then its rows of a removed or
        replaced article are skipped). Computed once per retriever."""
        bm25 = self.bm25
        if bm25 is None or bm25.built_for is self.table:
            return None
        if self._present is None:
            by_id = self.table.by_id
            self._present = np.fromiter(
                (c.chunk_id in by_id for c in bm25.chunks), dtype=bool, count=len(bm25.chunks)
            )
        return self._present

    def _allowed_rows(self, bm25: Bm25Index, viewer: str | None) -> np.ndarray | None:
        """BM25 rows that `viewer` may see and that the current table still has."""
        present = self._present_rows()
        if not self.table.has_private:
            return present
        visible = bm25.visible_rows(viewer)
        return visible if present is None else visible & present

    def retrieve(self, query: str, k: int, *, viewer: str | None = None) -> list[Candidate]:
        """The `k` best chunks for `query` that `viewer` may see, with dense and BM25 evidence.

        `viewer` is a browser session's id: it sees the public articles and its own
        uploads. None (the CLI, the Python API, the eval) sees the public ones.
        """
        table = self.table
        if not len(table):
            return []
        query_vector = self.embedder.embed_query(query)
        found: dict[str, Candidate] = {}
        if self.mode in ("hybrid", "dense"):
            owners = [PUBLIC, viewer] if viewer else [PUBLIC]
            hits = self.live.dense_query(
                query_vector,
                min(self.depth, len(table)),
                owners=owners if table.has_private else None,
            )
            for rank, hit in enumerate(hits):
                chunk = table.by_id.get(hit.chunk_id)
                if chunk is None or not table.visible(chunk.doc_id, viewer):
                    continue
                cand = found.setdefault(hit.chunk_id, Candidate(chunk))
                cand.dense, cand.dense_rank = hit.similarity, rank
                cand.fused += 1.0 / (RRF_K + rank + 1)
        bm25 = self.bm25
        if bm25 is not None:
            allowed = self._allowed_rows(bm25, viewer)
            lexical = bm25.search(normalise(query), min(self.depth, bm25.size), allowed=allowed)
            rank = -1
            for chunk, score in lexical:
                if not score or chunk.chunk_id not in table.by_id:
                    continue
                if not table.visible(chunk.doc_id, viewer):
                    continue
                rank += 1
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
