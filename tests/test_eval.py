"""The eval runner, its summary and the CI gate, driven by fake answer functions.

The fakes are generic: an oracle that answers every gold case from its own
evidence, one that answers wrongly, one that always abstains. None of them
knows anything about particular questions.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from qa_bot.errors import ConfigError
from qa_bot.eval.gold import GoldCase, check_gold, judge, load_gold, run_eval, summarise
from qa_bot.eval.thresholds import gate_failures, load_thresholds, run_settings
from qa_bot.ingest.corpus import load_corpus
from qa_bot.types import Answer, Source

from .conftest import CORPUS, FIXTURES, MULTI_CORPUS, ROOT

GOLD = ROOT / "eval" / "gold" / "csto.jsonl"
MULTI_GOLD = FIXTURES / "multi_corpus_gold.jsonl"
THRESHOLDS = ROOT / "eval" / "thresholds.json"
TEXTS = {d.doc_id: d.text for d in load_corpus([CORPUS])}
ABSTAIN = "The article doesn't say."


def _source(text: str, doc_id: str) -> Source:
    start = TEXTS[doc_id].index(text)
    return Source(
        text=text, score=1.0, doc_id=doc_id, title=doc_id, start=start, end=start + len(text)
    )


def oracle(cases: list[GoldCase]):
    """Answers from each case's own evidence, and abstains when there is none."""
    by_question = {(c.question, bool(c.history)): c for c in cases}

    def answer_fn(question, history=None):
        case = by_question[(question, bool(history))]
        if not case.answerable:
            return Answer(text=ABSTAIN, abstained=True)
        sources = tuple(_source(e, case.doc_id) for e in case.evidence)
        text = " ".join(f"{s.text} [{n}]" for n, s in enumerate(sources, start=1))
        return Answer(text=text, sources=sources, passages=sources)

    return answer_fn


def wrong(question, history=None):
    return Answer(
        text="The weather was sunny in Paris [1].",
        sources=(Source("Paris is sunny.", 0.1, "elsewhere", "elsewhere", 0, 15),),
        passages=(Source("Paris is sunny.", 0.1, "elsewhere", "elsewhere", 0, 15),),
    )


def always_abstain(question, history=None):
    return Answer(text=ABSTAIN, abstained=True)


# -- the gold data ------------------------------------------------------------------------


def test_gold_set_has_the_required_size_tags_and_splits():
    cases = load_gold(GOLD)
    tags = Counter(t for c in cases for t in c.tags)
    assert len(cases) >= 80
    assert {
        "factoid",
        "list",
        "yes/no",
        "number/date",
        "paraphrase",
        "typo",
        "follow-up",
        "summary",
        "unanswerable",
        "injection",
    } <= set(tags)
    assert tags["unanswerable"] >= 15 and tags["injection"] >= 8
    assert {c.split for c in cases} == {"dev", "test"}
    assert len({c.id for c in cases}) == len(cases)
    assert all(c.forbidden for c in cases if "injection" in c.tags)
    assert all(bool(c.history) == ("follow-up" in c.tags) for c in cases)


@pytest.mark.parametrize(("gold", "corpus"), [(GOLD, CORPUS), (MULTI_GOLD, MULTI_CORPUS)])
def test_every_evidence_item_is_an_exact_substring_of_its_article(gold, corpus):
    texts = {d.doc_id: d.text for d in load_corpus([corpus])}
    assert check_gold(load_gold(gold), texts) == []


def test_multi_article_fixture_spans_three_articles():
    cases = load_gold(MULTI_GOLD)
    assert 18 <= len(cases) <= 30
    assert len({c.doc_id for c in cases}) == 3


def test_check_gold_names_unknown_articles_and_inexact_evidence():
    case = load_gold(GOLD)[0]
    assert check_gold([case], {}) == [f"{case.id}: article {case.doc_id!r} is not in the corpus"]
    problems = check_gold([case], {case.doc_id: "unrelated text"})
    assert len(problems) == 1 and "is not in" in problems[0]


def test_load_gold_filters_splits_and_rejects_bad_input(tmp_path):
    assert {c.split for c in load_gold(GOLD, split="test")} == {"test"}
    assert len(load_gold(GOLD, split="all")) == len(load_gold(GOLD))
    with pytest.raises(ConfigError, match="Unknown split 'train'"):
        load_gold(GOLD, split="train")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1"):
        load_gold(broken)
    with pytest.raises(ConfigError, match="Cannot read the gold file"):
        load_gold(tmp_path / "missing.jsonl")


# -- judging and summarising ----------------------------------------------------------------


def test_judge_requires_every_key_fact_and_no_forbidden_string():
    case = next(c for c in load_gold(GOLD) if "injection" in c.tags and c.answerable)
    fact = case.key_facts[0][0]
    assert judge(case, Answer(text=f"It is {fact}.")).correct is (len(case.key_facts) == 1)
    leaked = judge(case, Answer(text=" ".join(f[0] for f in case.key_facts) + case.forbidden[0]))
    assert not leaked.correct and case.forbidden[0] in leaked.leaked


def test_oracle_scores_perfectly_where_its_evidence_allows():
    cases = load_gold(GOLD, split="test")
    summary = run_eval(oracle(cases), cases, texts=TEXTS).summary()
    assert summary["accuracy_unanswerable"] == 1.0
    assert summary["accuracy_answerable"] >= 0.95  # a few facts live only in the reference
    # recall@1 stays below 1: one passage cannot hold a multi-sentence case's evidence.
    for metric in (
        "recall@5",
        "mrr",
        "citation_precision",
        "faithfulness",
        "offsets_exact",
        "abstention_precision",
        "abstention_recall",
        "injection_resistance",
    ):
        assert summary[metric] == 1.0, metric
    assert summary["errors"] == 0


def test_summary_of_a_known_mix():
    cases = [c for c in load_gold(GOLD, split="test")]
    answerable = next(c for c in cases if c.answerable and len(c.key_facts) == 1)
    unanswerable = next(c for c in cases if not c.answerable)
    first = oracle(cases)

    def answer_fn(question, history=None):  # right on the answerable, wrong on the other
        return first(question, history) if question == answerable.question else wrong(question)

    results = run_eval(answer_fn, [answerable, unanswerable], texts=TEXTS).results
    summary = summarise(results)
    assert summary["accuracy"] == 0.5
    assert summary["accuracy_answerable"] == 1.0 and summary["accuracy_unanswerable"] == 0.0
    assert summary["abstention_recall"] == 0.0 and summary["abstention_precision"] is None
    # The wrong answer's one sentence is unsupported by its citation; the oracle's are.
    supported = len(answerable.evidence)
    assert summary["faithfulness"] == supported / (supported + 1)


def test_a_crash_is_a_wrong_answer_with_its_error_recorded():
    cases = load_gold(GOLD, split="test")[:3]

    def broken(question, history=None):
        raise RuntimeError("backend down")

    summary = run_eval(broken, cases)
    assert summary.summary()["errors"] == 3
    assert all(not r.correct and r.error == "RuntimeError: backend down" for r in summary.results)


def test_progress_is_reported_per_case():
    cases = load_gold(GOLD, split="test")[:4]
    seen = []
    run_eval(always_abstain, cases, lambda n, total: seen.append((n, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


# -- the gate ----------------------------------------------------------------------------------


def test_checked_in_thresholds_are_for_the_test_split_with_the_default_answerer():
    thresholds = load_thresholds(THRESHOLDS)
    assert thresholds["run"]["split"] == "test" and thresholds["run"]["llm"] == "extractive"
    assert Path(thresholds["run"]["gold"]) == GOLD.resolve()
    for metric, minimum in thresholds["min"].items():
        assert minimum <= thresholds["measured"][metric], metric  # set from measured values


@pytest.mark.parametrize("answer_fn", [wrong, always_abstain], ids=["wrong", "abstains"])
def test_gate_fails_when_the_answerer_is_broken(answer_fn):
    thresholds = load_thresholds(THRESHOLDS)
    cases = load_gold(thresholds["run"]["gold"], split="test")
    failures = gate_failures(run_eval(answer_fn, cases, texts=TEXTS).summary(), thresholds)
    failed = {line.split()[0] for line in failures}
    assert {"accuracy_answerable", "recall@5", "mrr"} <= failed
    if answer_fn is wrong:
        assert {"accuracy_unanswerable", "faithfulness", "abstention_recall"} <= failed


def test_gate_passes_a_good_answerer():
    thresholds = load_thresholds(THRESHOLDS)
    cases = load_gold(thresholds["run"]["gold"], split="test")
    assert gate_failures(run_eval(oracle(cases), cases, texts=TEXTS).summary(), thresholds) == []


def test_gate_rules():
    summary = {"accuracy": 0.5, "latency_p95_ms": 900.0, "offsets_exact": None}
    assert gate_failures(summary, {"min": {"accuracy": 0.5}, "max": {"latency_p95_ms": 900}}) == []
    assert gate_failures(summary, {"min": {"accuracy": 0.51}}) == [
        "accuracy = 0.5000 is below the minimum 0.51"
    ]
    assert gate_failures(summary, {"max": {"latency_p95_ms": 500}}) == [
        "latency_p95_ms = 900.0000 is above the maximum 500"
    ]
    assert "not measured" in gate_failures(summary, {"min": {"offsets_exact": 1.0}})[0]
    with pytest.raises(ConfigError, match="Unknown metric 'acuracy'"):
        gate_failures(summary, {"min": {"acuracy": 0.5}})


def test_run_settings_come_from_the_gate_unless_they_conflict(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps({"run": {"split": "test", "gold": "g.jsonl"}, "min": {"accuracy": 0.1}}),
        encoding="utf-8",
    )
    thresholds = load_thresholds(path)
    settled = run_settings(thresholds, {"split": None, "gold": None, "llm": "x"})
    assert settled == {"split": "test", "gold": str((tmp_path / "g.jsonl").resolve()), "llm": "x"}
    with pytest.raises(ConfigError, match="--split dev conflicts"):
        run_settings(thresholds, {"split": "dev", "gold": None})


@pytest.mark.parametrize("content", ["not json", "[]", '{"min": []}', '{"run": {}}'])
def test_bad_thresholds_files_are_rejected(tmp_path, content):
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="thresholds file"):
        load_thresholds(path)


def test_crashes_score_zero_rather_than_dropping_out_of_the_averages():
    cases = [c for c in load_gold(GOLD, split="test") if c.answerable][:2]
    first = oracle(cases)

    def flaky(question, history=None):
        if question == cases[1].question:
            raise RuntimeError("boom")
        return first(question, history)

    summary = run_eval(flaky, cases, texts=TEXTS).summary()
    assert summary["mrr"] == 0.5 and summary["recall@5"] == 0.5 and summary["fact_recall"] == 0.5
    assert summary["abstention_recall"] is None and summary["abstention_precision"] is None
