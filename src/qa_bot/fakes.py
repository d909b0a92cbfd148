"""Deterministic stand-ins for the heavy components, shipped for tests.

`HashingEmbedder` embeds text as a hashed bag of word stems: no torch, no
model file, the same vector every run. It is good enough to make retrieval
tests meaningful (shared words mean similar vectors), and it is never the only
test of the real embedder.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from .embeddings import Embedder, WordVectors

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
