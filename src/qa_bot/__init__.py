"""qa-bot: grounded question answering over news articles.

    from qa_bot import answer
    a = answer("Where was the summit held?")
    a.text, a.sources, a.abstained

Importing this package is cheap: the heavy libraries (torch, chromadb,
llama-index) load on the first call that needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qa_bot.errors import QaBotError, QuestionError
from qa_bot.types import Answer, Source, StreamEvent

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qa_bot.config import Settings

__all__ = [
    "answer",
    "answer_stream",
    "Answer",
    "Source",
    "StreamEvent",
    "QaBotError",
    "QuestionError",
    "Settings",
]
__version__ = "0.1.0"


def answer(
    question: str, history: list[dict[str, Any]] | None = None, *, settings: Settings | None = None
) -> Answer:
    """Answer a question about the indexed articles; see `qa_bot.engine.answer`."""
    from qa_bot.engine import answer as _answer

    return _answer(question, history, settings=settings)


def answer_stream(
    question: str, history: list[dict[str, Any]] | None = None, *, settings: Settings | None = None
) -> Iterator[StreamEvent]:
    """Stream an answer: verified token events, then the final `Answer` event."""
    from qa_bot.engine import answer_stream as _answer_stream

    return _answer_stream(question, history, settings=settings)


def __getattr__(name: str):
    if name == "Settings":
        from qa_bot.config import Settings

        return Settings
    raise AttributeError(name)
