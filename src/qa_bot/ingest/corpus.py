"""Read articles from disk: text, Markdown, web pages, PDF and Word files, with metadata.

A document's `text` is the article's text as read from its file (for a web page, PDF or
Word file: the text its reader extracted), because citations hold offsets into it.
Metadata comes from a sidecar `<name>.meta.json` (`{"title", "source", "date", "author"}`)
when there is one, else from the file itself (a page's title, date and author; a PDF's
document info; a first line or `# heading`). The formats and their readers are in
`formats`.

Left out on purpose: recursive crawling of anything but plain folders.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from qa_bot.errors import CorpusError
from qa_bot.ingest.formats import SUPPORTED_SUFFIXES, extract_article, supported_list
from qa_bot.types import Document

__all__ = ["SUPPORTED_SUFFIXES", "load_corpus", "load_document", "doc_id_for", "content_hash"]

METADATA_SUFFIX = ".meta.json"
MAX_FILE_BYTES = 20_000_000


def load_corpus(paths: Iterable[str | Path], *, allow_empty: bool = False) -> list[Document]:
    """Load every article under `paths` (files or folders), sorted by path.

    Raises `CorpusError` for a missing path, an unreadable file, or (unless
    `allow_empty`) when no article is found at all.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(_articles_in(path))
        elif path.is_file():
            files.append(path)
        elif not allow_empty:
            raise CorpusError(f"No such file or folder: '{path}'. Check the path you passed.")
    documents = [load_document(f) for f in files]
    if not documents and not allow_empty:
        shown = ", ".join(f"'{p}'" for p in paths)
        raise CorpusError(
            f"No articles found in {shown}. Add articles ({supported_list()}) and index again."
        )
    _check_unique_ids(documents)
    return documents


def _articles_in(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name.endswith(METADATA_SUFFIX) or path.is_dir():
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise CorpusError(
                f"'{path}' is not an article qa-bot can read (suffix {path.suffix or 'none'}). "
                f"Supported: {supported_list()}. Move it out of the corpus folder."
            )
        found.append(path)
    return found


def _check_unique_ids(documents: list[Document]) -> None:
    seen: dict[str, str] = {}
    for doc in documents:
        if doc.doc_id in seen:
            raise CorpusError(
                f"Two articles share the id {doc.doc_id!r}: '{seen[doc.doc_id]}' and "
                f"'{doc.path}'. Rename one of them."
            )
        seen[doc.doc_id] = doc.path


def load_document(path: str | Path) -> Document:
    """Read one article file; `CorpusError` says what is wrong with a bad one."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CorpusError(
            f"'{path}' has an unsupported type ({suffix or 'no suffix'}). "
            f"Supported: {supported_list()}."
        )
    article = extract_article(_read_bytes(path), suffix, name=str(path))
    if not article.text.strip():
        raise CorpusError(f"'{path}' has no text. Put the article's text in it, or remove it.")
    meta = _read_metadata(path)
    title = str(meta.get("title") or article.title or path.stem)
    source = str(meta.get("source") or article.source or "")
    date = str(meta.get("date") or article.date or "")
    author = str(meta.get("author") or article.author or "")
    return Document(
        doc_id=doc_id_for(path),
        title=title,
        text=article.text,
        source=source,
        path=str(path),
        content_hash=content_hash(
            article.text, title, source, date=date, author=author, pages=article.page_starts
        ),
        date=date,
        author=author,
        page_starts=article.page_starts,
    )


def doc_id_for(path: Path) -> str:
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")
    return slug or "article"


def content_hash(
    text: str,
    title: str,
    source: str,
    *,
    date: str = "",
    author: str = "",
    pages: tuple[int, ...] = (),
) -> str:
    """sha256 of what the index stores about an article: a change re-indexes it.

    The newer fields join only when set, so an article without them keeps the hash it
    had before they existed (and is not re-embedded for nothing).
    """
    digest = hashlib.sha256()
    parts = [text, title, source]
    if date or author or pages:
        parts += [date, author, ",".join(map(str, pages))]
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CorpusError(
                f"'{path}' is {size:,} bytes; articles are limited to {MAX_FILE_BYTES:,}. "
                "Split it into smaller articles."
            )
        return path.read_bytes()
    except OSError as exc:
        raise CorpusError(
            f"Cannot read '{path}': {exc.strerror or exc}. Check its permissions."
        ) from exc


def _read_metadata(path: Path) -> dict:
    meta_path = path.with_name(path.name[: -len(path.suffix)] + METADATA_SUFFIX)
    if not meta_path.is_file():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"Cannot read metadata '{meta_path}': {exc}. Fix or delete it.") from exc
    if not isinstance(meta, dict):
        raise CorpusError(f"Metadata '{meta_path}' must be a JSON object like {{\"title\": ...}}.")
    return meta
