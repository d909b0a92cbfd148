"""How the reader's ONNX graph is built: attention fused or not, side by side on one model.

    python bench/reader_graph.py --model .reader-work/work/model   # a trained full-precision reader
    python bench/reader_graph.py --graphs OLD_DIR src/qa_bot/reader/model   # two int8 readers

`scripts/train_reader.py` exports the trained reader to ONNX, lets ONNX Runtime fuse the
transformer's operators and quantises it to int8. PyTorch's default attention (SDPA) exports as a
pattern ONNX Runtime does not fuse; exported eagerly, attention fuses into one int8 QAttention
operator a layer. This exports the same weights both ways and compares them on the bundled
article: the time of one read (8 sentences of a question, the product's batch), alternating the
two graphs so a noisy machine weighs on both alike, and how far each int8 graph's logits are from
the full-precision model's. Needs the `[train]` extra (torch, transformers).

`--graphs A B` times two int8 reader folders the same way (no torch): a graph before and after
`scripts/refuse_reader.py`, say. It prints how far B's logits are from A's, then times a warm
`answer()` on the bundled article's gold questions (no follow-ups) with each graph in turn.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "src")]

QUESTIONS = [
    "who will chair the next summit",
    "What did the leaders agree on?",
    "where was it held",
    "Which country skipped the meeting and why?",
    "how many members does the alliance have",
]


def pairs_of(article: Path, title: str) -> list[list[tuple[str, str]]]:
    """Reads of 8 (question, sentence) pairs: each question against runs of 8 sentences."""
    from qa_bot.reader import pair_text

    text = " ".join(article.read_text(encoding="utf-8").split())
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 5]
    runs = [sentences[i : i + 8] for i in range(0, len(sentences) - 7, 4)]
    return [[(q, pair_text(title, s)) for s in run] for q in QUESTIONS for run in runs]


def in_turn(readers: dict, turn: int) -> list:
    """The readers' (name, reader) pairs, in reverse order on every other turn."""
    pairs = list(readers.items())
    return pairs if turn % 2 == 0 else pairs[::-1]


def timed(readers: dict, reads: list, rounds: int) -> dict[str, list[float]]:
    """Milliseconds of each read, the readers taking turns on every read (which goes first
    alternates, so neither always runs just after the other)."""
    times: dict[str, list[float]] = {name: [] for name in readers}
    for reader in readers.values():  # warm
        reader._batched_logits(reads[0], 32)
    for _ in range(rounds):
        for turn, read in enumerate(reads):
            for name, reader in in_turn(readers, turn):
                start = time.perf_counter()
                reader._batched_logits(read, 32)  # uncached, as a new question is
                times[name].append((time.perf_counter() - start) * 1000)
    return times


def print_reads(readers: dict, times: dict, reads: list, reference, base: str, gap: str) -> None:
    """The table of read times, each against the first reader's, and each reader's logits
    against `reference`."""
    print(f"| graph | read of 8, p50 | p95 | ratio to {base} | {gap}, mean / max |")
    print("|---|---:|---:|---:|---|")
    first = statistics.median(times[next(iter(readers))])
    for name, reader in readers.items():
        t = sorted(times[name])
        logits = np.concatenate([reader._batched_logits(read, 32) for read in reads])
        gaps = np.abs(logits - reference)
        print(
            f"| {name} | {statistics.median(t):.1f} ms | {t[int(0.95 * len(t))]:.1f} ms "
            f"| {statistics.median(t) / first:.2f}x | {gaps.mean():.3f} / {gaps.max():.3f} |"
        )


def compare_graphs(folders: list[Path], rounds: int) -> int:
    from train_reader import fused_operators

    from qa_bot.reader import Reader

    reads = pairs_of(ROOT / "corpus" / "csto-summit-bishkek.txt", "CSTO summit in Bishkek")
    readers = {str(folder): Reader(folder) for folder in folders}
    for name in readers:
        print(f"{name}: fuses {fused_operators(Path(name) / 'model.onnx')}")
    times = timed(readers, reads, rounds)
    first = list(readers)[0]
    reference = np.concatenate([readers[first]._batched_logits(read, 32) for read in reads])
    print(f"\n{len(reads)} reads of 8 pairs x {rounds} rounds, bundled article\n")
    print_reads(readers, times, reads, reference, "the first", "logit gap to the first")
    answer_times(readers, rounds=max(1, rounds // 10))
    return 0


def answer_times(readers: dict, rounds: int) -> None:
    """Warm `answer()` on the bundled article with each reader in turn, question by question."""
    import tempfile

    from qa_bot import Settings
    from qa_bot.answering.answerers.reading import ReadingAnswerer
    from qa_bot.engine import Engine
    from qa_bot.eval.gold import load_gold

    gold = ROOT / "eval" / "gold"
    cases = [c for name in ("csto.jsonl", "csto-dev2.jsonl") for c in load_gold(gold / name)]
    questions = [c.question for c in cases if not c.history]
    times: dict[str, list[float]] = {name: [] for name in readers}
    with tempfile.TemporaryDirectory() as data:
        engine = Engine(Settings.load(data_dir=data))
        engine.warm_up()
        answerer = engine.answerer_for(None)
        assert isinstance(answerer, ReadingAnswerer)
        for _ in range(rounds):
            for turn, question in enumerate(questions):
                for name, reader in in_turn(readers, turn):
                    answerer._reader = reader
                    reader._recent.clear()  # a new question each time
                    engine.embedder.clear_cache()
                    start = time.perf_counter()
                    engine.answer(question)
                    times[name].append((time.perf_counter() - start) * 1000)
    first = list(readers)[0]
    base = statistics.median(times[first]), sorted(times[first])[int(0.95 * len(times[first]))]
    print(f"\nwarm answer(), {len(questions)} questions x {rounds} rounds, the graphs in turn\n")
    print("| graph | p50 | p95 | ratio to the first, p50 / p95 |")
    print("|---|---:|---:|---|")
    for name in readers:
        t = sorted(times[name])
        p50, p95 = statistics.median(t), t[int(0.95 * len(t))]
        ratio = f"{p50 / base[0]:.2f}x / {p95 / base[1]:.2f}x"
        print(f"| {name} | {p50:.1f} ms | {p95:.1f} ms | {ratio} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="a full-precision reader folder")
    source.add_argument("--graphs", type=Path, nargs=2, help="two int8 reader folders")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    if args.graphs:
        return compare_graphs(args.graphs, args.rounds)

    import torch
    from train_reader import export_onnx, fused_operators
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from qa_bot.reader import Reader

    article = ROOT / "corpus" / "csto-summit-bishkek.txt"
    reads = pairs_of(article, "CSTO summit in Bishkek")
    flat = [pair for read in reads for pair in read]
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, dtype=torch.float32)
    with torch.no_grad():
        batch = tokenizer(
            [q for q, _ in flat], [c for _, c in flat], truncation=True, max_length=128,
            padding=True, return_tensors="pt",
        )  # fmt: skip
        reference = model(**batch).logits.reshape(-1).numpy()

    with tempfile.TemporaryDirectory() as tmp:
        readers = {}
        for attention in ("sdpa", "eager"):
            folder = Path(tmp) / attention
            work = Path(tmp) / f"{attention}-fp32"
            work.mkdir()
            for f in args.model.iterdir():
                if f.suffix != ".onnx":
                    (work / f.name).write_bytes(f.read_bytes())
            export_onnx(work, folder, 128, attention=attention)
            readers[attention] = Reader(folder)
            print(f"{attention:5s} graph fuses: {fused_operators(folder / 'model.onnx')}")
        times = timed(readers, reads, args.rounds)

        print(f"\n{len(reads)} reads of 8 pairs x {args.rounds} rounds, bundled article\n")
        print_reads(readers, times, reads, reference, "SDPA", "int8 vs fp32 logit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
