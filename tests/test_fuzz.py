"""Fuzzing the question path: every input gets an `Answer` or a `QuestionError`.

Hermetic (hashing embedder, bundled article in a temp index). 2,200
generated questions go through `Engine.answer`, the module-level `answer()`,
the web chat handler and the `qa-bot ask` command in-process; none may raise
anything else, and the command never prints a traceback. Oversized questions are rejected before the
embedder or the store is touched, in well under 100 ms. The HTTP API is
fuzzed against the served app in test_fuzz_api.py (slow).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from qa_bot import answer
from qa_bot.cli import main
from qa_bot.config import Settings
from qa_bot.engine import Engine
from qa_bot.errors import QuestionError, QuestionTooLongError
from qa_bot.types import Answer
from tests.conftest import ROOT
from tests.fakes import HashingEmbedder
from tests.hostile_text import fuzz_settings, history, huge, questions


@pytest.fixture(scope="module")
def fuzz_engine(tmp_path_factory):
    settings = Settings.load(
        embedder="hashing", data_dir=str(tmp_path_factory.mktemp("fuzz") / "data")
    )
    engine = Engine(settings)
    engine.loaded()
    return engine


def check_answer(result: Answer, engine: Engine) -> None:
    """An answer is text, and every passage it shows slices its article exactly."""
    assert isinstance(result, Answer)
    assert isinstance(result.text, str) and result.text.strip()
    table = engine.loaded().table
    for source in (*result.sources, *result.passages):
        assert table.articles[source.doc_id].text[source.start : source.end] == source.text


def outcome(fn, *args, **kwargs) -> Answer | QuestionError:
    try:
        result = fn(*args, **kwargs)
    except QuestionError as exc:  # the documented input error; anything else fails the test
        assert str(exc) and "Traceback" not in str(exc)
        result = exc
    event(f"outcome: {type(result).__name__}")  # tallied by --hypothesis-show-statistics
    return result


@fuzz_settings(800)
@given(question=questions())
def test_engine_answer_returns_an_answer_or_a_question_error(fuzz_engine, question):
    result = outcome(fuzz_engine.answer, question)
    if isinstance(result, Answer):
        check_answer(result, fuzz_engine)


@fuzz_settings(300)
@given(question=questions(), turns=history())
def test_follow_ups_with_hostile_history(fuzz_engine, question, turns):
    result = outcome(fuzz_engine.answer, question, turns)
    if isinstance(result, Answer):
        check_answer(result, fuzz_engine)


@fuzz_settings(200)
@given(question=questions())
def test_module_level_answer_with_settings(fuzz_engine, question):
    result = outcome(answer, question, settings=fuzz_engine.settings)
    if isinstance(result, Answer):
        check_answer(result, fuzz_engine)


@fuzz_settings(500)
@given(question=questions(), as_json=st.booleans())
def test_cli_ask_exits_0_or_2_without_a_traceback(monkeypatch, question, as_json):
    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["ask", question, *(["--json"] if as_json else [])])
    assert code in (0, 2), err.getvalue()
    event(f"exit code {code}")
    assert "Traceback" not in err.getvalue() + out.getvalue()
    if code == 0:
        assert out.getvalue().strip()
        if as_json and not question.startswith("-"):
            assert json.loads(out.getvalue())["text"]
    else:
        # our message, or argparse's usage line for a question that looks like an option
        assert err.getvalue().startswith(("qa-bot: ", "usage: qa-bot")), err.getvalue()


@fuzz_settings(200)
@given(question=questions())
def test_web_ui_chat_shows_an_answer_or_the_input_error(fuzz_engine, question):
    """The chat handler (what the browser calls): never the generic failure message."""
    from qa_bot.ui.session import UNEXPECTED, ChatSession

    session = ChatSession(fuzz_engine, fuzz_engine.settings)
    *_, (messages, turns, sources, box, status) = session.submit(question, [], None, None)
    assert UNEXPECTED not in status and "Traceback" not in status + sources
    if turns:  # answered: the question became a turn with an answer
        assert turns[-1].answer is not None and messages[-1]["content"]
        event("outcome: answered")
    else:  # refused as input: the message is shown and the question kept in the box
        assert status and box == question
        event("outcome: input error shown")


# --- oversized input ---------------------------------------------------------------


class SpyEmbedder(HashingEmbedder):
    """A real embedder that records every call, to prove nothing reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def _embed(self, texts):
        self.calls.append("embed")
        return super()._embed(texts)

    def _embed_words(self, texts):
        self.calls.append("embed_words")
        return super()._embed_words(texts)


def _rejected_quickly(settings: Settings, question: str) -> float:
    spy = SpyEmbedder()
    engine = Engine(settings, embedder=spy)
    started = time.perf_counter()
    with pytest.raises(QuestionTooLongError, match="the limit is 256"):
        engine.answer(question)
    elapsed = time.perf_counter() - started
    assert spy.calls == []  # no model work
    assert not settings.index_path.exists()  # the store was not even opened
    return elapsed


@pytest.mark.parametrize("size", [257 * 16, 100_000, 10_000_000])
def test_oversized_question_is_rejected_before_any_model_work(settings, size):
    assert _rejected_quickly(settings, "Where was the summit held? " * (size // 27 + 1)) < 0.1


def test_question_over_the_token_limit_but_short_in_characters(settings):
    # 300 distinct words: passes the cheap character guard, so it is tokenised.
    from qa_bot.tokens import count_tokens

    count_tokens("warm up the tokenizer")
    question = " ".join(f"w{n}" for n in range(300))
    assert len(question) < 256 * 16
    assert _rejected_quickly(settings, question) < 0.1


@fuzz_settings(200)
@given(question=huge().filter(lambda q: len(q) > 256 * 16))
def test_any_huge_question_is_rejected_fast(settings, question):
    assert _rejected_quickly(settings, question) < 0.1


def test_answer_rejects_oversized_input_without_loading_torch_or_chroma(tmp_path):
    """In a fresh interpreter with the real MiniLM settings: no heavy import at all.

    The first call also imports the package's pure-Python modules and numpy
    (about 0.2 s, once per process); the limit applies from the second call.
    """
    code = (
        "import sys, time\n"
        "from qa_bot import answer\n"
        "from qa_bot.config import Settings\n"
        "from qa_bot.errors import QuestionTooLongError\n"
        "s = Settings.load(embedder='minilm')\n"
        "for _ in range(2):\n"
        "    t = time.perf_counter()\n"
        "    try:\n"
        "        answer('x' * 1_000_000, settings=s)\n"
        "    except QuestionTooLongError:\n"
        "        print(time.perf_counter() - t)\n"
        "print(*(m for m in ('torch', 'chromadb', 'sentence_transformers') if m in sys.modules))\n"
    )
    env = {**os.environ, "QA_BOT_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    cold, warm, heavy = done.stdout.split("\n")[:3]
    assert heavy == "", f"imported {heavy} to reject a question"
    assert float(cold) < 1.0 and float(warm) < 0.1
    assert not (tmp_path / "data").exists()
