"""The ablation's baseline: llama-index's default retrieval, with no LLM.

What a first attempt with llama-index looks like: a `VectorStoreIndex` over an
in-memory Chroma collection, the same MiniLM model through llama-index's
`HuggingFaceEmbedding`, the default `SentenceSplitter` (1024-token chunks) and
the default query engine's retriever (`similarity_top_k=2`). Without an LLM to
synthesise a reply, the answer is the top retrieved chunk, cited as ``[1]``;
it never abstains. Key facts and retrieval metrics are judged on that text.

The LLM is passed explicitly as `MockLLM` and the embedder explicitly too:
llama-index's global `Settings` would otherwise build an OpenAI client. This
module imports chromadb directly (not through `qa_bot.index.store`) on purpose: the
point is to measure the library's defaults, not our store.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qa_bot.types import Answer, Document, Source

BASELINE_TOP_K = 2  # llama-index's DEFAULT_SIMILARITY_TOP_K
BASELINE_LABEL = "llama-index default (top-2 chunk, no LLM)"


@dataclass
class DefaultIndex:
    """llama-index's default ingestion, built once: the index and what it was built with."""

    index: Any  # a llama-index VectorStoreIndex
    collection: Any  # its Chroma collection
    client: Any  # the Chroma client (ephemeral, or persistent at `persist_dir`)
    embed_model: Any  # llama-index's HuggingFaceEmbedding over the same MiniLM


def default_embed_model():
    """MiniLM through llama-index's own `HuggingFaceEmbedding` (its default batch size)."""
    from qa_bot.index.embeddings import minilm_path, offline_huggingface

    offline_huggingface()
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError as exc:
        from qa_bot.errors import MissingDependencyError

        raise MissingDependencyError(
            "llama-index-embeddings-huggingface", "eval", "The llama-index baseline"
        ) from exc
    return HuggingFaceEmbedding(model_name=str(minilm_path()), device="cpu")


def build_default_index(
    documents: Sequence[Document],
    *,
    embed_model: Any = None,
    chunk_size: int | None = None,
    persist_dir: str | None = None,
) -> DefaultIndex:
    """`VectorStoreIndex.from_documents` over Chroma, as llama-index's docs do it.

    The one builder of the baseline, for the eval and every benchmark. `chunk_size=None` keeps
    the default `SentenceSplitter` (1024 tokens); `persist_dir` uses an on-disk Chroma (the
    scale bench compares disk against disk), else an in-memory one.
    """
    import chromadb
    from llama_index.core import Document as LlamaDocument
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    embed_model = embed_model or default_embed_model()
    settings = chromadb.Settings(anonymized_telemetry=False)
    client = (
        chromadb.PersistentClient(path=persist_dir, settings=settings)
        if persist_dir
        else chromadb.EphemeralClient(settings=settings)
    )
    collection = client.create_collection(
        f"baseline-{uuid.uuid4().hex[:8]}", embedding_function=None
    )
    splitter = (
        SentenceSplitter()
        if chunk_size is None
        else SentenceSplitter(chunk_size=chunk_size, chunk_overlap=0)
    )
    index = VectorStoreIndex.from_documents(
        [LlamaDocument(text=d.text, id_=d.doc_id, metadata={"title": d.title}) for d in documents],
        storage_context=StorageContext.from_defaults(
            vector_store=ChromaVectorStore(chroma_collection=collection)
        ),
        embed_model=embed_model,
        transformations=[splitter],
    )
    return DefaultIndex(index, collection, client, embed_model)


class LlamaIndexBaseline:
    """An `answer_fn` over `documents`; build it once, call it per question."""

    def __init__(
        self, documents: Sequence[Document], *, top_k: int = BASELINE_TOP_K, chunk_size=None
    ) -> None:
        from llama_index.core.llms import MockLLM

        self.titles = {d.doc_id: d.title for d in documents}
        self.llm = MockLLM()  # never used for retrieval; passed so nothing reaches for OpenAI
        self.built = build_default_index(documents, chunk_size=chunk_size)
        self.embed_model = self.built.embed_model
        self._client = self.built.client
        self._name = self.built.collection.name
        self.retriever = self.built.index.as_retriever(
            similarity_top_k=top_k, embed_model=self.embed_model
        )

    def __call__(self, question: str, history=None) -> Answer:
        # A single-turn retriever: the history is ignored, as the default query engine does.
        nodes = self.retriever.retrieve(question)
        passages = tuple(self._source(n) for n in nodes)
        if not passages:
            return Answer(
                text="No passage found.",
                abstained=True,
                backend="llama-index",
                question=question,
                search_query=question,
            )
        top = passages[0]
        return Answer(
            text=f"{top.text.strip()} [1]",
            sources=(top,),
            backend="llama-index",
            question=question,
            search_query=question,
            passages=passages,
        )

    def _source(self, hit) -> Source:
        node = hit.node
        doc_id = node.ref_doc_id or ""
        return Source(
            text=node.get_content(),
            score=float(hit.score or 0.0),
            doc_id=doc_id,
            title=self.titles.get(doc_id, doc_id),
            start=node.start_char_idx or 0,
            end=node.end_char_idx or 0,
            chunk_id=node.node_id,
        )

    def close(self) -> None:
        # An in-memory collection: nothing is left behind either way.
        with contextlib.suppress(Exception):
            self._client.delete_collection(self._name)
