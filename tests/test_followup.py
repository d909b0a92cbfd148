import pytest

from qa_bot.answering.answer_types import AnswerType
from qa_bot.answering.followup import history_texts, is_followup, resolve
from qa_bot.errors import HistoryError

HISTORY = [
    {"role": "user", "content": "Who chaired the summit?"},
    {"role": "assistant", "content": "Sadyr Japarov chaired it. [1]"},
]


def test_followup_borrows_the_previous_question():
    resolved = resolve("And who chairs the next one?", HISTORY)
    assert resolved.is_followup
    assert "chaired the summit" in resolved.search_query
    assert resolved.answer_type is AnswerType.ENTITY


def test_followup_without_its_own_type_inherits_it():
    history = [
        {"role": "user", "content": "Where was the summit held?"},
        {"role": "assistant", "content": "In Bishkek."},
    ]
    assert resolve("and the next one?", history).answer_type is AnswerType.PLACE


def test_self_contained_question_is_left_alone():
    resolved = resolve("When is the next summit scheduled?", HISTORY)
    assert not resolved.is_followup
    assert resolved.search_query == "When is the next summit scheduled?"


def test_chains_of_followups_resolve_to_the_root():
    history = HISTORY + [
        {"role": "user", "content": "And the next one?"},
        {"role": "assistant", "content": "Russia."},
    ]
    assert "chaired the summit" in resolve("When is it?", history).search_query


@pytest.mark.parametrize(
    "question, expected",
    [
        ("And who chairs the next one?", True),
        ("What about Armenia?", True),
        ("When is it?", True),
        ("Where was the summit held?", False),
    ],
)
def test_is_followup(question, expected):
    assert is_followup(question) is expected


def test_gradio_style_content_parts_are_read():
    texts = history_texts([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    assert texts == [("user", "Hi")]


@pytest.mark.parametrize(
    "bad", ["not a list", [{"content": "x"}], [{"role": "robot", "content": "x"}]]
)
def test_malformed_history_is_a_clear_error(bad):
    with pytest.raises(HistoryError):
        resolve("Where?", bad)
