"""What an attack test and a new user's first hour found, each pinned by a test.

Fast and hermetic (hashing embedder, real Chroma in a temp folder). The served-app checks
(closed REST routes, Host and Origin, /monitoring) are in tests/test_app_api.py.
"""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from qa_bot.engine import Engine
from qa_bot.errors import CorpusError, HistoryError
from qa_bot.ui.guard import RequestGuard
from qa_bot.ui.session import ChatSession, Turn

from .conftest import ARTICLE

MALLORY = b"Summit news\n\nThe next summit will be chaired by Mallory Eve of the Example Party."


def generations_on_disk(settings) -> int:
    index = settings.index_path
    return sum(1 for p in index.iterdir() if p.is_dir() and len(p.name) == 36)


# -- 1. uploads have their own ids --------------------------------------------------------


def test_an_upload_cannot_replace_the_bundled_article(engine):
    upload = engine.add_article("csto-summit-bishkek.txt", MALLORY)
    assert upload.doc_id == "upload-csto-summit-bishkek"
    ids = {row[0] for row in engine.articles()}
    assert {"csto-summit-bishkek", "upload-csto-summit-bishkek"} <= ids
    bundled = engine.article_text("csto-summit-bishkek")
    assert bundled == ARTICLE.read_text(encoding="utf-8")
    assert "Mallory" not in bundled


def test_a_same_id_upload_replaces_the_earlier_one(engine, settings):
    engine.add_article("dup.txt", b"Dup\n\nThe first version says the bridge cost 5 million.")
    upload = engine.add_article("dup.md", b"# Dup\n\nThe second version says it cost 7 million.")
    assert upload.replaced == ["dup.txt"]
    assert [row[0] for row in engine.articles()].count("upload-dup") == 1
    report = Engine(settings).index()  # a rebuild used to fail: "Two articles share the id"
    assert "upload-dup" in report.unchanged or not report.changed
    assert "7 million" in engine.article_text("upload-dup")


def test_an_upload_with_too_many_sentences_is_refused(settings):
    engine = Engine(settings.replace(max_article_sentences=20))
    text = "Long\n\n" + " ".join(f"Sentence number {i} is here." for i in range(50))
    with pytest.raises(CorpusError, match="50 sentences; an upload may have at most 20"):
        engine.add_article("long.txt", text.encode())
    assert "upload-long" not in {row[0] for row in engine.articles()}


def test_uploads_are_limited_by_a_sentence_budget(settings, tmp_path):
    limited = settings.replace(
        upload_sentences_per_minute=4,
        session_upload_sentences_per_minute=4,
        max_article_sentences=4,
    )
    session = ChatSession(Engine(limited), limited)
    messages = []
    for n in range(3):
        path = tmp_path / f"note{n}.txt"
        path.write_text(f"Note {n}\n\nThe council met on day {n}. It voted for the plan.")
        messages.append(session.upload(str(path), viewer="a"))
    assert "Added" in messages[0] and "Added" in messages[1]
    assert "QA_BOT_SESSION_UPLOAD_SENTENCES_PER_MINUTE" in messages[2]


def test_uploaded_files_are_deleted_from_gradios_cache(settings, tmp_path):
    session = ChatSession(Engine(settings), settings)
    good, bad = tmp_path / "good.txt", tmp_path / "bad.pdf"
    good.write_text("Good\n\nThe mayor opened the new library on Monday.")
    bad.write_bytes(b"%PDF-1.4")
    session.upload(str(good))
    session.upload(str(bad))
    assert not good.exists() and not bad.exists()


def test_an_uploaded_article_can_be_removed(engine, settings):
    engine.add_article("notes.txt", b"Notes\n\nThe harbour festival drew 40,000 visitors.")
    report = engine.remove_article("upload-notes")
    assert report.removed == ["upload-notes"] and "upload-notes" in report.summary()
    assert "upload-notes" not in {row[0] for row in engine.articles()}
    with pytest.raises(CorpusError, match="part of the configured corpus"):
        engine.remove_article("csto-summit-bishkek")


# -- 3. one request cannot stall everyone ------------------------------------------------------


def test_a_huge_history_message_is_refused_at_once(engine):
    engine.answer("Where was the summit held?")  # warm
    history = [
        {"role": "user", "content": "Who chaired it?"},
        {"role": "assistant", "content": "x" * 32_000_000},
    ]
    started = time.perf_counter()
    with pytest.raises(HistoryError, match="32,000,000 characters long; the limit is 20,000"):
        engine.answer("And the next one?", history)
    assert time.perf_counter() - started < 0.1


def test_too_many_history_messages_are_refused(engine):
    history = [{"role": "user", "content": "Hi?"}] * 41
    with pytest.raises(HistoryError, match="41 messages; the limit is 40"):
        engine.answer("And then?", history)


def test_thousands_of_chained_follow_ups_resolve_without_recursion():
    from qa_bot.answering.followup import resolve

    history = [{"role": "user", "content": "Who chaired the summit?"}]
    for _ in range(2000):
        history += [
            {"role": "assistant", "content": "Japarov."},
            {"role": "user", "content": "And?"},
        ]
    history.append({"role": "assistant", "content": "x"})
    resolved = resolve("And the next one?", history)
    assert resolved.is_followup and len(resolved.search_query) < 200


# -- 4. disk does not grow without bound -------------------------------------------------------


def test_many_uploads_leave_at_most_two_generations(engine, settings):
    engine.loaded()
    for n in range(6):
        engine.add_article(f"note{n}.txt", f"Note {n}\n\nThe board met {n} times.".encode())
    assert generations_on_disk(settings) <= 2
    assert len(engine.store._generations()) <= 2
    assert "board met" in engine.answer("How often did the board meet?").text


# -- 7. private files, feedback lines, one like per answer ---------------------------------


def test_the_data_folder_and_its_files_are_private(engine, settings):
    engine.add_article("mine.txt", b"Mine\n\nMy private notes say the budget is 12 euros.")
    session = ChatSession(engine, settings)
    turns = [Turn("What is the budget?", answer=engine.answer("What is the budget?"))]
    session.feedback(turns, 1, True)
    for folder in (settings.data_path, settings.index_path):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    # Uploads are kept in the index (#19), whose files are private too.
    index_files = [p for p in settings.index_path.rglob("*") if p.is_file()]
    for file in (settings.feedback_file, *index_files):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_feedback_lines_survive_unicode_line_separators(engine, settings):
    from dataclasses import replace

    session = ChatSession(engine, settings)
    answer = replace(engine.answer("Where was the summit held?"), text="a\u2028b\u2029c\x85d")
    session.feedback([Turn("q", answer=answer)], 1, True)
    lines = settings.feedback_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["answer"] == "a\u2028b\u2029c\x85d"


def test_one_like_per_answer_per_session(engine, settings):
    session = ChatSession(engine, settings)
    turns = [Turn("Where?", answer=engine.answer("Where was the summit held?"))]
    for _ in range(200):
        status, turns = session.feedback(turns, 1, True)
    assert "already saved" in status
    assert len(settings.feedback_file.read_text(encoding="utf-8").splitlines()) == 1


# -- 6. Host and Origin --------------------------------------------------------------------


async def _call(
    guard: RequestGuard, method: str, headers: dict[str, str], path: str = "/config"
) -> int:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    await guard(scope, receive, send)
    return sent[0]["status"]


async def _app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize(
    ("bound", "allowed", "method", "headers", "status"),
    [
        ("127.0.0.1", (), "GET", {"host": "127.0.0.1:7860"}, 200),
        ("127.0.0.1", (), "GET", {"host": "localhost:7860"}, 200),
        ("127.0.0.1", (), "GET", {"host": "rebind.attacker.example:7860"}, 403),
        ("127.0.0.1", (), "POST", {"host": "127.0.0.1:7860", "origin": "http://evil.example"}, 403),
        (
            "127.0.0.1",
            (),
            "POST",
            {"host": "127.0.0.1:7860", "origin": "http://127.0.0.1:7860"},
            200,
        ),
        ("127.0.0.1", (), "POST", {"host": "127.0.0.1:7860"}, 200),  # gradio_client, curl
        ("0.0.0.0", (), "GET", {"host": "10.0.0.5:7860"}, 200),
        ("0.0.0.0", (), "POST", {"host": "10.0.0.5:7860", "origin": "http://evil.example"}, 403),
        ("0.0.0.0", ("qa.example.org",), "GET", {"host": "qa.example.org"}, 200),
        ("0.0.0.0", ("qa.example.org",), "GET", {"host": "10.0.0.5:7860"}, 403),
    ],
)
def test_the_request_guard(bound, allowed, method, headers, status):
    import asyncio

    guard = RequestGuard(_app, bound_to=bound, allowed_hosts=allowed)
    assert asyncio.run(_call(guard, method, headers)) == status


# -- new users ------------------------------------------------------------------------------


def test_ask_json_reports_load_time_apart_from_retrieval(settings, capsys, monkeypatch):
    from qa_bot.cli import main

    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    assert main(["ask", "--json", "Where was the summit held?"]) == 0
    timings = json.loads(capsys.readouterr().out)["timings"]
    assert {"load_ms", "retrieve_ms", "answer_ms", "total_ms"} <= set(timings)
    assert timings["retrieve_ms"] < timings["load_ms"]


def test_index_names_what_it_removes(settings, tmp_path, capsys, monkeypatch):
    from qa_bot.cli import main

    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    mine = tmp_path / "mine.txt"
    mine.write_text("Mine\n\nThe ferry now leaves at nine.")
    assert main(["index", str(mine)]) == 0
    assert main(["index"]) == 0
    assert "1 removed (mine)" in capsys.readouterr().out


def test_eval_output_never_goes_to_the_current_folder(tmp_path, monkeypatch):
    from argparse import Namespace

    from qa_bot.eval.cli import output_folder

    monkeypatch.chdir(tmp_path)
    folder = output_folder(Namespace(out=None), "run")
    assert tmp_path not in folder.parents and folder.is_dir()


def test_the_test_command_writes_screenshots_outside_tracked_files():
    text = (Path(__file__).parent / "test_ui_browser.py").read_text(encoding="utf-8")
    assert 'ROOT / "tests" / "artifacts" / "screenshots"' in text
