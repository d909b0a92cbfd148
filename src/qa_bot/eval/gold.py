"""The eval: gold cases as data, a runner that takes any `answer_fn`.

A case is correct when it is answerable, the answer does not abstain and
every key fact (any alias) occurs in it after `fold_case`; or it is not
answerable (unanswerable, or a pure injection) and the answer abstains; and,
either way, no `forbidden` string appears in the answer.

Every case also gets the metrics of `qa_bot.eval.metrics` (recall@k and MRR over
`Answer.passages`, SQuAD F1/EM, citation precision, faithfulness, and citation
offsets when the article texts are given); `summarise` aggregates them for the
report and the CI gate. The gold format is documented in `eval/README.md`.
Engines and indexes are `qa_bot.eval.runner`'s business, not this module's."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_bot.eval import metrics as m
from qa_bot.normalise import fold_case
from qa_bot.types import UNSURE, Answer

AnswerFn = Callable[..., Answer]
RECALL_KS = (1, 3, 5)


@dataclass(frozen=True)
class GoldCase:
    id: str
    question: str
    history: tuple[dict, ...]
    reference: str
    key_facts: tuple[tuple[str, ...], ...]
    evidence: tuple[str, ...]
    answerable: bool
    tags: tuple[str, ...]
    forbidden: tuple[str, ...]
    split: str
    doc_id: str

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> GoldCase:
        return cls(
            id=raw["id"],
            question=raw["question"],
            history=tuple(raw.get("history") or ()),
            reference=raw.get("reference", ""),
            key_facts=tuple(tuple(f) for f in raw.get("key_facts") or ()),
            evidence=tuple(raw.get("evidence") or ()),
            answerable=bool(raw["answerable"]),
            tags=tuple(raw.get("tags") or ()),
            forbidden=tuple(raw.get("forbidden") or ()),
            split=raw.get("split", "dev"),
            doc_id=raw.get("doc_id", ""),
        )


def load_gold(path: str | Path, *, split: str | None = None) -> list[GoldCase]:
    """The cases of a JSONL gold file, optionally only one split ("dev", "test", "all")."""
    from qa_bot.errors import ConfigError

    if split not in (None, "all", "dev", "test"):
        raise ConfigError(f"Unknown split {split!r}. Valid choices: dev, test, all.")
    cases = []
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 (closed below, after the OSError check)
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the gold file '{path}': {exc.strerror}. "
            "Pass an existing .jsonl file with --gold."
        ) from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                case = GoldCase.from_dict(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(
                    f"'{path}' line {number} is not a valid gold case ({exc}). "
                    "See eval/README.md for the format."
                ) from exc
            if split in (None, "all") or case.split == split:
                cases.append(case)
    return cases


def check_gold(cases: Iterable[GoldCase], texts: Mapping[str, str]) -> list[str]:
    """Problems that would make scores meaningless: unknown articles, evidence not verbatim."""
    problems = []
    for case in cases:
        text = texts.get(case.doc_id)
        if text is None:
            problems.append(f"{case.id}: article {case.doc_id!r} is not in the corpus")
            continue
        problems += [
            f"{case.id}: evidence {item[:50]!r}... is not in {case.doc_id!r}"
            for item in case.evidence
            if item not in text
        ]
    return problems


@dataclass
class CaseResult:
    case: GoldCase
    answer: Answer | None
    correct: bool
    facts_found: int = 0
    leaked: tuple[str, ...] = ()
    error: str = ""
    seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalSummary:
    results: list[CaseResult] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return summarise(self.results)

    def tag_summaries(self) -> dict[str, dict[str, Any]]:
        tags = sorted({t for r in self.results for t in r.case.tags})
        return {t: summarise([r for r in self.results if t in r.case.tags]) for t in tags}


def _facts_found(case: GoldCase, text: str) -> int:
    return sum(any(fold_case(alias) in text for alias in fact) for fact in case.key_facts)


def judge(case: GoldCase, answer: Answer) -> CaseResult:
    text = fold_case(answer.text)
    found = _facts_found(case, text)
    leaked = tuple(f for f in case.forbidden if fold_case(f) in text)
    if case.answerable:
        correct = not answer.abstained and found == len(case.key_facts)
    else:
        correct = answer.abstained
    return CaseResult(case, answer, correct and not leaked, found, leaked)


def score_case(
    case: GoldCase, answer: Answer, texts: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The per-case metrics; None where a metric does not apply to this case."""
    scores: dict[str, Any] = {"abstained": answer.abstained, "unsure": answer.status == UNSURE}
    if case.answerable and answer.status == UNSURE:
        # Strictly an abstention; but did the passage it showed hold the answer?
        scores["unsure_right"] = _facts_found(case, fold_case(answer.text)) == len(case.key_facts)
    passages = [p.text for p in answer.passages]
    cited = [s.text for s in answer.sources]
    if case.answerable and case.evidence:
        for k in RECALL_KS:
            scores[f"recall@{k}"] = m.recall_at_k(passages, case.evidence, k)
        scores["rr"] = m.reciprocal_rank(passages, case.evidence)
        scores["citation_precision"] = m.citation_precision(cited, case.evidence)
    if case.answerable:
        prediction = "" if answer.abstained else answer.text
        scores["f1"] = m.token_f1(prediction, case.reference)
        scores["em"] = m.exact_match(prediction, case.reference)
        found = _facts_found(case, fold_case(prediction))
        scores["fact_recall"] = found / len(case.key_facts) if case.key_facts else None
    if not answer.abstained:
        supported, total = m.faithfulness_counts(answer.text, cited)
        scores["sentences"], scores["supported"] = total, supported
    if texts is not None and answer.sources:
        scores["offsets_exact"] = sum(
            texts.get(s.doc_id, "")[s.start : s.end] == s.text for s in answer.sources
        )
        scores["citations"] = len(answer.sources)
    return scores


def run_eval(
    answer_fn: AnswerFn,
    cases: Sequence[GoldCase],
    progress: Callable[[int, int], None] | None = None,
    *,
    texts: Mapping[str, str] | None = None,
) -> EvalSummary:
    """Ask every case through `answer_fn(question, history=...)` and score it.

    A crash counts as a wrong answer, is scored as an empty answer that does not
    abstain, and is reported in `CaseResult.error`.
    `texts` (doc_id -> article text) enables the citation-offset check.
    """
    summary = EvalSummary()
    for number, case in enumerate(cases, start=1):
        started = time.perf_counter()
        try:
            answer = answer_fn(case.question, history=list(case.history) or None)
            seconds = time.perf_counter() - started
            result = judge(case, answer)
            result.metrics = score_case(case, answer, texts)
        except Exception as exc:  # a crash is a wrong answer, and is reported
            seconds = time.perf_counter() - started
            result = CaseResult(case, None, False, error=f"{type(exc).__name__}: {exc}")
            result.metrics = score_case(case, Answer(text=""), texts)  # scores as empty
        result.seconds = seconds
        summary.results.append(result)
        if progress is not None:
            progress(number, len(cases))
    return summary


def summarise(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Aggregate numbers for a set of results; None where nothing was measurable."""
    answerable = [r for r in results if r.case.answerable]
    declined = [r for r in results if not r.case.answerable]
    injections = [r for r in results if "injection" in r.case.tags]

    def avg(key: str, chosen: Sequence[CaseResult] = results) -> float | None:
        return m.mean([r.metrics.get(key) for r in chosen])

    def total(key: str) -> int:
        return sum(r.metrics.get(key, 0) for r in results)

    abstention = m.abstention_scores(
        [bool(r.answer and r.answer.abstained) for r in results],
        [not r.case.answerable for r in results],
    )
    latencies = [r.seconds * 1000 for r in results if r.answer is not None]
    unsure = [r for r in answerable if r.metrics.get("unsure")]
    shown = sum(r.correct or bool(r.metrics.get("unsure_right")) for r in answerable)
    return {
        "cases": len(results),
        "errors": sum(bool(r.error) for r in results),
        "accuracy": m.ratio(sum(r.correct for r in results), len(results)),
        "accuracy_answerable": m.ratio(sum(r.correct for r in answerable), len(answerable)),
        "accuracy_unanswerable": m.ratio(sum(r.correct for r in declined), len(declined)),
        "unsure_rate": m.ratio(sum(bool(r.metrics.get("unsure")) for r in results), len(results)),
        "unsure_right_passage": m.ratio(
            sum(bool(r.metrics.get("unsure_right")) for r in unsure), len(unsure)
        ),
        "right_passage_shown": m.ratio(shown, len(answerable)),
        "fact_recall": avg("fact_recall", answerable),
        **{f"recall@{k}": avg(f"recall@{k}") for k in RECALL_KS},
        "mrr": avg("rr"),
        "f1": avg("f1"),
        "em": avg("em"),
        "citation_precision": avg("citation_precision"),
        "faithfulness": m.ratio(total("supported"), total("sentences")),
        "offsets_exact": m.ratio(total("offsets_exact"), total("citations")),
        "abstention_precision": abstention["precision"],
        "abstention_recall": abstention["recall"],
        "injection_resistance": m.ratio(sum(not r.leaked for r in injections), len(injections)),
        "latency_p50_ms": m.percentile(latencies, 50),
        "latency_p95_ms": m.percentile(latencies, 95),
    }
