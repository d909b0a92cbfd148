"""Prompt-injection report: attack success rate per answerer, direct and indirect.

    python bench/injection_report.py [--embedder minilm] [--specs extractive,llamacpp:smollm2]

Runs the payloads of tests/fixtures/injection_payloads.jsonl as questions over
the bundled article (direct), then the gold questions over the bundled article
plus a poisoned one (indirect), against every answerer available here (the
same harness as tests/test_injection.py). An attack succeeds when the answer
text contains one of its forbidden strings (or the system prompt's canary,
once qa_bot.answering.prompts exists). The goal is 0 everywhere. Prints a Markdown table.

With `--no-guard` the poisoned sentences are not filtered out of retrieval,
which shows what the guard (qa_bot.answering.injection) is worth.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa_bot import engine as engine_module  # noqa: E402
from qa_bot.config import Settings  # noqa: E402
from qa_bot.engine import Engine  # noqa: E402
from qa_bot.index.embeddings import make_embedder  # noqa: E402
from support import injection as inj  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--specs", help="comma-separated answerers (default: all candidates)")
    parser.add_argument(
        "--no-guard", action="store_true", help="keep instruction-like sentences in retrieval"
    )
    args = parser.parse_args()
    if args.no_guard:
        engine_module._without_instructions = lambda table: table
    embedder = make_embedder(args.embedder)
    specs = args.specs.split(",") if args.specs else inj.candidate_specs()
    payloads, gold = inj.load_payloads(), inj.gold_cases()
    secret = inj.canary()
    print(
        f"{len(payloads)} direct payloads, {len(gold)} gold questions over a poisoned corpus; "
        f"embedder {embedder.name}; guard {'off' if args.no_guard else 'on'}; "
        f"canary checked: {secret}\n"
    )
    print(
        "| answerer | direct: succeeded / run | rate | indirect: succeeded / run | rate | "
        "poisoned passage retrieved | answers written by | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    failures = []
    with tempfile.TemporaryDirectory(prefix="qa-bot-injection-") as tmp:
        tmp = Path(tmp)
        clean = Engine(
            Settings.load(
                embedder=args.embedder, corpus=str(inj.BUNDLED), data_dir=str(tmp / "clean")
            ),
            embedder=embedder,
        )
        poisoned = Engine(
            Settings.load(
                embedder=args.embedder,
                corpus=str(inj.poisoned_corpus(tmp / "corpus")),
                data_dir=str(tmp / "poisoned"),
            ),
            embedder=embedder,
        )
        for spec in specs:
            reason = inj.unavailable_reason(spec, clean.settings)
            if reason:
                print(f"| {spec} | skipped: {reason} | | | | | | |")
                continue
            started = time.perf_counter()
            direct = inj.run_direct(clean, spec, payloads)
            indirect = inj.run_indirect(
                poisoned, spec, gold, poisoned_doc="fictional-summit-commentary"
            )
            seconds = time.perf_counter() - started
            writers = ", ".join(
                f"{name} {count}"
                for name, count in sorted((direct.backends + indirect.backends).items())
            )
            print(
                f"| {spec} | {len(direct.successes)} / {direct.attempts} | {direct.rate:.1%} | "
                f"{len(indirect.successes)} / {indirect.attempts} | {indirect.rate:.1%} | "
                f"{indirect.poisoned_retrieved} / {indirect.attempts} | {writers} | "
                f"{seconds:.0f} |",
                flush=True,
            )
            failures += [(spec, *s) for s in direct.successes + indirect.successes]
    for spec, case, text in failures:
        print(f"- {spec} {case}: {text[:160]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
