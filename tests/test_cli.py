import pytest

from qa_bot.cli import main


def test_ask_prints_answer_and_sources(capsys, monkeypatch):
    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    assert main(["ask", "Who chaired the CSTO summit in Bishkek?"]) == 0
    out = capsys.readouterr().out
    assert "Japarov" in out and "Sources:" in out and "[1]" in out


def test_empty_question_exits_nonzero_with_message(capsys, monkeypatch):
    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    assert main(["ask", "   "]) == 2
    err = capsys.readouterr().err
    assert "question is empty" in err and "Traceback" not in err


def test_index_reports_and_is_idempotent(capsys, monkeypatch, corpus_copy):
    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    assert main(["index", str(corpus_copy)]) == 0
    assert "1 added" in capsys.readouterr().out
    assert main(["index", str(corpus_copy)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_bad_corpus_path_is_a_clear_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    assert main(["index", str(tmp_path / "missing")]) == 1
    assert "No such file or folder" in capsys.readouterr().err


def test_unknown_backend_lists_valid_ones(capsys, monkeypatch):
    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    assert main(["ask", "--llm", "nonsense", "Where?"]) == 1
    assert "Valid choices: extractive" in capsys.readouterr().err


def test_json_output(capsys, monkeypatch):
    import json

    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    assert main(["ask", "--json", "When is the next summit?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"text", "sources", "abstained"}


@pytest.mark.parametrize(
    ("logit", "label"), [(4.0, "[answer] "), (0.0, "[unsure] "), (-6.0, "[not found] ")]
)
def test_ask_marks_each_answer_state(capsys, monkeypatch, logit, label):
    """The reading answerer over a scripted reader: sure, plausible, and nothing likely."""
    from qa_bot import cli
    from qa_bot.answering.answerers.reading import ReadingAnswerer, ReadingParams
    from qa_bot.answering.calibration import Calibrator
    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from tests.fakes import ScriptedReader

    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    params = ReadingParams(
        calibrator=Calibrator({"top_logit": 1.0}, 0.0), answer_at=0.7, unsure_at=0.3
    )
    reader = ScriptedReader(lambda q, c: logit if "took place in Bishkek" in c else -8.0)
    answerer = ReadingAnswerer(reader=reader, params=params)
    monkeypatch.setattr(cli, "_engine", lambda **kw: Engine(Settings.load(**kw), answerer=answerer))
    assert main(["ask", "Where was the summit held?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(label)
    assert ("took place in Bishkek" in out) == (label != "[not found] ")
