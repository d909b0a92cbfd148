"""The public API: answer(), Answer, errors, from any working directory."""

import pytest

import qa_bot
from qa_bot.engine import Engine
from qa_bot.errors import QuestionError

from .conftest import ARTICLE

ARTICLE_TEXT = ARTICLE.read_text(encoding="utf-8")


def test_answer_cites_exact_sentences(engine):
    result = engine.answer("Who chaired the CSTO summit in Bishkek?")
    assert not result.abstained
    assert "Japarov" in result.text and "[1]" in result.text
    for source in result.sources:
        assert ARTICLE_TEXT[source.start : source.end] == source.text
        assert source.doc_id == "csto-summit-bishkek" and source.title


def test_every_marker_points_at_a_source(engine):
    import re

    result = engine.answer("What did the summit adopt?")
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", result.text)}
    assert markers and markers <= set(range(1, len(result.sources) + 1))


def test_a_name_the_article_never_mentions_means_abstain(engine):
    result = engine.answer("What did China say about the summit?")
    assert result.abstained and result.text.startswith("The article doesn't say")
    assert result.sources == ()


def test_passages_are_reported_for_the_ui(engine):
    result = engine.answer("Who attended the summit?", top_k=3)
    assert 0 < len(result.passages) <= 3


@pytest.mark.parametrize("bad", ["", "  ", None, 3.5, "word " * 400])
def test_bad_questions_raise_value_errors(engine, bad):
    with pytest.raises(QuestionError) as info:
        engine.answer(bad)
    assert isinstance(info.value, ValueError)


def test_followup_uses_history(engine):
    history = [
        {"role": "user", "content": "Who chaired the CSTO summit in Bishkek?"},
        {"role": "assistant", "content": "Sadyr Japarov. [1]"},
    ]
    result = engine.answer("And who will preside over the next one?", history=history)
    assert "Russia" in result.text


def test_module_level_answer_from_another_directory(tmp_path, monkeypatch, settings):
    monkeypatch.chdir(tmp_path)
    result = qa_bot.answer("Who chaired the CSTO summit in Bishkek?", settings=settings)
    assert "Japarov" in result.text


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, qa_bot; heavy = [m for m in ('torch', 'chromadb', 'gradio', 'llama_index') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_engine_accepts_collaborators(settings):
    from qa_bot.answering.answerers.extractive import ExtractiveAnswerer

    engine = Engine(settings, answerer=ExtractiveAnswerer())
    assert engine.answer("When is the next summit?").backend == "extractive"
