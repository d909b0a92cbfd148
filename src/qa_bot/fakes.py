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

from .embeddings import Embedder

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder(Embedder):
    name = "hashing-bow-v1"
    dim = 256

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                stem = word[:6]
                bucket = int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=4).digest(), "big")
                vectors[row, bucket % self.dim] += 1.0
            vectors[row, 0] += 1e-3  # never an all-zero vector
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / norms
