"""Test doubles: deterministic stand-ins for the heavy components.

`HashingEmbedder` (a real, documented embedder backend, `qa_bot.index.embeddings`)
is re-exported here for the tests that use it by this name.

`ScriptedReader` is a `Reader` whose logits come from a rule, for the answerer's decisions.

`ScriptedLLM` is an `LLM` that replies from a queue: text, an exception to
raise (a dead server, a timeout), or text that breaks off with an exception.
It records every prompt it was sent, so tests check what the model saw
without patching anything.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from qa_bot.errors import LLMError
from qa_bot.index.embeddings import HashingEmbedder
from qa_bot.llm import LLM, Message
from qa_bot.reader import Reader

__all__ = ["HashingEmbedder", "Interrupted", "ScriptedLLM", "ScriptedReader"]


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


class ScriptedReader(Reader):
    """A reader whose logits come from a rule: `rule(question, candidate) -> logit`.

    A real `Reader` subclass (its caching and batching run as they do in the product), with no
    model behind it. It counts the (question, candidate) pairs it was asked to score.
    """

    def __init__(self, rule: Callable[[str, str], float]) -> None:
        self.rule = rule
        self.max_length = 128
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._recent = OrderedDict()
        self.pairs_scored = 0

    def _logits(self, batch: Sequence[tuple[str, str]]) -> np.ndarray:
        self.pairs_scored += len(batch)
        return np.array([self.rule(q, c) for q, c in batch], dtype=np.float64)
