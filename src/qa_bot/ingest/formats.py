"""The article formats qa-bot reads, and the one check every way in runs first.

`SUPPORTED_SUFFIXES` is the single list of file types: the corpus loader, the upload
handlers (UI, Python, server-side) and "Add from URL" all read it, so a type is added or
refused in one place. `check_article_file` is the type-and-size check each upload route
runs before reading a byte. `extract_article` turns a file's bytes into an `Extracted`
article (text plus metadata), dispatching to the reader of its format; the heavy readers
(trafilatura, pdfminer.six, python-docx) are imported only when a file of their kind comes.
"""

from __future__ import annotations

import re

from qa_bot.errors import CorpusError
from qa_bot.ingest.extracted import Extracted

# suffix -> format. The readers: text (UTF-8 .txt/.md), html (trafilatura), pdf, docx.
FORMATS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
SUPPORTED_SUFFIXES = tuple(FORMATS)
# What a link may return, by media type (the Content-Type header without parameters).
MEDIA_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
# Formats people often have that are not supported, with what to do instead.
_ADVICE = {
    ".doc": "Save it as .docx (Word: File > Save As) and upload that.",
    ".rtf": "Save it as .docx or .txt and upload that.",
    ".odt": "Save it as .docx (File > Save As) and upload that.",
    ".pages": "Export it as .docx or PDF and upload that.",
}


def supported_list() -> str:
    return ", ".join(SUPPORTED_SUFFIXES)


def suffix_of(name: str) -> str:
    match = re.search(r"\.[A-Za-z0-9]+$", name)
    return match.group(0).lower() if match else ""


def check_article_file(name: str, size: int, *, max_bytes: int) -> str:
    """The type and size check for an article file before it is read; returns its suffix.

    Raises `CorpusError` naming the file, what is wrong and what to do.
    """
    suffix = suffix_of(name)
    if suffix not in FORMATS:
        advice = _ADVICE.get(suffix, "")
        raise CorpusError(
            f"'{name}' is not a supported article type ({suffix or 'no suffix'}). "
            f"Supported: {supported_list()}.{' ' + advice if advice else ''}"
        )
    if size > max_bytes:
        raise CorpusError(
            f"'{name}' is {size:,} bytes; the limit is {max_bytes:,} bytes. "
            "Upload a shorter article (or the part you want to ask about)."
        )
    return suffix


def extract_article(raw: bytes, suffix: str, *, name: str) -> Extracted:
    """Read an article of type `suffix` from its bytes; `name` is used in error messages."""
    kind = FORMATS.get(suffix.lower())
    if kind is None:
        raise CorpusError(
            f"'{name}' has an unsupported type ({suffix or 'no suffix'}). "
            f"Supported: {supported_list()}."
        )
    if kind == "html":
        from qa_bot.ingest.html_reader import read_html

        return read_html(raw, name=name)
    if kind == "pdf":
        from qa_bot.ingest.pdf_reader import read_pdf

        return read_pdf(raw, name=name)
    if kind == "docx":
        from qa_bot.ingest.docx_reader import read_docx

        return read_docx(raw, name=name)
    text = decode_utf8(raw, name=name)
    title = markdown_title(text) if kind == "markdown" else first_line(text)
    return Extracted(text=text, title=title)


def decode_utf8(raw: bytes, *, name: str) -> str:
    """Plain text must be UTF-8: a wrong guess would garble the article silently."""
    if b"\0" in raw[:8192]:
        raise CorpusError(f"'{name}' looks binary, not text. Save the article as UTF-8 text.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"'{name}' is not valid UTF-8 (byte {exc.start}). Re-save it as UTF-8 text."
        ) from exc


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def markdown_title(text: str) -> str:
    match = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else first_line(text).lstrip("#").strip()
