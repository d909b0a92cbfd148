"""Generate news-like articles about invented places, with one-answer questions.

Every article is about a different invented town (names built from syllables,
never repeated), so "Who is the mayor of Ostravel?" has exactly one answer in
the whole corpus, and the sentence holding it is known: the question's
*evidence*. Articles have 8-12 sentences: the facts questions ask about, plus
filler drawn from a pool so articles are not identical. Nothing is downloaded;
the same seed gives the same corpus.

Used by bench/scale.py (100 to 10,000 articles) and by the storage-fault tests
(a few hundred articles to make indexing take a few seconds).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

_ONSETS = "b br c d dr f g gr h k kl l m n p pr r s st t tr v z".split()
_VOWELS = "a e i o u ai ea io".split()
_CODAS = ["", "", "n", "r", "l", "s", "th", "m", "nd", "rk"]
_FACILITIES = [
    "bridge",
    "library",
    "ferry terminal",
    "water plant",
    "concert hall",
    "hospital wing",
    "tram line",
    "solar farm",
    "sports arena",
    "research station",
]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_FILLER = [
    "Local shops reported busier trading in the week after the opening.",
    "Residents gathered near the entrance long before the ceremony began.",
    "A brass band from a neighbouring village played during the afternoon.",
    "Critics had argued for years that the money could be spent elsewhere.",
    "The regional newspaper ran a special supplement on the project.",
    "Several schools organised visits for their pupils in the first month.",
    "Traffic around the site was diverted for most of the day.",
    "Officials promised a public report on running costs within a year.",
    "Volunteers handed out maps and answered questions from visitors.",
    "The weather stayed dry despite forecasts of heavy rain.",
]


@dataclass(frozen=True)
class Question:
    id: str
    doc_id: str
    question: str
    answer: str
    evidence: str  # the sentence that holds the answer, verbatim


class _Names:
    """Invented words, each handed out once."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def word(self, syllables: int) -> str:
        while True:
            parts = [self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) for _ in range(syllables)]
            word = ("".join(parts) + self.rng.choice(_CODAS)).capitalize()
            if word not in self.used:
                self.used.add(word)
                return word


def article(number: int, names: _Names, rng: random.Random) -> tuple[str, str, list[Question]]:
    """(doc_id, text, questions) for one article."""
    town, mayor_first, mayor_last = names.word(3), names.word(2), names.word(3)
    engineer, firm, firm_home = f"{names.word(2)} {names.word(3)}", names.word(2), names.word(3)
    facility = rng.choice(_FACILITIES)
    day, month, year = rng.randint(1, 28), rng.choice(_MONTHS), rng.randint(2019, 2031)
    cost, months, served = rng.randint(12, 990), rng.randint(6, 60), rng.randint(2, 95) * 1000
    mayor = f"{mayor_first} {mayor_last}"
    title = f"{town} opens its new {facility}"
    facts = {
        "date": f"{town} opened its new {facility} on {rng.choice(_WEEKDAYS)}, "
        f"{day} {month} {year}.",
        "cost": f"The {facility} cost {cost} million crowns and took {months} months to build.",
        "mayor": f"Mayor {mayor} said the {facility} would serve about {served:,} "
        f"residents of {town}.",
        "firm": f"Construction was led by {firm} Works, a company based in {firm_home}.",
        "engineer": f"The chief engineer on the project was {engineer}.",
    }
    filler = rng.sample(_FILLER, rng.randint(3, 7))
    sentences = list(facts.values()) + filler
    rng.shuffle(sentences)
    doc_id = f"synth-{number:05d}-{town.lower()}"
    text = f"{title}\n\nSynthetic Wire\n\n" + "\n\n".join(sentences) + "\n"
    asks = [
        ("mayor", f"Who is the mayor of {town}?", mayor),
        ("cost", f"How much did the {facility} in {town} cost?", f"{cost} million"),
        ("firm", f"Which company built the {facility} in {town}?", firm),
        ("date", f"When did {town} open its new {facility}?", f"{day} {month} {year}"),
        ("engineer", f"Who was the chief engineer of the {facility} in {town}?", engineer),
    ]
    questions = [Question(f"{doc_id}-{key}", doc_id, q, a, facts[key]) for key, q, a in asks]
    return doc_id, text, questions


def generate(folder: Path, count: int, *, seed: int = 7) -> list[Question]:
    """Write `count` articles into `folder` (created); return their questions."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    names = _Names(rng)
    questions: list[Question] = []
    for number in range(count):
        doc_id, text, asked = article(number, names, rng)
        (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        questions.extend(asked)
    with open(folder.parent / f"{folder.name}-questions.jsonl", "w", encoding="utf-8") as out:
        for q in questions:
            out.write(json.dumps(q.__dict__) + "\n")
    return questions


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a synthetic corpus and its questions.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"{len(generate(args.folder, args.count, seed=args.seed))} questions")
