"""Read articles from disk: `.txt`, `.md` and `.html`, with optional metadata.

A document's `text` is the file's text exactly as decoded (for HTML: the text
extracted from it), because citations hold offsets into it. Metadata comes from
a sidecar `<name>.meta.json` (`{"title": ..., "source": ...}`) when there is
one, else from the file itself (first line, `# heading` or `<title>`).

Left out on purpose: PDFs and other binary formats, and recursive crawling of
anything but plain folders.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

from qa_bot.errors import CorpusError
from qa_bot.types import Document

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
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
            f"No articles found in {shown}. Add .txt, .md or .html files and index again."
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
                f"Supported: {', '.join(SUPPORTED_SUFFIXES)}. Move it out of the corpus folder."
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
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CorpusError(
            f"'{path}' has an unsupported type ({suffix or 'no suffix'}). "
            f"Supported: {', '.join(SUPPORTED_SUFFIXES)}."
        )
    raw = _read_bytes(path)
    text = _decode(path, raw)
    if suffix in (".html", ".htm"):
        extracted = extract_html(text)
        text, found_title = extracted.text, extracted.title
    elif suffix in (".md", ".markdown"):
        found_title = _markdown_title(text)
    else:
        found_title = _first_line(text)
    if not text.strip():
        raise CorpusError(f"'{path}' has no text. Put the article's text in it, or remove it.")
    meta = _read_metadata(path)
    title = str(meta.get("title") or found_title or path.stem)
    source = str(meta.get("source") or "")
    return Document(
        doc_id=doc_id_for(path),
        title=title,
        text=text,
        source=source,
        path=str(path),
        content_hash=content_hash(text, title, source),
    )


def doc_id_for(path: Path) -> str:
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")
    return slug or "article"


def content_hash(text: str, title: str, source: str) -> str:
    digest = hashlib.sha256()
    for part in (text, title, source):
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


def _decode(path: Path, raw: bytes) -> str:
    if b"\0" in raw[:8192]:
        raise CorpusError(f"'{path}' looks binary, not text. Save the article as UTF-8 text.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"'{path}' is not valid UTF-8 (byte {exc.start}). Re-save it as UTF-8 text."
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


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def _markdown_title(text: str) -> str:
    match = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else _first_line(text).lstrip("#").strip()


# --- HTML ------------------------------------------------------------------------


class ExtractedHtml:
    def __init__(self, title: str, text: str) -> None:
        self.title = title
        self.text = text


_SKIPPED_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "svg",
}
_BLOCK_TAGS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "table",
    "tr",
    "br",
    "hr",
    "figcaption",
    "dd",
    "dt",
}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.in_title = False
        self.title = ""
        self.h1 = ""
        self.in_h1 = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth += 1
        elif tag == "title":
            self.in_title = True
        elif tag in _BLOCK_TAGS:
            self._flush()
        if tag == "h1":
            self.in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in _BLOCK_TAGS:
            self._flush()
        if tag == "h1":
            self.in_h1 = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.skip_depth:
            self.current.append(data)
            if self.in_h1:
                self.h1 += data

    def _flush(self) -> None:
        block = re.sub(r"\s+", " ", "".join(self.current)).strip()
        if block:
            self.blocks.append(block)
        self.current = []


def extract_html(html: str) -> ExtractedHtml:
    """Visible text of an HTML page, one block per paragraph, scripts dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    parser._flush()
    title = re.sub(r"\s+", " ", parser.title or parser.h1).strip()
    return ExtractedHtml(title=title, text="\n\n".join(parser.blocks))
