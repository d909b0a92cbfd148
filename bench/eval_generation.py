"""Raw vs checked generation vs extractive, side by side, on a gold split.

For every case of the split (default: test) it runs

- extractive: the default answerer;
- raw: the model's unchecked reply to the same prompt format, over the top
  retrieved passages, always asked (no extractive gate, no grounding check).
  It counts as abstaining when it says the article does not say;
- checked: the generative answerer (extractive gate, grounding check, fallback).

and reports answer accuracy (`qa_bot.eval.gold.judge`), "invented" answers
(a number or proper name that occurs in none of the answer's cited passages;
for raw replies, which seldom cite, in none of the passages in the prompt) and
injection successes (a `forbidden` string in the answer). The invented count
uses its own extraction (`question.proper_nouns`, digit runs), not the
verifier's, so it is an independent check of the verifier.

    PYTHONPATH=src python bench/eval_generation.py --split test --llm llamacpp:smollm2

Use --split dev for tuning; report --split test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_ABSTAINS = re.compile(
    r"\b(doesn't|does not|did not|didn't) (say|mention|provide|specify|state|give)|"
    r"not (mentioned|specified|stated)|no information",
    re.IGNORECASE,
)


def invented(text: str, passages: list[str]) -> list[str]:
    """Names and numbers in `text` found in none of `passages`."""
    from qa_bot.answering.evidence import proper_nouns
    from qa_bot.normalise import fold_case

    body = re.sub(r"\[\d+\]", " ", fold_case(text))
    pool = fold_case(" ".join(passages))
    pool_words = set(re.findall(r"[\w']+", pool))
    numbers = [n for n in re.findall(r"\b\d[\d,.]*\w*", body) if n.rstrip(".,") not in pool_words]
    names = [
        n
        for n in proper_nouns(re.sub(r"\[\d+\]", " ", text))
        if fold_case(n.removesuffix("'s")) not in pool
    ]
    return names + numbers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--llm", default="llamacpp:smollm2")
    parser.add_argument("--gold", default=str(ROOT / "eval/gold/csto.jsonl"))
    parser.add_argument(
        "--min-retention",
        type=float,
        default=None,
        help="override GenerationParams.min_retention (dev tuning)",
    )
    parser.add_argument(
        "--max-passages",
        type=int,
        default=None,
        help="override GenerationParams.max_passages (dev tuning)",
    )
    parser.add_argument("--dump", help="write one JSON line per case here")
    args = parser.parse_args()
    os.environ.setdefault("QA_BOT_DATA_DIR", tempfile.mkdtemp(prefix="qa-bot-evalgen-"))

    from qa_bot.answering.answerers.generative import (
        GenerationParams,
        GenerativeAnswerer,
        retention,
    )
    from qa_bot.answering.prompts import render_messages
    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from qa_bot.eval.gold import judge, load_gold
    from qa_bot.types import Answer

    engine = Engine(Settings.load())
    checked = engine.answerer_for(args.llm)
    assert isinstance(checked, GenerativeAnswerer)
    if args.min_retention is not None:
        checked.params = replace(checked.params, min_retention=args.min_retention)
    if args.max_passages is not None:
        checked.params = replace(checked.params, max_passages=args.max_passages)
    params = GenerationParams()
    cases = load_gold(args.gold, split=args.split)
    rows = {
        name: {"correct": 0, "invented": 0, "leaks": 0, "seconds": 0.0}
        for name in ("extractive", "raw", "checked")
    }
    shown = removed = 0
    records = []
    for number, case in enumerate(cases, start=1):
        history = list(case.history) or None
        record = {"id": case.id}
        for name in ("extractive", "checked"):
            started = time.perf_counter()
            answer = engine.answer(
                case.question, history, llm="extractive" if name == "extractive" else args.llm
            )
            rows[name]["seconds"] += time.perf_counter() - started
            result = judge(case, answer)
            # A decline ("I can only answer questions about the article '<title>'...") names
            # the article and asserts nothing from it: not an invention.
            made_up = (
                [] if answer.abstained else invented(answer.text, [s.text for s in answer.sources])
            )
            _score(rows[name], result, made_up)
            record[name], record[f"{name}_correct"] = answer.text, result.correct
            if name == "checked":
                shown += answer.backend == args.llm
                removed += answer.removed_sentences
                record["backend"], record["notice"] = answer.backend, answer.notice
        resolved, candidates, _ = engine.prepare(case.question, history, None, checked)
        passages = [c.chunk.text for c in candidates[: params.max_passages]]
        previous = resolved.previous_query
        messages = render_messages(resolved.question, passages, previous_question=previous)
        started = time.perf_counter()
        raw = checked.llm.complete(messages, max_tokens=params.max_answer_tokens, stop=params.stop)
        rows["raw"]["seconds"] += time.perf_counter() - started
        raw_answer = Answer(text=raw, abstained=bool(_ABSTAINS.search(raw)))
        result = judge(case, raw_answer)
        _score(rows["raw"], result, invented(raw, passages))
        record["raw"], record["raw_correct"] = raw, result.correct
        record["retention"] = retention(record["extractive"], record["checked"], resolved.core)
        records.append(record)
        print(f"\r{number}/{len(cases)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if args.dump:
        Path(args.dump).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
        )
    total = len(cases)
    print(f"split={args.split} ({total} cases), model {args.llm}; tuned on dev only")
    print(f"{'answerer':<12}{'correct':>10}{'invented':>10}{'injections':>12}{'s/answer':>10}")
    for name, row in rows.items():
        print(
            f"{name:<12}{row['correct']:>5}/{total:<4}{row['invented']:>10}{row['leaks']:>12}"
            f"{row['seconds'] / total:>10.2f}"
        )
    print(
        f"checked: model sentences shown in {shown}/{total} answers; "
        f"{removed} generated sentences removed by the grounding check"
    )
    return 0


def _score(row: dict, result, made_up: list[str]) -> None:
    row["correct"] += result.correct
    row["invented"] += bool(made_up)
    row["leaks"] += bool(result.leaked)


if __name__ == "__main__":
    raise SystemExit(main())
