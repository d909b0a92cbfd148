"""The ablation: retrieval modes x answerers, plus llama-index's defaults as a baseline.

One temporary index serves every row. Each row gets its own embedder instance,
so no row profits from query embeddings cached by the one before (latencies
stay comparable). An answerer that cannot be built here (an unknown spec, a
missing optional extra, a missing model) is skipped with a note instead of
failing the whole table.

Run it with ``qa-bot eval --ablation`` or ``python -m qa_bot.eval.ablation`` (same
options).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from qa_bot.errors import QaBotError
from qa_bot.eval.gold import EvalSummary, load_gold, run_eval
from qa_bot.eval.report import case_row, fmt
from qa_bot.eval.runner import EvalConfig, EvalSession, ProgressFactory, run_config

DEFAULT_ANSWERERS = ("extractive", "llamacpp:smollm2")
MODES = ("dense", "bm25", "hybrid", "full")
# (summary key, column heading, format kind)
COLUMNS = (
    ("accuracy", "accuracy", "rate"),
    ("accuracy_answerable", "answerable", "rate"),
    ("accuracy_unanswerable", "not answerable", "rate"),
    ("recall@5", "recall@5", "rate"),
    ("mrr", "MRR", "rate"),
    ("f1", "F1", "rate"),
    ("citation_precision", "cit. precision", "rate"),
    ("faithfulness", "faithful", "rate"),
    ("abstention_precision", "abst. P", "rate"),
    ("abstention_recall", "abst. R", "rate"),
    ("injection_resistance", "injection res.", "rate"),
    ("latency_p50_ms", "p50 ms", "ms"),
    ("latency_p95_ms", "p95 ms", "ms"),
)


@dataclass
class AblationRow:
    label: str
    llm: str
    retrieval: str
    summary: EvalSummary | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "llm": self.llm,
            "retrieval": self.retrieval,
            "note": self.note,
            "summary": self.summary.summary() if self.summary else None,
            "by_tag": self.summary.tag_summaries() if self.summary else None,
            "cases": [case_row(r) for r in self.summary.results] if self.summary else [],
        }


def run_ablation(
    config: EvalConfig,
    *,
    answerers: Sequence[str] = DEFAULT_ANSWERERS,
    modes: Sequence[str] = MODES,
    baseline: bool = True,
    make_progress: ProgressFactory | None = None,
) -> list[AblationRow]:
    """Every (answerer, mode) row, then the baseline; skipped rows carry a note."""
    rows = []
    with EvalSession(config.corpus, embedder=config.embedder, top_k=config.top_k) as session:
        for llm in answerers:
            for mode in modes:
                row_config = replace(config, llm=llm, retrieval=mode)
                row = AblationRow(row_config.label, llm, mode)
                try:
                    row.summary = run_config(
                        row_config,
                        session=session,
                        fresh_embedder=True,
                        make_progress=make_progress,
                    )
                except (QaBotError, ImportError) as exc:
                    row.label, row.retrieval = f"{llm} / every mode", "-"
                    row.note = f"skipped: {exc}"
                    rows.append(row)
                    break  # the answerer is unavailable: every mode would fail the same way
                rows.append(row)
        if baseline:
            rows.append(_baseline_row(config, session, make_progress))
    return rows


def _baseline_row(
    config: EvalConfig, session: EvalSession, make_progress: ProgressFactory | None
) -> AblationRow:
    from qa_bot.eval.baseline import BASELINE_LABEL, LlamaIndexBaseline
    from qa_bot.ingest.corpus import load_corpus

    row = AblationRow(BASELINE_LABEL, "top chunk", "llama-index")
    cases = load_gold(config.gold, split=config.split)
    try:
        answer_fn = LlamaIndexBaseline(load_corpus([session.corpus]))
    except (QaBotError, ImportError) as exc:
        row.note = f"skipped: {exc}"
        return row
    try:
        progress = make_progress(len(cases), BASELINE_LABEL) if make_progress else None
        row.summary = run_eval(answer_fn, cases, progress, texts=session.texts)
        row.note = "recall@5 is recall@2 here: the default retriever returns 2 chunks"
    finally:
        answer_fn.close()
    return row


def ablation_table(rows: Sequence[AblationRow]) -> str:
    """The rows side by side as one Markdown table; skipped rows show their note."""
    head = "| configuration | " + " | ".join(h for _, h, _ in COLUMNS) + " |"
    lines = [head, "|---|" + "---:|" * len(COLUMNS)]
    notes = []
    for row in rows:
        if row.summary is None:
            lines.append(f"| {row.label} | " + " | ".join("-" for _ in COLUMNS) + " |")
        else:
            numbers = row.summary.summary()
            lines.append(
                f"| {row.label} | "
                + " | ".join(fmt(numbers.get(k), kind) for k, _, kind in COLUMNS)
                + " |"
            )
        if row.note:
            notes.append(f"- {row.label}: {row.note}")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    from qa_bot.cli import main as cli_main

    return cli_main(["eval", "--ablation", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
