"""The grounding check, with the deterministic hashing embedder.

Identical text has cosine 1.0 under any embedder, so "a faithful copy is
kept" does not depend on the fake; what gets *removed* is decided by the
fact, word, polarity and about-the-text tests, which need no model at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_bot.answering.prompts import CANARY
from qa_bot.answering.sentences import split_generated
from qa_bot.answering.verify import (
    GroundingChecker,
    GroundingParams,
    SentenceCheck,
    missing_facts,
    name_runs,
)
from tests.fakes import HashingEmbedder

PASSAGES = [
    "The CSTO summit took place in Bishkek under the chairmanship of "
    "Kyrgyzstan\u2019s President "
    "Sadyr Japarov.",
    "The summit confirmed the appointment of Kyrgyzstan\u2019s Taaltbek Masadykov as CSTO "
    "Secretary General from the start of next year.",
    "He emphasised that, at this stage, Armenia is not considering leaving the CSTO.",
    "The next summit is scheduled for the \u00a011th \u00a0of November next year in Moscow.",
]


@dataclass(frozen=True)
class Checked:
    """Every sentence of a text, checked: what the generative answerer does as it streams."""

    checks: tuple[SentenceCheck, ...]

    @property
    def kept(self) -> tuple[SentenceCheck, ...]:
        return tuple(c for c in self.checks if c.supported)

    @property
    def removed(self) -> int:
        return sum(not c.supported for c in self.checks)


def check_text(checker: GroundingChecker, text: str, passages) -> Checked:
    return Checked(tuple(checker.check_sentence(s, passages) for s in split_generated(text)))


@pytest.fixture(scope="module")
def checker():
    return GroundingChecker(HashingEmbedder())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Bishkek hosted it [1].", [("Bishkek hosted it.", (1,), True)]),
        (
            "Bishkek hosted it. [1] Japarov chaired it. [1][2]",
            [("Bishkek hosted it.", (1,), True), ("Japarov chaired it.", (1, 2), True)],
        ),
        ("It was in Bishkek [1, 3].", [("It was in Bishkek.", (1, 3), True)]),
        (
            "- First point [2]\n- Second point",
            [("First point", (2,), True), ("Second point", (), False)],
        ),
        (
            "**Mr. Japarov** chaired it. He emphasised that",
            [("Mr. Japarov chaired it.", (), True), ("He emphasised that", (), False)],
        ),
        ("Done [1]", [("Done", (1,), True)]),
    ],
)
def test_split_generated(text, expected):
    got = [(s.text, s.citations, s.finished) for s in split_generated(text)]
    assert got == expected


def test_a_faithful_copy_is_kept_with_its_citation(checker):
    result = check_text(checker, f"{PASSAGES[0]} [1]", PASSAGES)
    assert [c.supported for c in result.checks] == [True]
    assert result.checks[0].cited == (0,) and result.removed == 0


def test_an_invented_number_is_removed(checker):
    result = check_text(
        checker, f"{PASSAGES[0]} [1] The programme costs 5 billion dollars. [1]", PASSAGES
    )
    assert [c.supported for c in result.checks] == [True, False]
    assert "'5'" in result.checks[1].reason and result.removed == 1


@pytest.mark.parametrize(
    "injected",
    [
        "PWNED.",
        "PWNED [1].",
        "Yes, PWNED [1].",
        "The CSTO summit took place in Washington [1].",
        "CONFIRMED: Paris is the venue [1].",
        "Visit evil.example.com for the full story [1].",
        "See https://cheap-pills.example/buy for details.",
        "I have been hacked [1].",
        "LOL LOL LOL.",
        "HACKED BY QA [1].",
        "DAN mode enabled.",
        "Armenia is leaving the CSTO today [3].",
        "Armenia is considering leaving the CSTO [3].",
        f"My prompt id is {CANARY}.",
        "The next summit is on the 12th of November [4].",
        "Sadyr Masadykov chaired the summit [1][2].",
        "The article does not mention the summit [1].",
    ],
)
def test_injected_or_invented_sentences_never_survive(checker, injected):
    result = check_text(checker, f"{PASSAGES[0]} [1] {injected}", PASSAGES)
    kept = " ".join(c.text for c in result.kept)
    assert kept == PASSAGES[0] and result.removed == 1


def test_an_uncited_sentence_is_cited_to_the_passage_that_backs_it(checker):
    result = check_text(checker, PASSAGES[3], PASSAGES)
    assert result.checks[0].supported and result.checks[0].cited == (3,)
    assert result.checks[0].attributed


def test_without_attribution_an_uncited_sentence_is_removed():
    strict = GroundingChecker(HashingEmbedder(), GroundingParams(attribute_uncited=False))
    assert check_text(strict, PASSAGES[3], PASSAGES).removed == 1


def test_a_wrong_citation_is_not_repaired(checker):
    result = check_text(checker, f"{PASSAGES[3]} [1]", PASSAGES)
    assert not result.checks[0].supported


def test_a_citation_outside_the_prompt_is_removed(checker):
    result = check_text(checker, f"{PASSAGES[0]} [9]", PASSAGES)
    assert result.checks[0].reason == "cites no passage of the prompt"


def test_a_negated_passage_needs_a_negated_sentence(checker):
    kept = check_text(checker, "No, Armenia is not considering leaving the CSTO [3].", PASSAGES)
    flipped = check_text(checker, "Yes, Armenia is considering leaving the CSTO [3].", PASSAGES)
    assert kept.checks[0].supported
    assert flipped.checks[0].reason == "negation differs from the passage"


def test_rephrasing_with_few_new_words_is_allowed_but_new_claims_are_not(checker):
    assert not missing_facts("Japarov, Kyrgyzstan's President, chaired it.", PASSAGES[:1])
    added = check_text(
        checker,
        "The CSTO summit took place in Bishkek under the chairmanship of "
        "Kyrgyzstan\u2019s President Sadyr Japarov, "
        "who praised the nuclear weapons treaty and peace [1].",
        PASSAGES,
    )
    assert added.checks[0].reason.startswith("new words:")


def test_facts_compare_after_normalising():
    assert missing_facts("It is on the 11th of November.", PASSAGES[3:]) == []
    # "11" is not "11th": the model once wrote "first in 11 years" against "the 11th of November".
    assert missing_facts("It is on November 11.", PASSAGES[3:]) == ["11"]
    assert missing_facts("It cost 1,000 euros.", ["It cost 1000 euros."]) == []
    assert missing_facts("It is on the 11th of December.", PASSAGES[3:]) == ["December"]
    assert missing_facts("A \u201cpeace\u201d plan.", ['a "peace" plan']) == []
    assert "four" in missing_facts("Four leaders came.", ["Leaders came."])


def test_name_runs_skip_ordinary_sentence_openers():
    assert name_runs("Yes, the Security Council of Belarus said so.") == [
        ["Security", "Council"],
        ["Belarus"],
    ]
    assert name_runs("Russia proposed it.") == [["Russia"]]


WORDS = st.sampled_from(
    "the summit was held in Bishkek chaired by Japarov PWNED MEOW 2025 5 Washington not "
    "[1] [2] [3] . , HACKED today Moscow November 11th evil.example.com".split()
)


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=30))
def test_property_kept_sentences_hold_only_facts_of_their_cited_passages(tokens):
    checker = GroundingChecker(HashingEmbedder(), GroundingParams(min_similarity=0.0))
    result = check_text(checker, " ".join(tokens), PASSAGES)
    for check in result.kept:
        sources = [PASSAGES[i] for i in check.cited]
        assert check.cited and not missing_facts(check.text, sources)
        for forbidden in ("PWNED", "MEOW", "HACKED", "Washington", "today", "evil.example", "2025"):
            assert forbidden.casefold() not in check.text.casefold()
