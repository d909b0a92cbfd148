"""Split a document into sentence chunks that keep offsets into the original.

Why sentences: answers are cited to the exact sentence, and the extractive
answerer picks sentences. Neighbouring sentences are found by `seq`, so a
two-sentence answer (a list that runs on into "These included ...") comes back
whole without storing overlapping windows.

How: paragraphs are the blocks between blank lines; one-or-two-word blocks
without final punctuation (a byline such as "Reuters", a trailing "Tags") and
repeats of an earlier block (a title printed twice) are dropped. Each block is
split into sentences by NLTK's trained English Punkt model, which llama-index
ships in its `_static/nltk_cache` (llama-index's own `SentenceSplitter` uses an
untrained Punkt that breaks after "Mr."). A sentence longer than the token
budget is cut by llama-index's `SentenceSplitter` at the budget, counted in
tiktoken tokens: all-MiniLM-L6-v2 silently truncates past 256 word pieces, and
the default budget of 160 tiktoken tokens stays well inside that for English.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from functools import lru_cache

from qa_bot.errors import CorpusError
from qa_bot.normalise import normalise
from qa_bot.tokens import count_tokens, encode
from qa_bot.types import Chunk, Document

CHUNKER_VERSION = "sentences-v1"

# Lines shorter than this that are followed by a capitalised line are taken as
# headings or bylines rather than hard-wrapped prose.
_WRAP_WIDTH = 60
_BLOCK_SPLIT = re.compile(r"\n[ \t\u00a0]*\n")
# Markdown block markers at the start of a block: headings, quotes, bullets.
_MARKDOWN_PREFIX = re.compile(r"^(?:#{1,6}[ \t]+|>[ \t]*|[-*+][ \t]+|\d+[.)][ \t]+)")


def chunker_signature(max_tokens: int) -> str:
    """Recorded in the index manifest; a change forces a rebuild."""
    return f"{CHUNKER_VERSION}/max_tokens={max_tokens}"


def chunk_document(document: Document, *, max_tokens: int = 160) -> list[Chunk]:
    chunks: list[Chunk] = []
    for start, end in _sentence_spans(document.text, max_tokens):
        text = document.text[start:end]
        seq = len(chunks)
        chunks.append(
            Chunk(
                chunk_id=chunk_id(document.doc_id, seq, text),
                doc_id=document.doc_id,
                seq=seq,
                start=start,
                end=end,
                text=text,
            )
        )
    return chunks


def chunk_id(doc_id: str, seq: int, text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return f"{doc_id}:{seq}:{digest}"


def _sentence_spans(text: str, max_tokens: int) -> Iterator[tuple[int, int]]:
    seen_blocks: set[str] = set()
    for block_start, block_end in _blocks(text):
        block = text[block_start:block_end]
        marker = _MARKDOWN_PREFIX.match(block)
        if marker:
            block_start += marker.end()
            block = text[block_start:block_end]
        key = normalise(block).casefold()
        if not key or key in seen_blocks or _is_boilerplate(key):
            continue
        seen_blocks.add(key)
        for sent_start, sent_end in _punkt().span_tokenize(block):
            start, end = block_start + sent_start, block_start + sent_end
            yield from _fit(text, start, end, max_tokens)


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    position = 0
    for match in _BLOCK_SPLIT.finditer(text):
        yield from _lines(text, position, match.start())
        position = match.end()
    yield from _lines(text, position, len(text))


def _lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split a paragraph at hard line breaks, but keep hard-wrapped prose whole.

    A title followed on the next line by a byline ("...security\nReuters") is
    two blocks; prose wrapped at 72 columns is one.
    """
    line_start = start
    for match in re.finditer(r"\n", text[start:end]):
        newline = start + match.start()
        line = text[line_start:newline].rstrip()
        following = text[newline + 1 : end].lstrip()
        next_line = following.split("\n", 1)[0]
        hard_break = line.endswith((".", "!", "?", ":", '"', "\u201d")) or (
            following[:1].isupper() and (len(line) < _WRAP_WIDTH or len(next_line.split()) < 4)
        )
        if hard_break:
            yield from _trimmed(text, line_start, newline)
            line_start = newline + 1
    yield from _trimmed(text, line_start, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _is_boilerplate(block: str) -> bool:
    return len(block.split()) < 3 and not block.endswith((".", "!", "?"))


def _fit(text: str, start: int, end: int, max_tokens: int) -> Iterator[tuple[int, int]]:
    """Yield (start, end) once, or in pieces when the sentence is over budget."""
    sentence = text[start:end]
    if count_tokens(sentence) <= max_tokens:
        yield start, end
        return
    cursor = start
    for piece in _long_sentence_splitter(max_tokens).split_text(sentence):
        found = text.find(piece, cursor, end)
        if found < 0:  # the splitter altered whitespace; fall back to a word search
            found = cursor
        piece_end = min(end, found + len(piece))
        yield from _trimmed(text, found, piece_end)
        cursor = piece_end


@lru_cache(maxsize=4)
def _long_sentence_splitter(max_tokens: int):
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=max_tokens, chunk_overlap=0, tokenizer=encode)


@lru_cache(maxsize=1)
def _punkt():
    import importlib.util
    import os

    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    # llama-index ships Punkt's English data; find its folder without importing
    # llama_index.core, which costs about 2 s and nothing here needs.
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError("llama-index-core is not installed. Reinstall qa-bot: pip install -e .")
    package = next(iter(spec.submodule_search_locations))
    shipped = os.path.join(package, "_static", "nltk_cache")
    if shipped not in nltk.data.path:
        nltk.data.path.insert(0, shipped)
    return PunktTokenizer("english")
