"""The real eval: MiniLM, the bundled article and the BBC test articles against their checked-in
gates; and the llama-index baseline."""

from __future__ import annotations

import json

import pytest

from qa_bot.cli import main

from .conftest import FIXTURES, MULTI_CORPUS, ROOT
from .public_data import PUBLIC_DATA, needs_public_data

pytestmark = pytest.mark.slow


def test_real_eval_on_the_bundled_article_passes_the_checked_in_gate(tmp_path):
    out = tmp_path / "out"
    assert main(["eval", "--gate", str(ROOT / "eval" / "thresholds.json"), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["config"]["embedder"] == "minilm" and results["config"]["split"] == "test"
    assert results["gate"]["passed"] is True and results["summary"]["errors"] == 0


@needs_public_data("bbc-news", why="the BBC eval gate (five BBC News articles nobody tuned on)")
def test_real_eval_on_the_bbc_test_articles_passes_its_gate(tmp_path, monkeypatch):
    """Five BBC articles nobody tuned on, each on its own index."""
    monkeypatch.setenv("QA_BOT_EVAL_DATA", str(PUBLIC_DATA / "bbc-news"))
    out = tmp_path / "out"
    gate = ROOT / "eval" / "thresholds-bbc.json"
    assert main(["eval", "--gate", str(gate), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["cases"] == 196 and results["summary"]["errors"] == 0
    assert results["gate"]["passed"] is True


def test_real_eval_across_the_three_fictional_articles(tmp_path):
    from qa_bot.eval.runner import EvalConfig, run_config

    config = EvalConfig(
        gold=str(FIXTURES / "multi_corpus_gold.jsonl"), corpus=str(MULTI_CORPUS), split="all"
    )
    summary = run_config(config).summary()
    assert summary["cases"] == 27 and summary["errors"] == 0
    assert summary["offsets_exact"] == 1.0 and summary["faithfulness"] == 1.0
    assert summary["recall@5"] >= 0.7  # retrieval finds the right article among three


def test_llama_index_baseline_never_touches_global_settings():
    from llama_index.core import Settings

    from qa_bot.eval.baseline import LlamaIndexBaseline
    from qa_bot.ingest.corpus import load_corpus

    documents = load_corpus([MULTI_CORPUS])
    baseline = LlamaIndexBaseline(documents)
    try:
        answer = baseline("Which minister opened the mountain railway?")
    finally:
        baseline.close()
    texts = {d.doc_id: d.text for d in documents}
    assert answer.passages[0].doc_id == "fictional-kestrel-peak-railway"
    assert "Oren Valdis" in answer.text and not answer.abstained
    assert all(texts[p.doc_id][p.start : p.end] == p.text for p in answer.passages)
    # llama-index builds an OpenAI client lazily when these are read unset; we never set them.
    assert Settings._llm is None and Settings._embed_model is None
