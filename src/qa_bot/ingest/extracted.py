"""What a format's reader returns: the article's text and what its file says about it.

Its own module so that the readers and the dispatcher in `formats` import it without an
import circle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Extracted:
    """An article's text as read from its file, with what the file says about it.

    `text` is what gets indexed and cited: offsets index it. `page_starts` is, for a PDF,
    the offset in `text` where each page begins (page 1 first), so a citation can name its
    page; empty for formats without pages.
    """

    text: str
    title: str = ""
    date: str = ""  # ISO date (YYYY-MM-DD) when the file states one
    author: str = ""
    source: str = ""  # e.g. the site's name for a web page
    page_starts: tuple[int, ...] = ()


def join_paragraphs(paragraphs: list[str]) -> str:
    """Paragraphs separated by blank lines, whitespace inside each squeezed: the layout the
    chunker reads (a block per paragraph), the same for every format."""
    cleaned = (re.sub(r"[ \t\r\f\v]+", " ", p).strip() for p in paragraphs)
    return "\n\n".join(p for p in cleaned if p)
