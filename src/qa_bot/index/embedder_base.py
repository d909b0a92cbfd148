"""The embedder interface: text in, unit vectors out, plus per-word vectors for the answerer.

Backends (`embeddings.SentenceTransformerEmbedder`, `onnx_minilm.OnnxEmbedder`,
`embeddings.HashingEmbedder`) subclass `Embedder`; `embeddings.make_embedder` picks one by name.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa_bot.normalise import normalise


@dataclass(frozen=True)
class WordVectors:
    """A text's sentence vector plus one contextual vector per word.

    The word vectors come from the same forward pass as the sentence vector
    (the transformer's token outputs, averaged over each word's word pieces),
    so "held" in "where was the summit held" carries its context. They let the
    answerer ask how well each word of a question is matched in a passage.
    """

    sentence: np.ndarray
    words: tuple[str, ...]
    vectors: np.ndarray  # (len(words), dim), unit length


class Embedder(ABC):
    """Turns text into unit vectors. Subclasses implement `_embed` and `_embed_words`."""

    #: recorded in the index manifest; a different name forces a rebuild
    name: str = ""
    dim: int = 0

    def __init__(self) -> None:
        self._word_cache: OrderedDict[str, WordVectors] = OrderedDict()

    @abstractmethod
    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a (len(texts), dim) float32 array of unit vectors."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._embed([normalise(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        # The same forward pass also yields the word vectors the answerer needs,
        # so a question is encoded once.
        return self.embed_words([text])[0].sentence

    @abstractmethod
    def _embed_words(self, texts: Sequence[str]) -> list[WordVectors]:
        """Sentence and per-word vectors of already-normalised texts."""

    def clear_cache(self) -> None:
        """Forget cached vectors (benchmarks use it to time unseen questions)."""
        self._word_cache.clear()

    def embed_words(self, texts: Sequence[str]) -> list[WordVectors]:
        """`WordVectors` per text; cached, since the same passages come back often."""
        keys = [normalise(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._word_cache))
        if missing:
            for key, value in zip(missing, self._embed_words(missing), strict=True):
                self._word_cache[key] = value
            while len(self._word_cache) > 4096:
                self._word_cache.popitem(last=False)
        return [self._word_cache[k] for k in keys]


def offline_huggingface() -> None:
    """Keep Hugging Face libraries offline and quiet; call before importing them.

    The user's own settings of these variables win.
    """
    for name, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ):
        os.environ.setdefault(name, value)
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def word_vectors(
    text: str, tokens: np.ndarray, offsets: Sequence[tuple[int, int]], sentence: np.ndarray
) -> WordVectors:
    """A text's unit sentence vector and one unit vector per word: the mean of the token
    vectors whose character `offsets` overlap the word (special tokens have empty offsets)."""
    from qa_bot.lexicon import word_spans

    words, rows_of_words = [], []
    for word, start, end in word_spans(text):
        rows = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
        if rows:
            words.append(word)
            rows_of_words.append(tokens[rows].mean(axis=0))
    matrix = (
        unit_rows(np.array(rows_of_words, dtype=np.float32))
        if rows_of_words
        else np.zeros((0, tokens.shape[-1]), np.float32)
    )
    unit = (sentence / max(float(np.linalg.norm(sentence)), 1e-12)).astype(np.float32)
    return WordVectors(unit, tuple(words), matrix)
