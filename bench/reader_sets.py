"""The evaluation-only sets of `bench/reader_suite.py`, each as a list of `Item`s.

An item is one question with its candidate sentences (the whole paragraph, or the one
sentence the set gives), the article's title, and which candidates answer (none for an
unanswerable question). The sets are public data in `../shared/data/` (see its README); none of
them is ever trained on, except SQuAD 2.0 dev's training articles, which are left out here.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


@dataclass
class Item:
    question: str
    sentences: list[str]
    title: str
    answers: set[int] = field(default_factory=set)  # indexes of answering sentences
    kind: str = ""  # the set's own label: "competitive", "paraphrase", ...


def squad2_heldout(data: Path, limit: int, seed: int = 13) -> list[Item]:
    """SQuAD 2.0 dev's ten held-out articles (the reader cards' split), whole paragraphs."""
    from reader_data import load_squad, sentence_of_span, split_articles

    squad2 = load_squad(data / "squad" / "dev-v2.0.json")
    _, _, heldout = split_articles(list(squad2), (20, 5, 10), seed)
    items = []
    for title in heldout:
        for para in squad2[title]:
            texts = [s.text for s in para.sentences]
            for qa in para.questions:
                if qa.get("is_impossible"):
                    items.append(Item(qa["question"].strip(), texts, title, kind="unanswerable"))
                    continue
                found = sentence_of_span(para, qa["answers"])
                if found is not None:
                    items.append(Item(qa["question"].strip(), texts, title, {found}, "answerable"))
    random.Random(seed).shuffle(items)
    return items[:limit]


def ace_whqa(data: Path) -> list[Item]:
    """ACE-whQA: one news sentence (fragment) per question, no title."""
    items = []
    for name, kind in (
        ("has-answer", "has-answer"),
        ("IDK-competitive", "competitive"),
        ("IDK-non-competitive", "non-competitive"),
    ):
        raw = json.loads((data / "ace-whqa" / f"ACE-whQA-{name}.json").read_text("utf-8"))
        for para in raw["data"][0]["paragraphs"]:
            for qa in para["qas"]:
                if para["context"] == "Text" and qa["question"] == "Question":
                    continue  # the header row some files carry
                answers = {0} if not qa.get("is_impossible") else set()
                question = " ".join(qa["question"].split())
                items.append(Item(question, [para["context"]], "", answers, kind))
    return items


def wikiqa_test(data: Path) -> list[Item]:
    """WikiQA test: each question over its Wikipedia summary's sentences; 389 of 630 have none."""
    grouped: dict[str, Item] = {}
    with open(data / "wikiqa" / "WikiQA-test.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            item = grouped.setdefault(
                row["QuestionID"], Item(row["Question"], [], row["DocumentTitle"])
            )
            if row["Label"] == "1":
                item.answers.add(len(item.sentences))
            item.sentences.append(row["Sentence"])
    for item in grouped.values():
        item.kind = "answerable" if item.answers else "unanswerable"
    return list(grouped.values())


def _detokenise(text: str) -> str:
    text = re.sub(r"\s+([.,;:!?%)\]'])", r"\1", text)
    return re.sub(r"([(\[$])\s+", r"\1", text).strip()


def selqa_test(data: Path) -> list[Item]:
    """SelQA test (never trained on): half its questions were written as paraphrases."""
    items = []
    for q in json.loads((data / "selqa" / "selqa-ass-test.json").read_text("utf-8")):
        if not q.get("answers"):
            continue
        items.append(
            Item(
                _detokenise(q["question"]),
                [_detokenise(s) for s in q["candidates"]],
                q.get("article", ""),
                set(q["answers"]),
                "paraphrase" if q["is_paraphrase"] else "not paraphrase",
            )
        )
    return items


def squadshifts_new_wiki(data: Path, limit: int, seed: int = 13) -> list[Item]:
    """SQuADShifts New-Wiki: fresh Wikipedia articles, answerable questions, whole paragraphs."""
    from reader_data import load_squad, sentence_of_span

    articles = load_squad(data / "squadshifts" / "new_wiki_v1.0.json")
    items = []
    for title, paragraphs in articles.items():
        for para in paragraphs:
            texts = [s.text for s in para.sentences]
            for qa in para.questions:
                found = sentence_of_span(para, qa["answers"])
                if found is not None:
                    items.append(Item(qa["question"].strip(), texts, title, {found}, "answerable"))
    random.Random(seed).shuffle(items)
    return items[:limit]
