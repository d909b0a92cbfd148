"""Turn a follow-up question into a self-contained search query.

"And who chairs the next one?" cannot be retrieved on its own words: "one"
means "summit" from the previous question. Without an LLM to rewrite it, we
detect follow-ups (a leading "and"/"what about", a pronoun with few content
words of its own) and search with the question plus the last self-contained
user question. The answer type comes from the follow-up when it has one
("who"), else from the question it follows ("What about the next one?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from qa_bot.answering.answer_types import AnswerType, expected_type
from qa_bot.answering.asking import core_question
from qa_bot.answering.validation import TooMuchText, carried_text
from qa_bot.errors import HistoryError
from qa_bot.lexicon import content_stems, words

_LEADS = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|and what about|what else|anything else|"
    r"same for|and the|and for)\b",
    re.IGNORECASE,
)
_REFERRING = frozenset(
    "it its they them their theirs he him his she her hers that this those these there one ones "
    "same former latter".split()
)


NO_LIMIT = 1 << 62  # history_texts reads what check_history_size has already measured
# The longest search query a follow-up builds from the questions it follows: a question is
# at most 256 tokens (about 1,300 characters), so this keeps the follow-up whole and
# bounds what it borrows. Without it, earlier messages of 20,000 characters each were
# searched word by word inside the one answering slot.
MAX_QUERY_CHARS = 2_000


def capped(text: str, limit: int = MAX_QUERY_CHARS) -> str:
    """`text` cut to at most `limit` characters, at a space when there is one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut


@dataclass(frozen=True)
class ResolvedQuestion:
    question: str  # as the user typed it
    core: str  # the asking part of it, instructions around it dropped
    search_query: str  # what retrieval and term matching use
    answer_type: AnswerType
    is_followup: bool
    previous_answer: str = ""  # the last assistant message, for follow-ups
    previous_query: str = ""  # the earlier question(s) a follow-up borrows its topic from


def history_texts(history: Sequence[Any] | None) -> list[tuple[str, str]]:
    """(role, text) pairs from OpenAI/Gradio-style messages; raises HistoryError.

    Each message's text is read by `validation.carried_text`, the measure
    `check_history_size` applies, so what is checked is what is searched.
    """
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise HistoryError(
            "history must be a list of {'role': ..., 'content': ...} messages, "
            f"not {type(history).__name__}."
        )
    pairs = []
    for position, message in enumerate(history):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise HistoryError(
                f"history[{position}] must be a dict with 'role' and 'content' keys, "
                f"got {message!r:.80}."
            )
        role = message["role"]
        if role not in ("user", "assistant", "system"):
            raise HistoryError(
                f"history[{position}] has role {role!r}; use 'user', 'assistant' or 'system'."
            )
        pairs.append((role, carried_text(message["content"], limit=NO_LIMIT)))
    return pairs


def is_followup(question: str) -> bool:
    if _LEADS.match(question):
        return True
    tokens = {w.casefold() for w in words(question)}
    own = content_stems(question)
    return len(own) == 0 or (bool(tokens & _REFERRING) and len(own) <= 2)


def check_history_size(history: Sequence[Any] | None, *, max_messages: int, max_chars: int) -> None:
    """Refuse a conversation too long to be a chat, before reading any of it.

    A 32 MB "previous answer" or thousands of messages would hold the one answering
    thread for seconds; the limits are far above what a chat in the UI reaches. Every
    shape of message is measured by the text it carries (`carried_text`): a 5.5 MB
    ``{"text": ...}`` dict used to count as 0 characters and became the search query.
    """
    if not isinstance(history, (list, tuple)):
        return  # history_texts says what is wrong with it
    if len(history) > max_messages:
        raise HistoryError(
            f"The conversation has {len(history):,} messages; the limit is {max_messages}. "
            "Start a new chat, or send only the last few messages."
        )
    for position, message in enumerate(history):
        content = message.get("content") if isinstance(message, dict) else None
        try:
            carried_text(content, limit=max_chars)
        except TooMuchText as exc:
            size = f"{exc.size:,}" if isinstance(content, str) else f"more than {max_chars:,}"
            raise HistoryError(
                f"history[{position}] is {size} characters long; the limit is "
                f"{max_chars:,}. Send shorter messages (QA_BOT_MAX_HISTORY_CHARS)."
            ) from None


def resolve(question: str, history: Sequence[Any] | None) -> ResolvedQuestion:
    messages = history_texts(history)
    earlier = [text for role, text in messages if role == "user" and text.strip()]
    resolved = _resolve(question, earlier)
    if resolved.is_followup:
        replies = [text for role, text in messages if role == "assistant"]
        if replies:
            return replace(resolved, previous_answer=replies[-1])
    return resolved


# A follow-up of a follow-up borrows from the question before; further back than this, the
# topic has moved on (and a chain of thousands must not grow the query without end).
MAX_CHAIN = 3


def _resolve(question: str, earlier_questions: list[str]) -> ResolvedQuestion:
    """Walk back to the last self-contained question (at most `MAX_CHAIN` steps), then
    forward, each follow-up taking the topic of the one before: a loop, not recursion."""
    chain = [question]
    for text in reversed(earlier_questions):
        if not is_followup(core_question(chain[-1])) or len(chain) > MAX_CHAIN:
            break
        chain.append(text)
    resolved = _standalone(chain[-1])
    for text in reversed(chain[:-1]):
        resolved = _following(text, resolved)
    return resolved


def _standalone(question: str) -> ResolvedQuestion:
    core = core_question(question)
    return ResolvedQuestion(question, core, core, expected_type(core), False)


def _following(question: str, previous: ResolvedQuestion) -> ResolvedQuestion:
    core = core_question(question)
    if not is_followup(core):
        return _standalone(question)
    own_type = expected_type(core)
    answer_type = previous.answer_type if own_type is AnswerType.OTHER else own_type
    return ResolvedQuestion(
        question=question,
        core=core,
        search_query=capped(f"{core} {previous.search_query}"),
        answer_type=answer_type,
        is_followup=True,
        previous_query=capped(previous.search_query),
    )
