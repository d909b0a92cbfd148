"""Check a question before any model work: text, not empty, not too long.

Bad input fails in microseconds with a message that says what to do; the cheap length guard
runs before tokenising, so megabytes are never tokenised just to be rejected.
"""

from __future__ import annotations

from qa_bot.errors import EmptyQuestionError, QuestionError, QuestionTooLongError, QuestionTypeError
from qa_bot.normalise import normalise
from qa_bot.tokens import count_tokens


def validate_question(question: object, *, max_tokens: int) -> str:
    """Return the question stripped, or raise a `QuestionError` saying what to fix."""
    if not isinstance(question, str):
        raise QuestionTypeError(
            f"The question must be text (str), not {type(question).__name__}. "
            "Pass the question as a string."
        )
    # Cheap length guard first: never tokenise megabytes just to reject them.
    if len(question) > max_tokens * 16:
        raise QuestionTooLongError(tokens=len(question) // 4, limit=max_tokens)
    cleaned = question.strip()
    if not normalise(cleaned):
        raise EmptyQuestionError("The question is empty. Type a question about the article.")
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QuestionError(
            "The question contains invalid characters (unpaired surrogates). "
            "Retype it or paste it as plain text."
        ) from exc
    tokens = count_tokens(cleaned)
    if tokens > max_tokens:
        raise QuestionTooLongError(tokens=tokens, limit=max_tokens)
    return cleaned
