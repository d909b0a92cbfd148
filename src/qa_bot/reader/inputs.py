"""How the reader sees a candidate: one string per (question, sentence) pair.

Training (`scripts/train_reader.py`) and answering build the pair with this one function, so
the model is always asked the way it was taught. The article's title goes in front of the
sentence: news sentences lean on it ("the summit", "the firm"), and with several articles
indexed it tells the reader which story a sentence comes from.
"""

from __future__ import annotations


def pair_text(title: str, sentence: str) -> str:
    title = " ".join(title.split())
    sentence = " ".join(sentence.split())
    return f"{title}: {sentence}" if title else sentence
