"""Evidence checks: does a passage hold something of the expected answer type?

A "when" question needs a date in the passage, a "who ... president" question a person's name
and the role; `contradicts_in_time` spots a passage about another instance of the thing asked
about ("the next summit" for "the summit"). Used by the feature-based answerer.
"""

from __future__ import annotations

import re

from qa_bot.answering.answer_types import AnswerType
from qa_bot.lexicon import stem, words
from qa_bot.normalise import normalise

_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
).split()
_DATE = re.compile(
    r"\b(" + "|".join(_MONTHS) + r")\b|\b(1[89]|20)\d\d\b|\b\d{1,2}(st|nd|rd|th)\b|"
    r"\b(next|last|this|coming|previous) (year|month|week|spring|summer|autumn|fall|winter)\b|"
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|yesterday)\b|"
    r"\b(start|end|beginning|middle) of\b|\bcoming years\b|\bin the future\b|\bat this stage\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty "
    "fifty hundred thousand million billion trillion dozen dozens half percent per cent"
).split()
_NUMBER = re.compile(r"\d|\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
# Three or more items: "a, b, and c" / "a, b and c", or an explicit "including".
_ENUMERATION = re.compile(
    r"[^,;]+,[^,;]+,[^,;]*|[^,;]+,[^,;]+\band\b|\b(includ(ed|ing|es)|such as)\b", re.IGNORECASE
)
_EXPANSION = re.compile(r"[A-Z][a-z]+(?:\s+[A-Za-z]+){1,8}\s*\(\s*([A-Z][A-Za-z]{1,9})\s*\)")
_LOCATIVE = re.compile(
    r"\b(in|at|from|to|near|across|inside|outside|into)\s+(the\s+)?([A-Z][\w'-]+)"
)
_REASON = re.compile(
    r"\b(aim(ed|s)? (at|to)|in order to|so that|because|due to|signall?ing|intention|"
    r"determination|desire|purpose|to ensure|to strengthen|meant to|designed to|guided by)\b",
    re.IGNORECASE,
)
# Words that make a capitalised sequence an institution, not a person.
_INSTITUTION_WORDS = set(
    "council organisation organization treaty security declaration ministry union committee "
    "bank agency forces republic summit assembly party group foundation university court "
    "parliament government department office company corporation commission alliance "
    "federation association institute service services news times post general secretary "
    "cooperation collective".split()
)
_TITLES = set(
    "president minister secretary mr mrs ms dr prime king queen chancellor spokesman "
    "spokeswoman spokesperson ambassador general governor mayor chairman chairwoman chief "
    "deputy director professor senator".split()
)
_SENTENCE_STARTERS = set(
    "the a an at in on he she it they this these those there key leaders deputy".split()
)


def proper_nouns(text: str) -> list[str]:
    """Capitalised tokens that look like names (sentence-initial function words excluded)."""
    tokens = words(text)
    found = []
    for i, token in enumerate(tokens):
        if not token[:1].isupper() or len(token) < 2:
            continue
        if i == 0 and token.casefold() in _SENTENCE_STARTERS:
            continue
        found.append(token)
    return found


def person_names(text: str) -> list[str]:
    """Runs of two or more capitalised words that are not an institution's name.

    A run stops at punctuation, so a list of countries ("Russia, Kazakhstan,
    Tajikistan") is not mistaken for one long name.
    """
    names = []
    for clause in re.split(r"[,;:()\[\]\"“”]|\s[-–—]\s", normalise(text)):
        run: list[str] = []
        for token in words(clause) + [""]:
            if token[:1].isupper() and token.casefold() not in _TITLES:
                run.append(token)
                continue
            if len(run) >= 2 and not any(w.casefold() in _INSTITUTION_WORDS for w in run):
                names.append(" ".join(run))
            run = []
    return names


def _roles_match(question_stems: set[str], passage: str) -> bool:
    """Every job title word the question names ("prime minister") is in the passage."""
    wanted = {stem(w) for w in _ROLE_WORD_LIST} & question_stems
    return wanted <= {stem(w) for w in words(passage)}


def _lists_names(text: str) -> bool:
    return bool(re.search(r"[A-Z][\w-]+,\s+[A-Z][\w-]+,?\s+(and\s+)?[A-Z][\w-]+", text))


_ROLE_WORD_LIST = (
    "prime foreign defence defense deputy vice secretary general president minister chairman "
    "chairwoman spokesman spokeswoman spokesperson ambassador commander chief director ceo "
    "founder mayor governor king queen"
).split()
_EARLIER = re.compile(
    r"\b(previous|former|past|earlier|original|outgoing|first|predecessor|last)\b"
)
_LATER = re.compile(r"\b(next|new|upcoming|future|incoming|coming|successor)\b")


def contradicts_in_time(question: str, passage: str) -> bool:
    """The passage is about another instance of what the question asks about.

    Either the question asks about an earlier one ("the previous Secretary
    General") but the passage speaks only of a later one ("the new ..."), or the
    reverse; or the question asks plainly about a thing ("Where was the summit
    held?") that the passage only ever mentions with a qualifier the question
    lacks ("the next summit").
    """
    q, p = normalise(question).casefold(), normalise(passage).casefold()
    for asked, other in ((_EARLIER, _LATER), (_LATER, _EARLIER)):
        if asked.search(q) and not asked.search(p) and other.search(p):
            return True
    if _EARLIER.search(q) or _LATER.search(q):
        return False
    for term in {stem(w) for w in words(q)} - _QUALIFIER_STEMS:
        mentions = [m for m in re.finditer(r"[\w'-]+", p) if stem(m.group(0)) == term]
        if mentions and all(
            _QUALIFIED.search(p[max(0, m.start() - 12) : m.start()]) for m in mentions
        ):
            return True
    return False


_QUALIFIED = re.compile(r"\b(next|previous|former|last|upcoming|coming|new|future|past)\s+$")
_QUALIFIER_STEMS = {
    stem(w) for w in "next previous former last upcoming coming new future past".split()
}


def type_evidence(answer_type: AnswerType, passage: str, question_stems: set[str]) -> bool:
    """Does `passage` hold something of the expected type that the question lacks?"""
    text = normalise(passage)
    new_names = [n for n in proper_nouns(text) if stem(n) not in question_stems]
    if answer_type is AnswerType.DATE:
        return bool(_DATE.search(text))
    if answer_type is AnswerType.NUMBER:
        # "How many countries attended?" is answered by the list of them.
        return bool(_NUMBER.search(text)) or _lists_names(text)
    if answer_type is AnswerType.PERSON:
        return any(
            not ({stem(w) for w in name.split()} & question_stems) for name in person_names(text)
        ) and _roles_match(question_stems, text)
    if answer_type is AnswerType.ENTITY:
        return bool(new_names)
    if answer_type is AnswerType.PLACE:
        return any(stem(m.group(3)) not in question_stems for m in _LOCATIVE.finditer(text))
    if answer_type is AnswerType.ACRONYM:
        # The acronym the question asks about, in brackets after its expansion.
        return any(stem(m.group(1)) in question_stems for m in _EXPANSION.finditer(text))
    if answer_type is AnswerType.LIST:
        return bool(_ENUMERATION.search(text))
    if answer_type is AnswerType.REASON:
        return bool(_REASON.search(text))
    return True
