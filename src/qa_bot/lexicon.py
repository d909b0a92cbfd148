"""Words, stems and stopwords: the lexical view of text used for matching.

Stems come from the Snowball English stemmer (PyStemmer, already installed by
llama-index's BM25 retriever), so "chaired", "chairs" and "chairmanship"
share stems with BM25's view of the text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from qa_bot.normalise import normalise

_WORD = re.compile(
    r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+(?:['-][A-Za-z\u00c0-\u024f\u0400-\u04ff]+)*|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?"
)

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can cannot could couldn't did didn't do does doesn't
    doing don't down during each either else ever few for from further had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs
    them themselves then there there's these they they'd they'll they're they've this those
    through to too under until up very was wasn't we we'd we'll we're we've were weren't what
    what's when when's where where's which while who who's whom why why's will with won't would
    wouldn't you you'd you'll you're you've your yours yourself yourselves
    tell say says said please article text according mention mentioned
    one ones else besides exactly specifically actually really anything something kind sort
    among thing things also regarding respect
    """.split()
)

# Words that ask rather than describe: never content terms of a question.
QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how whats whos hows name list describe "
    "explain give show".split()
)


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) for each word of an already-normalised text."""
    return [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    """Word tokens of `text` after normalisation, case kept."""
    return _WORD.findall(normalise(text))


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    word = word.casefold()
    if word.endswith("'s"):
        word = word[:-2]
    return _stemmer().stemWord(word)


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no stopwords, no question words."""
    return [
        w
        for w in words(text)
        if w.casefold() not in STOPWORDS and w.casefold() not in QUESTION_WORDS and len(w) > 1
    ]


def content_stems(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for w in content_words(text):
        seen.setdefault(stem(w), None)
    return list(seen)


def stems(text: str) -> set[str]:
    return {stem(w) for w in words(text)}


@lru_cache(maxsize=65536)
def one_edit_apart(a: str, b: str, *, swaps: bool = False) -> bool:
    """True when one inserted, deleted or replaced letter turns `a` into `b` (with `swaps`,
    also one swap of neighbouring letters: "waht"/"what"). Equal words are not apart."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        swapped = (
            swaps and len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]]
        )
        return len(diffs) == 1 or swapped
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
