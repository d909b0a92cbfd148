"""Set the grounding check's similarity threshold on the DEV split only.

Positives: each answerable dev case's reference answer (a human paraphrase,
"fully supported by the article") against its evidence sentences. Negatives:
the same reference against the most similar article sentence that is *not*
evidence and holds none of the case's key facts (a plausible mis-citation),
and each unanswerable case's reference ("The article does not say ...")
against its most similar sentence. The threshold maximises
TPR - FPR (Youden's J) over the MiniLM cosines; ties go to the higher value.
It also reports how many positives the "at most N new words" test lets
through, to show what the word limit costs.

    PYTHONPATH=src python bench/calibrate_grounding.py [--split dev]

The test split is never read unless asked for with --split test, and then
only to report, not to choose.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from qa_bot.answering.verify import novel_words
from qa_bot.eval.gold import load_gold
from qa_bot.index.embeddings import make_embedder
from qa_bot.ingest.chunking import chunk_document
from qa_bot.ingest.corpus import load_document
from qa_bot.normalise import fold_case

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev")
    parser.add_argument("--embedder", default="minilm")
    args = parser.parse_args()
    cases = load_gold(ROOT / "eval/gold/csto.jsonl", split=args.split)
    document = load_document(ROOT / "corpus/csto-summit-bishkek.txt")
    sentences = [c.text for c in chunk_document(document)]
    embedder = make_embedder(args.embedder)
    vectors = embedder.embed_documents(sentences)

    positives, negatives, novel_counts = [], [], []
    for case in cases:
        scores = vectors @ embedder.embed_query(case.reference)
        if not case.answerable:
            negatives.append(float(scores.max()))
            continue
        evidence = [
            i
            for i, s in enumerate(sentences)
            if any(e.strip() in s or s in e for e in case.evidence)
        ]
        if not evidence:
            continue
        positives.append(float(max(scores[i] for i in evidence)))
        novel_counts.append(len(novel_words(case.reference, [sentences[i] for i in evidence])))
        aliases = [fold_case(a) for fact in case.key_facts for a in fact]
        others = [
            i
            for i in range(len(sentences))
            if i not in evidence and not any(a in fold_case(sentences[i]) for a in aliases)
        ]
        if others:
            negatives.append(float(max(scores[i] for i in others)))

    pos, neg = np.array(positives), np.array(negatives)
    best_j, best_t = -1.0, 0.0
    for t in np.round(np.arange(0.30, 0.90, 0.01), 2):
        j = (pos >= t).mean() - (neg >= t).mean()
        if j >= best_j:
            best_j, best_t = j, float(t)
    print(
        f"split={args.split} embedder={args.embedder}: {len(pos)} positives, {len(neg)} negatives"
    )
    print(f"positive cosine: p10 {np.percentile(pos, 10):.3f}  median {np.median(pos):.3f}")
    print(f"negative cosine: median {np.median(neg):.3f}  p90 {np.percentile(neg, 90):.3f}")
    print(
        f"threshold {best_t:.2f}: keeps {(pos >= best_t).mean():.0%} of positives, "
        f"admits {(neg >= best_t).mean():.0%} of negatives (J={best_j:.3f})"
    )
    counts = np.array(novel_counts)
    for limit in (0, 1, 2, 3, 4):
        print(f"max_novel_words={limit}: {(counts <= limit).mean():.0%} of reference answers pass")


if __name__ == "__main__":
    main()
