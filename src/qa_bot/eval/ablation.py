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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from qa_bot.errors import QaBotError
from qa_bot.eval.gold import EvalSummary, load_gold, run_eval
from qa_bot.eval.report import METRICS, case_row, fmt
from qa_bot.eval.runner import (
    RETRIEVAL_CHOICES,
    EvalConfig,
    EvalSession,
    ProgressFactory,
    article_sources,
    run_config,
)

DEFAULT_ANSWERERS = ("extractive", "llamacpp:smollm2")
# Retrieval modes in table order, simplest first; the list itself lives in the runner.
MODES = tuple(reversed(RETRIEVAL_CHOICES))
COLUMNS = tuple(m for m in METRICS if m.column)


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
    """Every (answerer, mode) row, then the baseline; skipped rows carry a note.

    A gold file that names its articles (`<name>.sources.json`) is run article by article,
    each on its own index, row by row.
    """
    sources = article_sources(config.gold)
    if sources is not None:
        return _run_per_article(config, sources, answerers, modes, baseline, make_progress)
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


def _run_per_article(
    config: EvalConfig,
    sources: dict,
    answerers: Sequence[str],
    modes: Sequence[str],
    baseline: bool,
    make_progress: ProgressFactory | None,
) -> list[AblationRow]:
    rows = []
    for llm in answerers:
        for mode in modes:
            row_config = replace(config, llm=llm, retrieval=mode)
            row = AblationRow(row_config.label, llm, mode)
            try:
                row.summary = run_config(row_config, make_progress=make_progress)
            except (QaBotError, ImportError) as exc:
                row.label, row.retrieval = f"{llm} / every mode", "-"
                row.note = f"skipped: {exc}"
                rows.append(row)
                break
            rows.append(row)
    if baseline:
        from qa_bot.eval.baseline import BASELINE_LABEL, LlamaIndexBaseline
        from qa_bot.ingest.corpus import load_document

        row = AblationRow(BASELINE_LABEL, "top chunk", "llama-index")
        cases = load_gold(config.gold, split=config.split)
        summary = EvalSummary()
        try:
            for doc_id in sorted({c.doc_id for c in cases}):
                document = load_document(sources[doc_id])
                document = replace(document, doc_id=doc_id)
                answer_fn = LlamaIndexBaseline([document])
                try:
                    group = [c for c in cases if c.doc_id == doc_id]
                    part = run_eval(answer_fn, group, None, texts={doc_id: document.text})
                    summary.results += part.results
                finally:
                    answer_fn.close()
            row.summary = summary
            row.note = "recall@5 is recall@2 here: the default retriever returns 2 chunks"
        except (QaBotError, ImportError) as exc:
            row.note = f"skipped: {exc}"
        rows.append(row)
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
    head = "| configuration | " + " | ".join(m.column for m in COLUMNS) + " |"
    lines = [head, "|---|" + "---:|" * len(COLUMNS)]
    notes = []
    for row in rows:
        if row.summary is None:
            lines.append(f"| {row.label} | " + " | ".join("-" for _ in COLUMNS) + " |")
        else:
            numbers = row.summary.summary()
            lines.append(
                f"| {row.label} | "
                + " | ".join(fmt(numbers.get(m.key), m.kind) for m in COLUMNS)
                + " |"
            )
        if row.note:
            notes.append(f"- {row.label}: {row.note}")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"
