"""What kind of answer a question expects: a person, a place, a date, a number, a list, ...

"who" wants a name, "when" a date, "how many" a number. The answerers use it to phrase and
check answers; `typed_names` and `answer_category` read what the question itself names.
"""

from __future__ import annotations

import re
from enum import Enum

from qa_bot.answering.asking import core_question, fix_wh_typo
from qa_bot.lexicon import STOPWORDS, words
from qa_bot.normalise import normalise


class AnswerType(str, Enum):
    PERSON = "person"  # a named person
    ENTITY = "entity"  # "who": a person, country or organisation
    PLACE = "place"
    DATE = "date"
    NUMBER = "number"
    LIST = "list"
    YESNO = "yes/no"
    REASON = "reason"
    ACRONYM = "acronym"  # "what does CSTO stand for?"
    SUMMARY = "summary"
    OTHER = "other"


_SUMMARY = re.compile(
    r"\b(summar(y|ise|ize)|main (point|points|topic|idea|focus|takeaway)s?|gist|overview|tl;?dr|"
    r"(what|what's|whats)( is| was)? (this|the) "
    r"(article|story|piece|text|report|news)( all)? about|"
    r"what (does|did) (this|the) (article|story|piece|report) (say|cover|report))\b(?! about)"
)
_YESNO = re.compile(
    r"^(is|are|was|were|did|does|do|has|have|had|will|would|can|could|should|shall|may|might)\b"
)
_AUXILIARIES = {"is", "are", "was", "were", "did", "does", "do", "has", "have", "had", "will"}


_ROLES = (
    r"(prime minister|president|secretary[- ]general|secretary|leader|head|chair|chairman|"
    r"chairwoman|spokes(man|woman|person)|minister|foreign minister|ambassador|commander|"
    r"chief|director|ceo|founder|mayor|governor|king|queen)"
)


def expected_type(question: str) -> AnswerType:
    q = normalise(core_question(question)).casefold()
    q = re.sub(r"^(and|but|so|also|then|ok|okay|now|well)[, ]+", "", q)
    q = fix_wh_typo(q)
    if _SUMMARY.search(q):
        return AnswerType.SUMMARY
    if re.search(r"\bwhat (does|did|do) [\w.'-]+ stand for\b|\bwhat is [\w.'-]+ short for\b", q):
        return AnswerType.ACRONYM
    if re.search(
        r"\bhow (many|much|long|old|big|large|far)\b|"
        r"\bwhat (is |was |are |were |will be )?(the |its |their )?(total )?(number|percentage|"
        r"share|proportion|amount|size|range|cost|price|budget|population|value|length|"
        r"duration|speed|capacity|strength|distance|weight|height)\b",
        q,
    ):
        return AnswerType.NUMBER
    if re.search(r"\bwhen\b|\b(what|which) (date|day|year|month|time|week)\b|\bhow soon\b", q):
        return AnswerType.DATE
    if re.search(
        r"\bwhy\b|\bfor what (reason|purpose)\b"
        r"|\bwhat (is|was|were|are) the (aim|purpose|goal|reason)",
        q,
    ):
        return AnswerType.REASON
    if re.search(r"\bwhere\b|\b(which|what) (city|town|capital|place|venue|location)\b", q):
        return AnswerType.PLACE
    if re.search(
        r"\b(which|what) (countries|nations|states|members|leaders|documents|topics|"
        r"issues|things|measures|steps|items|areas|officials|organisations|organizations)\b"
        r"|\b(list|name) (the|all)\b|\binclud(e|es|ed|ing)\b",
        q,
    ):
        return AnswerType.LIST
    if re.search(
        r"\b(who|whom|whose)\b|\b(which|what) (person|official|leader|minister|president|"
        r"country|nation|state|organisation|organization|body|agency|man|woman)\b",
        q,
    ):
        asks_for_a_person = (
            r"\bwho (is|was|will be|has been|would be|becomes|became) (the |its |their |[\w-]+'s )?"
            r"(new |next |current |previous |former |deputy |foreign |prime )*"
            + _ROLES
            + r"|\b(which|what) (person|official|man|woman)\b"
            r"|\bwhat is the name of\b|\bwho is named\b"
            r"|\b(name|names) of the " + _ROLES
        )
        if re.search(asks_for_a_person, q):
            return AnswerType.PERSON
        return AnswerType.ENTITY
    first = q.split(" ", 1)[0] if q else ""
    if _YESNO.match(q) or first in _AUXILIARIES:
        return AnswerType.YESNO
    return AnswerType.OTHER


def typed_names(question: str) -> list[str]:
    """Capitalised words after the first: what the user wrote as proper nouns."""
    tokens = words(question)
    return [t for i, t in enumerate(tokens) if i > 0 and t[:1].isupper() and len(t) > 1]


_CATEGORY = re.compile(r"\b(?:which|what)\s+(?:kind of |type of |sort of )?([a-z][a-z-]+)")


def answer_category(question: str) -> str | None:
    """The noun that names what the answer is ("which *country* ...").

    The answer is an instance of it (Armenia), so the passage need not contain
    the word itself; matching requires the rest of the question.
    """
    match = _CATEGORY.search(normalise(question).casefold())
    if not match:
        return None
    word = match.group(1)
    if word in STOPWORDS or word in _AUXILIARIES or word in {"else", "exactly"}:
        return None
    return word
