"""One registration adds an answerer backend everywhere: the factory, the CLI and the UI."""

from __future__ import annotations

import pytest

from qa_bot.answering import answerers
from qa_bot.answering.answerers import (
    Answerer,
    AnswererBackend,
    make_answerer,
    offered_answerers,
    register,
    unregister,
)
from qa_bot.errors import UnknownBackendError
from qa_bot.types import Answer


class EchoAnswerer(Answerer):
    name = "echo"

    def answer(self, question, candidates, table):
        return Answer(text=f"You asked: {question.question}", abstained=True, backend=self.name)


@pytest.fixture
def echo_backend():
    register(
        AnswererBackend(
            "echo",
            "echo:<greeting>",
            lambda spec, settings, embedder: EchoAnswerer(),
            takes_argument=True,
            offered=lambda: ["echo:hello"],
        )
    )
    yield
    unregister("echo")


def test_a_registered_backend_reaches_the_factory_the_cli_and_the_ui(echo_backend, settings):
    from qa_bot.cli import build_parser
    from qa_bot.ui.session import backend_choices

    assert isinstance(make_answerer("echo:hello", settings), EchoAnswerer)
    assert "echo:hello" in backend_choices(settings)  # the UI dropdown
    ask = build_parser()._subparsers._group_actions[0].choices["ask"]  # the CLI's help
    assert "echo:<greeting>" in ask.format_help()


def test_a_registered_backend_answers_through_the_engine(echo_backend, engine):
    answer = engine.answer("Where was the summit held?", llm="echo:hello")
    assert answer.text == "You asked: Where was the summit held?"


def test_an_unknown_spec_lists_the_registered_ones(settings):
    with pytest.raises(UnknownBackendError) as caught:
        make_answerer("nonsense", settings)
    for pattern in ("extractive", "llamacpp:<path.gguf>", "openai:<model>"):
        assert pattern in str(caught.value)


def test_the_default_stream_yields_the_one_answer(engine):
    events = list(engine.answer_stream("Where was the summit held?"))
    assert [e.kind for e in events] == ["answer"]


def test_installed_answerers_are_used_for_their_spec(engine):
    engine.install_answerer("echo-installed", EchoAnswerer())
    assert engine.answer("Who?", llm="echo-installed").text == "You asked: Who?"


def test_offered_answerers_put_the_configured_one_first(monkeypatch):
    monkeypatch.setattr(answerers, "_importable", lambda *modules: False)
    assert offered_answerers("openai:m") == ["openai:m", "extractive"]
