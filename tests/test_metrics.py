"""The metrics on known inputs: each case's score is worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa_bot.eval import metrics as m

CHAIR = "The CSTO summit took place in Bishkek under the chairmanship of Kyrgyzstan’s President."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Quick, brown fox!", "quick brown fox"),
        ("An apple a day", "apple day"),
        ("Theatre; the end.", "theatre end"),
        ("", ""),
    ],
)
def test_squad_normalise(text, expected):
    assert m.squad_normalise(text) == expected


def test_strip_markers_removes_citations_and_their_space():
    assert m.strip_markers("Bishkek [1] and Moscow [2][3].") == "Bishkek and Moscow."


@pytest.mark.parametrize(
    ("prediction", "reference", "f1"),
    [
        ("Bishkek [1]", "bishkek.", 1.0),
        # 5 predicted tokens (summit was held in bishkek), 1 reference token, 1 shared:
        # P = 1/5, R = 1, F1 = 2 * 0.2 / 1.2.
        ("The summit was held in Bishkek [1].", "Bishkek", 2 * 0.2 / 1.2),
        # 2 of the 3 predicted tokens are in the reference: P = 2/3, R = 2/2, F1 = 0.8.
        ("Russia, Moscow, next", "Moscow Russia", 2 * (2 / 3) * 1 / (2 / 3 + 1)),
        ("Paris", "Bishkek", 0.0),
        ("", "Bishkek", 0.0),
        ("", "", 1.0),
    ],
)
def test_token_f1(prediction, reference, f1):
    assert m.token_f1(prediction, reference) == pytest.approx(f1)


def test_exact_match_uses_squad_normalisation_and_ignores_markers():
    assert m.exact_match("The Bishkek [1]", "bishkek!") == 1.0
    assert m.exact_match("In Bishkek [1]", "Bishkek") == 0.0


def test_contains_evidence_folds_quotes_case_and_spaces():
    evidence = "under the chairmanship of Kyrgyzstan's President"
    assert m.contains_evidence(CHAIR, evidence)
    assert m.contains_evidence(CHAIR.upper().replace(" ", "  "), evidence)
    assert not m.contains_evidence("Leaders from Russia attended.", evidence)


def test_a_passage_that_is_most_of_a_long_evidence_item_counts():
    evidence = "first half of a long sentence, second half of it"
    assert m.contains_evidence("first half of a long sentence,", evidence)  # >= half
    assert not m.contains_evidence("first half", evidence)  # a fragment does not


def test_recall_at_k_and_reciprocal_rank():
    passages = ["Leaders from Russia attended.", CHAIR, "The next summit is in Moscow."]
    evidence = ["took place in Bishkek", "next summit is in Moscow"]
    assert m.recall_at_k(passages, evidence, 1) == 0.0
    assert m.recall_at_k(passages, evidence, 2) == 0.5
    assert m.recall_at_k(passages, evidence, 3) == 1.0
    assert m.reciprocal_rank(passages, evidence) == 0.5
    assert m.reciprocal_rank(passages[:1], evidence) == 0.0
    assert m.first_relevant_rank(passages, evidence[1:]) == 3
    assert m.recall_at_k(passages, [], 3) == 0.0


def test_citation_precision():
    assert m.citation_precision([CHAIR, "Leaders from Russia attended."], ["in Bishkek"]) == 0.5
    assert m.citation_precision([CHAIR], ["in Bishkek"]) == 1.0
    assert m.citation_precision([], ["in Bishkek"]) is None


def test_claims_end_at_their_citation_markers():
    assert m.claims("One. Two [1] Three [2][3] Four") == [
        ("One. Two", (1,)),
        ("Three", (2, 3)),
        ("Four", ()),
    ]
    assert m.claims("Only text.") == [("Only text.", ())]


def test_sentences_split_after_terminal_punctuation():
    assert m.sentences('He said "yes." Then he left! Why? ') == [
        'He said "yes."',
        "Then he left!",
        "Why?",
    ]


def test_faithfulness_counts_verbatim_sentences_as_supported():
    answer = f"{CHAIR} [1]"
    assert m.faithfulness_counts(answer, [CHAIR]) == (1, 1)
    # A citation covers every sentence since the previous one.
    two = "Leaders attended. The summit was in Bishkek."
    assert m.faithfulness_counts(f"{two} [1]", [two]) == (2, 2)


def test_faithfulness_accepts_reordered_content_words():
    # Every content token (bishkek, csto, summit, took, place) is in the cited text.
    assert m.faithfulness_counts("In Bishkek the CSTO summit took place [1].", [CHAIR]) == (1, 1)


def test_faithfulness_rejects_uncited_unsupported_and_dangling_citations():
    assert m.faithfulness_counts(CHAIR, [CHAIR]) == (0, 1)  # no marker: no support
    assert m.faithfulness_counts("The summit was in Paris [1].", [CHAIR]) == (0, 1)
    assert m.faithfulness_counts(f"{CHAIR} [2]", [CHAIR]) == (0, 1)  # [2] points nowhere
    assert m.faithfulness_counts(f"{CHAIR} [1] Paris is lovely.", [CHAIR]) == (1, 2)


@pytest.mark.parametrize(("missing", "supported"), [(1, True), (2, False)])
def test_faithfulness_threshold_is_ninety_percent_of_content_tokens(missing, supported):
    words = [f"word{i}" for i in range(10)]
    source = " ".join(words[missing:])
    sentence = " ".join(reversed(words))  # not a substring, so only the token share counts
    assert m.sentence_supported(sentence, [source]) is supported


def test_percentile_matches_hand_values():
    assert m.percentile([1, 2, 3, 4], 50) == 2.5
    assert m.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert m.percentile([7], 95) == 7
    assert m.percentile([], 50) is None


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_agrees_with_numpy(values, q):
    assert m.percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-6)


def test_abstention_scores_treat_abstaining_as_the_positive_class():
    # abstained:     yes  yes   no   no
    # unanswerable:  yes  no    yes  no   -> tp 1, fp 1, fn 1
    scores = m.abstention_scores([True, True, False, False], [True, False, True, False])
    assert (scores["tp"], scores["fp"], scores["fn"]) == (1, 1, 1)
    assert scores["precision"] == scores["recall"] == scores["f1"] == 0.5
    never = m.abstention_scores([False, False], [True, False])
    assert never["precision"] is None and never["recall"] == 0.0


def test_mean_and_ratio_skip_undefined_values():
    assert m.mean([1.0, None, 0.0]) == 0.5
    assert m.mean([None]) is None
    assert m.ratio(1, 0) is None


def test_saying_the_article_does_not_say_is_not_a_claim():
    answer = f"{CHAIR} [1] The article doesn't say: who paid for the catering?"
    assert m.faithfulness_counts(answer, [CHAIR]) == (1, 1)
    # Anything else uncited still counts against the answer.
    assert m.faithfulness_counts(f"{CHAIR} [1] Paris paid for it.", [CHAIR]) == (1, 2)
