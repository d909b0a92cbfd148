"""PDF files: the text in reading order, page by page, through pdfminer.six.

Why pdfminer.six and not pypdf: pypdf returns text in the order the file draws it, which
for a page drawn out of order (a footer first, a second column before the first) is not
the order a person reads. pdfminer.six's layout analysis groups characters into text
boxes and orders the boxes by position (columns included); each box is a paragraph here.

Cleaned the way a reader would not notice:
- a word hyphenated across a line break ("inter-" / "national") is joined again, when the
  next line goes on in lower case;
- page headers and footers (a box in the top or bottom margin whose text, digits aside,
  recurs on at least half of the pages: "The Gazette", "Page 3 of 12") are dropped;
- a paragraph cut by a page break is joined with its continuation on the next page;
- ligature glyphs (the single character "ﬁ") become plain letters.

`page_starts` records where each page's text begins, so a citation can name its page.

The parsing runs in a child process with a memory and CPU cap (`python -m
qa_bot.ingest.pdf_reader`, the PDF on stdin, the boxes as JSON on stdout): pdfminer inflates
compressed streams with no size limit, so a 1 MB PDF can unpack to gigabytes (a PDF bomb),
and a crafted page can take minutes. A file past either cap is refused with a message; the
server's own memory and time are never at stake.
Not handled: scanned pages (no text layer: a clear error, OCR is not supported), and
the rare PDF whose fonts have no character map.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass

from qa_bot.errors import CorpusError
from qa_bot.ingest.extracted import Extracted

MAX_PAGES = 500
WORKER_MEMORY_BYTES = 1_500_000_000  # address space of the parsing process
WORKER_CPU_SECONDS = 60
_OUT_OF_MEMORY = 3  # the worker's exit status when the memory cap stops it
MARGIN = 0.12  # top and bottom share of the page where headers and footers sit
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
_UNMAPPED_GLYPH = re.compile(r"\(cid:\d+\)")
_HYPHENS = ("-", "\u00ad", "\u2010")
_SENTENCE_END = (".", "!", "?", ":", '"', "\u201d", "\u2019", ")")


@dataclass
class _Box:
    text: str  # lines joined, hyphenation undone
    top: float  # 0 at the top of the page, 1 at the bottom
    bottom: float


def read_pdf(raw: bytes, *, name: str) -> Extracted:
    info, pages = _layout(raw, name=name)
    if not any(pages):
        raise CorpusError(
            f"'{name}': this PDF has no text layer; OCR is not supported (its pages are "
            "images, as a scanner makes them). Use a PDF with selectable text, or paste the "
            "text into a .txt file."
        )
    kept = _drop_running_heads(pages)
    text, page_starts = _join_pages(kept)
    if not text.strip():
        raise CorpusError(f"'{name}' has no text besides its page headers and footers.")
    first = text.split("\n", 1)[0]
    return Extracted(
        text=text,
        title=info.get("Title", "") or first[:200],
        date=_pdf_date(info.get("CreationDate", "")),
        author=info.get("Author", ""),
        page_starts=page_starts,
    )


def _layout(raw: bytes, *, name: str) -> tuple[dict[str, str], list[list[_Box]]]:
    """Parse in a capped child process (see the module docstring)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    package_root = str(Path(__file__).resolve().parents[2])  # so the child finds qa_bot
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    limits = [str(WORKER_MEMORY_BYTES), str(WORKER_CPU_SECONDS)]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "qa_bot.ingest.pdf_reader", *limits],
            input=raw,
            capture_output=True,
            timeout=WORKER_CPU_SECONDS * 2,
            env={**os.environ, "PYTHONPATH": path},
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CorpusError(_too_costly(name)) from exc
    if done.returncode == _OUT_OF_MEMORY or done.returncode < 0:  # a cap, or a signal
        raise CorpusError(_too_costly(name))
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise CorpusError(f"The PDF reader could not run for '{name}' ({last}). Reinstall qa-bot.")
    reply = json.loads(done.stdout)
    if "error" in reply:
        raise CorpusError(reply["error"].replace("{name}", name))
    pages = [[_Box(*box) for box in boxes] for boxes in reply["pages"]]
    return reply["info"], pages


def _too_costly(name: str) -> str:
    return (
        f"'{name}' needs more memory or time to read than an article can (over "
        f"{WORKER_MEMORY_BYTES // 1_000_000:,} MB or {WORKER_CPU_SECONDS} s): it may be a "
        "PDF bomb. It was not indexed; if it is a real article, print it to a new PDF or "
        "copy its text into a .txt file."
    )


def _worker() -> None:
    """The child process: the PDF on stdin, {"info", "pages"} or {"error"} on stdout."""
    import json
    import resource
    import sys

    # The caps apply to this process only, set before a byte of the PDF is read.
    memory, cpu = (int(value) for value in sys.argv[1:3])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    raw = sys.stdin.buffer.read()
    try:
        info, pages = _parse(raw, name="{name}")
        reply: dict = {
            "info": info,
            "pages": [[(b.text, b.top, b.bottom) for b in p] for p in pages],
        }
    except CorpusError as exc:
        reply = {"error": str(exc)}
    except MemoryError:
        sys.exit(_OUT_OF_MEMORY)
    sys.stdout.write(json.dumps(reply))


def _parse(raw: bytes, *, name: str) -> tuple[dict[str, str], list[list[_Box]]]:
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTTextContainer
    from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    pages: list[list[_Box]] = []
    try:
        document = PDFDocument(PDFParser(io.BytesIO(raw)))
        info = _info(document)
        manager = PDFResourceManager()
        device = PDFPageAggregator(manager, laparams=LAParams())
        interpreter = PDFPageInterpreter(manager, device)
        for number, page in enumerate(PDFPage.create_pages(document), start=1):
            if number > MAX_PAGES:
                raise CorpusError(
                    f"'{name}' has more than {MAX_PAGES} pages; that is a book, not an "
                    "article. Upload the pages you want to ask about."
                )
            interpreter.process_page(page)
            layout = device.get_result()
            height = float(layout.height) or 1.0
            boxes = []
            for element in layout:
                if isinstance(element, LTTextContainer):
                    text = _box_text(element.get_text())
                    if text:
                        top = 1 - float(element.y1) / height
                        boxes.append(_Box(text, top=top, bottom=1 - float(element.y0) / height))
            pages.append(boxes)
    except (CorpusError, MemoryError):
        raise
    except PDFPasswordIncorrect as exc:
        raise CorpusError(
            f"'{name}' is password-protected. Save a copy without the password and upload that."
        ) from exc
    except Exception as exc:  # pdfminer raises many kinds on a damaged file
        kind = "encrypted in a way qa-bot cannot read" if "ncrypt" in repr(exc) else "damaged"
        raise CorpusError(
            f"'{name}' is not a readable PDF (it looks {kind}: {type(exc).__name__}). "
            "Open it in a PDF viewer and save or print it to a new PDF, then upload that."
        ) from exc
    return info, pages


def _info(document) -> dict[str, str]:
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    found: dict[str, str] = {}
    for entry in document.info or []:
        for key in ("Title", "Author", "CreationDate"):
            value = resolve1(entry.get(key))
            if isinstance(value, bytes):
                value = decode_text(value)
            if isinstance(value, str) and value.strip() and key not in found:
                found[key] = re.sub(r"\s+", " ", value).strip()
    return found


def _box_text(raw: str) -> str:
    """One box's lines as one paragraph, words hyphenated across lines joined again."""
    lines = [
        _UNMAPPED_GLYPH.sub("", line).translate(_LIGATURES).strip() for line in raw.splitlines()
    ]
    text = ""
    for line in (line for line in lines if line):
        text = _join_lines(text, line)
    return re.sub(r"[ \t]+", " ", text).strip()


def _join_lines(before: str, after: str) -> str:
    if not before:
        return after
    if before.endswith(_HYPHENS) and before[-2:-1].isalpha() and after[:1].islower():
        return before[:-1] + after
    return f"{before} {after}"


def _running_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.casefold())).strip()


def _drop_running_heads(pages: list[list[_Box]]) -> list[list[_Box]]:
    """Each page without the boxes in its margins whose text recurs on half the pages."""
    if len(pages) < 2:
        return pages
    in_margin: Counter[str] = Counter()
    for boxes in pages:
        in_margin.update(
            {_running_key(b.text) for b in boxes if b.bottom <= MARGIN or b.top >= 1 - MARGIN}
        )
    needed = max(2, (len(pages) + 1) // 2)
    running = {key for key, count in in_margin.items() if count >= needed}
    return [
        [
            b
            for b in boxes
            if not (_running_key(b.text) in running and (b.bottom <= MARGIN or b.top >= 1 - MARGIN))
        ]
        for boxes in pages
    ]


def _join_pages(pages: list[list[_Box]]) -> tuple[str, tuple[int, ...]]:
    """The text, paragraphs separated by blank lines, and where each page starts in it.

    A page whose last paragraph stops mid-sentence and whose next page goes on in lower
    case is one paragraph across the break (the page then starts inside it).
    """
    text = ""
    starts: list[int] = []
    for boxes in pages:
        starts.append(len(text) + (2 if text else 0))
        for index, box in enumerate(boxes):
            continues = (
                index == 0 and text and not text.endswith(_SENTENCE_END) and box.text[:1].islower()
            )
            if continues:
                text = _join_lines(text, box.text)
                starts[-1] = len(text) - len(box.text)
            else:
                text = f"{text}\n\n{box.text}" if text else box.text
        if not boxes:
            starts[-1] = len(text)
    return text, tuple(min(s, len(text)) for s in starts)


def _pdf_date(value: str) -> str:
    """'D:20241102120000+01'00'' -> '2024-11-02'; '' when it is not a date."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?", value.strip())
    if not match or not (1900 < int(match.group(1)) < 2200):
        return ""
    year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
    return f"{year}-{month}-{day}"


if __name__ == "__main__":
    _worker()
