"""The reader's ablation: what each ingredient of reader v2's recipe adds, at a small scale.

    python scripts/ablate_reader.py            # ten small trainings, then a table
    python scripts/ablate_reader.py --report   # only the table, from runs already made
    python scripts/ablate_reader.py --runs E F --seed 7   # in .reader-work/ablation-seed7

Each run trains the same small sample (`SMALL`) with one more ingredient than the one before:

    A  SQuAD v1.1 + SQuAD 2.0 dev's training articles + SelQA dev, pointwise BCE only (v1's recipe)
    B  A + SQuAD 2.0 *train* unanswerables (their plausible-answer sentence as the hardest negative)
    C  B + swaps (names, numbers, years from other articles; WordNet antonyms)
    D  C + casual rewrites of a share of all questions
    E  D + the listwise loss with a no-answer slot (= v2's recipe, small)
    F  E + half the SQuAD v1.1 sample drawn from questions worded unlike their answer sentence
    G  E with 7 negatives a group instead of 3, at E's compute: half the questions, 4 groups a
       batch (32 pairs a step, as E), so the listwise softmax ranks 8 sentences, nearer the 16
       the product reads
    H  E + a wider chat vocabulary in the casual rewrites (`--chat-words`: 420 words, several
       everyday or slang ways to say each)
    I  E + negatives ranked as the product's hybrid retrieval ranks sentences (`--dense-negatives`:
       shared words and MiniLM's cosine, fused by reciprocal rank), not by shared words alone
    J  E with 60 % of all questions rewritten the casual way instead of 35 % (`--casual-share`)

and each is measured two ways, with no calibrator (the reader's own top probability):

- on SQuAD 2.0 dev's held-out articles (the card's measurement): selection and no-answer AUC;
- on the dev gold sets through retrieval (`fit_reader.prepare_all`, each BBC article on its own
  index): whether the top sentence holds the evidence (answerable cases; casual ones apart) and
  the no-answer AUC of the top probability (answerable against unanswerable cases).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SMALL = [
    "--squad-questions", "1500", "--squad2-questions", "100", "--unanswerable-questions", "1500",
    "--swap-questions", "500",
]  # fmt: skip  # about 10 minutes a run on 2 cores: five runs fit beside other work
RUNS = {
    "A": ["--unanswerable-questions", "0", "--swap-questions", "0", "--casual-share", "0",
          "--listwise-weight", "0"],
    "B": ["--swap-questions", "0", "--casual-share", "0", "--listwise-weight", "0"],
    "C": ["--casual-share", "0", "--listwise-weight", "0"],
    "D": ["--listwise-weight", "0"],
    "E": [],
    "F": ["--reworded-share", "0.5"],
    "G": ["--negatives", "7", "--groups-per-batch", "4", "--squad-questions", "750",
          "--squad2-questions", "50", "--unanswerable-questions", "750", "--swap-questions", "250"],
    "H": ["--chat-words"],
    "I": ["--dense-negatives"],
    "J": ["--casual-share", "0.6"],
}  # fmt: skip
WHAT = {
    "A": "v1's recipe (SQuAD, SQuAD 2.0 dev train articles, SelQA dev; BCE)",
    "B": "+ SQuAD 2.0 train unanswerables",
    "C": "+ swaps",
    "D": "+ casual rewrites",
    "E": "+ listwise loss with a no-answer slot",
    "F": "+ half the SQuAD sample worded unlike its answer",
    "G": "E, 7 negatives a group, half the questions (E's compute)",
    "H": "E + a wider chat vocabulary in the casual rewrites",
    "I": "E + negatives ranked as hybrid retrieval ranks them (words and MiniLM)",
    "J": "E with 60 % of questions rewritten casually (E: 35 %)",
}


def train(name: str, folder: Path, seed: int | None) -> None:
    out, work = folder / name, folder / f"{name}-work"
    if (out / "MODEL_CARD.md").is_file():
        return
    # Later options win: the run's own switches override the small sample's sizes.
    command = [sys.executable, str(ROOT / "scripts" / "train_reader.py"), "--out", str(out)]
    command += ["--work", str(work), *SMALL, *RUNS[name]]
    if seed is not None:  # another draw of the sample, the initial head and the batch order
        command += ["--seed", str(seed)]
    subprocess.run(command, check=True)


def dev_figures(model: Path, groups) -> dict[str, float]:
    import numpy as np
    from train_reader import auc

    from qa_bot.answering.answerers.reading import is_headline
    from qa_bot.reader import Reader, pair_text

    reader = Reader(model)
    found: dict[str, list] = {"right": [], "casual_right": [], "yes": [], "no": []}
    for prepared in (p for ps in groups.values() for p in ps):
        table = prepared.table
        pool = [c for c in prepared.candidates if not is_headline(c.chunk, table)][:24]
        if not pool:
            continue
        texts = [pair_text(table.title(c.chunk.doc_id), c.chunk.text) for c in pool]
        scores = reader.score(prepared.resolved.core, texts)
        best = int(np.argmax(scores))
        case = prepared.case
        if case.answerable and case.evidence:
            right = any(
                e in pool[best].chunk.text or pool[best].chunk.text in e for e in case.evidence
            )
            found["casual_right" if "casual" in case.tags else "right"].append(right)
        (found["yes"] if case.answerable else found["no"]).append(float(scores[best]))
    return {
        "dev top sentence right": float(np.mean(found["right"])),
        "casual dev top sentence right": float(np.mean(found["casual_right"])),
        "dev no-answer AUC": auc(found["yes"], found["no"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, help="default: .reader-work/ablation[-seedN]")
    parser.add_argument("--report", action="store_true", help="no training: report made runs")
    parser.add_argument(
        "--runs", nargs="+", choices=list(RUNS), default=list(RUNS), help="only these runs"
    )
    parser.add_argument("--seed", type=int, help="train_reader's seed (default: its own)")
    args = parser.parse_args(argv)
    # A run already made is not trained again, so each seed gets a folder of its own.
    suffix = "" if args.seed is None else f"-seed{args.seed}"
    args.folder = args.folder or ROOT / ".reader-work" / f"ablation{suffix}"
    if not args.report:
        for name in args.runs:
            train(name, args.folder, args.seed)
    from fit_reader import prepare_all

    rows = []
    with contextlib.ExitStack() as stack:
        groups = prepare_all(stack)
        for name in args.runs:
            card = args.folder / name / "MODEL_CARD.md"
            if not card.is_file():
                continue
            heldout = json.loads((args.folder / f"{name}-work" / "metrics.json").read_text())
            figures = {
                "held-out selection": heldout["shipped_int8_onnx"]["sentence_selection_top1"],
                "held-out no-answer AUC": heldout["shipped_int8_onnx"]["no_answer_auc"],
                **dev_figures(args.folder / name, groups),
            }
            rows.append((name, figures))
    names = list(rows[0][1]) if rows else []
    print(f"| run | recipe | {' | '.join(names)} |")
    print(f"|---|---|{'---:|' * len(names)}")
    for name, figures in rows:
        cells = " | ".join(f"{figures[n]:.3f}" for n in names)
        print(f"| {name} | {WHAT[name]} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
