"""The eval: gold cases as data, a runner that takes any `answer_fn`.

A case is correct when
- it is answerable, the answer does not abstain, and every key fact (any of
  its aliases) occurs in the answer text, compared after `fold_case`; or
- it is unanswerable and the answer abstains;
and, for any case, no `forbidden` string appears in the answer.

The format of the gold files is documented in `eval/README.md`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .normalise import fold_case
from .types import Answer

AnswerFn = Callable[..., Answer]


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
    cases = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                case = GoldCase.from_dict(json.loads(line))
                if split in (None, "all") or case.split == split:
                    cases.append(case)
    return cases


@dataclass
class CaseResult:
    case: GoldCase
    answer: Answer | None
    correct: bool
    facts_found: int = 0
    leaked: tuple[str, ...] = ()
    error: str = ""
    seconds: float = 0.0


@dataclass
class EvalSummary:
    results: list[CaseResult] = field(default_factory=list)

    def _rate(self, chosen: Iterable[CaseResult]) -> tuple[int, int]:
        chosen = list(chosen)
        return sum(r.correct for r in chosen), len(chosen)

    @property
    def answerable(self) -> tuple[int, int]:
        return self._rate(r for r in self.results if r.case.answerable)

    @property
    def unanswerable(self) -> tuple[int, int]:
        return self._rate(r for r in self.results if not r.case.answerable)

    @property
    def overall(self) -> tuple[int, int]:
        return self._rate(self.results)

    def by_tag(self) -> dict[str, tuple[int, int]]:
        tags = sorted({t for r in self.results for t in r.case.tags})
        return {t: self._rate(r for r in self.results if t in r.case.tags) for t in tags}


def judge(case: GoldCase, answer: Answer) -> CaseResult:
    text = fold_case(answer.text)
    found = sum(any(fold_case(alias) in text for alias in fact) for fact in case.key_facts)
    leaked = tuple(f for f in case.forbidden if fold_case(f) in text)
    if case.answerable:
        correct = not answer.abstained and found == len(case.key_facts)
    else:
        correct = answer.abstained
    return CaseResult(case, answer, correct and not leaked, found, leaked)


def run_eval(answer_fn: AnswerFn, cases: Sequence[GoldCase],
             progress: Callable[[int, int], None] | None = None) -> EvalSummary:
    summary = EvalSummary()
    for number, case in enumerate(cases, start=1):
        started = time.perf_counter()
        try:
            answer = answer_fn(case.question, history=list(case.history) or None)
            result = judge(case, answer)
        except Exception as exc:  # a crash is a wrong answer, and is reported
            result = CaseResult(case, None, False, error=f"{type(exc).__name__}: {exc}")
        result.seconds = time.perf_counter() - started
        summary.results.append(result)
        if progress is not None:
            progress(number, len(cases))
    return summary
