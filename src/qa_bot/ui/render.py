"""Pure HTML rendering for the web UI: chat messages and the sources view.

Everything that reaches the browser as HTML is built here, and every piece of
text from an article, an uploaded file, a question or a model is passed
through `html.escape` first; the only tags in the output are the few this
module writes itself (`<mark>`, `<sup>`, `<div>`, ...). The Gradio Chatbot
and HTML components would otherwise render such text as markup, so an
article containing ``<img src=x onerror=...>`` could run script in the page.

No Gradio import: these functions are plain str -> str and are unit-tested
without a browser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from itertools import pairwise
from typing import Any

from qa_bot.answering.answer_types import AnswerType, expected_type
from qa_bot.types import UNSURE, Answer, Source

ABSTAIN_ICON = "\u2139\ufe0f"  # information sign: an abstention is an answer, not an error
UNSURE_ICON = "\u2754"  # white question mark: the closest passage, not a confident answer
UNSURE_LABEL = "Unsure"

CSS = """
.qa-article { position: relative; white-space: pre-wrap; line-height: 1.5; max-height: 28em;
  overflow-y: auto; padding: .6em .8em; border: 1px solid var(--border-color-primary);
  border-radius: 6px; }
.qa-article mark { background: #ffe27a; color: #111; padding: 0 .1em; border-radius: 3px; }
.qa-ref { font-size: .75em; color: var(--body-text-color-subdued); }
.qa-abstain { color: var(--body-text-color); background: #e8f1fb; border-left: 4px solid #3b82c4;
  padding: .4em .7em; border-radius: 4px; display: block; }
.qa-unsure { color: var(--body-text-color); background: #fdf3dc; border-left: 4px solid #c98a0b;
  padding: .4em .7em; border-radius: 4px; display: block; }
.qa-unsure b { color: #8a5a00; }
.qa-notice { color: var(--body-text-color-subdued); font-style: italic; display: block; }
.qa-draft { color: var(--body-text-color-subdued); }
.qa-error { color: #9b1c1c; }
.qa-passages { padding-left: 1.2em; }
.qa-passages li { margin-bottom: .4em; }
.qa-score { font-variant-numeric: tabular-nums; color: var(--body-text-color-subdued); }
"""

_EMPTY_SOURCES = (
    "<p class='qa-notice'>Ask a question: the sources of the selected answer appear here.</p>"
)


def text_html(text: str) -> str:
    """Plain text as HTML: escaped, line breaks kept."""
    return escape(text, quote=True).replace("\n", "<br>")


def answer_html(answer: Answer) -> str:
    """One assistant chat message: a confident answer as plain text, an unsure one in an amber
    box labelled "Unsure", "the article doesn't say" in a blue information box."""
    if answer.status == UNSURE:
        body = (
            f"<span class='qa-unsure'>{UNSURE_ICON} <b>{UNSURE_LABEL}.</b> "
            f"{text_html(answer.text)}</span>"
        )
    elif answer.abstained:
        body = f"<span class='qa-abstain'>{ABSTAIN_ICON} {text_html(answer.text)}</span>"
    else:
        body = text_html(answer.text)
    if answer.notice:
        body += f"<span class='qa-notice'>{text_html(answer.notice)}</span>"
    return body


def draft_html(text: str) -> str:
    """Unverified streamed text from a generator, shown until the answer replaces it."""
    return f"<span class='qa-draft'>{text_html(text or '…')}</span>"


def error_html(message: str) -> str:
    return f"<span class='qa-error'>{text_html(message)}</span>"


def highlight(text: str, spans: Sequence[tuple[int, int, int]]) -> str:
    """`text` escaped, with each (start, end, n) span wrapped in `<mark>` and labelled [n].

    Overlapping spans are split at every boundary, so marks never nest and
    every character is escaped exactly once.
    """
    size = len(text)
    clean = [(max(0, s), min(size, e), n) for s, e, n in spans if 0 <= s < e and s < size]
    cuts = sorted({0, size, *(s for s, _, _ in clean), *(e for _, e, _ in clean)})
    out: list[str] = []
    for a, b in pairwise(cuts):
        piece = escape(text[a:b], quote=True)
        covering = [n for s, e, n in clean if s <= a and b <= e]
        if covering:
            label = " ".join(str(n) for n in covering)
            out.append(f"<mark data-cite='{label}'>{piece}</mark>")
        else:
            out.append(piece)
        ends_here = sorted(n for _, e, n in clean if e == b)
        if ends_here:
            out.append(f"<sup class='qa-ref'>[{','.join(map(str, ends_here))}]</sup>")
    return "".join(out)


def _passage_item(n: int | None, source: Source, *, show_title: bool, summary: bool = False) -> str:
    label = f"[{n}] " if n is not None else ""
    title = f"&middot; {_article_label(source)} " if show_title or _is_upload(source) else ""
    # A summary's sentences are picked for covering the article, not scored as answers.
    score = "part of the summary" if summary else _score(source.score)
    page = f"page {source.page}, " if source.page else ""
    return (
        f"<li>{label}<span class='qa-score'>{score}</span> "
        f"{title}<span class='qa-ref'>({page}chars {source.start}–{source.end})</span><br>"
        f"{escape(source.text)}</li>"
    )


def _score(score: float) -> str:
    """The reader's probability that the passage answers, as a percentage."""
    return f"{min(max(score, 0.0), 1.0):.0%} likely to answer"


def _written_by(answer: Answer) -> str:
    if answer.status == UNSURE:
        return "the closest passage, quoted from the article"
    if answer.abstained:
        return ""  # nothing was quoted
    if answer.backend in ("extractive", "extractive-features"):
        return "quoted from the article"
    return f"worded by {answer.backend}, each sentence checked against the article"


def is_summary(answer: Answer) -> bool:
    """Was a summary asked for (the lead and central sentences, not scored answers)?"""
    return expected_type(answer.question) is AnswerType.SUMMARY


def article_body(text: str, title: str) -> tuple[int, int]:
    """(start, end) of what the article box shows: without the lines that only repeat
    the title (shown above it) and without a trailing "Tags" line left by a web page."""
    start = 0
    wanted = " ".join(title.split()).casefold()
    for line in text.splitlines(keepends=True):
        plain = " ".join(line.split()).casefold()
        if plain and plain != wanted:
            break
        start += len(line)
    end = len(text.rstrip())
    last_line = text[:end].rsplit("\n", 1)[-1]
    if last_line.strip().casefold().rstrip(":") == "tags" and end - len(last_line) > start:
        end -= len(last_line)
    return start, len(text[:end].rstrip())


def sources_html(
    answer: Answer | None,
    article_text: Callable[[str], str],
    byline: Callable[[str], str] | None = None,
) -> str:
    """The sources view for one answer.

    Shows each cited article with the cited spans highlighted, the cited
    passages with their scores (and PDF page), and the other retrieved passages
    as "also considered". `article_text(doc_id)` returns the original article
    text; `byline(doc_id)` its date and author ("2024-11-02 · Jo Writer"), if any.
    """
    if answer is None:
        return _EMPTY_SOURCES
    written_by = _written_by(answer)
    how = f" <span class='qa-ref'>({escape(written_by)})</span>" if written_by else ""
    parts = [f"<p><b>Question:</b> {escape(answer.question)}{how}</p>"]
    summary = is_summary(answer)
    if answer.notice:
        parts.append(f"<p class='qa-ref'>{escape(answer.notice)}</p>")
    if answer.status == UNSURE:
        parts.append(
            f"<p class='qa-unsure'>{UNSURE_ICON} <b>{UNSURE_LABEL}:</b> the passage below is the "
            "closest the article has; it may not answer the question.</p>"
        )
    elif answer.abstained:
        parts.append(f"<p class='qa-abstain'>{ABSTAIN_ICON} {escape(answer.text)}</p>")
    cited_ids = {s.chunk_id or (s.doc_id, s.start, s.end) for s in answer.sources}
    doc_order = list(dict.fromkeys(s.doc_id for s in answer.sources))
    for doc_id in doc_order:
        spans = [(s.start, s.end, n) for n, s in enumerate(answer.sources, 1) if s.doc_id == doc_id]
        cited = next(s for s in answer.sources if s.doc_id == doc_id)
        parts.append(f"<h4>{_article_label(cited)}</h4>")
        line = byline(doc_id) if byline is not None else ""
        if line:
            parts.append(f"<p class='qa-ref qa-byline'>{escape(line)}</p>")
        text = article_text(doc_id)
        start, end = article_body(text, cited.title or doc_id)
        shown = [(s - start, e - start, n) for s, e, n in spans]
        parts.append(f"<div class='qa-article'>{highlight(text[start:end], shown)}</div>")
    # The title heads each article above; repeat it per passage only across articles.
    show_title = len({p.doc_id for p in (*answer.sources, *answer.passages)}) > 1
    if answer.sources:
        items = "".join(
            _passage_item(n, s, show_title=show_title, summary=summary)
            for n, s in enumerate(answer.sources, 1)
        )
        parts.append(f"<h4>Cited passages</h4><ol class='qa-passages'>{items}</ol>")
    others = sorted(
        (p for p in answer.passages if (p.chunk_id or (p.doc_id, p.start, p.end)) not in cited_ids),
        key=lambda p: -p.score,
    )
    if others:
        items = "".join(_passage_item(None, p, show_title=show_title) for p in others)
        parts.append(f"<h4>Also considered</h4><ul class='qa-passages'>{items}</ul>")
    return "\n".join(parts)


def _is_upload(source: Source) -> bool:
    return source.doc_id.startswith("upload-")


def _article_label(source: Source) -> str:
    """The article's title, escaped; an upload says so and shows its id, so an upload that
    copies another article's title is never shown as that article."""
    title = escape(source.title or source.doc_id)
    if not _is_upload(source):
        return title
    return (
        f"<span class='qa-upload'>Uploaded by a user</span> {title} "
        f"<code>{escape(source.doc_id)}</code>"
    )


def articles_table(rows: Sequence[tuple]) -> str:
    """The indexed articles, from `Engine.articles()` rows (doc_id, title, source, chunks,
    date)."""
    body = "".join(
        f"<tr><td>{escape(title)}</td><td>{escape(date)}</td>"
        f"<td>{escape(source or _source_of(doc_id))}</td>"
        f"<td>{count}</td><td><code>{escape(doc_id)}</code></td></tr>"
        for doc_id, title, source, count, date in (_padded(row) for row in rows)
    )
    return (
        "<table><thead><tr><th>Title</th><th>Date</th><th>Source</th><th>Passages</th>"
        f"<th>Id</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _padded(row: Sequence) -> tuple:
    """(doc_id, title, source, count, date); a row without a date gets ''."""
    doc_id, title, source, count, *rest = row
    return doc_id, title, source, count, str(rest[0] if rest else "")


def byline_text(date: str, author: str) -> str:
    return " · ".join(part for part in (date, author) if part)


def _source_of(doc_id: str) -> str:
    return "uploaded" if doc_id.startswith("upload-") else ""


def answer_payload(answer: Answer) -> dict[str, Any]:
    """A JSON-able dict of the answer for the API endpoint."""
    payload = answer.to_dict()
    payload["sources"] = [dict(s) for s in payload["sources"]]
    payload["passages"] = [dict(p) for p in payload["passages"]]
    return payload
