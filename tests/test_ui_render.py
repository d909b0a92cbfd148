"""The UI's HTML: escaping, highlighting by offsets, the sources view, API payloads."""

from __future__ import annotations

import json
import re

import pytest

from qa_bot.types import UNSURE, Answer, Source
from qa_bot.ui.render import (
    answer_html,
    answer_payload,
    draft_html,
    highlight,
    sources_html,
    text_html,
)

PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "\"'><svg onload=alert(1)>",
    "&lt;b&gt; already escaped",
]
OUR_TAGS = {"mark", "sup", "span", "br", "div", "p", "b", "h4", "ol", "ul", "li"}


def tags_in(html: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


def unescape_visible(html: str) -> str:
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", html))


def source(text: str, doc: str, start: int, *, score=0.5, chunk="c") -> Source:
    return Source(
        text=text,
        score=score,
        doc_id="doc",
        title="T",
        start=start,
        end=start + len(text),
        chunk_id=chunk,
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_highlight_escapes_everything_and_adds_only_marks(payload):
    doc = f"Before. {payload} The summit was in Bishkek. After."
    start = doc.index("The summit")
    html = highlight(doc, [(start, start + len("The summit was in Bishkek."), 1)])
    assert tags_in(html) <= {"mark", "sup"}
    # the text plus the [1] label, nothing else
    assert unescape_visible(html) == doc.replace("Bishkek.", "Bishkek.[1]")
    assert re.search(r"<mark[^>]*>The summit was in Bishkek\.</mark><sup", html)


def test_highlight_splits_overlapping_spans_without_nesting():
    doc = "abcdefghij"
    html = highlight(doc, [(2, 6, 1), (4, 8, 2)])
    assert "<mark data-cite='1'>cd</mark>" in html
    assert "<mark data-cite='1 2'>ef</mark>" in html
    assert "<mark data-cite='2'>gh</mark>" in html
    assert unescape_visible(html) == "abcdef[1]gh[2]ij"
    assert "<mark" not in html.split("</mark>", 1)[0][6:]  # no nested mark


@pytest.mark.parametrize("spans", [[(5, 3, 1)], [(-4, 2, 1)], [(50, 60, 1)], []])
def test_highlight_ignores_impossible_offsets(spans):
    assert highlight("short text", spans) == "short text"


def test_highlight_clips_a_span_running_past_the_end():
    assert highlight("short text", [(6, 99, 1)]) == (
        "short <mark data-cite='1'>text</mark><sup class='qa-ref'>[1]</sup>"
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_chat_messages_are_escaped(payload):
    answer = Answer(text=f"Answer {payload} [1]", question=payload)
    assert tags_in(answer_html(answer)) <= {"br", "span"}
    assert payload in unescape_visible(answer_html(answer))
    assert tags_in(draft_html(payload)) <= {"span", "br"}
    assert text_html("a\nb") == "a<br>b"


def test_abstention_is_styled_as_information_not_error():
    answer = Answer(text="The article doesn't say.", abstained=True)
    html = answer_html(answer)
    assert "qa-abstain" in html and "qa-error" not in html
    assert "The article doesn&#x27;t say." in html


def test_each_answer_state_looks_different():
    cited = source("The summit took place in Bishkek.", "doc", 0, score=0.5, chunk="c1")
    sure = answer_html(Answer(text="The summit took place in Bishkek. [1]", sources=(cited,)))
    unsure = answer_html(
        Answer(
            text="The article may not answer this directly. The closest passage: "
            "The summit took place in Bishkek. [1]",
            abstained=True,
            status=UNSURE,
            sources=(cited,),
        )
    )
    missing = answer_html(Answer(text="The article doesn't say.", abstained=True))
    assert "qa-unsure" not in sure and "qa-abstain" not in sure
    assert "qa-unsure" in unsure and "Unsure." in unsure and "qa-abstain" not in unsure
    assert "qa-abstain" in missing and "qa-unsure" not in missing


def test_sources_view_highlights_cited_spans_and_lists_passages():
    article = "Intro <b>bold</b>. The summit took place in Bishkek. Other news."
    start = article.index("The summit")
    cited = source("The summit took place in Bishkek.", "doc", start, score=0.8123, chunk="c1")
    other = source("Other news.", "doc", article.index("Other"), score=0.2, chunk="c2")
    answer = Answer(
        text="The summit took place in Bishkek. [1]",
        sources=(cited,),
        passages=(cited, other),
        question="Where?",
    )
    html = sources_html(answer, {"doc": article}.get)
    assert "<mark data-cite='1'>The summit took place in Bishkek.</mark>" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold" not in html
    cited_part, considered = html.split("Also considered")
    assert "81% likely to answer" in cited_part and "Other news." in considered
    assert considered.count("<li>") == 1  # the cited passage is not repeated
    assert "(quoted from the article)" in html


def test_other_passages_are_listed_most_likely_first_with_the_title_once():
    low = source("Low.", "doc", 0, score=0.1, chunk="c1")
    high = source("High.", "doc", 5, score=0.7, chunk="c2")
    answer = Answer(text="The article doesn't say.", abstained=True, passages=(low, high))
    html = sources_html(answer, lambda doc_id: "Low. High.")
    assert html.index("High.") < html.index("Low.")
    assert "70% likely to answer" in html and "10% likely to answer" in html


def test_sources_view_of_abstention_shows_considered_passages_only():
    other = source("Other news.", "doc", 0, chunk="c2")
    answer = Answer(text="The article doesn't say.", abstained=True, passages=(other,))
    html = sources_html(answer, lambda doc_id: "Other news.")
    assert "qa-abstain" in html and "<mark" not in html and "Also considered" in html


def test_sources_view_without_answer_is_a_hint():
    assert "Ask a question" in sources_html(None, lambda doc_id: "")


def test_answer_payload_is_json_and_offsets_survive():
    cited = source("Bishkek.", "doc", 10)
    payload = answer_payload(Answer(text="Bishkek. [1]", sources=(cited,), passages=(cited,)))
    again = json.loads(json.dumps(payload))
    assert again["sources"][0]["start"] == 10 and again["sources"][0]["end"] == 18
    assert again["abstained"] is False and again["text"] == "Bishkek. [1]"
