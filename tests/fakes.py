"""Test doubles: deterministic stand-ins for the heavy components.

`HashingEmbedder` (a real, documented embedder backend, `qa_bot.index.embeddings`)
is re-exported here for the tests that use it by this name.

`ScriptedLLM` is an `LLM` that replies from a queue: text, an exception to
raise (a dead server, a timeout), or text that breaks off with an exception.
It records every prompt it was sent, so tests check what the model saw
without patching anything.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from qa_bot.errors import LLMError
from qa_bot.index.embeddings import HashingEmbedder
from qa_bot.llm import LLM, Message

__all__ = ["HashingEmbedder", "Interrupted", "ScriptedLLM"]


@dataclass(frozen=True)
class Interrupted:
    """A scripted reply that yields `text`, then raises `error` (a stream cut off)."""

    text: str
    error: BaseException


Reply = str | BaseException | Interrupted | Callable[[Sequence[Message]], str]


class ScriptedLLM(LLM):
    """A deterministic chat model: each call takes the next scripted reply."""

    def __init__(
        self, replies: Sequence[Reply] = (), *, spec: str = "scripted", context_window: int = 2048
    ) -> None:
        self.replies: deque[Reply] = deque(replies)
        self.spec = spec
        self.context_window = context_window
        self.calls: list[list[Message]] = []

    def add(self, *replies: Reply) -> ScriptedLLM:
        self.replies.extend(replies)
        return self

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        self.calls.append([dict(m) for m in messages])
        if not self.replies:
            raise LLMError("ScriptedLLM has no scripted reply left; add one with .add().")
        reply = self.replies.popleft()
        error = None
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Interrupted):
            reply, error = reply.text, reply.error
        elif callable(reply):
            reply = reply(messages)
        for marker in stop:
            reply = reply.split(marker, 1)[0]
        # Word-sized pieces, each counted as one token against max_tokens.
        yield from re.findall(r"\s*\S+\s*?", reply)[:max_tokens]
        if error is not None:
            raise error
