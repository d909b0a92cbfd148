"""Deterministic stand-ins for the heavy components, shipped for tests.

`HashingEmbedder` embeds text as a hashed bag of word stems: no torch, no
model file, the same vector every run. It is good enough to make retrieval
tests meaningful (shared words mean similar vectors), and it is never the only
test of the real embedder.

`ScriptedLLM` is an `LLM` that replies from a queue: text, an exception to
raise (a dead server, a timeout), or text that breaks off with an exception.
It records every prompt it was sent, so tests check what the model saw
without patching anything.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .embeddings import Embedder, WordVectors
from .errors import LLMError
from .llm import LLM, Message

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder(Embedder):
    name = "hashing-bow-v1"
    dim = 256

    def _bucket(self, word: str) -> int:
        stem = word.lower()[:6]
        return int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=4).digest(), "big") % self.dim

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                vectors[row, self._bucket(word)] += 1.0
            vectors[row, 0] += 1e-3  # never an all-zero vector
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / norms

    def _embed_words(self, texts: Sequence[str]) -> list[WordVectors]:
        # One-hot word vectors: a word matches only itself (same 6-letter prefix).
        results = []
        for text, sentence in zip(texts, self._embed(texts)):
            found = _WORD.findall(text)
            matrix = np.zeros((len(found), self.dim), dtype=np.float32)
            for row, word in enumerate(found):
                matrix[row, self._bucket(word)] = 1.0
            results.append(WordVectors(sentence, tuple(found), matrix))
        return results


@dataclass(frozen=True)
class Interrupted:
    """A scripted reply that yields `text`, then raises `error` (a stream cut off)."""

    text: str
    error: BaseException


Reply = str | BaseException | Interrupted | Callable[[Sequence[Message]], str]


class ScriptedLLM(LLM):
    """A deterministic chat model: each call takes the next scripted reply."""

    def __init__(self, replies: Sequence[Reply] = (), *, spec: str = "scripted",
                 context_window: int = 2048) -> None:
        self.replies: deque[Reply] = deque(replies)
        self.spec = spec
        self.context_window = context_window
        self.calls: list[list[Message]] = []

    def add(self, *replies: Reply) -> ScriptedLLM:
        self.replies.extend(replies)
        return self

    def stream(self, messages: Sequence[Message], *, max_tokens: int,
               stop: Sequence[str] = ()) -> Iterator[str]:
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
