"""The library: which articles there are, who may see them, and the in-memory view of them.

The catalogue (see `store`) is the truth: one record per article (text, title, owner, the
revision whose chunks are current) and a head record with the catalogue's version. This
module is the only one that changes it:

- `sync` makes the operator's articles equal a set of documents (`qa-bot index`),
  `add` adds or updates some (`qa-bot index --add`, `Engine.add_article`), `add_upload`
  checks and adds a file a user uploaded, `remove` drops one. Each change embeds only the
  articles that changed, writes their chunks under a new revision, then points the
  catalogue at them in one Chroma call, then deletes what they replaced: the cost is the
  article's, not the library's, and a crash leaves each article whole (old or new).
- A first build and a rebuild (another embedder or chunker) fill a new generation aside
  and swap it in (`store`), as before.
- Caps: at most `max_articles` articles and `max_passages` passages (QA_BOT_MAX_ARTICLES,
  QA_BOT_MAX_PASSAGES); a change that would pass them is refused with a message.

Owners. An article belongs to everyone (`PUBLIC`: the configured corpus, the CLI,
`Engine.add_article`) or to one browser session (a private upload). Every reader asks as a
viewer, and sees the public articles and its own.

The view. `view()` is an immutable `LibraryView` (catalogue head, `ChunkTable`);
`refresh()` reads what changed since the view's version (the changed records and their
chunks only) and returns the next view, so keeping up with another process or replica
costs the change too. Callers swap the new view in; nobody waits for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa_bot.config import Settings
from qa_bot.errors import CorpusError, StoreError
from qa_bot.index.embedder_base import Embedder
from qa_bot.index.indexing import (
    EmbeddedArticle,
    IndexReport,
    Progress,
    catalogue_meta,
    chunk_rows,
    document_from_record,
    embed_articles,
    manifest_for,
    page_starts_from,
)
from qa_bot.index.store import (
    COMPACT_AFTER,
    CatalogueRecord,
    ChromaStore,
    Head,
    LiveIndex,
    is_frozen,
)
from qa_bot.index.table import PUBLIC, ArticleInfo, ChunkTable
from qa_bot.types import Chunk, Document

log = logging.getLogger("qa_bot.index.library")

UPLOAD_PREFIX = "upload-"
ORPHAN_AGE = 600.0  # seconds before a sync deletes the chunks of a write that never committed
_READ_TRIES = 5  # a view read that raced a writer is retried this often

PassageFilter = Callable[[Sequence[Chunk]], list[Chunk]]


@dataclass(frozen=True)
class LibraryView:
    """One consistent version of the library, as held in memory."""

    live: LiveIndex
    head: Head
    table: ChunkTable
    revisions: dict[str, str]  # doc_id -> the revision the table holds


@dataclass(frozen=True)
class Upload:
    """What `add_upload` did: the new article's id and the earlier upload it replaced."""

    doc_id: str
    filename: str
    replaced: list[str]
    report: IndexReport


def upload_id(filename: str, owner: str) -> str:
    """``upload-<name>`` for everyone's uploads; a private one carries its owner's tag,
    so two sessions uploading `notes.txt` get two articles."""
    from qa_bot.ingest.corpus import doc_id_for

    name = doc_id_for(Path(filename))
    if owner == PUBLIC:
        return UPLOAD_PREFIX + name
    return f"{UPLOAD_PREFIX}{hashlib.sha256(owner.encode()).hexdigest()[:8]}-{name}"


class Library:
    def __init__(
        self,
        settings: Settings,
        store: ChromaStore,
        embedder: Embedder,
        *,
        passage_filter: PassageFilter | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        # Drops passages that must never be retrieved (the engine's instruction filter);
        # applied per article as it enters the view.
        self.passage_filter = passage_filter or list
        self._view: LibraryView | None = None
        self._view_lock = threading.Lock()

    @property
    def manifest(self):
        return manifest_for(self.embedder, self.settings.chunk_max_tokens)

    # -- reading -------------------------------------------------------------------------

    def view(self) -> LibraryView | None:
        """The newest view read so far (no I/O)."""
        return self._view

    def refresh(self) -> LibraryView | None:
        """Bring the view up to date with the store; None when there is no index yet.

        Reads only what changed since the current view (a full read the first time, or
        when another process swapped in a new generation).
        """
        with self._view_lock:
            for _ in range(_READ_TRIES):
                current = self._view
                live = self.store.live()
                if live is None:
                    self._view = None
                    return None
                try:
                    if current is None or current.live.name != live.name:
                        self.store.require_compatible(live, self.manifest)
                        if not is_frozen(live.collection):  # made by an earlier version
                            with self.store.write_lock():
                                live = self.store.freeze(live)
                        view = self._read_all(live)
                    else:
                        view = self._read_changes(current)
                except _Raced:
                    continue
                except StoreError:
                    newest = self.store.live()
                    if newest is None or newest.name == live.name:
                        raise
                    continue  # the generation went away under us: read the new one
                self._view = view
                return view
            raise StoreError(
                f"The index at {self.store.location} kept changing while it was read "
                f"({_READ_TRIES} tries). Try again."
            )

    def _read_all(self, live: LiveIndex) -> LibraryView:
        head = live.head()
        records = {
            doc_id: r
            for doc_id, r in live.records(with_text=True).items()
            if r.meta.get("state") == "live"
        }
        wanted = {(doc_id, str(r.meta.get("rev", ""))) for doc_id, r in records.items()}
        grouped: dict[str, list[Chunk]] = {}
        for chunk_id, text, meta, _ in live.rows():
            key = (meta.get("doc_id", ""), meta.get("rev", ""))
            if key in wanted:
                grouped.setdefault(key[0], []).append(_chunk(chunk_id, text, meta))
        changed = {}
        for doc_id, record in records.items():
            chunks = grouped.get(doc_id, [])
            if len(chunks) != int(record.meta.get("chunk_count", -1)):
                raise _Raced()  # a writer replaced it while we read: read again
            changed[doc_id] = (_info(record), self.passage_filter(sorted(chunks, key=_seq)))
        if live.head() != head:
            raise _Raced()
        empty = ChunkTable((), {}, embedder=self.embedder, vector_source=live.embeddings)
        table = empty.with_changes(changed, ())
        revisions = {d: str(r.meta.get("rev", "")) for d, r in records.items()}
        return LibraryView(live, head, table, revisions)

    def _read_changes(self, current: LibraryView) -> LibraryView:
        live = current.live
        head = live.head()
        if head == current.head:
            return current
        records = live.records(since=current.head.version, with_text=True)
        changed: dict[str, tuple[ArticleInfo, list[Chunk]]] = {}
        removed: list[str] = []
        revisions = dict(current.revisions)
        for doc_id, record in records.items():
            rev = str(record.meta.get("rev", ""))
            if record.meta.get("state") != "live":
                if doc_id in revisions:
                    removed.append(doc_id)
                    revisions.pop(doc_id)
                continue
            if revisions.get(doc_id) == rev:
                continue
            rows = live.chunk_rows(doc_id, rev)
            if len(rows) != int(record.meta.get("chunk_count", -1)):
                raise _Raced()
            chunks = sorted((_chunk(i, t, m) for i, t, m in rows), key=_seq)
            changed[doc_id] = (_info(record), self.passage_filter(chunks))
            revisions[doc_id] = rev
        if live.head() != head:
            raise _Raced()
        table = current.table.with_changes(changed, removed)
        return LibraryView(live, head, table, revisions)

    def articles(self, viewer: str | None = None) -> list[ArticleInfo]:
        view = self._view or self.refresh()
        if view is None:
            return []
        table = view.table
        return [info for d, info in table.articles.items() if table.visible(d, viewer)]

    # -- changing ------------------------------------------------------------------------

    def sync(
        self,
        documents: Sequence[Document],
        *,
        add: bool = False,
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IndexReport:
        """Make the operator's articles equal `documents` (with `add`: add or update them).

        Uploads are kept either way. Unchanged articles are not touched; when nothing
        changed, nothing is written, so indexing twice is a no-op.
        """
        started = time.perf_counter()
        report = IndexReport()
        kind = "added" if add else "corpus"
        with self.store.write_lock():
            try:
                live = self.store.live()
            except StoreError:
                if not rebuild:
                    raise
                # The index cannot even be opened (e.g. garbage in chroma.sqlite3):
                # a rebuild starts from nothing, so keep the damaged files aside.
                report.set_aside = str(self.store.set_aside_damaged())
                report.rebuilt = True
                live = self.store.live()
            if live is None or rebuild or self.manifest.differences(live.manifest):
                report.rebuilt = report.rebuilt or live is not None
                self._build_generation(live, documents, kind, add, report, progress)
            else:
                live = self.store.freeze(live)  # one made by an earlier version
                if live.head().tail > COMPACT_AFTER:
                    self._compact(live, documents, kind, add, report, progress)
                else:
                    self._sync_in_place(live, documents, kind, add, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def _plan(self, records, documents, kind, add, report) -> tuple[list[Document], list[str]]:
        """What a sync changes: the documents to embed and the ids to remove (the report
        says which were added, updated, unchanged and removed)."""
        wanted = {doc.doc_id: doc for doc in documents}
        to_embed: list[Document] = []
        for doc_id, doc in wanted.items():
            record = records.get(doc_id)
            if record is None:
                report.added.append(doc_id)
                to_embed.append(doc)
            elif record.meta.get("doc_hash") != doc.content_hash or (
                record.meta.get("kind") != kind and not add
            ):
                report.updated.append(doc_id)
                to_embed.append(doc)
            else:
                report.unchanged.append(doc_id)
        removed = []
        for doc_id, record in records.items():
            if doc_id in wanted:
                continue
            if add or record.meta.get("kind") not in ("corpus", "added"):
                report.unchanged.append(doc_id)  # uploads stay; --add keeps the rest
            else:
                removed.append(doc_id)
        report.removed = sorted(removed)
        return to_embed, removed

    def _sync_in_place(self, live, documents, kind, add, report, progress) -> None:
        records = {d: r for d, r in live.records().items() if r.meta.get("state") == "live"}
        to_embed, removed = self._plan(records, documents, kind, add, report)
        self._sweep_orphans(live, records)
        if report.changed:
            embedded = [
                a
                for batch in embed_articles(
                    self.embedder,
                    to_embed,
                    chunk_max_tokens=self.settings.chunk_max_tokens,
                    progress=progress,
                )
                for a in batch
            ]
            report.chunks_embedded = sum(len(a.chunks) for a in embedded)
            self._commit(
                live,
                [(a, PUBLIC, kind, "") for a in embedded],
                removed=[records[d] for d in removed],
                replaced=[
                    records[a.document.doc_id] for a in embedded if a.document.doc_id in records
                ],
            )
        head = live.head()
        report.chunks_total = self._passages(live, head)
        report.generation = live.name

    def _compact(self, live, documents, kind, add, report, progress) -> None:
        """The sync as a new generation that copies the stored vectors of every article it
        keeps (nothing re-embedded): the changes Chroma replays at every open start again
        from zero. Costs a pass over the library, once per `COMPACT_AFTER` changed passages.
        """
        records = {
            d: r for d, r in live.records(with_text=True).items() if r.meta.get("state") == "live"
        }
        to_embed, removed = self._plan(records, documents, kind, add, report)
        fresh = {d.doc_id for d in to_embed}
        stored: dict[str, list[tuple[str, str, dict, Any]]] = {}
        current = {(d, str(r.meta.get("rev", ""))) for d, r in records.items()}
        for chunk_id, text, meta, vector in live.rows(include_embeddings=True):
            key = (meta.get("doc_id", ""), meta.get("rev", ""))
            if key in current and key[0] not in fresh:
                stored.setdefault(key[0], []).append((chunk_id, text, meta, vector))
        writer = self.store.new_generation(self.manifest)
        try:
            articles: list[tuple[EmbeddedArticle, str, str, str]] = []
            for doc_id, record in records.items():
                if doc_id in fresh or doc_id in removed:
                    continue
                meta = record.meta
                rows = sorted(stored.get(doc_id, []), key=lambda row: int(row[2]["seq"]))
                if len(rows) != int(meta.get("chunk_count", -1)):
                    raise StoreError(
                        f"The index at {self.store.location} lacks passages of {doc_id!r}. "
                        "Run `qa-bot index --rebuild`."
                    )
                article = EmbeddedArticle(
                    document_from_record(doc_id, meta, record.text),
                    str(meta.get("rev", "")),
                    [_chunk(i, t, m) for i, t, m, _ in rows],
                    [v for *_, v in rows],
                )
                articles.append((article, *_ownership(meta)))
            for batch in embed_articles(
                self.embedder,
                to_embed,
                chunk_max_tokens=self.settings.chunk_max_tokens,
                progress=progress,
            ):
                report.chunks_embedded += sum(len(a.chunks) for a in batch)
                articles += [(a, PUBLIC, kind, "") for a in batch]
            for article, owner, *_ in articles:
                writer.add(*chunk_rows(article, owner))
            passages = sum(len(a.chunks) for a, *_ in articles)
            self._check_caps(0, 0, len(articles), passages)
            head = Head(1, uuid.uuid4().hex, len(articles), passages)
            new_live = writer.commit(
                [
                    _record(a, owner=o, kind=k, filename=n, version=head.version)
                    for a, o, k, n in articles
                ],
                head,
            )
        except BaseException:
            writer.abandon()
            raise
        report.compacted = True
        report.chunks_total = writer.count
        report.generation = new_live.name

    def _build_generation(self, live, documents, kind, add, report, progress) -> None:
        """A new generation with `documents` and what is kept of the old one, swapped in whole."""
        kept: list[tuple[Document, str, str, str]] = []  # document, owner, kind, filename
        if live is not None:
            wanted = {d.doc_id for d in documents}
            for doc_id, record in live.records(with_text=True).items():
                meta = record.meta
                if meta.get("state") != "live" or doc_id in wanted:
                    continue
                if add or meta.get("kind") not in ("corpus", "added"):
                    document = document_from_record(doc_id, meta, record.text)
                    kept.append((document, *_ownership(meta)))
        everything = [(d, PUBLIC, kind, "") for d in documents] + kept
        self._check_caps(0, 0, len(everything), None)
        writer = self.store.new_generation(self.manifest)
        try:
            articles: list[tuple[EmbeddedArticle, str, str, str]] = []
            by_id = {d.doc_id: (owner, k, name) for d, owner, k, name in everything}
            for batch in embed_articles(
                self.embedder,
                [d for d, *_ in everything],
                chunk_max_tokens=self.settings.chunk_max_tokens,
                progress=progress,
            ):
                for article in batch:
                    owner, k, name = by_id[article.document.doc_id]
                    writer.add(*chunk_rows(article, owner))
                    articles.append((article, owner, k, name))
            passages = sum(len(a.chunks) for a, *_ in articles)
            self._check_caps(0, 0, len(articles), passages)
            head = Head(1, uuid.uuid4().hex, len(articles), passages)
            records = [
                _record(a, owner=o, kind=k, filename=n, version=head.version)
                for a, o, k, n in articles
            ]
            new_live = writer.commit(records, head)
        except BaseException:
            writer.abandon()
            raise
        report.added = [d.doc_id for d in documents]
        report.unchanged = [d.doc_id for d, *_ in kept] if not report.rebuilt else []
        if report.rebuilt:
            report.updated = [d.doc_id for d, *_ in kept]
        report.chunks_embedded = report.chunks_total = writer.count
        report.generation = new_live.name

    def add(
        self,
        documents: Sequence[Document],
        *,
        owner: str = PUBLIC,
        kind: str = "added",
        filename: str = "",
    ) -> IndexReport:
        """Add or update these articles for `owner`, touching only their own passages."""
        started = time.perf_counter()
        report = IndexReport()
        with self.store.write_lock():
            live = self._live_for_writing()
            existing = live.records(ids=[d.doc_id for d in documents])
            existing = {d: r for d, r in existing.items() if r.meta.get("state") == "live"}
            changed = [
                d
                for d in documents
                if d.doc_id not in existing
                or existing[d.doc_id].meta.get("doc_hash") != d.content_hash
                or existing[d.doc_id].meta.get("owner") != owner
                or existing[d.doc_id].meta.get("filename", "") != filename
            ]
            for doc in documents:
                target = report.updated if doc.doc_id in existing else report.added
                (target if doc in changed else report.unchanged).append(doc.doc_id)
            if changed:
                embedded = [
                    a
                    for batch in embed_articles(
                        self.embedder, changed, chunk_max_tokens=self.settings.chunk_max_tokens
                    )
                    for a in batch
                ]
                report.chunks_embedded = sum(len(a.chunks) for a in embedded)
                self._commit(
                    live,
                    [(a, owner, kind, filename) for a in embedded],
                    removed=[],
                    replaced=[
                        existing[a.document.doc_id]
                        for a in embedded
                        if a.document.doc_id in existing
                    ],
                )
            report.chunks_total = self._passages(live, live.head())
            report.generation = live.name
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, doc_id: str, *, viewer: str | None = None) -> IndexReport:
        """Drop an upload (or an article added with `--add`): its record and passages.

        A session (`viewer`) may remove its own uploads, and everyone's when uploads are
        shared; the operator (None) any upload or added article. Articles of the configured
        corpus are not removed here: the next `qa-bot index` would bring them back.
        """
        started = time.perf_counter()
        with self.store.write_lock():
            live = self._live_for_writing()
            record = live.records(ids=[doc_id]).get(doc_id)
            meta = record.meta if record is not None else {}
            owner = str(meta.get("owner", PUBLIC))
            visible = owner in (PUBLIC, viewer or PUBLIC)
            if record is None or meta.get("state") != "live" or not visible:
                known = ", ".join(a.doc_id for a in self.articles(viewer)) or "none"
                raise CorpusError(f"No article has the id {doc_id!r}. Indexed: {known}.")
            kind = meta.get("kind")
            legacy_upload = kind == "corpus" and self._in_uploads_folder(meta.get("path", ""))
            if kind == "corpus" and not legacy_upload:
                raise CorpusError(
                    f"{doc_id!r} is part of the configured corpus ('{meta.get('path')}'), not an "
                    "upload. Remove it from QA_BOT_CORPUS (or delete the file) and run "
                    "`qa-bot index`."
                )
            if viewer is not None and owner == PUBLIC and not self.settings.shared_uploads:
                raise CorpusError(
                    f"{doc_id!r} was added for everyone; only its owner's session or the "
                    "operator (`qa-bot index --remove`) can remove it."
                )
            if legacy_upload:
                # An upload of an earlier version, kept as a file: delete exactly that file.
                Path(meta["path"]).unlink(missing_ok=True)
            self._commit(live, [], removed=[record], replaced=[])
            report = IndexReport(removed=[doc_id], generation=live.name)
            report.chunks_total = self._passages(live, live.head())
        report.seconds = time.perf_counter() - started
        return report

    def add_upload(
        self,
        filename: str,
        content: bytes,
        *,
        owner: str = PUBLIC,
        max_bytes: int | None = None,
        admit: Callable[[int], None] | None = None,
    ) -> Upload:
        """Check an uploaded file (type, size, text, sentence count) and add it for `owner`.

        Uploads have an id space of their own (``upload-...``), so an upload can never
        replace an article of the configured corpus; an upload with the id of an earlier
        upload of the same owner (``notes.txt`` after ``notes.md``) replaces it. Nothing is
        written unless every check passes. `max_bytes` overrides the upload size limit (a
        fetched web page carries its menus and scripts). `admit(sentences)` is called once
        every check has passed, just before anything is written; it may refuse by raising.
        """
        from qa_bot.ingest.chunking import chunk_document
        from qa_bot.ingest.corpus import load_document
        from qa_bot.ingest.formats import check_article_file

        name = Path(filename).name
        check_article_file(
            name, len(content), max_bytes=max_bytes or self.settings.max_upload_bytes
        )
        doc_id = upload_id(name, owner)
        # The loader reads files: parse a private temporary copy, named as uploaded.
        with tempfile.TemporaryDirectory(prefix="qa-bot-upload-") as folder:
            staging = Path(folder) / name
            staging.write_bytes(content)
            try:
                document = load_document(staging)  # empty, damaged or unreadable files fail
            except CorpusError as exc:
                raise CorpusError(str(exc).replace(f"'{staging}'", f"'{name}'")) from None
        document = replace(document, doc_id=doc_id, path="")
        # Measured by the text it carries before any work: a compressed format can hold far
        # more text than its bytes.
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
        view = self._view or self.refresh()
        clash = view.table.articles.get(doc_id) if view is not None else None
        if clash is not None and not clash.is_upload and clash.owner == PUBLIC:
            raise CorpusError(
                f"'{name}' would get the id {doc_id!r}, which an article of the configured "
                f"corpus has ('{clash.path}'). Rename the file and upload it again."
            )
        earlier = clash.filename if clash is not None and clash.filename != name else ""
        if admit is not None:
            admit(sentences)
        report = self.add([document], owner=owner, kind="upload", filename=name)
        return Upload(doc_id, name, [earlier] if earlier else [], report)

    # -- the parts of a change -----------------------------------------------------------

    def _live_for_writing(self) -> LiveIndex:
        live = self.store.live()
        if live is None:
            raise StoreError(
                f"There is no index at {self.store.location} yet. Run `qa-bot index` first."
            )
        self.store.require_compatible(live, self.manifest)
        return self.store.freeze(live)

    def _commit(
        self,
        live: LiveIndex,
        articles: Sequence[tuple[EmbeddedArticle, str, str, str]],
        *,
        removed: Sequence[CatalogueRecord],
        replaced: Sequence[CatalogueRecord],
    ) -> Head:
        """Write the articles' chunks, then the catalogue in one call, then drop the old."""
        head = live.head()
        gone = {r.doc_id: r for r in [*removed, *replaced]}
        articles_after = head.articles + len(articles) - len(gone)
        passages_after = (
            head.passages
            + sum(len(a.chunks) for a, *_ in articles)
            - sum(int(r.meta.get("chunk_count", 0)) for r in gone.values())
        )
        self._check_caps(head.articles, head.passages, articles_after, passages_after)
        for article, owner, _, _ in articles:
            live.add_chunks(*chunk_rows(article, owner))
        version = head.version + 1
        records = [
            _record(a, owner=o, kind=k, filename=n, version=version) for a, o, k, n in articles
        ]
        records += [
            CatalogueRecord(r.doc_id, {"state": "removed", "version": version, "rev": ""})
            for r in removed
        ]
        written = sum(len(a.chunks) for a, *_ in articles)
        deleted = sum(int(r.meta.get("chunk_count", 0)) for r in gone.values())
        tail = head.tail + written + deleted
        new_head = Head(version, uuid.uuid4().hex, articles_after, passages_after, tail)
        live.commit(records, new_head)
        # Now the old revisions are unreachable: delete them (a crash here leaves orphans,
        # which no reader shows and the next sync sweeps).
        with contextlib.suppress(StoreError):
            for record in gone.values():
                new_rev = next(
                    (a.rev for a, *_ in articles if a.document.doc_id == record.doc_id), ""
                )
                where: dict = {"doc_id": record.doc_id}
                if new_rev:
                    where = {"$and": [where, {"rev": {"$ne": new_rev}}]}
                live.delete_chunks(where)
        return new_head

    def _check_caps(
        self, articles_before: int, passages_before: int, articles: int, passages: int | None
    ) -> None:
        """Refuse a change that makes the library grow past its caps (shrinking is fine)."""
        max_articles, max_passages = self.settings.max_articles, self.settings.max_passages
        if articles > max_articles and articles > articles_before:
            raise CorpusError(
                f"The library is full: it would hold {articles:,} articles; the limit is "
                f"{max_articles:,} (QA_BOT_MAX_ARTICLES). Remove articles or raise the limit."
            )
        if passages is not None and passages > max_passages and passages > passages_before:
            raise CorpusError(
                f"The library is full: it would hold {passages:,} passages; the limit is "
                f"{max_passages:,} (QA_BOT_MAX_PASSAGES). Remove articles or raise the limit."
            )

    def _passages(self, live: LiveIndex, head: Head) -> int:
        return head.passages if head.version else live.count()

    def _sweep_orphans(self, live: LiveIndex, records: dict[str, CatalogueRecord]) -> None:
        """Delete chunks of writes that never committed (killed), once they are old."""
        current = {(d, str(r.meta.get("rev", ""))) for d, r in records.items()}
        cutoff = time.time() - ORPHAN_AGE
        doomed = {
            meta.get("rev")
            for _, _, meta, _ in live.rows(where={"seq": 0})
            if (meta.get("doc_id"), meta.get("rev")) not in current
            and float(meta.get("written_at", 0)) < cutoff
        }
        for rev in doomed:
            with contextlib.suppress(StoreError):
                live.delete_chunks({"rev": rev})

    def _in_uploads_folder(self, path: str) -> bool:
        return bool(path) and Path(path).parent == self.settings.uploads_path


class _Raced(Exception):
    """A writer changed the catalogue while a view was read."""


def _record(
    article: EmbeddedArticle, *, owner: str, kind: str, filename: str, version: int
) -> CatalogueRecord:
    meta = catalogue_meta(article, owner=owner, kind=kind, filename=filename, version=version)
    return CatalogueRecord(article.document.doc_id, meta, article.document.text)


def _ownership(meta: dict) -> tuple[str, str, str]:
    """(owner, kind, filename) of a catalogue record."""
    return (
        str(meta.get("owner", PUBLIC)),
        str(meta.get("kind", "added")),
        str(meta.get("filename", "")),
    )


def _chunk(chunk_id: str, text: str, meta: dict) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=meta["doc_id"],
        seq=int(meta["seq"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text,
    )


def _seq(chunk: Chunk) -> int:
    return chunk.seq


def _info(record: CatalogueRecord) -> ArticleInfo:
    meta = record.meta
    return ArticleInfo(
        doc_id=record.doc_id,
        title=str(meta.get("title", record.doc_id)),
        source=str(meta.get("source", "")),
        text=record.text,
        path=str(meta.get("path", "")),
        owner=str(meta.get("owner", PUBLIC)),
        kind=str(meta.get("kind", "corpus")),
        filename=str(meta.get("filename", "")),
        date=str(meta.get("date", "")),
        author=str(meta.get("author", "")),
        page_starts=page_starts_from(meta.get("page_starts")),
    )
