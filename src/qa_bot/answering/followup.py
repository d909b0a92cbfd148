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
    """(role, text) pairs from OpenAI/Gradio-style messages; raises HistoryError."""
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
        pairs.append((role, _content_text(message["content"])))
    return pairs


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):  # Gradio file/component messages carry no question text
        return str(content.get("text", ""))
    if isinstance(content, (list, tuple)):
        return " ".join(_content_text(part) for part in content)
    return "" if content is None else str(content)


def is_followup(question: str) -> bool:
    if _LEADS.match(question):
        return True
    tokens = {w.casefold() for w in words(question)}
    own = content_stems(question)
    return len(own) == 0 or (bool(tokens & _REFERRING) and len(own) <= 2)


def check_history_size(history: Sequence[Any] | None, *, max_messages: int, max_chars: int) -> None:
    """Refuse a conversation too long to be a chat, before reading any of it.

    A 32 MB "previous answer" or thousands of messages would hold the one answering
    thread for seconds; the limits are far above what a chat in the UI reaches.
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
        size = len(content) if isinstance(content, (str, list, tuple)) else 0
        if isinstance(content, (list, tuple)):
            size = sum(len(str(part)) for part in content)
        if size > max_chars:
            raise HistoryError(
                f"history[{position}] is {size:,} characters long; the limit is "
                f"{max_chars:,}. Send shorter messages (QA_BOT_MAX_HISTORY_CHARS)."
            )


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
        search_query=f"{core} {previous.search_query}",
        answer_type=answer_type,
        is_followup=True,
        previous_query=previous.search_query,
    )
