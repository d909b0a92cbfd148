"""The reader benchmark: the first reader against the one that ships, side by side, in one run.

    python bench/reader_suite.py             # every set (about 15 minutes on 2 cores)
    python bench/reader_suite.py --quick     # small samples of each (a smoke run)
    python bench/reader_suite.py --no-system # the reader-level sets only
    python bench/reader_suite.py --no-system --only ACE-whQA   # one set

Two readers, each with its own decision:

- **v1**, the first reader (`git show 98e51e5:src/qa_bot/reader/model/...`, taken from this
  repository's history), deciding as it shipped: answer when its probability reaches 0.6,
  from retrieval's top 6;
- **v2**, the shipped reader, deciding as it ships: the calibrator of `reading_params.json`
  over the same signals the product computes (the reader's logits, MiniLM's cosine, the
  answer-type match, words the text lacks), with the "unsure" state counted as abstaining.

Sets (public data in ../shared/data; never trained on, except as noted in each reader's card):

- SQuAD 2.0 dev's ten held-out articles: sentence selection, no-answer AUC (of the reader's top
  probability, and of the decision's confidence), answerable-right and abstained at the
  operating point;
- ACE-whQA: has-answer accepted, competitive and non-competitive unanswerables declined;
- WikiQA test: question-level answer triggering, precision / recall / F1;
- SelQA test: selection for paraphrased and other questions, and the gap (v1 trained on SelQA
  test, so its paraphrase figure is not a fair one: it is printed, marked);
- SQuADShifts New-Wiki: selection on articles written after SQuAD;
- the CSTO and BBC test splits through the whole system (`answer()`, one article per index).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reader_sets import (  # noqa: E402
    Item,
    ace_whqa,
    selqa_test,
    squad2_heldout,
    squadshifts_new_wiki,
    wikiqa_test,
)
from train_reader import auc, files_from_git  # noqa: E402  (auc: the card's, ties count half)

from qa_bot.answering.answer_types import expected_type  # noqa: E402
from qa_bot.answering.answerers.reading import ReadingAnswerer, ReadingParams  # noqa: E402
from qa_bot.answering.calibration import Calibrator, signals  # noqa: E402
from qa_bot.lexicon import content_stems  # noqa: E402
from qa_bot.reader import MODEL_DIR, Reader, pair_text, sigmoid  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
V1_COMMIT = "98e51e5"
V1_FILES = ("model.onnx", "tokenizer.json", "tokenizer_config.json", "config.json", "reader.json")
# How v1 decided (its reading_params.json at V1_COMMIT): probability >= 0.6 over the top 6.
V1_PARAMS = ReadingParams(
    candidates=6,
    first_read=6,
    sure_logit=1e9,
    answer_at=0.6,
    unsure_at=0.6,
    followup_context=False,
    calibrator=Calibrator({"top_logit": 1.0}, 0.0),
)


@dataclass
class Contender:
    name: str
    reader: Reader
    params: ReadingParams


def v1_folder(work: Path) -> Path:
    """The first reader's files, from this repository's history."""
    return files_from_git(V1_COMMIT, "src/qa_bot/reader/model", V1_FILES, work / "reader-v1")


# -- reader-level sets -----------------------------------------------------------------


@dataclass
class Judged:
    best: int  # the top sentence
    top_probability: float
    confidence: float  # the decision's
    answered: bool


class Scorer:
    """Reads items the way the product reads candidates, and decides as a contender does."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self._dense: dict[int, np.ndarray] = {}

    def dense(self, key: int, item: Item) -> np.ndarray:
        """MiniLM's cosine between the question and each "title. sentence" (as indexed)."""
        if key not in self._dense:
            texts = [f"{item.title}. {s}" if item.title else s for s in item.sentences]
            docs = self.embedder.embed_documents(texts)
            query = self.embedder.embed_query(item.question)
            self._dense[key] = np.asarray(docs) @ np.asarray(query)
        return self._dense[key]

    def judge(self, contender: Contender, items: list[Item]) -> list[Judged]:
        pairs = [(it.question, pair_text(it.title, s)) for it in items for s in it.sentences]
        flat = contender.reader.pair_logits(pairs, batch_size=64)
        out, cursor = [], 0
        params = contender.params
        for item in items:
            logits = flat[cursor : cursor + len(item.sentences)]
            cursor += len(item.sentences)
            best = int(np.argmax(logits))
            vocabulary = frozenset(content_stems(" ".join([item.title, *item.sentences])))
            features = signals(
                logits=list(logits),
                dense=list(self.dense(id(item), item)),
                best=best,
                answer_type=expected_type(item.question),
                sentence=item.sentences[best],
                question=item.question,
                typed=item.question,
                vocabulary=vocabulary,
            )
            confidence = params.calibrator.probability(features)
            top = float(sigmoid(np.asarray(logits[best])))
            out.append(Judged(best, top, confidence, confidence >= params.answer_at))
        return out


def rate(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


def squad_figures(items: list[Item], judged: list[Judged]) -> dict[str, float]:
    answerable = [(it, j) for it, j in zip(items, judged, strict=True) if it.answers]
    impossible = [j for it, j in zip(items, judged, strict=True) if not it.answers]
    return {
        "selection": rate(sum(j.best in it.answers for it, j in answerable), len(answerable)),
        "no-answer AUC (reader's top probability)": auc(
            [j.top_probability for _, j in answerable], [j.top_probability for j in impossible]
        ),
        "no-answer AUC (decision's confidence)": auc(
            [j.confidence for _, j in answerable], [j.confidence for j in impossible]
        ),
        "answerable: answered right": rate(
            sum(j.answered and j.best in it.answers for it, j in answerable), len(answerable)
        ),
        "unanswerable: abstained": rate(sum(not j.answered for j in impossible), len(impossible)),
    }


def ace_figures(items: list[Item], judged: list[Judged]) -> dict[str, float]:
    def share(kind: str, answered: bool) -> float:
        chosen = [j for it, j in zip(items, judged, strict=True) if it.kind == kind]
        return rate(sum(j.answered == answered for j in chosen), len(chosen))

    return {
        "has-answer accepted": share("has-answer", True),
        "competitive declined": share("competitive", False),
        "non-competitive declined": share("non-competitive", False),
    }


def wikiqa_figures(items: list[Item], judged: list[Judged]) -> dict[str, float]:
    triggered = [(it, j) for it, j in zip(items, judged, strict=True) if j.answered]
    right = sum(j.best in it.answers for it, j in triggered)
    precision = rate(right, len(triggered))
    recall = rate(right, sum(bool(it.answers) for it in items))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"triggering precision": precision, "triggering recall": recall, "triggering F1": f1}


def selection(items: list[Item], judged: list[Judged], kind: str | None = None) -> float:
    chosen = [
        (it, j) for it, j in zip(items, judged, strict=True) if kind is None or it.kind == kind
    ]
    return rate(sum(j.best in it.answers for it, j in chosen), len(chosen))


def selqa_figures(items: list[Item], judged: list[Judged]) -> dict[str, float]:
    para = selection(items, judged, "paraphrase")
    other = selection(items, judged, "not paraphrase")
    return {
        "paraphrase selection": para,
        "other selection": other,
        "gap (other - paraphrase)": other - para,
    }


# -- the whole system on the gold test splits ------------------------------------------


def system_figures(contender: Contender, gold: str, embedder) -> dict[str, float]:
    """The gold test split through `Engine.answer`, each article on its own index."""
    import shutil

    from qa_bot.config import bundled_corpus_dir
    from qa_bot.eval.gold import load_gold, run_eval, summarise
    from qa_bot.eval.runner import EvalSession, article_sources

    path = ROOT / "eval" / "gold" / gold
    cases = load_gold(path, split="test")
    sources = article_sources(path)
    results = []
    groups = (
        [(bundled_corpus_dir(), cases)]
        if sources is None
        else [(sources[d], [c for c in cases if c.doc_id == d]) for d in sorted(sources)]
    )
    for corpus, chosen in groups:
        if not chosen:
            continue
        with tempfile.TemporaryDirectory() as folder:
            if sources is not None:
                shutil.copy(corpus, Path(folder) / f"{chosen[0].doc_id}.txt")
                corpus = Path(folder)
            with EvalSession(corpus) as session:
                engine = session.engine("hybrid")
                answerer = ReadingAnswerer(reader=contender.reader, params=contender.params)
                engine.install_answerer("extractive", answerer)
                results += run_eval(engine.answer, chosen).results
    whole = summarise(results)
    paraphrase = summarise([r for r in results if "paraphrase" in r.case.tags])
    return {
        "answerable correct": whole["accuracy_answerable"],
        "unanswerable abstained": whole["accuracy_unanswerable"],
        "paraphrase-tagged correct": paraphrase["accuracy_answerable"],
        "answerable: right, or unsure with the right passage": whole["right_passage_shown"],
        "answers marked unsure": whole["unsure_rate"],
    }


# -- the run ---------------------------------------------------------------------------

GOALS = {
    ("SQuAD 2.0 held-out", "selection"): ">= 0.88",
    ("SQuAD 2.0 held-out", "no-answer AUC (reader's top probability)"): ">= 0.85",
    ("SQuAD 2.0 held-out", "no-answer AUC (decision's confidence)"): ">= 0.85",
    ("ACE-whQA", "has-answer accepted"): ">= 0.80",
    ("ACE-whQA", "competitive declined"): ">= 0.70",
    ("SelQA test", "gap (other - paraphrase)"): "<= 0.05",
    ("CSTO test", "answerable correct"): ">= 0.70",
    ("CSTO test", "unanswerable abstained"): ">= 0.85",
    ("BBC test", "answerable correct"): ">= 0.75",
    ("BBC test", "unanswerable abstained"): ">= 0.85",
    ("BBC test", "paraphrase-tagged correct"): ">= 0.60",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--quick", action="store_true", help="small samples: a smoke run")
    parser.add_argument("--no-system", action="store_true", help="skip the CSTO and BBC splits")
    parser.add_argument(
        "--only", action="append", help="run only this reader-level set (repeatable), e.g. ACE-whQA"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "reader_suite.json")
    args = parser.parse_args(argv)
    if not (args.data / "squad" / "dev-v2.0.json").is_file():
        print(f"The evaluation data is not at {args.data} (see ../shared/data/README.md).")
        return 1
    from qa_bot.index.embeddings import make_embedder

    embedder = make_embedder("minilm")
    n = 60 if args.quick else 2000
    sets: list[tuple[str, list[Item], Callable]] = [
        ("SQuAD 2.0 held-out", squad2_heldout(args.data, n), squad_figures),
        ("ACE-whQA", ace_whqa(args.data)[:: 8 if args.quick else 1], ace_figures),
        ("WikiQA test", wikiqa_test(args.data)[: 40 if args.quick else None], wikiqa_figures),
        ("SelQA test", selqa_test(args.data)[: 60 if args.quick else None], selqa_figures),
        (
            "SQuADShifts New-Wiki",
            squadshifts_new_wiki(args.data, 60 if args.quick else 1500),
            lambda items, judged: {"selection": selection(items, judged)},
        ),
    ]
    if args.only:
        sets = [entry for entry in sets if entry[0] in args.only]
    with tempfile.TemporaryDirectory() as work:
        contenders = [
            Contender("v1", Reader(v1_folder(Path(work))), V1_PARAMS),
            Contender("v2 (shipped)", Reader(MODEL_DIR), ReadingParams.load()),
        ]
        scorer = Scorer(embedder)
        table: dict[tuple[str, str], dict[str, float]] = {}
        for set_name, items, figures in sets:
            started = time.perf_counter()
            for contender in contenders:
                found = figures(items, scorer.judge(contender, items))
                for figure, value in found.items():
                    table.setdefault((set_name, figure), {})[contender.name] = value
            took = time.perf_counter() - started
            print(f"{set_name}: {len(items)} questions, {took:.0f} s", file=sys.stderr)
        if not args.no_system:
            golds = [("CSTO test", "csto.jsonl"), ("BBC test", "bbc.jsonl")]
            for set_name, gold in golds[:1] if args.quick else golds:
                for contender in contenders:
                    found = system_figures(contender, gold, embedder)
                    for figure, value in found.items():
                        table.setdefault((set_name, figure), {})[contender.name] = value
                print(f"{set_name}: done", file=sys.stderr)
    names = [c.name for c in contenders]
    print(f"| set | figure | {' | '.join(names)} | goal |")
    print(f"|---|---|{'---:|' * len(names)}---|")
    for (set_name, figure), values in table.items():
        cells = " | ".join(f"{values.get(n, float('nan')):.3f}" for n in names)
        note = " (v1 trained on it)" if set_name == "SelQA test" and "paraphrase" in figure else ""
        print(f"| {set_name} | {figure}{note} | {cells} | {GOALS.get((set_name, figure), '')} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps([{"set": s, "figure": f, **v} for (s, f), v in table.items()], indent=1) + "\n"
    )
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
