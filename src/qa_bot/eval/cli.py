"""`qa-bot eval`: settle the run options, run, write the outputs, apply the gate.

Kept out of `cli.py` so that module stays a thin dispatcher. Progress goes to
stderr; the summary table, the output paths and the gate verdict to stdout.
Exit status: 0, or 1 when the gate fails (errors follow `cli.main`'s rules).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from qa_bot.config import PACKAGE_DIR, Settings
from qa_bot.errors import ConfigError
from qa_bot.eval.report import (
    markdown_report,
    progress_bar,
    summary_table,
    tag_table,
    write_plots,
    write_results,
)
from qa_bot.eval.runner import EvalConfig, corpus_for_gold, default_gold, run_config, safe_name
from qa_bot.eval.thresholds import gate_failures, load_thresholds, run_settings


def settle_config(args, settings: Settings) -> tuple[EvalConfig, dict | None]:
    """The run's configuration: explicit options > the gate's run settings > defaults."""
    chosen = {"gold": args.gold, "split": args.split, "llm": args.llm, "retrieval": args.retrieval}
    thresholds = None
    if args.gate:
        if args.ablation:
            raise ConfigError("--gate applies to one configuration; drop --ablation or --gate.")
        thresholds = load_thresholds(args.gate)
        chosen = run_settings(thresholds, chosen)
    gold = Path(chosen["gold"]) if chosen["gold"] else default_gold()
    config = EvalConfig(
        gold=str(gold),
        corpus=str(args.corpus or corpus_for_gold(gold)),
        split=chosen["split"] or "test",
        llm=chosen["llm"] or settings.llm,
        retrieval=chosen["retrieval"] or "full",
        embedder=settings.embedder,
        top_k=settings.top_k,
    )
    wanted = (thresholds or {}).get("run", {}).get("embedder")
    if wanted and wanted != config.embedder:
        raise ConfigError(
            f"The gate '{args.gate}' was measured with the {wanted!r} embedder, but "
            f"QA_BOT_EMBEDDER selects {config.embedder!r}. Unset QA_BOT_EMBEDDER for the gate."
        )
    return config, thresholds


def output_folder(args, name: str) -> Path:
    """--out, else `eval/out/` of the source checkout, else `<data_dir>/eval-out/`.

    Never the current folder: `qa-bot eval` run from elsewhere must not litter it.
    """
    run = f"{time.strftime('%Y%m%d-%H%M%S')}-{safe_name(name)}"
    checkout = PACKAGE_DIR.parent.parent / "eval"
    if args.out:
        folder = Path(args.out)
    elif (checkout / "gold").is_dir():
        folder = checkout / "out" / run
    else:
        folder = Settings.load().data_path / "eval-out" / run
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_eval_command(args) -> int:
    config, thresholds = settle_config(args, Settings.load())
    if args.ablation:
        return _ablation(args, config)
    print(
        f"Evaluating {config.label} on the {config.split} split of '{config.gold}' "
        f"(a temporary index of '{config.corpus}')...",
        file=sys.stderr,
    )
    summary = run_config(config, make_progress=progress_bar)
    numbers = summary.summary()
    failures = gate_failures(numbers, thresholds) if thresholds is not None else None
    folder = output_folder(args, f"{config.split}-{config.llm}-{config.retrieval}")
    gate = (
        None
        if failures is None
        else {"thresholds": str(args.gate), "failures": failures, "passed": not failures}
    )
    write_results(folder / "results.json", config.to_dict(), summary, gate=gate)
    plots = write_plots(folder, summary, config.label)
    (folder / "report.md").write_text(
        markdown_report(config.to_dict(), summary, plots=plots, gate=failures), encoding="utf-8"
    )
    print(summary_table(numbers))
    print()
    print(tag_table(summary.tag_summaries()))
    print(
        f"\nWrote {folder / 'results.json'}, {folder / 'report.md'}"
        + "".join(f", {folder / p}" for p in plots)
    )
    if failures is None:
        return 0
    if failures:
        print(f"\nEVAL GATE FAILED ({args.gate}):", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print(f"\nEval gate passed ({args.gate}).")
    return 0


def _ablation(args, config: EvalConfig) -> int:
    from qa_bot.eval.ablation import ablation_table, run_ablation
    from qa_bot.eval.report import plot_bars

    answerers = [a.strip() for a in args.answerers.split(",") if a.strip()]
    print(
        f"Ablation on the {config.split} split of '{config.gold}': retrieval modes x "
        f"{', '.join(answerers)}, plus the llama-index baseline...",
        file=sys.stderr,
    )
    rows = run_ablation(config, answerers=answerers, make_progress=progress_bar)
    table = ablation_table(rows)
    folder = output_folder(args, f"ablation-{config.split}")
    payload = {"config": config.to_dict(), "rows": [row.to_dict() for row in rows]}
    (folder / "results.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    measured = [(row.label, row.summary) for row in rows if row.summary is not None]
    plots = []
    if plot_bars(
        folder / "accuracy_by_config.png",
        [label for label, _ in measured],
        [summary.summary()["accuracy"] for _, summary in measured],
        title=f"Accuracy by configuration ({config.split} split)",
        xlabel="accuracy",
    ):
        plots.append("accuracy_by_config.png")
    report = (
        f"# qa-bot ablation, {config.split} split\n\nGold: `{config.gold}`; corpus: "
        f"`{config.corpus}`; embedder `{config.embedder}`, top_k {config.top_k}.\n\n"
        + table
        + "".join(f"\n![{p}]({p})\n" for p in plots)
    )
    (folder / "report.md").write_text(report, encoding="utf-8")
    print(table)
    print(
        f"Wrote {folder / 'results.json'}, {folder / 'report.md'}"
        + "".join(f", {folder / p}" for p in plots)
    )
    return 0
