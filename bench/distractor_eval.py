"""The distractor run: the gold questions with all 2,208 BBC articles and the bundled one indexed.

    python bench/distractor_eval.py                   # test splits, the three answerers + baseline
    python bench/distractor_eval.py --split dev --answerers extractive

A user's own article is rarely alone in the index. This run asks the CSTO and BBC test
questions of the eval with every BBC News article of ../shared/data/bbc-news (2,208, in five
topics) and the bundled Reuters article indexed together, and prints each figure beside the
single-article one of the same run (CSTO: the bundled article alone; BBC: each article on its
own index, as in `qa-bot eval`). Articles that are not valid UTF-8 are skipped and counted
(the data set has one Latin-1 file). llama-index's default pipeline (`qa_bot.eval.baseline`)
gets the same two settings as a last row.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa_bot.config import bundled_corpus_dir  # noqa: E402
from qa_bot.eval.baseline import LlamaIndexBaseline  # noqa: E402
from qa_bot.eval.gold import EvalSummary, load_gold, run_eval  # noqa: E402
from qa_bot.eval.runner import EvalConfig, EvalSession, article_sources, run_config  # noqa: E402
from qa_bot.ingest.corpus import load_corpus, load_document  # noqa: E402

GOLD = ROOT / "eval" / "gold"
BASELINE = "llama-index default"
BBC = ROOT.parent / "shared" / "data" / "bbc-news"


def build_corpus(folder: Path) -> tuple[int, list[str]]:
    """Every BBC article as bbc-<topic>-<nnn>.txt, plus the bundled article; (count, skipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    skipped, count = [], 0
    for path in sorted(BBC.glob("*/*.txt")):
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            skipped.append(str(path.relative_to(BBC)))
            continue
        (folder / f"bbc-{path.parent.name}-{path.stem}.txt").write_bytes(raw)
        count += 1
    for path in bundled_corpus_dir().iterdir():
        shutil.copy(path, folder / path.name)
    return count + 1, skipped


def single_baseline(gold: Path, cases) -> EvalSummary:
    """llama-index's default over each article alone (the bundled one for CSTO)."""
    sources = article_sources(gold) or {}
    summary = EvalSummary()
    for doc_id in sorted({c.doc_id for c in cases}):
        path = sources.get(doc_id) or bundled_corpus_dir() / f"{doc_id}.txt"
        document = replace(load_document(path), doc_id=doc_id)
        baseline = LlamaIndexBaseline([document])
        group = [c for c in cases if c.doc_id == doc_id]
        summary.results += run_eval(baseline, group, texts={doc_id: document.text}).results
        baseline.close()
    return summary


def rates(summary: EvalSummary) -> tuple[float, float, float]:
    numbers = summary.summary()
    return (
        numbers["accuracy_answerable"],
        numbers["accuracy_unanswerable"],
        numbers["latency_p50_ms"],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test", choices=("dev", "test"))
    parser.add_argument("--answerers", default="extractive,extractive-features,nearest-sentence")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "distractor")
    args = parser.parse_args()
    answerers = args.answerers.split(",")
    load = os.getloadavg()[0]
    corpus = args.work / "corpus"
    if not corpus.is_dir():
        count, skipped = build_corpus(corpus)
        print(f"corpus: {count} articles ({len(skipped)} skipped, not UTF-8: {skipped})")
    golds = {"CSTO": GOLD / "csto.jsonl", "BBC": GOLD / "bbc.jsonl"}
    cases = {name: load_gold(path, split=args.split) for name, path in golds.items()}
    single: dict[tuple[str, str], EvalSummary] = {}
    for name, path in golds.items():
        for llm in answerers:
            config = EvalConfig(
                gold=str(path), corpus=str(bundled_corpus_dir()), split=args.split, llm=llm
            )
            single[(name, llm)] = run_config(config)
    started = time.perf_counter()
    many: dict[tuple[str, str], EvalSummary] = {}
    with EvalSession(corpus) as session:
        print(f"indexed {len(session.texts)} articles in {time.perf_counter() - started:.0f} s")
        for llm in answerers:
            answer_fn = session.answer_fn(llm=llm)
            for name, group in cases.items():
                many[(name, llm)] = run_eval(answer_fn, group, texts=session.texts)
        baseline = LlamaIndexBaseline(load_corpus([corpus]))
        for name, group in cases.items():
            many[(name, BASELINE)] = run_eval(baseline, group, texts=session.texts)
        baseline.close()
    for name, path in golds.items():
        single[(name, BASELINE)] = single_baseline(path, cases[name])
    answerers.append(BASELINE)
    print(
        f"\nload average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
        f"{args.split} split\n"
    )
    print("| gold | answerer | answerable, alone | with 2,209 indexed | abstained, alone | "
          "with 2,209 indexed | p50 ms alone / with |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in golds:
        for llm in answerers:
            a1, u1, p1 = rates(single[(name, llm)])
            a2, u2, p2 = rates(many[(name, llm)])
            print(
                f"| {name} | {llm} | {a1:.1%} | {a2:.1%} | {u1:.1%} | {u2:.1%} | "
                f"{p1:.0f} / {p2:.0f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
