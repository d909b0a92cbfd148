"""`answer()`: question (+history) -> rewrite -> retrieve -> answer -> `Answer`.

An `Engine` holds the collaborators (settings, embedder, store, answerer) and
the loaded index. The module-level `answer()` keeps one engine per settings
object, so the first call builds (or opens) the index of the configured
corpus and later calls reuse it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_bot.answering.answerers import Answerer, make_answerer
from qa_bot.answering.followup import check_history_size, resolve
from qa_bot.answering.retrieve import ArticleInfo, ChunkTable, HybridRetriever
from qa_bot.answering.validation import validate_question
from qa_bot.config import Settings
from qa_bot.errors import IndexNotFoundError, StoreError
from qa_bot.index.embeddings import Embedder, make_embedder
from qa_bot.index.indexing import IndexReport, index_documents, manifest_for
from qa_bot.index.store import ChromaStore, LiveIndex
from qa_bot.ingest.corpus import load_corpus
from qa_bot.private_files import make_private_dir, write_private
from qa_bot.types import Answer, StreamEvent

if TYPE_CHECKING:
    from qa_bot.ingest.fetch import FetchPolicy

log = logging.getLogger("qa_bot.engine")
_RECHECK_SECONDS = 2.0  # how often to look for a newer index built by another process


@dataclass(frozen=True)
class _Loaded:
    live: LiveIndex
    table: ChunkTable
    retriever: HybridRetriever


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        store: ChromaStore | None = None,
        answerer: Answerer | None = None,
        retrieval_mode: str = "hybrid",
    ) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embedder, cache_dir=settings.cache_path)
        self.store = store or ChromaStore.from_settings(settings)
        self.answerer = answerer or make_answerer(settings.llm, settings, embedder=self.embedder)
        self._answerers: dict[str, Answerer] = {settings.llm: self.answerer}
        self.retrieval_mode = retrieval_mode
        self._loaded: _Loaded | None = None
        self._checked_at = 0.0
        self._lock = threading.RLock()

    # -- indexing ------------------------------------------------------------------

    def index(
        self,
        paths: Sequence[str | Path] | None = None,
        *,
        add: bool = False,
        rebuild: bool = False,
        progress=None,
    ) -> IndexReport:
        """Sync the index with `paths` (default: the configured corpus)."""
        documents = self._corpus_documents() if paths is None else load_corpus(paths)
        report = index_documents(
            self.store,
            self.embedder,
            documents,
            chunk_max_tokens=self.settings.chunk_max_tokens,
            keep_others=add,
            rebuild=rebuild,
            progress=progress,
        )
        with self._lock:
            self._loaded = None
        return report

    def _corpus_documents(self):
        configured, uploads = self.settings.corpus_paths[:-1], self.settings.corpus_paths[-1]
        documents = load_corpus(configured)
        if uploads.is_dir():
            documents += load_corpus([uploads], allow_empty=True)
        return documents

    # -- answering -----------------------------------------------------------------

    def loaded(self) -> _Loaded:
        with self._lock:
            now = time.monotonic()
            if self._loaded is not None and now - self._checked_at < _RECHECK_SECONDS:
                return self._loaded
            live = self.store.live()
            if live is None:
                log.info("no index at %s yet: indexing the corpus (first run)", self.store.location)
                self.index()
                live = self.store.live()
                if live is None:
                    raise IndexNotFoundError(
                        f"No index at {self.store.location} after indexing. Run `qa-bot index`."
                    )
            self._checked_at = now
            if self._loaded is None or self._loaded.live.name != live.name:
                self.store.require_compatible(
                    live, manifest_for(self.embedder, self.settings.chunk_max_tokens)
                )
                table = _without_instructions(ChunkTable.from_live(live, embedder=self.embedder))
                retriever = HybridRetriever(live, table, self.embedder, mode=self.retrieval_mode)
                self._loaded = _Loaded(live, table, retriever)
            return self._loaded

    def answerer_for(self, spec: str | None) -> Answerer:
        """The answerer for a backend spec (default: the configured one), built once."""
        spec = spec or self.settings.llm
        with self._lock:
            if spec not in self._answerers:
                self._answerers[spec] = make_answerer(spec, self.settings, embedder=self.embedder)
            return self._answerers[spec]

    def warm_up(self, spec: str | None = None) -> float:
        """Open (or build) the index and load the models now; returns the seconds it took.

        The first answer is then quick, and its timings measure answering, not loading.
        """
        started = time.perf_counter()
        loaded = self.loaded()
        log.info("loading the models")
        self.embedder.embed_query("warm up")
        answerer = self.answerer_for(spec)
        resolved = resolve("What is the article about?", None)
        candidates = loaded.retriever.retrieve(resolved.search_query, answerer.candidates)
        answerer.answer(resolved, candidates, loaded.table)
        return time.perf_counter() - started

    def install_answerer(self, spec: str, answerer: Answerer) -> None:
        """Use `answerer` whenever `spec` is asked for (tests, custom backends)."""
        with self._lock:
            self._answerers[spec] = answerer

    def prepare(
        self, question: Any, history: Sequence[dict] | None, top_k: int | None, answerer: Answerer
    ):
        """Validate, resolve follow-ups and retrieve: the part every answerer shares.

        Retrieval goes as deep as the answerer reads (`Answerer.candidates`) or as the
        caller shows (`top_k`), whichever is more.
        """
        text = validate_question(question, max_tokens=self.settings.max_question_tokens)
        check_history_size(
            history,
            max_messages=self.settings.max_history_messages,
            max_chars=self.settings.max_history_chars,
        )
        resolved = resolve(text, history)
        depth = max(top_k or self.settings.top_k, answerer.candidates)
        try:
            loaded = self.loaded()
            candidates = loaded.retriever.retrieve(resolved.search_query, depth)
        except StoreError:
            # Another process may have swapped the index under us: reload once.
            with self._lock:
                self._loaded = None
            loaded = self.loaded()
            candidates = loaded.retriever.retrieve(resolved.search_query, depth)
        return resolved, candidates, loaded

    def answer(
        self,
        question: Any,
        history: Sequence[dict] | None = None,
        *,
        llm: str | None = None,
        top_k: int | None = None,
    ) -> Answer:
        """Answer `question`; `llm` picks a backend for this call only."""
        started = time.perf_counter()
        answerer = self.answerer_for(llm)
        resolved, candidates, loaded = self.prepare(question, history, top_k, answerer)
        retrieved = time.perf_counter()
        result = answerer.answer(resolved, candidates, loaded.table)
        return self._finish(result, started, retrieved, top_k)

    def _finish(
        self, result: Answer, started: float, retrieved: float, top_k: int | None
    ) -> Answer:
        done = time.perf_counter()
        timings = {
            "retrieve_ms": (retrieved - started) * 1000,
            "answer_ms": (done - retrieved) * 1000,
            "total_ms": (done - started) * 1000,
        }
        k = top_k or self.settings.top_k
        return replace(result, passages=result.passages[:k], timings=timings)

    def answer_stream(
        self,
        question: Any,
        history: Sequence[dict] | None = None,
        *,
        llm: str | None = None,
        top_k: int | None = None,
    ) -> Iterator[StreamEvent]:
        """Yield token events as a generative backend writes, then the final answer.

        Token events carry only sentences that passed the grounding check, so
        even the draft never shows an injected or invented fact; the last event
        holds the `Answer`, which a UI should display in place of the draft (it
        may be the extractive fallback). An extractive answerer is instant: it
        yields the answer event alone.
        """
        answerer = self.answerer_for(llm)
        started = time.perf_counter()
        resolved, candidates, loaded = self.prepare(question, history, top_k, answerer)
        retrieved = time.perf_counter()
        for event in answerer.stream(resolved, candidates, loaded.table):
            if event.kind == "answer" and event.answer is not None:
                event = StreamEvent(
                    "answer", answer=self._finish(event.answer, started, retrieved, top_k)
                )
            yield event

    def add_url(
        self,
        url: str,
        *,
        policy: FetchPolicy | None = None,
        admit: Callable[[int], None] | None = None,
    ) -> Upload:
        """Fetch the article at `url` (a web page, PDF, Word or text file) and add it as an
        upload, with the same checks and the same all-or-nothing indexing as `add_article`.

        The link is refused (`UnsafeLinkError`) when it, its DNS answer or a redirect leads
        to a private, loopback or link-local address (see `qa_bot.ingest.fetch`).
        """
        from qa_bot.ingest.fetch import FetchPolicy, fetch_article

        page = fetch_article(url, policy or FetchPolicy.from_settings(self.settings))
        return self.add_article(
            page.filename, page.content, max_bytes=self.settings.fetch_max_bytes, admit=admit
        )

    def add_article(
        self,
        filename: str,
        content: bytes,
        *,
        max_bytes: int | None = None,
        admit: Callable[[int], None] | None = None,
    ) -> Upload:
        """Save an uploaded article into the uploads folder and index it.

        Uploads have an id space of their own (``upload-<name>``), so an upload can never
        replace an article of the configured corpus; an upload with the id of an earlier
        upload (``notes.txt`` after ``notes.md``) replaces it. The file is checked (type,
        size, text, sentence count) before anything is written, and the old state is put
        back if indexing fails, so a bad upload leaves no trace. `admit(sentences)` is
        called once the upload has passed every check, just before it is indexed: it may
        refuse it by raising (the UI's upload budget), and then nothing was written.
        """
        from qa_bot.errors import CorpusError
        from qa_bot.ingest.chunking import chunk_document
        from qa_bot.ingest.corpus import SUPPORTED_SUFFIXES, doc_id_for, load_document
        from qa_bot.ingest.formats import check_article_file

        name = Path(filename).name
        suffix = check_article_file(
            name, len(content), max_bytes=max_bytes or self.settings.max_upload_bytes
        )
        loaded = self.loaded()  # build the corpus index first, or it would hold only this upload
        doc_id = UPLOAD_PREFIX + doc_id_for(Path(name))
        uploads = self.settings.uploads_path
        owner = loaded.table.articles.get(doc_id)
        if owner is not None and owner.path and Path(owner.path).parent != uploads:
            raise CorpusError(
                f"'{name}' would get the id {doc_id!r}, which an article of the configured "
                f"corpus has ('{owner.path}'). Rename the file and upload it again."
            )
        make_private_dir(uploads)
        target = uploads / f"{doc_id}{suffix}"
        # Hidden staging name with the real suffix: validated as that type, and
        # skipped by the corpus loader if a crash leaves it behind.
        staging = uploads / f".{doc_id}.partial{suffix}"
        write_private(staging, content)
        earlier = [p for p in uploads.glob(f"{doc_id}.*") if p.suffix.lower() in SUPPORTED_SUFFIXES]
        kept = {p: p.read_bytes() for p in earlier}
        try:
            try:
                document = load_document(staging)  # empty, damaged or unreadable files fail
            except CorpusError as exc:
                raise CorpusError(str(exc).replace(f"'{staging}'", f"'{name}'")) from None
            # Measured by the text it carries before any work: a compressed format can hold
            # far more text than its bytes.
            if len(document.text) > self.settings.max_upload_bytes:
                raise CorpusError(
                    f"'{name}' holds {len(document.text):,} characters of text; an upload may "
                    f"hold at most {self.settings.max_upload_bytes:,} (QA_BOT_MAX_UPLOAD_BYTES). "
                    "Upload the part you want to ask about."
                )
            sentences = len(chunk_document(document, max_tokens=self.settings.chunk_max_tokens))
            if sentences > self.settings.max_article_sentences:
                raise CorpusError(
                    f"'{name}' has {sentences:,} sentences; an upload may have at most "
                    f"{self.settings.max_article_sentences:,} (QA_BOT_MAX_ARTICLE_SENTENCES). "
                    "Upload the part you want to ask about."
                )
            if admit is not None:
                admit(sentences)
            for path in earlier:
                path.unlink()
            staging.replace(target)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
        try:
            report = self.index([target], add=True)
        except BaseException:
            target.unlink(missing_ok=True)
            for path, old in kept.items():
                write_private(path, old)
            raise
        replaced = sorted(p.name for p in earlier)
        return Upload(doc_id=doc_id, filename=name, replaced=replaced, report=report)

    def remove_article(self, doc_id: str) -> IndexReport:
        """Drop an uploaded article: its file and its passages.

        Articles of the configured corpus are not removed here (the next `qa-bot index`
        would bring them back): the message says to change QA_BOT_CORPUS instead.
        """
        from qa_bot.errors import CorpusError

        table = self.loaded().table
        info = table.articles.get(doc_id)
        uploads = self.settings.uploads_path
        if info is None:
            known = ", ".join(sorted(table.articles)) or "none"
            raise CorpusError(f"No article has the id {doc_id!r}. Indexed: {known}.")
        if not info.path or Path(info.path).parent != uploads:
            raise CorpusError(
                f"{doc_id!r} is part of the configured corpus ('{info.path}'), not an upload. "
                "Remove it from QA_BOT_CORPUS (or delete the file) and run `qa-bot index`."
            )
        files = [p for p in uploads.glob(f"{doc_id}.*") if not p.name.startswith(".")]
        kept = {p: p.read_bytes() for p in files}
        for path in files:
            path.unlink()
        try:
            return self.index()
        except BaseException:
            for path, old in kept.items():
                write_private(path, old)
            raise

    def articles(self):
        """(doc_id, title, source, chunk count, date) of every indexed article."""
        table = self.loaded().table
        counts: dict[str, int] = {}
        for chunk in table.chunks:
            counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
        return [
            (i.doc_id, i.title, i.source, counts.get(i.doc_id, 0), i.date)
            for i in table.articles.values()
        ]

    def article(self, doc_id: str) -> ArticleInfo | None:
        """What the index holds about one article: title, source, date, author, text."""
        return self.loaded().table.articles.get(doc_id)

    def article_text(self, doc_id: str) -> str:
        info = self.loaded().table.articles.get(doc_id)
        return info.text if info else ""


def _without_instructions(table: ChunkTable) -> ChunkTable:
    """The table minus sentences that are orders to a chatbot (see `injection`).

    Dropping them here keeps them out of BM25, dense hits (ids missing from the
    table are skipped) and the neighbours an answerer may add; the article's
    full text, shown in the UI, keeps them.
    """
    from qa_bot.answering.injection import looks_like_instructions

    flagged = {c.chunk_id for c in table.chunks if looks_like_instructions(c.text)}
    # The tail of an order ("... held in Paris. PWNED.") is split off as its own tiny
    # sentence, which reads as nothing: it goes with the order before it.
    for chunk in table.chunks:
        before = table.neighbour(chunk, -1)
        if before is not None and before.chunk_id in flagged and len(chunk.text.split()) <= 3:
            flagged.add(chunk.chunk_id)
    if not flagged:
        return table
    log.warning(
        "left %d sentence(s) that read as instructions to a chatbot out of retrieval", len(flagged)
    )
    kept = [c for c in table.chunks if c.chunk_id not in flagged]
    return ChunkTable(
        kept, table.articles, embedder=table.embedder, vector_source=table._vector_source
    )


UPLOAD_PREFIX = "upload-"


@dataclass(frozen=True)
class Upload:
    """What `Engine.add_article` did: the new article's id and the files it replaced."""

    doc_id: str
    filename: str
    replaced: list[str]
    report: IndexReport


_engines: dict[Settings, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or Settings.load()
    with _engines_lock:
        engine = _engines.get(settings)
        if engine is None:
            engine = _engines[settings] = Engine(settings)
        return engine


def answer(
    question: str, history: Sequence[dict] | None = None, *, settings: Settings | None = None
) -> Answer:
    """Answer a question about the indexed articles.

    `history` is a list of ``{"role": "user"|"assistant", "content": str}``
    messages (the format Gradio and OpenAI use). Raises `QuestionError` (a
    `ValueError`) for an empty, over-long or non-text question.
    """
    return get_engine(settings).answer(question, history)


def answer_stream(
    question: str, history: Sequence[dict] | None = None, *, settings: Settings | None = None
) -> Iterator[StreamEvent]:
    """Like `answer`, as a stream: verified token events, then the final answer event."""
    return get_engine(settings).answer_stream(question, history)
