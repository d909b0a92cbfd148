"""`answer()`: question (+history) -> rewrite -> retrieve -> answer -> `Answer`.

An `Engine` holds the collaborators (settings, embedder, store, answerer) and
the loaded index. The module-level `answer()` keeps one engine per settings
object, so the first call builds (or opens) the index of the configured
corpus and later calls reuse it.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_bot.answering.answerers import Answerer, make_answerer
from qa_bot.answering.followup import check_history_size, resolve
from qa_bot.answering.retrieve import ArticleInfo, Bm25Index, ChunkTable, HybridRetriever
from qa_bot.answering.validation import validate_question
from qa_bot.config import Settings
from qa_bot.errors import IndexNotFoundError, StoreError
from qa_bot.index.embeddings import Embedder, make_embedder
from qa_bot.index.indexing import IndexReport
from qa_bot.index.library import UPLOAD_PREFIX, Library, LibraryView, Upload
from qa_bot.index.store import ChromaStore
from qa_bot.index.table import PUBLIC
from qa_bot.ingest.corpus import load_corpus
from qa_bot.types import Answer, Chunk, StreamEvent

__all__ = ["UPLOAD_PREFIX", "Engine", "Upload", "answer", "answer_stream", "get_engine"]

if TYPE_CHECKING:
    from qa_bot.ingest.fetch import FetchPolicy

log = logging.getLogger("qa_bot.engine")
_RECHECK_SECONDS = 1.0  # how often to look for changes made by another process or replica
_WATCH_SECONDS = 0.5  # how often a serving app looks for them (`Engine.watch`)


@dataclass(frozen=True)
class _Loaded:
    view: LibraryView
    retriever: HybridRetriever

    @property
    def live(self):
        return self.view.live

    @property
    def table(self) -> ChunkTable:
        return self.retriever.table


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
        self.library = Library(
            settings, self.store, self.embedder, passage_filter=_without_instructions
        )
        self.answerer = answerer or make_answerer(settings.llm, settings, embedder=self.embedder)
        self._answerers: dict[str, Answerer] = {settings.llm: self.answerer}
        self.retrieval_mode = retrieval_mode
        self._loaded: _Loaded | None = None
        self._checked_at = 0.0
        self._lock = threading.RLock()
        self._refreshing = threading.Lock()  # one background refresh at a time
        self._stop_watching = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- the library -----------------------------------------------------------------

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
        report = self.library.sync(documents, add=add, rebuild=rebuild, progress=progress)
        self._after_change()
        return report

    def _corpus_documents(self):
        configured, uploads = self.settings.corpus_paths[:-1], self.settings.corpus_paths[-1]
        documents = load_corpus(configured)
        if uploads.is_dir():  # uploads kept as files by earlier versions
            documents += load_corpus([uploads], allow_empty=True)
        return documents

    def add_article(
        self,
        filename: str,
        content: bytes,
        *,
        owner: str = PUBLIC,
        max_bytes: int | None = None,
        admit: Callable[[int], None] | None = None,
    ) -> Upload:
        """Check an uploaded article and add it (see `Library.add_upload`).

        This is the operator's way to add an article for everyone; the web UI passes the
        uploading session as `owner`, so only that session sees it. `admit(sentences)` is
        called once the upload has passed every check, just before it is indexed: it may
        refuse it by raising (the UI's upload budget), and then nothing was written.
        """
        self.loaded()  # build the corpus index first, or it would hold only this upload
        upload = self.library.add_upload(
            filename, content, owner=owner, max_bytes=max_bytes, admit=admit
        )
        self._after_change()
        return upload

    def add_url(
        self,
        url: str,
        *,
        policy: FetchPolicy | None = None,
        owner: str = PUBLIC,
        admit: Callable[[int], None] | None = None,
    ) -> Upload:
        """Fetch the article at `url` (a web page, PDF, Word or text file) and add it as an
        upload for `owner`, with the same checks and the same all-or-nothing indexing as
        `add_article` (the web UI passes the asking session, as for an upload).

        The link is refused (`UnsafeLinkError`) when it, its DNS answer or a redirect leads
        to a private, loopback or link-local address (see `qa_bot.ingest.fetch`).
        """
        from qa_bot.ingest.fetch import FetchPolicy, fetch_article

        page = fetch_article(url, policy or FetchPolicy.from_settings(self.settings))
        return self.add_article(
            page.filename,
            page.content,
            owner=owner,
            max_bytes=self.settings.fetch_max_bytes,
            admit=admit,
        )

    def remove_article(self, doc_id: str, *, viewer: str | None = None) -> IndexReport:
        """Drop an uploaded article (see `Library.remove`)."""
        self.loaded()
        report = self.library.remove(doc_id, viewer=viewer)
        self._after_change()
        return report

    def articles(self, viewer: str | None = None):
        """(doc_id, title, source, chunk count, date) of every article `viewer` may see."""
        table = self.loaded().table
        rows = []
        for info in self.library.articles(viewer):
            source = info.source
            if info.is_upload and info.owner != PUBLIC:
                source = f"your upload ({source})" if source else "your upload"
            elif info.is_upload:
                source = source or "uploaded"
            count = len(table.chunks_of(info.doc_id))
            rows.append((info.doc_id, info.title, source, count, info.date))
        return rows

    def removable(self, viewer: str | None = None) -> list[str]:
        """Ids of the uploads `viewer` may remove: its own (everyone's when uploads are
        shared); the operator (None) any upload."""
        shared = self.settings.shared_uploads or viewer is None
        return [
            info.doc_id
            for info in self.library.articles(viewer)
            # an upload, or one kept as a file by an earlier version (kind "corpus")
            if info.doc_id.startswith(UPLOAD_PREFIX) and (shared or info.owner == viewer)
        ]

    def article(self, doc_id: str, viewer: str | None = None) -> ArticleInfo | None:
        """What the index holds about one article `viewer` may see: title, source, date,
        author, text."""
        table = self.loaded().table
        return table.articles.get(doc_id) if table.visible(doc_id, viewer) else None

    def article_text(self, doc_id: str, viewer: str | None = None) -> str:
        info = self.article(doc_id, viewer)
        return info.text if info is not None else ""

    # -- keeping the view current ------------------------------------------------------

    def loaded(self) -> _Loaded:
        """The current view and its retriever; never waits for a refresh once loaded.

        The first call opens (or builds) the index. Later calls return at once and, at most
        every second, start a background check for changes made by other processes.
        """
        current = self._loaded
        if current is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._open()
                    self._checked_at = time.monotonic()
                return self._loaded
        if time.monotonic() - self._checked_at >= _RECHECK_SECONDS:
            self._checked_at = time.monotonic()
            # Not a daemon: a daemon thread still inside Chroma's native code when the
            # interpreter exits crashes the process (SIGSEGV at exit); this one reads for a
            # moment, and exit waits for it.
            threading.Thread(target=self._refresh_quietly, name="qa-bot-refresh").start()
        return current

    def _open(self) -> _Loaded:
        view = self.library.refresh()
        if view is None:
            log.info("no index at %s yet: indexing the corpus (first run)", self.store.location)
            self.library.sync(self._corpus_documents())
            view = self.library.refresh()
            if view is None:
                raise IndexNotFoundError(
                    f"No index at {self.store.location} after indexing. Run `qa-bot index`."
                )
        view.table.warm()
        return _Loaded(
            view, HybridRetriever(view.live, view.table, self.embedder, mode=self.retrieval_mode)
        )

    def watch(self, every: float = _WATCH_SECONDS) -> None:
        """Check for changes made by other processes every `every` seconds, whether or not
        questions come (the app does this: a replica then shows another's change within
        about a second, however slow its questions are). Stopped at exit, before Python
        finalises (a thread inside Chroma's native code then would crash the process)."""
        if self._watcher is not None:
            return
        self.loaded()

        def run() -> None:
            while not self._stop_watching.wait(every):
                self._checked_at = time.monotonic()
                self._refresh_quietly()

        self._watcher = threading.Thread(target=run, name="qa-bot-watch", daemon=True)
        self._watcher.start()
        atexit.register(self.stop_watching)

    def stop_watching(self) -> None:
        self._stop_watching.set()
        if self._watcher is not None:
            self._watcher.join(timeout=30)

    def _refresh_quietly(self) -> None:
        """A background check for changes: read the next view and swap it in (its BM25 follows
        in the background)."""
        if not self._refreshing.acquire(blocking=False):
            return
        try:
            # Swapped in at once: dense search finds a new article while BM25 follows.
            self._install(self.library.refresh(), wait_for_bm25=self.retrieval_mode == "bm25")
        except Exception as exc:  # the next answer's own error path reports store trouble
            log.warning("checking the index for changes failed: %s", exc)
        finally:
            self._refreshing.release()

    def _after_change(self) -> None:
        """After a change made here: this engine's next answer sees it (found by dense
        search, and by BM25 once its rebuild, off the answer path, is swapped in)."""
        if self._loaded is None:
            return
        self._install(self.library.refresh(), wait_for_bm25=self.retrieval_mode == "bm25")

    def _install(self, view: LibraryView | None, *, wait_for_bm25: bool) -> None:
        """Swap `view` in: a new retriever over its table, with the old BM25 until a new one
        is built (unless told to wait for it: BM25 alone would not find a new article).
        Answers keep using what they picked up."""
        if view is None:
            with self._lock:
                self._loaded = None
            return
        with self._lock:
            current = self._loaded
            if current is not None and current.view is view:
                return
        view.table.warm()
        if current is None or current.view.live.name != view.live.name:
            retriever = HybridRetriever(
                view.live, view.table, self.embedder, mode=self.retrieval_mode
            )
            with self._lock:
                self._loaded = _Loaded(view, retriever)
            return
        if wait_for_bm25 or current.retriever.bm25 is None:
            retriever = current.retriever.with_table(view.table, self._bm25_for(view))
            with self._lock:
                self._loaded = _Loaded(view, retriever)
            return
        retriever = current.retriever.with_table(view.table).warm()
        with self._lock:
            self._loaded = _Loaded(view, retriever)

        def build() -> None:
            if self._loaded is None or self._loaded.view is not view:
                return  # a newer change came first: its own build follows
            bm25 = self._bm25_for(view)
            with self._lock:
                now = self._loaded
                if now is not None and now.view is view:
                    self._loaded = _Loaded(view, now.retriever.with_table(view.table, bm25))

        # A daemon: BM25 is built in Python and numpy, never in Chroma's native code.
        threading.Thread(target=build, daemon=True, name="qa-bot-bm25").start()

    def _bm25_for(self, view: LibraryView) -> Bm25Index | None:
        if self.retrieval_mode == "dense" or not len(view.table):
            return None
        return Bm25Index.for_table(view.table)

    # -- answering -----------------------------------------------------------------

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
        answerer.answer(resolved, candidates, loaded.table.seen_by(None))
        return time.perf_counter() - started

    def install_answerer(self, spec: str, answerer: Answerer) -> None:
        """Use `answerer` whenever `spec` is asked for (tests, custom backends)."""
        with self._lock:
            self._answerers[spec] = answerer

    def prepare(
        self,
        question: Any,
        history: Sequence[dict] | None,
        top_k: int | None,
        answerer: Answerer,
        viewer: str | None = None,
    ):
        """Validate, resolve follow-ups and retrieve: the part every answerer shares.

        Retrieval goes as deep as the answerer reads (`Answerer.candidates`) or as the
        caller shows (`top_k`), whichever is more, over what `viewer` may see.
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
            candidates = loaded.retriever.retrieve(resolved.search_query, depth, viewer=viewer)
        except StoreError:
            # Another process may have swapped the index under us: reload once.
            with self._lock:
                self._loaded = None
            loaded = self.loaded()
            candidates = loaded.retriever.retrieve(resolved.search_query, depth, viewer=viewer)
        return resolved, candidates, loaded

    def answer(
        self,
        question: Any,
        history: Sequence[dict] | None = None,
        *,
        llm: str | None = None,
        top_k: int | None = None,
        viewer: str | None = None,
    ) -> Answer:
        """Answer `question`; `llm` picks a backend for this call only.

        `viewer` is the asking browser session (its private uploads are searched too).
        """
        started = time.perf_counter()
        answerer = self.answerer_for(llm)
        resolved, candidates, loaded = self.prepare(question, history, top_k, answerer, viewer)
        retrieved = time.perf_counter()
        result = answerer.answer(resolved, candidates, loaded.table.seen_by(viewer))
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
        viewer: str | None = None,
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
        resolved, candidates, loaded = self.prepare(question, history, top_k, answerer, viewer)
        retrieved = time.perf_counter()
        for event in answerer.stream(resolved, candidates, loaded.table.seen_by(viewer)):
            if event.kind == "answer" and event.answer is not None:
                event = StreamEvent(
                    "answer", answer=self._finish(event.answer, started, retrieved, top_k)
                )
            yield event


def _without_instructions(chunks: Sequence[Chunk]) -> list[Chunk]:
    """An article's chunks minus sentences that are orders to a chatbot (see `injection`).

    Dropping them here keeps them out of BM25, dense hits (ids missing from the
    table are skipped) and the neighbours an answerer may add; the article's
    full text, shown in the UI, keeps them. The library applies it to each article
    as it enters the view.
    """
    from qa_bot.answering.injection import looks_like_instructions

    flagged = {c.chunk_id for c in chunks if looks_like_instructions(c.text)}
    if not flagged:
        return list(chunks)
    # The tail of an order ("... held in Paris. PWNED.") is split off as its own tiny
    # sentence, which reads as nothing: it goes with the order before it.
    by_seq = {c.seq: c for c in chunks}
    for chunk in chunks:
        before = by_seq.get(chunk.seq - 1)
        if before is not None and before.chunk_id in flagged and len(chunk.text.split()) <= 3:
            flagged.add(chunk.chunk_id)
    log.warning(
        "left %d sentence(s) that read as instructions to a chatbot out of retrieval", len(flagged)
    )
    return [c for c in chunks if c.chunk_id not in flagged]


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
