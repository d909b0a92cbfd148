"""Check what enters before any work: a question, a conversation message, an upload's text.

One measure of size for all of them: the characters of text they carry. A message's
content may come in any shape Gradio or OpenAI clients send (a string, a dict with
``"text"``, a list of parts, file or component messages, which carry no text);
`carried_text` reads every shape the same way and stops, with `TooMuchText`, as soon as
the count passes the limit, so megabytes are never read, tokenised or searched just to be
refused. Bad input fails in microseconds with a message that says what to do.
"""

from __future__ import annotations

from qa_bot.errors import EmptyQuestionError, QuestionError, QuestionTooLongError, QuestionTypeError
from qa_bot.normalise import normalise
from qa_bot.tokens import count_tokens

# A token is at least one character and rarely more than 16: past this many characters a
# question is refused without being tokenised.
CHARS_PER_TOKEN_BOUND = 16


class TooMuchText(ValueError):
    """`carried_text` counted more than its limit; `size` is the count when it stopped."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size:,} characters")
        self.size = size


def carried_text(content: object, *, limit: int) -> str:
    """The text a message's content carries, if it is at most `limit` characters.

    A string is its own text; a dict carries the text under its ``"text"`` key (Gradio's
    multimodal ``{"text", "files"}``, OpenAI's ``{"type": "text", "text"}`` parts); a list
    carries its parts' texts, joined by spaces; a number its digits; anything else (file
    and component messages, ``None``) none. Every part and dict also counts one character,
    so a list of a million empty parts is refused as quickly as a million characters.
    Unpaired surrogates come back as "?". The walk is a loop over an explicit stack (no
    recursion) and stops at the limit.
    """
    pieces: list[str] = []
    size = 0
    stack: list[object] = [content]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item)
            pieces.append(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, (int, float)):
            pieces.append(str(item))
            size += len(pieces[-1])
        elif isinstance(item, dict):
            size += 1
            if "text" in item:
                stack.append(item["text"])
        elif isinstance(item, (list, tuple)):
            size += len(item)
            if size > limit:
                raise TooMuchText(size)
            stack.extend(reversed(item))
        if size > limit:
            raise TooMuchText(size)
    text = " ".join(piece for piece in pieces if piece)
    # An earlier message is context, not something to refuse: a lone surrogate in it (which
    # no tokenizer accepts) becomes "?", where a question's own would be refused.
    return text.encode("utf-8", "replace").decode("utf-8")


def validate_question(question: object, *, max_tokens: int) -> str:
    """Return the question stripped, or raise a `QuestionError` saying what to fix."""
    if not isinstance(question, str):
        raise QuestionTypeError(
            f"The question must be text (str), not {type(question).__name__}. "
            "Pass the question as a string."
        )
    # Cheap length guard first: never tokenise megabytes just to reject them.
    if len(question) > max_tokens * CHARS_PER_TOKEN_BOUND:
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
