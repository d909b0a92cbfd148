"""Split model output into sentences and read their ``[n]`` citation markers.

Generated text is not article text: it has list bullets, markdown bold,
markers in odd places ("Bishkek. [1]", "Bishkek [1][2].", "[1, 2]") and,
when the token budget runs out, a last sentence cut in half. This module
turns it into `GeneratedSentence`s: the sentence without markers, the numbers
it cites, and whether it was finished. It is deliberately simpler than the
Punkt splitter used for articles (`chunking`): a wrong split here only makes
the grounding check stricter, never looser, since each piece is checked alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])+")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
# A sentence ends at . ! or ? (plus closing quotes/brackets) before a space
# and something that can start a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9\[])")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr gen col lt sgt prof gov sen rep no vs etc e.g i.e u.s u.k d.c "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_FINISHED = re.compile(r"[.!?][\"'\u201d\u2019)]*$")


@dataclass(frozen=True)
class GeneratedSentence:
    text: str  # without citation markers
    citations: tuple[int, ...]  # as written, 1-based, in order of appearance
    finished: bool  # ends with . ! ? or a marker; False for a cut-off tail


def split_generated(text: str) -> list[GeneratedSentence]:
    pieces: list[str] = []
    for line in text.replace("\r", "\n").split("\n"):
        line = _BULLET.sub("", line.replace("**", "")).strip()
        if line:
            pieces.extend(_split_line(line))
    # A marker written after the full stop belongs to the sentence before it.
    merged: list[str] = []
    for piece in pieces:
        lead = _LEADING_MARKERS.match(piece)
        if lead and merged:
            merged[-1] = f"{merged[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            merged.append(piece)
    return [_sentence(piece) for piece in merged]


def split_passage(text: str) -> list[str]:
    """The sentences of a passage (usually one: chunks are sentences already)."""
    found = [p.strip() for p in _split_line(" ".join(text.split())) if p.strip()]
    return found or [text]


def _split_line(line: str) -> list[str]:
    pieces, start = [], 0
    for match in _BOUNDARY.finditer(line):
        before = line[start : match.start()].rstrip(".!?\"')\u201d\u2019").split()
        last_word = before[-1].casefold() if before else ""
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue
        pieces.append(line[start : match.start()].strip())
        start = match.end()
    pieces.append(line[start:].strip())
    return [p for p in pieces if p]


def _sentence(piece: str) -> GeneratedSentence:
    citations: list[int] = []
    for match in _MARKER.finditer(piece):
        citations.extend(int(n) for n in re.split(r"\s*[,;]\s*", match.group(1)))
    ends_with_marker = bool(re.search(r"\]\W*$", piece)) and bool(citations)
    text = _MARKER.sub("", piece)
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split())).strip()
    return GeneratedSentence(
        text=text,
        citations=tuple(citations),
        finished=bool(_FINISHED.search(text)) or ends_with_marker,
    )
