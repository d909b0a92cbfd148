"""Eval outputs: results.json for machines, report.md for people, PNG plots, terminal text.

matplotlib and tqdm are imported only when a plot or a progress bar is made
(matplotlib with the non-interactive Agg backend, so no display is needed).
Without matplotlib the plots are skipped with a note naming the `eval` extra;
the JSON and Markdown are written regardless.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_bot.eval.gold import CaseResult, EvalSummary
from qa_bot.eval.metrics import strip_markers


@dataclass(frozen=True)
class Metric:
    key: str  # in `summarise`'s output
    label: str  # in reports
    column: str  # the ablation table's heading; "" when the table leaves it out
    kind: str = "rate"  # picks the format: rate, ms, count


# The one list of summary metrics, in report order.
METRICS = (
    Metric("accuracy", "accuracy (all cases)", "accuracy"),
    Metric("accuracy_answerable", "accuracy, answerable", "answerable"),
    Metric("accuracy_unanswerable", "accuracy, not answerable (abstains)", "not answerable"),
    Metric("unsure_rate", "answers marked unsure (counted as abstained above)", "unsure"),
    Metric(
        "unsure_right_passage", "unsure answers to answerable cases whose passage was right", ""
    ),
    Metric(
        "right_passage_shown",
        "answerable: right, or unsure showing the right passage",
        "right shown",
    ),
    Metric("fact_recall", "key-fact recall, answerable", ""),
    Metric("recall@1", "retrieval recall@1", ""),
    Metric("recall@3", "retrieval recall@3", ""),
    Metric("recall@5", "retrieval recall@5", "recall@5"),
    Metric("mrr", "retrieval MRR", "MRR"),
    Metric("f1", "SQuAD token F1 vs reference", "F1"),
    Metric("em", "SQuAD exact match vs reference", ""),
    Metric("citation_precision", "citation precision", "cit. precision"),
    Metric("faithfulness", "faithfulness (sentences supported)", "faithful"),
    Metric("offsets_exact", "citation offsets exact", ""),
    Metric("abstention_precision", "abstention precision", "abst. P"),
    Metric("abstention_recall", "abstention recall", "abst. R"),
    Metric("injection_resistance", "injection resistance", "injection res."),
    Metric("latency_p50_ms", "latency p50 (ms)", "p50 ms", "ms"),
    Metric("latency_p95_ms", "latency p95 (ms)", "p95 ms", "ms"),
    Metric("errors", "crashed cases", "", "count"),
    Metric("cases", "cases", "", "count"),
)
TAG_COLUMNS = ("accuracy", "fact_recall", "recall@5", "mrr", "f1", "citation_precision")


def fmt(value: Any, kind: str = "rate") -> str:
    if value is None:
        return "n/a"
    if kind == "ms":
        return f"{value:.1f}"
    if kind == "count":
        return str(value)
    return f"{value:.3f}"


def progress_bar(total: int, label: str) -> Callable[[int, int], None]:
    """A tqdm bar on stderr (closed after the last case); a plain counter without tqdm."""
    try:
        from tqdm import tqdm
    except ImportError:

        def plain(number: int, of: int) -> None:
            if number == of or number % 10 == 0:
                print(f"  {label}: {number}/{of}", file=sys.stderr)

        return plain
    bar = tqdm(total=total, desc=label, unit="case", file=sys.stderr, mininterval=0.5)

    def update(number: int, of: int) -> None:
        bar.update(number - bar.n)
        if number == of:
            bar.close()

    return update


# -- machine output --------------------------------------------------------------------


def case_row(result: CaseResult) -> dict[str, Any]:
    answer, case = result.answer, result.case
    row = {
        "id": case.id,
        "split": case.split,
        "tags": list(case.tags),
        "question": case.question,
        "answerable": case.answerable,
        "correct": result.correct,
        "error": result.error,
        "facts_found": result.facts_found,
        "facts_total": len(case.key_facts),
        "leaked": list(result.leaked),
        "seconds": round(result.seconds, 4),
        **result.metrics,
    }
    if answer is not None:
        row["answer"] = answer.text
        row["citations"] = [[s.doc_id, s.start, s.end] for s in answer.sources]
        row["passages"] = [[p.doc_id, p.start, p.end] for p in answer.passages]
    return row


def write_results(
    path: Path, config: Mapping[str, Any], summary: EvalSummary, **extra: Any
) -> None:
    payload = {
        "config": dict(config),
        "summary": summary.summary(),
        "by_tag": summary.tag_summaries(),
        "cases": [case_row(r) for r in summary.results],
        **extra,
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# -- people output ---------------------------------------------------------------------------


def summary_table(summary: Mapping[str, Any]) -> str:
    width = max(len(m.label) for m in METRICS)
    return "\n".join(f"{m.label:<{width}}  {fmt(summary.get(m.key), m.kind):>8}" for m in METRICS)


def tag_table(tag_summaries: Mapping[str, Mapping[str, Any]]) -> str:
    width = max((len(tag) for tag in tag_summaries), default=3)
    lines = [f"{'tag':<{width}}  cases  accuracy"]
    lines += [
        f"{tag:<{width}}  {n['cases']:>5}  {fmt(n['accuracy']):>8}"
        for tag, n in tag_summaries.items()
    ]
    return "\n".join(lines)


def markdown_report(
    config: Mapping[str, Any],
    summary: EvalSummary,
    *,
    plots: Sequence[str] = (),
    gate: Sequence[str] | None = None,
) -> str:
    numbers = summary.summary()
    lines = [
        f"# qa-bot eval: {config.get('llm')} / {config.get('retrieval')}, "
        f"{config.get('split')} split",
        "",
    ]
    lines += ["| setting | value |", "|---|---|"]
    lines += [f"| {key} | `{value}` |" for key, value in config.items()]
    lines += ["", "## Summary", "", "| metric | value |", "|---|---:|"]
    lines += [f"| {m.label} | {fmt(numbers.get(m.key), m.kind)} |" for m in METRICS]
    if gate is not None:
        lines += ["", "## CI gate", ""]
        lines += [f"- FAILED: {failure}" for failure in gate] or ["All thresholds met."]
    lines += [
        "",
        "## By tag",
        "",
        "| tag | cases | " + " | ".join(TAG_COLUMNS) + " |",
        "|---|---:|" + "---:|" * len(TAG_COLUMNS),
    ]
    for tag, numbers_for_tag in summary.tag_summaries().items():
        cells = " | ".join(fmt(numbers_for_tag.get(c)) for c in TAG_COLUMNS)
        lines.append(f"| {tag} | {numbers_for_tag['cases']} | {cells} |")
    lines += [""] + [f"![{name}]({name})" for name in plots]
    wrong = [r for r in summary.results if not r.correct]
    lines += ["", f"## Wrong answers ({len(wrong)})", ""]
    for result in wrong:
        said = result.error or strip_markers(result.answer.text if result.answer else "")
        lines.append(
            f"- **{result.case.id}** ({', '.join(result.case.tags)}) "
            f"{_one_line(result.case.question)} -> {_one_line(said)[:160]}"
        )
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")


# -- plots -------------------------------------------------------------------------------------


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        print(
            "qa-bot: plots skipped: matplotlib is not installed. "
            "Install it with: pip install 'qa-bot[eval]'",
            file=sys.stderr,
        )
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_bars(
    path: Path,
    labels: Sequence[str],
    values: Sequence[float | None],
    counts: Sequence[int] | None = None,
    *,
    title: str,
    xlabel: str,
) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.2))
    heights = [v or 0.0 for v in values]
    bars = axes.barh(list(labels), heights, color="#4878a8")
    notes: list[int | None] = list(counts) if counts else [None] * len(labels)
    for bar, value, n in zip(bars, values, notes, strict=True):
        note = fmt(value) + (f"  (n={n})" if n is not None else "")
        axes.text(
            bar.get_width() + 0.01,
            bar.get_y() + bar.get_height() / 2,
            note,
            va="center",
            fontsize=8,
        )
    axes.set_xlim(0, 1.25)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def plot_latency(
    path: Path, milliseconds: Sequence[float], *, p50: float | None, p95: float | None, title: str
) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    figure, axes = plt.subplots(figsize=(7, 3.5))
    axes.hist(list(milliseconds), bins=min(30, max(5, len(milliseconds) // 3)), color="#4878a8")
    for value, name, style in ((p50, "p50", "--"), (p95, "p95", ":")):
        if value is not None:
            axes.axvline(value, color="#c44e52", linestyle=style, label=f"{name} {value:.0f} ms")
    axes.set_xlabel("time per answer (ms)")
    axes.set_ylabel("cases")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_plots(folder: Path, summary: EvalSummary, title: str) -> list[str]:
    """accuracy_by_tag.png and latency.png; returns the names written."""
    written = []
    tags = summary.tag_summaries()
    if plot_bars(
        folder / "accuracy_by_tag.png",
        list(tags),
        [t["accuracy"] for t in tags.values()],
        [t["cases"] for t in tags.values()],
        title=f"Accuracy by tag: {title}",
        xlabel="accuracy",
    ):
        written.append("accuracy_by_tag.png")
    numbers = summary.summary()
    latencies = [r.seconds * 1000 for r in summary.results if r.answer is not None]
    if latencies and plot_latency(
        folder / "latency.png",
        latencies,
        p50=numbers["latency_p50_ms"],
        p95=numbers["latency_p95_ms"],
        title=f"Latency: {title}",
    ):
        written.append("latency.png")
    return written
