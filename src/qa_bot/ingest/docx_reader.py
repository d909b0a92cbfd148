"""Word files (.docx): paragraphs and tables in document order, through python-docx.

Page headers and footers live in parts of their own in a .docx, so the body read here
never holds them. Soft hyphens (U+00AD, Word's optional hyphen) are removed.

A .docx is a zip archive, and a zip can claim to unpack into gigabytes from a few
kilobytes (a zip bomb). The archive's directory is checked before python-docx opens it:
the sizes it declares bound what `zipfile` will inflate, so refusing an archive that
declares more than `MAX_UNPACKED_BYTES` (or too many entries) bounds the work.
"""

from __future__ import annotations

import io
import zipfile

from qa_bot.errors import CorpusError
from qa_bot.ingest.extracted import Extracted, join_paragraphs

MAX_UNPACKED_BYTES = 50_000_000  # a long article with photos is a few MB
MAX_ENTRIES = 2_000


def read_docx(raw: bytes, *, name: str) -> Extracted:
    _check_archive(raw, name=name)
    try:
        import docx
        from docx.table import Table

        document = docx.Document(io.BytesIO(raw))
        paragraphs: list[str] = []
        title = ""
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                paragraphs.extend(_table_rows(block))
                continue
            text = block.text.replace("\u00ad", "")
            style = block.style.name if block.style is not None else ""
            if not title and text.strip() and (style or "").startswith("Title"):
                title = text.strip()
            paragraphs.append(text)
        properties = document.core_properties
    except CorpusError:
        raise
    except Exception as exc:  # python-docx and lxml raise many kinds on a damaged file
        raise CorpusError(
            f"'{name}' is not a readable Word document ({type(exc).__name__}). Open it in "
            "Word or LibreOffice and save it again as .docx, then upload that."
        ) from exc
    text = join_paragraphs(paragraphs)
    if not text:
        raise CorpusError(f"'{name}' has no text. Put the article's text in it, or remove it.")
    created = properties.created
    return Extracted(
        text=text,
        title=(properties.title or "").strip() or title or text.split("\n", 1)[0][:200],
        date=created.date().isoformat() if created else "",
        author=(properties.author or "").strip(),
    )


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells = list(dict.fromkeys(cell.text.strip() for cell in row.cells))  # merged cells
        rows.append(" | ".join(c for c in cells if c))
    return rows


def _check_archive(raw: bytes, *, name: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CorpusError(
            f"'{name}' is not a Word document (a .docx file is a zip archive, and this is "
            "not one). Save it from Word as .docx and upload that."
        ) from exc
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ENTRIES or unpacked > MAX_UNPACKED_BYTES:
        raise CorpusError(
            f"'{name}' would unpack to {unpacked:,} bytes in {len(entries):,} parts; qa-bot "
            f"reads Word files up to {MAX_UNPACKED_BYTES:,} bytes unpacked. It looks like a "
            "zip bomb, not an article: it was not opened."
        )
    if "word/document.xml" not in {entry.filename for entry in entries}:
        raise CorpusError(
            f"'{name}' is a zip archive but not a Word document (no word/document.xml). "
            "Save the article from Word as .docx and upload that."
        )
