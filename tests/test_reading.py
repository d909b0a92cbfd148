"""The reading answerer's decisions: three answer states, multi-part questions, context
sentences. A scripted reader (a real `Reader` subclass with rule-made logits) stands in for
the model, so each test states exactly what the reader thinks; the retrieval, the chunk table
and the answer building are the product's own."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa_bot.answering.answerers.reading import (
    MAX_QUESTION_PARTS,
    UNSURE_TEXT,
    ReadingAnswerer,
    ReadingParams,
    question_parts,
)
from qa_bot.answering.calibration import Calibrator
from qa_bot.types import ANSWERED, NOT_FOUND, UNSURE, Answer
from tests.fakes import ScriptedReader

# The calibrator is the reader's own probability here (confidence = sigmoid(top logit)).
PARAMS = ReadingParams(
    candidates=32,
    first_read=8,
    calibrator=Calibrator({"top_logit": 1.0}, 0.0),
    answer_at=0.7,
    unsure_at=0.3,
    context_at=0.3,
)


def rule(scores: dict[str, float], default: float = -4.0):
    """Logit `scores[word]` for a candidate containing `word` (the first one found), else
    `default`; the question is ignored unless the key has the form "question|word"."""

    def logit(question: str, candidate: str) -> float:
        for key, value in scores.items():
            asked, _, word = key.rpartition("|")
            if word in candidate and (not asked or asked.casefold() in question.casefold()):
                return value
        return default

    return logit


def ask(engine, scores, question, params=PARAMS, history=None) -> tuple[Answer, ScriptedReader]:
    reader = ScriptedReader(rule(scores))
    engine.install_answerer("extractive", ReadingAnswerer(reader=reader, params=params))
    return engine.answer(question, history), reader


def test_a_confident_answer_is_quoted_and_cited(engine):
    answer, _ = ask(engine, {"took place in Bishkek": 4.0}, "Where was the summit held?")
    assert answer.status == ANSWERED and not answer.abstained
    assert answer.text.startswith("The CSTO summit took place in Bishkek") and "[1]" in answer.text
    assert answer.sources[0].text.startswith("The CSTO summit took place in Bishkek")


def test_a_plausible_passage_is_shown_as_unsure(engine):
    # sigmoid(0) = 0.5: above unsure_at (0.3), below answer_at (0.7).
    answer, _ = ask(engine, {"Masadykov": 0.0}, "Who will chair the next summit?")
    assert answer.status == UNSURE and answer.abstained
    assert answer.text.startswith(UNSURE_TEXT)
    assert "Masadykov" in answer.text and answer.text.endswith("[1]")
    assert len(answer.sources) == 1 and "Masadykov" in answer.sources[0].text


def test_nothing_likely_is_not_found(engine):
    answer, _ = ask(engine, {}, "Who is the director of the summit's catering?")
    assert answer.status == NOT_FOUND and answer.abstained and not answer.sources
    assert "doesn't say" in answer.text
    assert answer.passages  # what was considered is still shown


def test_a_two_part_question_answers_the_part_it_can_and_names_the_other(engine):
    scores = {"where was|took place in Bishkek": 4.0}
    answer, _ = ask(engine, scores, "Where was the summit held, and who paid for the catering?")
    assert answer.status == ANSWERED
    assert "took place in Bishkek" in answer.text
    assert "The article doesn't say: who paid for the catering?" in answer.text


def test_a_part_whose_best_sentence_is_already_quoted_is_not_called_missing(engine):
    # The whole question's sentence is also the best for the second part, though not a sure
    # one: the quote may well answer it, so the answer doesn't claim the article is silent.
    scores = {"where was|took place in Bishkek": 4.0, "took place in Bishkek": -1.0}
    answer, _ = ask(engine, scores, "Where was the summit held, and who hosted it?")
    assert "took place in Bishkek" in answer.text and "doesn't say" not in answer.text


def test_a_framing_phrase_is_not_a_part_of_its_own():
    assert question_parts("According to the EC, which body will adopt the draft?") == []
    assert question_parts("Who won, and by how much?") == ["Who won?", "by how much?"]


def test_both_parts_answered_quote_both_sentences(engine):
    scores = {"where was|took place in Bishkek": 4.0, "who will be|Masadykov": 4.0}
    answer, _ = ask(
        engine, scores, "Where was the summit held and who will be the new secretary general?"
    )
    assert "took place in Bishkek" in answer.text and "Masadykov" in answer.text
    assert "doesn't say" not in answer.text and len(answer.sources) == 2


def test_a_question_of_many_clauses_costs_at_most_three_part_reads(engine):
    clauses = ", ".join("who came" for _ in range(68))  # under the 256-token question limit
    assert len(question_parts(clauses)) == MAX_QUESTION_PARTS
    _, reader = ask(engine, {}, clauses + "?")
    # The whole question (nothing certain: read to the end), then three parts: at most
    # three whole reads' worth of pairs, with the shipped settings too.
    assert reader.pairs_scored <= 3 * PARAMS.candidates
    shipped = ReadingParams.load()
    _, reader = ask(engine, {}, clauses + "?", params=shipped)
    assert reader.pairs_scored <= 3 * shipped.candidates


def test_a_pronoun_alone_does_not_pull_in_the_sentence_before(engine):
    # "He emphasised ..." opens with a reference; the sentence before (Safaryan explained...)
    # joins only when the reader finds it relevant too.
    scores = {"not considering leaving": 4.0}
    answer, _ = ask(engine, scores, "Is Armenia leaving the CSTO?")
    assert len(answer.sources) == 1 and "not considering leaving" in answer.text
    scores = {"not considering leaving": 4.0, "Safaryan explained": 1.0}
    answer, _ = ask(engine, scores, "Is Armenia leaving the CSTO?")
    assert [s.text[:14] for s in answer.sources] == ["Deputy Foreign", "He emphasised "]
    # Each sentence is cited with its own probability, not the quote's.
    assert answer.sources[0].score < answer.sources[1].score


def test_a_certain_first_read_stops_early_otherwise_it_reads_deeper(engine):
    _, reader = ask(engine, {"took place in Bishkek": 9.0}, "Where was the summit held?")
    assert reader.pairs_scored <= PARAMS.first_read
    _, reader = ask(engine, {}, "Where was the summit held?")
    assert reader.pairs_scored > PARAMS.first_read


def test_a_follow_up_is_read_with_the_question_it_follows(engine):
    history = [
        {"role": "user", "content": "Who chaired the summit?"},
        {"role": "assistant", "content": "Sadyr Japarov."},
    ]
    seen = []
    reader = ScriptedReader(lambda q, c: seen.append(q) or (4.0 if "Russia will" in c else -4))
    engine.install_answerer("extractive", ReadingAnswerer(reader=reader, params=PARAMS))
    answer = engine.answer("And who chairs the next one?", history)
    assert "Russia will once again preside" in answer.text
    assert any("Who chaired the summit" in q for q in seen)


@pytest.mark.parametrize(
    ("abstained", "status", "expected"),
    [
        (False, "", ANSWERED),
        (False, UNSURE, ANSWERED),  # not abstaining is answering
        (True, "", NOT_FOUND),
        (True, ANSWERED, NOT_FOUND),
        (True, UNSURE, UNSURE),
    ],
)
def test_status_always_agrees_with_abstained(abstained, status, expected):
    answer = Answer(text="x", abstained=abstained, status=status)
    assert answer.status == expected
    assert replace(answer, abstained=not abstained).status == (ANSWERED if abstained else NOT_FOUND)


def test_a_lone_sentence_is_measured_against_the_no_answer_slot():
    from qa_bot.answering.answer_types import AnswerType
    from qa_bot.answering.calibration import signals

    def margin(logits):
        found = signals(
            logits=logits, dense=[0.5] * len(logits), best=0, answer_type=AnswerType.OTHER,
            sentence="It rained.", question="Who won?", typed="Who won?",
            vocabulary=frozenset(),
        )  # fmt: skip
        return found["margin"]

    assert margin([-1.5]) == -1.5  # alone, and below "no answer": no lead at all
    assert margin([2.0, -1.0]) == 3.0
