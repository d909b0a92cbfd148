"""The Chroma adapter: the only module that imports chromadb.

Layout. An index is a *generation*: two Chroma collections.

- ``<prefix>-g<number>-<nonce>`` holds one record per chunk, with our own embeddings
  (never Chroma's default embedding function, which downloads a model). Its metadata is
  the manifest: schema, embedder name, dimension, chunker signature and a ``complete``
  flag. A chunk's record id is its chunk id plus the *revision* of its article
  (``...@<rev>``), so two revisions of one article can sit side by side.
- ``<prefix>-g<number>-<nonce>-catalogue`` holds one record per article: its full text
  (so replicas on one Chroma server share the articles with no shared folder), title,
  source, owner, hash, chunk count and current revision, plus one *head* record: the
  catalogue's version number and a random token.

Changing articles (`LiveIndex.commit`). A writer first adds the new revision's chunks
(invisible: no catalogue record points at them yet), then upserts the changed catalogue
records together with the new head in **one** Chroma call, which Chroma writes in one
SQLite transaction, then deletes the superseded chunks. A reader shows an article only
through its catalogue record and only with exactly `chunk_count` chunks of that revision,
so a crash at any point leaves the article as it was or as it became, never half of it;
orphaned chunks of a crashed write are swept by the next sync. Only the article's own
passages are written: no copy of the library.

Generations. A first build, a rebuild (other embedder or chunker) and a huge sync write a
new generation aside, then flip ``complete`` to true in one metadata update, then delete
the generations before the previous one (which a reader in another process may still use)
with their files. Readers take the newest complete generation.

Vector files and kills. Chroma (1.5.9) keeps each collection's HNSW graph in memory and
rewrites its files in place every `sync_threshold` (1,000) changed vectors; a process
killed during that rewrite leaves torn files, and the next process to open them crashes
(SIGSEGV) or searches garbage (chroma-core/chroma#7238; newer Chroma validates the files
first). So a generation is *frozen* before it goes live (`freeze`): its sync threshold is
raised past any real change count, and from then on an article's change lives only in
Chroma's SQLite write-ahead log, which is transactional; the graph files stay as the build
left them, and opening a collection replays the changes since then. A build itself may be
torn by a kill, but it is never opened: it is not complete, and it is deleted unopened.
Chroma reads the threshold when it loads a collection, so `freeze` reopens the embedded
client. A Chroma *server* keeps its loaded collections until it restarts: there a freeze
protects from its next start on (a killed app process never tears the server's files).
The replayed tail grows with every change; `Head.tail` counts it, and a sync rebuilds the
generation from the stored vectors (no embedding) once it passes `COMPACT_AFTER`.

Writers take a file lock in the index folder (embedded mode), so two indexing
processes never interleave; the second one waits `lock_timeout` seconds and
then fails with a clear message.

Damage. A folder Chroma cannot open (garbage in chroma.sqlite3) fails with a
message naming `qa-bot index --rebuild`; the rebuild moves the damaged files
aside (`set_aside_damaged`) and starts a fresh index, keeping the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from qa_bot.config import Settings
from urllib.parse import urlparse

from qa_bot.errors import IndexMismatchError, StoreError, StoreLockedError
from qa_bot.private_files import make_private_dir

log = logging.getLogger("qa_bot.index.store")
SCHEMA_VERSION = 2  # 2: the catalogue collection, revisions in chunk ids
_PAGE = 5000  # rows per Chroma call; keeps requests under server size limits
_LOCK_NAME = ".qa-bot-write.lock"
_LOCKED_TRIES = 5  # a call SQLite refused as "database is locked" is tried this often
CATALOGUE_SUFFIX = "-catalogue"
HEAD_ID = "~head"  # the catalogue's version record (doc ids never start with '~')
_NO_VECTOR = [1.0]  # catalogue records are never searched, but Chroma wants a vector
# A sync threshold no library reaches: Chroma never rewrites a frozen generation's graph.
FROZEN_SYNC_THRESHOLD = 100_000_000
COMPACT_AFTER = 20_000  # changed passages replayed at every open before a sync compacts


@dataclass(frozen=True)
class Head:
    """The catalogue's version (a number that grows, a token unique to each change) and
    the library's size after that change (for the caps, without reading the catalogue)."""

    version: int
    token: str
    articles: int = 0
    passages: int = 0
    tail: int = 0  # passages written or deleted since the generation was built


@dataclass(frozen=True)
class CatalogueRecord:
    """One article as the catalogue holds it (`text` only when asked for)."""

    doc_id: str
    meta: dict[str, Any]
    text: str = ""


@dataclass(frozen=True)
class Manifest:
    embedder: str
    dim: int
    chunker: str
    schema: int = SCHEMA_VERSION

    def to_metadata(self, *, complete: bool) -> dict[str, Any]:
        return {
            "qa_bot_schema": self.schema,
            "embedder": self.embedder,
            "dim": self.dim,
            "chunker": self.chunker,
            "complete": complete,
            "created_at": time.time(),
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> Manifest:
        return cls(
            embedder=str(meta.get("embedder", "")),
            dim=int(meta.get("dim", 0)),
            chunker=str(meta.get("chunker", "")),
            schema=int(meta.get("qa_bot_schema", 0)),
        )

    def differences(self, other: Manifest) -> list[str]:
        return [
            f"{name}: index has {getattr(other, name)!r}, settings want {getattr(self, name)!r}"
            for name in ("schema", "embedder", "dim", "chunker")
            if getattr(self, name) != getattr(other, name)
        ]


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float  # cosine similarity


class ChromaStore:
    """Opens the configured Chroma (embedded folder or server) and its generations."""

    def __init__(
        self,
        *,
        path: Path | None = None,
        url: str = "",
        prefix: str = "qa-bot",
        lock_timeout: float = 10.0,
    ) -> None:
        if not url and path is None:
            raise StoreError("Give the store either a folder (embedded) or a Chroma server URL.")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,60}", prefix):
            raise StoreError(
                f"Collection name {prefix!r} is not valid: use 2-60 letters, digits, '.', '_' "
                "or '-', starting with a letter or digit."
            )
        self.path = Path(path) if path is not None else None
        self.url = url
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        self._client = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ChromaStore:
        return cls(
            path=None if settings.chroma_url else settings.index_path,
            url=settings.chroma_url,
            prefix=settings.collection,
            lock_timeout=settings.lock_timeout,
        )

    @property
    def location(self) -> str:
        return self.url or str(self.path)

    # -- connection ------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self):
        import chromadb

        settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self.url:
                parsed = urlparse(self.url)
                if not parsed.hostname:
                    raise StoreError(f"Chroma URL {self.url!r} has no host; use http://HOST:PORT.")
                client = chromadb.HttpClient(
                    host=parsed.hostname,
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=settings,
                )
                client.heartbeat()
                return client
            assert self.path is not None
            self._ensure_folder()
            if not os.access(self.path, os.W_OK):
                raise StoreError(
                    f"The index folder '{self.path}' is read-only. Make it writable or set "
                    "QA_BOT_INDEX_DIR to a writable folder."
                )
            client = chromadb.PersistentClient(path=str(self.path), settings=settings)
            self.make_files_private()
            return client
        except StoreError:
            raise
        except Exception as exc:
            if self.url:
                raise StoreError(
                    f"Cannot reach the Chroma server at {self.url} ({type(exc).__name__}: {exc}). "
                    "Start it with `chroma run --path DIR --port N`, or unset QA_BOT_CHROMA_URL "
                    "to use the embedded store."
                ) from exc
            self._forget_client()
            raise StoreError(
                f"Cannot open the index at '{self.path}' ({type(exc).__name__}: {exc}). If it is "
                "damaged, run `qa-bot index --rebuild`: it moves the damaged files aside and "
                "builds a new index."
            ) from exc

    def _ensure_folder(self) -> None:
        assert self.path is not None
        try:
            make_private_dir(self.path)
        except OSError as exc:
            # e.g. the path (or a parent) is a file, or the parent is read-only
            raise StoreError(
                f"Cannot create the index folder '{self.path}': {exc.strerror or exc}. "
                "Set QA_BOT_INDEX_DIR (or QA_BOT_DATA_DIR) to a folder you can write to."
            ) from exc

    def _forget_client(self) -> None:
        """Drop our client and Chroma's cached system for this folder.

        Chroma keeps one system per folder per process, even one whose start
        failed; without this, the next attempt in the same process fails with
        an unrelated AttributeError ('RustBindingsAPI' has no 'bindings').
        """
        self._client = None
        if self.path is None:
            return
        with contextlib.suppress(Exception):
            from chromadb.api.shared_system_client import SharedSystemClient

            system = SharedSystemClient._identifier_to_system.pop(str(self.path), None)
            SharedSystemClient._identifier_to_refcount.pop(str(self.path), None)
            if system is not None:
                system.stop()

    def set_aside_damaged(self) -> Path:
        """Move the files of a damaged embedded index into a sibling folder.

        Called by a rebuild (under the write lock) when Chroma cannot open the
        folder. The lock file stays, so the lock stays held; the damaged files
        are kept for inspection rather than deleted.
        """
        if self.path is None:
            raise StoreError(
                f"The Chroma server at {self.url} failed; it cannot be repaired from here. "
                "Check the server's log, or delete its collections and run `qa-bot index`."
            )
        self._forget_client()
        target = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            target.mkdir(parents=True, exist_ok=False)
            for entry in self.path.iterdir():
                if entry.name != _LOCK_NAME:
                    entry.rename(target / entry.name)
        except OSError as exc:
            raise StoreError(
                f"The index at '{self.path}' is damaged and could not be moved aside to "
                f"'{target}' ({exc.strerror or exc}). Delete the folder and run `qa-bot index`."
            ) from exc
        log.warning("moved the damaged index at '%s' aside to '%s'", self.path, target)
        return target

    def _call(self, what: str, fn, *args, **kwargs):
        """Run a Chroma call, translating its errors into StoreError.

        SQLite's "database is locked" (Chroma's own background work, or another process,
        held the write lock past its wait) rolls the call back: it is tried again a few
        times before it counts as a failure.
        """
        for attempt in range(_LOCKED_TRIES):
            try:
                return fn(*args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:
                if "database is locked" in str(exc) and attempt + 1 < _LOCKED_TRIES:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                raise self._failure(what, exc) from exc
        raise AssertionError("unreachable")

    def _failure(self, what: str, exc: Exception) -> StoreError:
        return StoreError(
            f"Chroma failed to {what} at {self.location} ({type(exc).__name__}: {exc}). "
            "If the index is damaged, run `qa-bot index --rebuild`."
        )

    # -- generations -------------------------------------------------------------

    def _generations(self) -> list[tuple[int, Any]]:
        """(number, collection) of every generation, newest first."""
        pattern = re.compile(re.escape(self.prefix) + r"-g(\d{6})-[0-9a-f]{6}$")
        found = []
        for item in self._call("list collections", self.client.list_collections):
            name = item if isinstance(item, str) else item.name
            match = pattern.match(name)
            if match:
                found.append((int(match.group(1)), name))
        found.sort(reverse=True)
        return found

    def live(self) -> LiveIndex | None:
        """The newest complete generation, or None when there is none."""
        for _, name in self._generations():
            collection = self._get_collection(name)
            if collection is not None and (collection.metadata or {}).get("complete"):
                return LiveIndex(self, collection)
        return None

    def _get_collection(self, name: str):
        try:
            return self.client.get_collection(name, embedding_function=None)
        except Exception:
            return None  # deleted by a concurrent build between list and get

    def require_compatible(self, live: LiveIndex, wanted: Manifest) -> None:
        problems = wanted.differences(live.manifest)
        if problems:
            raise IndexMismatchError(
                f"The index at {self.location} was built with other settings ("
                + "; ".join(problems)
                + "). Run `qa-bot index --rebuild` to rebuild it with the current settings."
            )

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive lock for writers. Embedded mode only: a server serialises itself."""
        if self.path is None:
            yield
            return
        self._ensure_folder()
        lock_path = self.path / _LOCK_NAME
        try:
            handle = open(lock_path, "a+")  # noqa: SIM115 (held for the lock's lifetime, closed on release)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the lock file '{lock_path}': {exc.strerror}. "
                "Make the index folder writable."
            ) from exc
        deadline = time.monotonic() + self.lock_timeout
        with handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreLockedError(
                            f"Another qa-bot process is indexing '{self.path}' and held the lock "
                            f"for {self.lock_timeout:g} s. Wait for it to finish and try again."
                        ) from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def new_generation(self, manifest: Manifest) -> GenerationWriter:
        newest = self._generations()
        number = (newest[0][0] + 1) if newest else 1
        name = f"{self.prefix}-g{number:06d}-{uuid.uuid4().hex[:6]}"
        collection = self._call(
            "create a collection",
            self.client.create_collection,
            name,
            metadata=manifest.to_metadata(complete=False),
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        catalogue = self._call(
            "create the catalogue",
            self.client.create_collection,
            name + CATALOGUE_SUFFIX,
            embedding_function=None,
        )
        return GenerationWriter(self, collection, catalogue, manifest)

    def freeze(self, live: LiveIndex) -> LiveIndex:
        """Stop Chroma rewriting this generation's vector files (see the module docstring);
        returns the generation as reopened. A no-op for a frozen one."""
        if is_frozen(live.collection) and is_frozen(live.catalogue):
            return live
        frozen = {"hnsw": {"sync_threshold": FROZEN_SYNC_THRESHOLD}}
        for collection in (live.collection, live.catalogue):
            if not is_frozen(collection):
                self._call("freeze the index", collection.modify, configuration=frozen)
        name = live.name
        if self.path is not None:
            # Chroma keeps the old threshold for what it has loaded: load it again.
            self._forget_client()
        collection = self._get_collection(name)
        if collection is None:
            raise StoreError(f"The index generation {name} went away while it was frozen.")
        return LiveIndex(self, collection)

    def catalogue_of(self, collection):
        """The catalogue collection of a generation (created empty if an old one lacks it)."""
        return self._call(
            "open the catalogue",
            self.client.get_or_create_collection,
            collection.name + CATALOGUE_SUFFIX,
            embedding_function=None,
        )

    def drop_superseded(self, keep: str) -> None:
        """Delete every generation but `keep` and the complete one before it, and their files.

        The one before stays because another process (a second app, a CLI) may still be
        answering from it; it goes at the next swap. So the store holds at most two
        generations, however many uploads come in. Chroma leaves a deleted collection's
        vector files on disk; `_remove_orphan_files` removes them (embedded mode).
        """
        previous = None
        for _, name in self._generations():
            if name == keep:
                continue
            collection = self._get_collection(name)
            complete = bool(collection is not None and (collection.metadata or {}).get("complete"))
            if previous is None and complete:
                previous = name
                continue
            for doomed in (name, name + CATALOGUE_SUFFIX):
                with contextlib.suppress(Exception):
                    self.client.delete_collection(doomed)
        self._remove_orphan_files()
        self.make_files_private()

    def make_files_private(self) -> None:
        """Chroma creates its files with the umask's mode (0644 in a 0755 folder): make what
        it created in the index folder readable by the owner only (embedded mode)."""
        if self.path is None or not self.path.is_dir():
            return
        from qa_bot.private_files import FILE_MODE, FOLDER_MODE

        for entry in self.path.rglob("*"):
            with contextlib.suppress(OSError):
                mode = FOLDER_MODE if entry.is_dir() else FILE_MODE
                if entry.stat().st_mode & 0o777 != mode:
                    os.chmod(entry, mode)

    def _remove_orphan_files(self) -> None:
        """Vector folders whose collection no longer exists (embedded mode only)."""
        if self.path is None or not (self.path / "chroma.sqlite3").is_file():
            return
        import shutil
        import sqlite3

        try:
            uri = f"file:{self.path / 'chroma.sqlite3'}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
                in_use = {row[0] for row in db.execute("SELECT id FROM segments")}
        except sqlite3.Error as exc:
            log.warning("could not list Chroma's segments, left old files alone: %s", exc)
            return
        uuid_name = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        for folder in self.path.iterdir():
            if folder.is_dir() and uuid_name.match(folder.name) and folder.name not in in_use:
                shutil.rmtree(folder, ignore_errors=True)


class GenerationWriter:
    """Fills a new, not yet visible generation, then makes it the live one."""

    def __init__(self, store: ChromaStore, collection, catalogue, manifest: Manifest) -> None:
        self.store = store
        self.collection = collection
        self.catalogue = catalogue
        self.manifest = manifest
        self.count = 0

    @property
    def name(self) -> str:
        return self.collection.name

    def add(
        self,
        ids: Sequence[str],
        embeddings: Any,
        documents: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        # Embeddings are always given: without them Chroma would fall back to its
        # default embedding function, which downloads a model.
        _add_chunks(self.store, self.collection, ids, embeddings, documents, metadatas)
        self.count += len(ids)

    def commit(self, records: Sequence[CatalogueRecord], head: Head) -> LiveIndex:
        """Write the catalogue, freeze the generation, flip it to complete (one update),
        drop the others."""
        _upsert_catalogue(self.store, self.catalogue, records, head)
        live = self.store.freeze(LiveIndex(self.store, self.collection))
        self.store._call(
            "mark the index complete",
            live.collection.modify,
            metadata=self.manifest.to_metadata(complete=True),
        )
        self.store.drop_superseded(self.name)
        return LiveIndex(self.store, live.collection)

    def abandon(self) -> None:
        for name in (self.name, self.name + CATALOGUE_SUFFIX):
            with contextlib.suppress(Exception):
                self.store.client.delete_collection(name)


def is_frozen(collection) -> bool:
    hnsw = (getattr(collection, "configuration_json", None) or {}).get("hnsw") or {}
    return int(hnsw.get("sync_threshold") or 0) >= FROZEN_SYNC_THRESHOLD


def _add_chunks(store: ChromaStore, collection, ids, embeddings, documents, metadatas) -> None:
    # Embeddings are always given: without them Chroma would fall back to its
    # default embedding function, which downloads a model.
    if len(ids) != len(embeddings):
        raise StoreError("Internal error: every chunk needs an embedding.")
    for begin in range(0, len(ids), _PAGE):
        end = begin + _PAGE
        store._call(
            "write chunks",
            collection.add,
            ids=list(ids[begin:end]),
            embeddings=embeddings[begin:end],
            documents=list(documents[begin:end]),
            metadatas=list(metadatas[begin:end]),
        )


def _upsert_catalogue(store: ChromaStore, catalogue, records, head: Head) -> None:
    """The changed records and the new head in one call: one transaction in Chroma.

    A sync bigger than Chroma's batch limit is written in several calls; the head goes
    with the last one, and each article is still whole on its own.
    """
    rows = [(r.doc_id, r.meta, r.text) for r in records]
    head_meta = {
        "version": head.version,
        "token": head.token,
        "articles": head.articles,
        "passages": head.passages,
        "tail": head.tail,
        "state": "head",
    }
    rows.append((HEAD_ID, head_meta, ""))
    limit = _max_batch(store)
    for begin in range(0, len(rows), limit):
        part = rows[begin : begin + limit]
        store._call(
            "update the catalogue",
            catalogue.upsert,
            ids=[r[0] for r in part],
            embeddings=[_NO_VECTOR] * len(part),
            documents=[r[2] for r in part],
            metadatas=[r[1] for r in part],
        )


def _max_batch(store: ChromaStore) -> int:
    with contextlib.suppress(Exception):
        return max(1, min(int(store.client.get_max_batch_size()), _PAGE))
    return _PAGE


# What Chroma says when asked for the vectors of ids another process has just deleted.
_GONE = "Error finding id"


class LiveIndex:
    """Read access to one complete generation."""

    def __init__(self, store: ChromaStore, collection) -> None:
        self.store = store
        self.collection = collection
        self.manifest = Manifest.from_metadata(collection.metadata or {})
        self._catalogue = None

    @property
    def catalogue(self):
        if self._catalogue is None:
            self._catalogue = self.store.catalogue_of(self.collection)
        return self._catalogue

    # -- the catalogue ------------------------------------------------------------------

    def head(self) -> Head:
        """The catalogue's current version (0 and '' for an empty one)."""
        page = self.store._call(
            "read the catalogue version", self.catalogue.get, ids=[HEAD_ID], include=["metadatas"]
        )
        if not page["ids"]:
            return Head(0, "")
        meta = page["metadatas"][0] or {}
        return Head(
            int(meta.get("version", 0)),
            str(meta.get("token", "")),
            int(meta.get("articles", 0)),
            int(meta.get("passages", 0)),
            int(meta.get("tail", 0)),
        )

    def records(
        self, *, since: int | None = None, with_text: bool = False, ids: Sequence[str] = ()
    ) -> dict[str, CatalogueRecord]:
        """Catalogue records (live and removed): all, by id, or those changed since `since`."""
        where: dict | None = {"state": {"$ne": "head"}}
        if since is not None:
            where = {"$and": [where, {"version": {"$gte": since}}]}
        include = ["metadatas"] + (["documents"] if with_text else [])
        found: dict[str, CatalogueRecord] = {}
        offset = 0
        while True:
            kwargs: dict[str, Any] = {"include": include, "where": where}
            if ids:
                kwargs["ids"] = list(ids)
            else:
                kwargs.update(limit=_PAGE, offset=offset)
            page = self.store._call("read the catalogue", self.catalogue.get, **kwargs)
            for i, doc_id in enumerate(page["ids"]):
                text = page["documents"][i] if with_text else ""
                found[doc_id] = CatalogueRecord(doc_id, page["metadatas"][i] or {}, text or "")
            if ids or len(page["ids"]) < _PAGE:
                return found
            offset += _PAGE

    def add_chunks(self, ids, embeddings, documents, metadatas) -> None:
        """Chunks of a new revision: invisible until `commit` points the catalogue at them."""
        _add_chunks(self.store, self.collection, ids, embeddings, documents, metadatas)

    def commit(self, records: Sequence[CatalogueRecord], head: Head) -> None:
        _upsert_catalogue(self.store, self.catalogue, records, head)
        self.store.make_files_private()

    def delete_chunks(self, where: dict) -> None:
        self.store._call("delete chunks", self.collection.delete, where=where)

    def chunk_rows(self, doc_id: str, rev: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) of one revision of one article."""
        where = {"$and": [{"doc_id": doc_id}, {"rev": rev}]}
        return [(i, t, m) for i, t, m, _ in self.rows(where=where)]

    @property
    def name(self) -> str:
        return self.collection.name

    def count(self) -> int:
        return int(self.store._call("count chunks", self.collection.count))

    def rows(
        self, *, include_embeddings: bool = False, where: dict | None = None
    ) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
        """Every (id, text, metadata, embedding-or-None), page by page."""
        include = ["documents", "metadatas"] + (["embeddings"] if include_embeddings else [])
        offset = 0
        while True:
            page = self.store._call(
                "read chunks",
                self.collection.get,
                include=include,
                limit=_PAGE,
                offset=offset,
                where=where,
            )
            ids = page["ids"]
            if not ids:
                return
            embeddings = page.get("embeddings") if include_embeddings else None
            for i, chunk_id in enumerate(ids):
                yield (
                    chunk_id,
                    page["documents"][i],
                    page["metadatas"][i] or {},
                    embeddings[i] if embeddings is not None else None,
                )
            if len(ids) < _PAGE:
                return
            offset += _PAGE

    def document_records(self) -> dict[str, dict[str, Any]]:
        """doc_id -> catalogue metadata of every live article (hash, title, source, ...)."""
        return {
            doc_id: record.meta
            for doc_id, record in self.records().items()
            if record.meta.get("state") == "live"
        }

    def embeddings(self, ids: Sequence[str]) -> dict[str, Any]:
        """chunk id -> stored vector, for those of the given ids that are still stored.

        Another process may have just removed an article this process still shows (its view
        catches up within a second). Chroma then fails the whole call ("Error finding id")
        instead of leaving the gone ids out, so the ids are read one by one and the gone
        ones left out: the answer goes on without their cosines, as it does for any id the
        store lacks.
        """
        if not ids:
            return {}
        try:
            return self._read_vectors(list(ids))
        except StoreError as exc:
            if _GONE not in str(exc):
                raise
        found: dict[str, Any] = {}
        for chunk_id in ids:
            try:
                found.update(self._read_vectors([chunk_id]))
            except StoreError as exc:
                if _GONE not in str(exc):
                    raise
        return found

    def _read_vectors(self, ids: list[str]) -> dict[str, Any]:
        page = self.store._call(
            "read vectors", self.collection.get, ids=ids, include=["embeddings"]
        )
        return dict(zip(page["ids"], page["embeddings"], strict=True))

    def dense_query(
        self,
        embedding: Sequence[float] | np.ndarray,
        k: int,
        *,
        owners: Sequence[str] | None = None,
    ) -> list[DenseHit]:
        """The `k` nearest chunks: ids and cosines only, straight from the collection.

        Not through llama-index's `ChromaVectorStore`, which also fetches every hit's
        metadata and text (the first chunk of an article carries the whole article) and
        costs a llama-index import on the answer path. `owners` limits the search to
        the articles of those owners ('' is everyone's), inside Chroma, so another
        session's uploads never take a place among the `k`.
        """
        where = {"owner": {"$in": list(owners)}} if owners is not None else None
        result = self.store._call(
            "search",
            self.collection.query,
            query_embeddings=[[float(x) for x in embedding]],
            n_results=k,
            include=["distances"],
            where=where,
        )
        ids = (result.get("ids") or [[]])[0]
        distances = (result.get("distances") or [[]])[0]
        # Chroma's cosine distance is 1 - cosine.
        return [DenseHit(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]
