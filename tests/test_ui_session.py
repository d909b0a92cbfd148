"""What the UI's controls do, without Gradio: chat turns, errors, feedback, uploads.

A real `Engine` (hashing embedder, bundled article) with a scripted answerer
where the test needs to control the reply.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from html import unescape

import pytest

from qa_bot.engine import Engine
from qa_bot.errors import LLMError, UnknownBackendError
from qa_bot.types import StreamEvent
from qa_bot.ui.session import (
    UNEXPECTED,
    ChatSession,
    Turn,
    backend_choices,
    chat_messages,
    engine_history,
    turn_for_message,
)
from tests.ui_support import ScriptedAnswerer

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


class StreamingEngine(Engine):
    """A real engine whose stream starts with draft tokens, as generative backends do."""

    drafts = ("The summit ", "was in ", "<b>Bishkek</b>")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.histories: list = []

    def answer_stream(
        self, question, history=None, *, llm=None, top_k=None, viewer=None
    ) -> Iterator[StreamEvent]:
        self.histories.append(list(history or []))
        for piece in self.drafts:
            yield StreamEvent("token", text=piece)
        yield from super().answer_stream(question, history, llm=llm, top_k=top_k, viewer=viewer)


def session_for(settings, *replies, engine_class=Engine) -> ChatSession:
    engine = engine_class(settings, answerer=ScriptedAnswerer(*replies))
    return ChatSession(engine, settings)


def final(updates) -> tuple:
    return list(updates)[-1]


def test_a_question_becomes_a_turn_with_its_sources(settings):
    session = session_for(settings, "The summit took place in Bishkek. [1]")
    updates = list(session.submit("Where was the summit held?", [], "extractive", 3))
    first_messages, *_ = updates[0]
    assert first_messages[-1]["role"] == "assistant" and "qa-draft" in first_messages[-1]["content"]
    messages, turns, sources, box, status = updates[-1]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert "Bishkek" in messages[1]["content"] and box == "" and status == ""
    assert turns[0].answer.sources and "<mark" in sources
    assert len(turns[0].answer.passages) <= 3  # the slider's passage count reaches the engine


def test_drafts_stream_then_the_verified_answer_replaces_them(settings):
    session = session_for(
        settings, "The summit took place in Bishkek. [1]", engine_class=StreamingEngine
    )
    updates = list(session.submit("Where was the summit held?", [], None, None))
    drafts = [u[0][-1]["content"] for u in updates[:-1]]
    assert any("was in" in d and "qa-draft" in d for d in drafts)
    assert any("&lt;b&gt;Bishkek&lt;/b&gt;" in d for d in drafts)  # drafts are escaped too
    assert "qa-draft" not in updates[-1][0][-1]["content"]


def test_follow_ups_get_the_earlier_turns_as_plain_text_history(settings):
    session = session_for(
        settings,
        "The summit took place in Bishkek. [1]",
        "Russia. [1]",
        engine_class=StreamingEngine,
    )
    _, turns, *_ = final(session.submit("Where was the summit held?", [], None, None))
    _, turns, *_ = final(session.submit("And who chairs the next one?", turns, None, None))
    assert session.engine.histories[1] == [
        {"role": "user", "content": "Where was the summit held?"},
        {"role": "assistant", "content": "The summit took place in Bishkek. [1]"},
    ]
    assert session.engine.answerer.questions[1].is_followup
    assert len(turns) == 2


@pytest.mark.parametrize("question", ["", "   ", "word " * 2000])
def test_bad_questions_are_a_status_message_not_a_turn(settings, question):
    session = session_for(settings, "unused")
    messages, turns, _, box, status = final(session.submit(question, [], None, None))
    assert turns == [] and messages == [] and box == question
    assert "question" in status.lower() and "Traceback" not in status


def test_backend_errors_show_in_the_chat_and_stay_out_of_history(settings):
    session = session_for(settings, LLMError("The LLM server at http://x did not answer."))
    updates = session.submit("Where was the summit held?", [], None, None)
    messages, turns, _, _, status = final(updates)
    assert "did not answer" in messages[-1]["content"] and "qa-error" in messages[-1]["content"]
    assert "did not answer" in status
    assert turns[0].answer is None and engine_history(turns) == []


def test_unexpected_errors_are_logged_and_shown_generically(settings, caplog):
    session = session_for(settings, RuntimeError("secret internal detail"))
    with caplog.at_level(logging.ERROR, logger="qa_bot.ui.app"):
        messages, *_ = final(session.submit("Where was the summit held?", [], None, None))
    assert UNEXPECTED.split("(")[0] in messages[-1]["content"]
    assert "secret internal detail" not in messages[-1]["content"]
    assert "secret internal detail" in caplog.text  # the traceback stays on the server


def test_model_output_with_markup_renders_as_text(settings):
    session = session_for(settings, f"Bishkek {XSS} [1]")
    messages, *_ = final(session.submit("Where was the summit held?", [], None, None))
    content = messages[-1]["content"]
    assert "<script" not in content and "<img" not in content
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in content


def test_unknown_backend_or_bad_top_k_is_refused(settings):
    session = session_for(settings, "unused")
    with pytest.raises(UnknownBackendError, match="Valid choices: extractive"):
        session.options("openai:gpt-4o", 5)
    *_, status = final(session.submit("Where?", [], "openai:gpt-4o", 5))
    assert "Unknown answerer" in status
    for bad in (0.5, 99, "many"):
        with pytest.raises(Exception, match="number of passages"):
            session.options("extractive", bad)
    assert session.options(None, None) == ("extractive", settings.top_k)


def test_undo_retry_and_select(settings):
    session = session_for(settings, "First. [1]", "Second. [1]", "Third. [1]")
    _, turns, *_ = final(session.submit("Where was the summit held?", [], None, None))
    _, turns, *_ = final(session.submit("Who chaired it?", turns, None, None))
    assert "Question:</b> Where was the summit held?" in session.select(turns, 1)
    assert "Question:</b> Who chaired it?" in session.select(turns, 3)
    messages, kept, _, box, _ = session.undo(turns)
    assert len(kept) == 1 and len(messages) == 2 and box == "Who chaired it?"
    messages, again, *_ = final(session.retry(turns, None, None))
    assert len(again) == 2 and again[-1].question == "Who chaired it?"
    assert "Third." in messages[-1]["content"]


def test_message_indexes_map_to_turns():
    assert [turn_for_message(i) for i in (0, 1, 2, 3)] == [0, 0, 1, 1]
    assert turn_for_message([3, 0]) == 1 and turn_for_message(None) is None
    assert len(chat_messages([Turn("q", error="e")] * 3)) == 6


def test_feedback_is_appended_as_jsonl(settings, tmp_path):
    settings = settings.replace(feedback_path=str(tmp_path / "new" / "dir" / "feedback.jsonl"))
    session = session_for(settings, "The summit took place in Bishkek. [1]")
    _, turns, *_ = final(session.submit("Where was the summit held?", [], None, None))
    _, turns, *_ = final(session.submit("Who chaired it?", turns, None, None))
    status, turns = session.feedback(turns, 1, True)
    assert "saved" in status
    status, turns = session.feedback(turns, 3, False)
    assert "saved" in status
    assert "Only answers" in session.feedback(turns, 7, True)[0]
    lines = settings.feedback_file.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["liked"] for r in records] == [True, False]
    record = records[0]
    assert record["question"] == "Where was the summit held?"
    assert record["answer"] == "The summit took place in Bishkek. [1]"
    assert record["backend"] == "scripted" and record["timestamp"]
    assert set(record["sources"][0]) == {"text", "doc_id", "start", "end", "score"}


def test_unwritable_feedback_file_is_a_message(settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = settings.replace(feedback_path=str(blocker / "feedback.jsonl"))
    session = session_for(settings, "Bishkek. [1]")
    _, turns, *_ = final(session.submit("Where was the summit held?", [], None, None))
    assert "QA_BOT_FEEDBACK_PATH" in session.feedback(turns, 1, True)[0]


def test_uploaded_article_is_listed_and_answerable(settings, tmp_path):
    session = ChatSession(Engine(settings), settings)
    article = tmp_path / "lake-festival.txt"
    article.write_text(
        "Lake festival in Varna\n\nThe lantern festival was held in Varna on "
        "the lake shore. The mayor Ivo Petrov opened it.\n"
    )
    status = unescape(session.upload(str(article)))
    assert re.search(
        r"Added 'lake-festival.txt' as 'upload-lake-festival' \(\d+ passages indexed\)", status
    )
    assert "CSTO summit" in session.articles_html()  # the bundled article stays
    assert "Lake festival in Varna" in session.articles_html()
    _, turns, *_ = final(session.submit("Where was the lantern festival held?", [], None, None))
    assert any(s.doc_id == "upload-lake-festival" for s in turns[0].answer.passages)


def test_article_titles_are_escaped_in_the_list(settings, tmp_path):
    session = ChatSession(Engine(settings), settings)
    article = tmp_path / "evil.txt"
    article.write_text(f"{XSS}\n\nA harmless sentence about a market in Osh.\n")
    session.upload(str(article))
    listing = session.articles_html()
    assert "<script" not in listing and "&lt;script&gt;" in listing


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("notes.pdf", b"%PDF-1.4", "not a readable PDF"),
        ("notes.exe", b"MZ", "not a supported article type"),
        ("empty.txt", b"", "empty"),
        ("binary.txt", bytes(range(256)) * 4, ""),
        ("huge.txt", b"word " * 300_000, "the limit is"),
    ],
)
def test_bad_uploads_get_a_clear_error(settings, tmp_path, name, content, expected):
    session = ChatSession(Engine(settings), settings)
    path = tmp_path / name
    path.write_bytes(content)
    status = unescape(session.upload(str(path)))
    assert "qa-error" in status and expected in status and "Traceback" not in status
    assert name in status  # the message names the file
    assert not settings.uploads_path.exists()  # uploads live in the index, never as files
    assert all(row[0] != path.stem for row in session.engine.articles())


def test_backend_choices_offer_only_usable_backends(settings, monkeypatch):
    from qa_bot.answering import answerers

    monkeypatch.setattr(answerers, "_importable", lambda *modules: False)
    assert backend_choices(settings) == ["extractive"]
    monkeypatch.setattr(answerers, "_importable", lambda *modules: True)
    assert backend_choices(settings) == ["extractive", "llamacpp:smollm2"]
    monkeypatch.setattr(answerers, "_importable", lambda *modules: False)
    configured = settings.replace(llm="openai:gpt-4o-mini")
    assert backend_choices(configured) == ["openai:gpt-4o-mini", "extractive"]
