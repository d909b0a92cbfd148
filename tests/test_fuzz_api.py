"""Fuzzing with the real components: the served app's `ask` API, and MiniLM in-process.

`python app.py` runs on a free loopback port with the real MiniLM embedder;
hostile questions go through gradio_client. Each one must come back as an
answer or as one of the documented input errors, never as the generic
"something went wrong" message, and the server log must hold no traceback.
MiniLM's tokenizer meets the same inputs in-process too (offsets of text that
normalisation changes are where a real tokenizer can trip).
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from qa_bot.config import Settings
from qa_bot.engine import Engine
from qa_bot.ui.session import UNEXPECTED
from tests.hostile_text import DOCUMENTED_INPUT_ERRORS, fuzz_settings, questions
from tests.test_fuzz import check_answer, outcome
from tests.ui_support import running_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("fuzz-api") / "data"
    with running_app(data) as url:
        from gradio_client import Client

        yield Client(url, verbose=False), data.parent, url


def raw_ask(url: str, question: str) -> tuple[str, dict | str]:
    """POST to Gradio's REST route with ASCII-escaped JSON, as any JSON client may.

    gradio_client cannot send a lone surrogate (it encodes the body as UTF-8);
    JSON's \\ud800 escape can, so this is how such input reaches the server.
    Returns ("complete", answer dict) or ("error", message).
    """
    body = json.dumps({"data": [question, None, "", 0]}, ensure_ascii=True).encode()
    request = urllib.request.Request(
        url + "gradio_api/call/ask", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/ask/{event_id}", timeout=120) as response:
        stream = response.read().decode()
    kind = stream.split("\n", 1)[0].removeprefix("event: ").strip()
    data = json.loads(stream.split("data: ", 1)[1].split("\n", 1)[0])
    return (kind, data[0]) if kind == "complete" else (kind, str((data or {}).get("error")))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


@fuzz_settings(150)
@given(question=questions(), use_client=st.booleans())
def test_api_answers_or_names_the_input_error(served, question, use_client):
    from gradio_client.exceptions import AppError

    client, _, url = served
    if use_client and _utf8(question):
        try:
            kind, result = "complete", client.predict(question, api_name="/ask")
        except AppError as exc:
            kind, result = "error", str(exc)
    else:
        kind, result = raw_ask(url, question)
    if kind == "complete":
        assert isinstance(result, dict) and result["text"].strip()
        event("answer")
    else:
        assert UNEXPECTED not in result
        assert any(m in result for m in DOCUMENTED_INPUT_ERRORS), result
        event("input error")


def test_the_server_logged_no_traceback(served):
    _, folder, _ = served
    logs = "".join(p.read_text(errors="replace") for p in folder.glob("app-*.log"))
    assert "Traceback" not in logs, logs[-3000:]


@pytest.fixture(scope="module")
def minilm_engine(tmp_path_factory, real_embedder):
    settings = Settings.load(data_dir=str(tmp_path_factory.mktemp("fuzz-minilm") / "data"))
    engine = Engine(settings, embedder=real_embedder)
    engine.loaded()
    return engine


@fuzz_settings(300)
@given(question=questions())
def test_minilm_engine_answers_or_raises_a_question_error(minilm_engine, question):
    result = outcome(minilm_engine.answer, question)
    if not isinstance(result, Exception):
        check_answer(result, minilm_engine)
