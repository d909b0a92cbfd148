"""`qa-bot eval` end to end on the multi-article fixture, with the hashing embedder.

Hermetic: the fake embedder stands in for MiniLM; Chroma and BM25 are real.
"""

from __future__ import annotations

import json
import sys

import pytest

from qa_bot.cli import main
from qa_bot.eval.ablation import ablation_table, run_ablation
from qa_bot.eval.runner import EvalConfig, EvalSession, corpus_for_gold

from .conftest import FIXTURES, MULTI_CORPUS

MULTI_GOLD = FIXTURES / "multi_corpus_gold.jsonl"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def hashing(monkeypatch):
    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")


def _thresholds(tmp_path, minimum: dict) -> str:
    path = tmp_path / "thresholds.json"
    path.write_text(
        json.dumps({"run": {"gold": str(MULTI_GOLD), "split": "dev"}, "min": minimum}),
        encoding="utf-8",
    )
    return str(path)


def test_eval_writes_all_outputs_and_leaves_the_users_index_alone(
    hashing, tmp_path, isolated_data_dir, monkeypatch, capsys
):
    user_index = tmp_path / "user-index"
    monkeypatch.setenv("QA_BOT_INDEX_DIR", str(user_index))
    monkeypatch.setenv("QA_BOT_CORPUS", str(tmp_path / "user-articles"))
    out = tmp_path / "out"
    assert main(["eval", "--gold", str(MULTI_GOLD), "--split", "dev", "--out", str(out)]) == 0

    assert {p.name for p in out.iterdir()} == {
        "results.json",
        "report.md",
        "accuracy_by_tag.png",
        "latency.png",
    }
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["config"]["corpus"] == str(MULTI_CORPUS)
    assert results["config"]["embedder"] == "hashing"
    assert [c["split"] for c in results["cases"]] == ["dev"] * 13
    assert results["summary"]["cases"] == 13 and results["summary"]["errors"] == 0
    assert results["summary"]["offsets_exact"] == 1.0
    assert "unanswerable" in results["by_tag"]
    for name in ("accuracy_by_tag.png", "latency.png"):
        assert (out / name).read_bytes().startswith(PNG)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## By tag" in report and "![latency.png](latency.png)" in report
    assert "accuracy (all cases)" in capsys.readouterr().out
    assert not user_index.exists() and not isolated_data_dir.exists()


def test_gate_exit_status_and_message(hashing, tmp_path, capsys):
    unreachable = _thresholds(tmp_path, {"offsets_exact": 1.0, "accuracy": 1.01})
    assert main(["eval", "--gate", unreachable, "--out", str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err
    assert "EVAL GATE FAILED" in err and "accuracy = " in err and "offsets_exact" not in err
    results = json.loads((tmp_path / "a" / "results.json").read_text(encoding="utf-8"))
    assert results["gate"]["passed"] is False

    easy = _thresholds(tmp_path, {"accuracy": 0.0})
    assert main(["eval", "--gate", easy, "--out", str(tmp_path / "b")]) == 0
    assert "Eval gate passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--split", "test"], "--split test conflicts with the gate"),
        (["--ablation"], "--gate applies to one configuration"),
    ],
)
def test_gate_rejects_conflicting_options(hashing, tmp_path, capsys, extra, message):
    gate = _thresholds(tmp_path, {"accuracy": 0.0})
    assert main(["eval", "--gate", gate, *extra]) == 1
    assert message in capsys.readouterr().err


def test_gold_cases_must_match_the_corpus(hashing, tmp_path, capsys):
    code = main(
        [
            "eval",
            "--gold",
            str(MULTI_GOLD),
            "--corpus",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 1
    assert "Cannot load the eval corpus" in capsys.readouterr().err


def test_corpus_is_derived_from_the_gold_file_name(tmp_path):
    assert corpus_for_gold(MULTI_GOLD) == MULTI_CORPUS
    assert corpus_for_gold(tmp_path / "other.jsonl").name == "corpus"


def test_single_retriever_modes_ask_without_history_and_full_rewrites(tmp_path):
    history = [
        {"role": "user", "content": "Who opened the mountain railway?"},
        {"role": "assistant", "content": "A minister."},
    ]
    with EvalSession(MULTI_CORPUS, embedder="hashing") as session:
        alone = session.answer_fn(retrieval="hybrid")("When did he do it?", history=history)
        full = session.answer_fn(retrieval="full")("When did he do it?", history=history)
    assert alone.search_query == "When did he do it?"
    assert "mountain railway" in full.search_query


def test_ablation_measures_each_mode_and_skips_unavailable_answerers():
    config = EvalConfig(
        gold=str(MULTI_GOLD), corpus=str(MULTI_CORPUS), split="dev", embedder="hashing"
    )
    rows = run_ablation(
        config, answerers=["extractive", "nosuch:model"], modes=("bm25", "full"), baseline=False
    )
    assert [row.label for row in rows] == [
        "extractive / bm25",
        "extractive / full",
        "nosuch:model / every mode",
    ]
    assert rows[0].summary.summary()["cases"] == 13
    assert rows[2].summary is None and "Unknown answerer 'nosuch:model'" in rows[2].note
    table = ablation_table(rows)
    assert table.splitlines()[0].startswith("| configuration | accuracy |")
    assert "| extractive / full | " in table and "- nosuch:model / every mode: skipped" in table


def test_plots_are_skipped_with_a_note_without_matplotlib(tmp_path, monkeypatch, capsys):
    from qa_bot.eval.gold import load_gold, run_eval
    from qa_bot.eval.report import write_plots
    from qa_bot.types import Answer

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    cases = load_gold(MULTI_GOLD, split="dev")[:3]
    summary = run_eval(lambda q, history=None: Answer(text="No.", abstained=True), cases)
    assert write_plots(tmp_path, summary, "x") == []
    assert "pip install 'qa-bot[eval]'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
