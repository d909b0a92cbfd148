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
