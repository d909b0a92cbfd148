"""The third attack test's findings (N1-N15) and a new user's first hour (U1-U6), each pinned.

Fast and hermetic: the hashing embedder, real Chroma in a temp folder, the real reader; the
request pipeline is driven as ASGI, without a server. The served app and the browser are in
tests/test_app_api.py and tests/test_ui_browser.py; the figures in bench/attack_scenarios.py.
Each test failed on the commit the attack test ran against (98e51e5).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from qa_bot.engine import Engine
from qa_bot.errors import HistoryError
from qa_bot.ui.guard import RequestGuard
from qa_bot.ui.session import ChatSession, Turn

# -- N1: one measure of size for every shape of message -------------------------------------

BIG = 5_460_000


@pytest.mark.parametrize(
    "content",
    [
        "x " * (BIG // 2),
        {"text": "x " * (BIG // 2)},  # counted as 0 characters before
        [{"type": "text", "text": "x " * (BIG // 2)}],
        [{"type": "text", "text": "x"}] * 100_000,  # many small parts
        {"text": [{"text": "x " * (BIG // 2)}]},
    ],
    ids=["str", "dict", "parts", "many-parts", "nested"],
)
def test_a_huge_history_message_of_any_shape_is_refused_at_once(engine, content):
    engine.answer("Where was the summit held?")  # warm
    history = [
        {"role": "user", "content": content},
        {"role": "assistant", "content": "It was in Bishkek."},
    ]
    started = time.perf_counter()
    with pytest.raises(HistoryError, match=r"history\[0\] is .* characters long; the limit is"):
        engine.answer("And the next one?", history)
    assert time.perf_counter() - started < 0.1


def test_the_measure_reads_what_the_search_reads():
    from qa_bot.answering.followup import history_texts
    from qa_bot.answering.validation import TooMuchText, carried_text

    file_message = {"path": "/tmp/a.txt", "mime_type": "text/plain"}  # a file: no text
    assert carried_text(file_message, limit=10) == ""
    assert carried_text({"text": "Who?", "files": ["a.png"]}, limit=10) == "Who?"
    assert carried_text([{"type": "text", "text": "Who"}, {"text": "won"}], limit=20) == "Who won"
    with pytest.raises(TooMuchText):
        carried_text({"text": "x" * 11}, limit=10)
    messages = [{"role": "user", "content": {"text": "Who chaired it?"}}]
    assert history_texts(messages) == [("user", "Who chaired it?")]


def test_a_follow_up_search_query_has_a_hard_cap(engine):
    from qa_bot.answering.followup import MAX_QUERY_CHARS, resolve

    long_question = "Where was the summit " + "really " * 2_800 + "held?"  # 19,700 characters
    history = [
        {"role": "user", "content": long_question},
        {"role": "assistant", "content": "In Bishkek."},
    ]
    resolved = resolve("And the next one?", history)
    assert resolved.is_followup and len(resolved.search_query) <= MAX_QUERY_CHARS
    assert len(resolved.previous_query) <= MAX_QUERY_CHARS
    assert resolved.search_query.startswith("And the next one?")


# -- N2, N13, N15: Host, Origin, closed routes ----------------------------------------------


async def _app(scope, receive, send):
    body = b""
    more = True
    while more and scope["type"] == "http":  # read the body, as Gradio does
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(app, method: str, headers: dict[str, str], path: str = "/config", chunks=(b"",)):
    sent: list[dict] = []
    queue = list(chunks)

    async def receive():
        if not queue:
            return {"type": "http.disconnect"}
        chunk = queue.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "scheme": "http",
        "client": ("127.0.0.1", 50000),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body.decode("utf-8", "replace")


LOCAL = "127.0.0.1:7860"


@pytest.mark.parametrize(
    ("bound", "allowed", "method", "headers", "status"),
    [
        ("127.0.0.1", (), "GET", {"host": LOCAL}, 200),
        ("127.0.0.1", (), "GET", {"host": "localhost:7860"}, 200),
        ("127.0.0.1", (), "GET", {"host": "[::1]:7860"}, 200),
        ("127.0.0.1", (), "GET", {"host": "127.0.0.2:7860"}, 200),  # all of 127.0.0.0/8
        ("127.0.0.1", (), "GET", {"host": "127.attacker.example"}, 403),  # N2
        ("127.0.0.1", (), "GET", {"host": "127.0.0.1.nip.io:7860"}, 403),  # N2
        ("127.0.0.1", (), "GET", {"host": "localhost.attacker.example"}, 403),
        ("127.0.0.1", (), "GET", {"host": ""}, 403),
        ("0.0.0.0", ("qa.example.org",), "GET", {"host": "127.attacker.example"}, 403),  # N2
        ("0.0.0.0", ("qa.example.org",), "GET", {"host": "qa.example.org"}, 200),
        ("0.0.0.0", (), "GET", {"host": "10.0.0.5:7860"}, 200),
        # N13: the Origin must be the app's own: scheme, host and port.
        ("127.0.0.1", (), "GET", {"host": LOCAL, "origin": "http://localhost:9999"}, 403),
        ("127.0.0.1", (), "POST", {"host": LOCAL, "origin": "http://127.0.0.1:9999"}, 403),
        ("127.0.0.1", (), "POST", {"host": LOCAL, "origin": "https://127.0.0.1:7860"}, 403),
        ("127.0.0.1", (), "POST", {"host": LOCAL, "origin": "http://evil.example"}, 403),
        ("127.0.0.1", (), "POST", {"host": LOCAL, "origin": "null"}, 403),
        ("127.0.0.1", (), "POST", {"host": LOCAL, "origin": "http://127.0.0.1:7860"}, 200),
        ("127.0.0.1", (), "POST", {"host": "localhost", "origin": "http://localhost:80"}, 200),
        ("127.0.0.1", (), "POST", {"host": LOCAL}, 200),  # gradio_client, curl: no Origin
    ],
)
def test_the_request_guard_checks_host_and_origin(bound, allowed, method, headers, status):
    guard = RequestGuard(_app, bound_to=bound, allowed_hosts=allowed)
    assert _call(guard, method, headers)[0] == status


def test_the_direct_predict_route_is_refused_without_a_traceback():  # N15
    guard = RequestGuard(_app, bound_to="127.0.0.1")
    status, text = _call(guard, "POST", {"host": LOCAL}, path="/gradio_api/run/predict")
    assert status == 404 and "queue" in text


# -- N6: the body limit counts streamed bytes -----------------------------------------------


def test_a_chunked_body_over_the_limit_is_refused_as_it_streams():
    from qa_bot.ui.guard import BodyLimit

    limit = BodyLimit(_app, max_bytes=100_000, upload_max_bytes=10_000)
    chunks = [b"x" * 65_536] * 4  # no Content-Length: chunked
    status, _ = _call(limit, "POST", {"host": LOCAL}, "/gradio_api/queue/join", chunks)
    assert status == 413
    assert _call(limit, "POST", {"host": LOCAL}, "/gradio_api/queue/join", chunks[:1])[0] == 200
    # The upload route has its own, smaller limit.
    assert _call(limit, "POST", {"host": LOCAL}, "/gradio_api/upload", chunks[:1])[0] == 413


def test_a_declared_length_over_the_limit_is_refused_unread_and_says_why():
    from qa_bot.ui.guard import BodyLimit

    limit = BodyLimit(_app, max_bytes=100_000, upload_max_bytes=10_000)
    headers = {"host": LOCAL, "content-length": "32000000"}
    status, text = _call(limit, "POST", headers, "/gradio_api/queue/join")
    assert status == 413 and "32,000,000 bytes" in text and "new conversation" in text


# -- N5: every upload route: one file, the loader's types, a rate -----------------------------


def _multipart(*names: str, content: bytes = b"Title\n\nA sentence.") -> tuple[dict, bytes]:
    body = b""
    for name in names:
        body += (
            (
                f'--b\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                "Content-Type: text/plain\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    headers = {"host": LOCAL, "content-type": "multipart/form-data; boundary=b"}
    return headers, body + b"--b--\r\n"


def _gate(per_minute: int = 3):
    from qa_bot.ingest.corpus import SUPPORTED_SUFFIXES
    from qa_bot.ui.guard import UploadGate

    return UploadGate(_app, suffixes=SUPPORTED_SUFFIXES, per_minute=per_minute)


def test_the_upload_route_takes_one_article_file_at_a_time():
    gate = _gate()
    headers, body = _multipart("report.txt")
    assert _call(gate, "POST", headers, "/gradio_api/upload", [body])[0] == 200
    headers, body = _multipart("tool.exe")
    status, text = _call(gate, "POST", headers, "/gradio_api/upload", [body])
    assert status == 415 and "not a supported article type" in text
    headers, body = _multipart(*[f"n{i}.txt" for i in range(50)])
    assert _call(gate, "POST", headers, "/gradio_api/upload", [body])[0] == 400
    # Files sent to any other route (Gradio's component server, recordings) are refused.
    headers, body = _multipart("report.txt")
    assert _call(gate, "POST", headers, "/gradio_api/component_server", [body])[0] == 404


def test_the_allowed_types_are_the_loaders():
    from qa_bot.ingest.corpus import SUPPORTED_SUFFIXES

    gate = _gate(per_minute=100)
    for suffix in SUPPORTED_SUFFIXES:
        headers, body = _multipart(f"article{suffix}")
        assert _call(gate, "POST", headers, "/gradio_api/upload", [body])[0] == 200, suffix


def test_direct_uploads_are_rate_limited_and_refusals_cost_no_slot():
    gate = _gate(per_minute=3)
    bad_headers, bad = _multipart("tool.exe")
    for _ in range(5):  # refused for their type: they use no slot
        assert _call(gate, "POST", bad_headers, "/gradio_api/upload", [bad])[0] == 415
    headers, body = _multipart("report.txt")
    codes = [_call(gate, "POST", headers, "/gradio_api/upload", [body])[0] for _ in range(100)]
    assert codes.count(200) == 3 and codes.count(429) == 97


# -- N7: a question of many clauses costs at most three part reads --------------------------


def test_a_68_clause_question_is_read_in_at_most_three_parts():
    from qa_bot.answering.answerers.reading import question_parts

    clauses = ", ".join(f"who chaired meeting number {n}" for n in range(68))
    assert len(question_parts(f"Who chaired the summit, {clauses}?")) == 3
    assert len(question_parts("Who won, and by how much?")) == 2


def test_a_68_clause_question_costs_at_most_three_reads(engine):
    """The whole question is read over the retrieved sentences; each of at most three parts
    over the dozen the whole question ranked highest: no more pairs than three whole reads."""
    from qa_bot.answering.answerers.reading import ReadingAnswerer, ReadingParams
    from tests.fakes import ScriptedReader

    reader = ScriptedReader(lambda question, candidate: 0.0)  # nothing certain: all read
    params = ReadingParams()
    engine.install_answerer("extractive", ReadingAnswerer(reader=reader, params=params))
    question = "Who chaired the summit" + ", who spoke" * 67 + "?"  # valid: under 256 tokens
    engine.answer(question)
    assert reader.pairs_scored <= 3 * params.candidates


# -- N8, N10: a CPU budget in sentences, per session and for everyone -------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_is_per_session_and_global():
    from qa_bot.errors import BusyError
    from qa_bot.ui.budget import UploadBudget

    clock = Clock()
    budget = UploadBudget(per_minute=600, session_per_minute=300, largest_upload=300, clock=clock)
    budget.charge("a", 300)
    with pytest.raises(BusyError, match="per user"):
        budget.charge("a", 10)  # a's own budget is spent
    budget.charge("b", 300)  # b still has its own
    with pytest.raises(BusyError, match="for everyone") as refused:
        budget.charge("c", 10)  # everyone's is spent
    assert 0 < refused.value.retry_after <= 60
    clock.now += 60  # a minute later, a minute's worth has drained
    budget.charge("c", 300)


def test_a_refused_upload_costs_no_budget(settings, tmp_path):
    small = settings.replace(
        upload_sentences_per_minute=4, session_upload_sentences_per_minute=4,
        max_article_sentences=4,
    )  # fmt: skip
    session = ChatSession(Engine(small), small)
    for n in range(8):  # junk: refused before any work, so it spends nothing
        junk = tmp_path / f"junk{n}.bin"
        junk.write_bytes(b"\x00\x01")
        assert "qa-error" in session.upload(str(junk), viewer="a")
        empty = tmp_path / f"empty{n}.txt"
        empty.write_text("")
        assert "qa-error" in session.upload(str(empty), viewer="a")
    good = tmp_path / "good.txt"
    good.write_text("Good\n\nThe mayor opened the library. It has ten rooms.")
    assert "Added" in session.upload(str(good), viewer="a")


def test_the_default_budget_fits_the_largest_upload(settings):
    from qa_bot.ui.budget import UploadBudget

    # Any article the limits allow can be indexed once the buckets are empty.
    budget = UploadBudget(
        per_minute=settings.upload_sentences_per_minute,
        session_per_minute=settings.session_upload_sentences_per_minute,
        largest_upload=settings.max_article_sentences,
    )
    budget.charge("a", settings.max_article_sentences)


# -- N11: feedback: one rating per answer, a capped log ---------------------------------------


def test_parallel_likes_of_one_answer_write_one_line(engine, settings):
    session = ChatSession(engine, settings)
    turns = [Turn("Where?", answer=engine.answer("Where was the summit held?"))]
    start = threading.Barrier(8)

    def like():
        start.wait()
        session.feedback(list(turns), 1, True)  # each event has its own copy of the state

    workers = [threading.Thread(target=like) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(settings.feedback_file.read_text(encoding="utf-8").splitlines()) == 1


def test_the_feedback_log_is_capped_and_rotated_once(engine, settings):
    small = settings.replace(feedback_max_bytes=3_000)
    session = ChatSession(engine, small)
    answer = engine.answer("Where was the summit held?")
    for _ in range(40):
        session.feedback([Turn("Where?", answer=answer)], 1, True)
    log, rotated = settings.feedback_file, settings.feedback_file.with_name("feedback.jsonl.1")
    assert log.stat().st_size <= 3_000 and rotated.stat().st_size <= 3_000
    assert sorted(p.name for p in log.parent.glob("feedback*")) == [log.name, rotated.name]
    for line in log.read_text(encoding="utf-8").splitlines():
        assert json.loads(line)["liked"] is True


# -- N14: a long chat never breaks on its own history ---------------------------------------


def test_the_ui_sends_only_the_last_messages_that_fit(engine, settings):
    from qa_bot.ui.session import engine_history

    answer = engine.answer("Where was the summit held?")
    turns = [Turn(f"Question {n}?", answer=answer) for n in range(30)]
    history = engine_history(turns, max_messages=40, max_chars=20_000)
    assert len(history) == 40 and history[-2]["content"] == "Question 29?"
    session = ChatSession(engine, settings)
    *_, last = session.submit("And where will the next one be held?", turns, None, None)
    messages, kept, _, _, status = last
    assert status == "" and len(kept) == 31 and kept[-1].answer is not None


# -- U6: polish ---------------------------------------------------------------------------------


def test_the_remove_list_shows_titles(engine, settings):
    engine.add_article("varna.txt", b"Lantern festival opens in Varna\n\nThe mayor lit a lantern.")
    choices = ChatSession(engine, settings).removable()
    assert choices == [("Lantern festival opens in Varna (upload-varna)", "upload-varna")]


def test_bm25s_prints_no_debug_lines(engine, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    engine.answer("Where was the summit held?")
    assert not [r for r in caplog.records if r.name == "bm25s"]


@pytest.mark.slow
def test_the_default_upload_budget_is_under_half_a_core(tmp_path, real_embedder):
    """N8: measured, not assumed: the CPU an upload of news sentences costs to index
    (chunking, MiniLM, Chroma, the table), times the default sentences a minute."""
    from qa_bot.config import Settings
    from qa_bot.ingest.chunking import chunk_document
    from qa_bot.ingest.corpus import load_document

    from .conftest import ARTICLE

    settings = Settings.load(embedder="minilm", data_dir=str(tmp_path / "data"))
    engine = Engine(settings, embedder=real_embedder)
    engine.loaded()
    sentences = [c.text for c in chunk_document(load_document(ARTICLE), max_tokens=160)][2:]
    body = " ".join(f"{sentences[i % len(sentences)]} ({i})" for i in range(150))
    started = time.process_time()  # every thread of this process: ONNX Runtime's too
    report = engine.add_article("long-read.txt", f"A long read\n\n{body}".encode()).report
    engine.loaded()
    cpu_per_sentence = (time.process_time() - started) / report.chunks_embedded
    cpu_per_minute = cpu_per_sentence * settings.upload_sentences_per_minute
    print(f"{cpu_per_sentence * 1000:.1f} ms CPU per sentence: {cpu_per_minute:.1f} s a minute")
    assert report.chunks_embedded >= 145
    assert cpu_per_minute <= 30  # half of one core


def test_an_abstention_is_not_labelled_as_quoted(engine):
    from qa_bot.ui.render import sources_html

    answer = engine.answer("What did China say about the summit?")
    assert answer.abstained
    assert "quoted from the article" not in sources_html(answer, engine.article_text)


def test_the_article_box_shows_the_headline_once_and_no_stray_tags(engine):
    from qa_bot.ui.render import sources_html

    answer = engine.answer("Where was the summit held?")
    html = sources_html(answer, engine.article_text)
    box = html[html.index("<div class='qa-article'>") : html.index("</div>")]
    headline = "CSTO summit in Bishkek focuses on modernisation and collective security"
    assert html.count(headline) == 1 and headline not in box  # the title above the box
    assert not box.rstrip().endswith("Tags") and "Bishkek" in box


def test_a_summary_does_not_score_its_sentences(engine):
    from qa_bot.ui.render import sources_html

    answer = engine.answer("Summarise the article")
    assert answer.sources and not answer.abstained
    html = sources_html(answer, engine.article_text)
    assert "100% likely" not in html and "part of the summary" in html
