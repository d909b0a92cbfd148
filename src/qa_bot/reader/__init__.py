"""The reader: qa-bot's own cross-encoder, which judges whether a sentence answers a question.

Retrieval proposes sentences on the question's topic; the reader decides which one answers, or
that none does. It is a MiniLM cross-encoder trained by `scripts/train_reader.py` on SQuAD,
SQuAD 2.0 and SelQA (see `model/MODEL_CARD.md`), shipped as int8 ONNX in this package, so it
loads offline with no download.

It runs on ONNX Runtime (a chromadb dependency, so already installed) with the `tokenizers`
library: no torch import, which keeps a cold `qa-bot ask` fast. Pairs are padded only to the
longest in their batch. Two threads, without spinning: six pairs took 24 ms p50 on two
threads against 34 ms on one (2-core machine, otherwise idle), and the app computes one
answer at a time.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa_bot.errors import ModelError
from qa_bot.reader.inputs import pair_text

MODEL_DIR = Path(__file__).with_name("model")

__all__ = ["MODEL_DIR", "Reader", "load_reader", "pair_text", "sigmoid"]


class Reader:
    """Scores (question, candidate text) pairs with the probability that the candidate answers."""

    def __init__(self, folder: str | Path = MODEL_DIR, *, threads: int = 2) -> None:
        folder = Path(folder)
        model = folder / "model.onnx"
        if not model.is_file():
            raise ModelError(
                f"The reader model is missing: '{model}'. Reinstall qa-bot "
                "(pip install -e .), or rebuild it with `python scripts/train_reader.py`."
            )
        try:
            import onnxruntime
            from tokenizers import Tokenizer

            settings = json.loads((folder / "reader.json").read_text(encoding="utf-8"))
            self.max_length = int(settings["max_length"])
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self.tokenizer.enable_truncation(self.max_length)
            self.tokenizer.no_padding()
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # No busy-waiting between calls: on a shared 2-core machine a spinning idle
            # thread steals the other requests' CPU.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.session = onnxruntime.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )
        except ModelError:
            raise
        except Exception as exc:  # a corrupt or truncated file, a missing tokenizer
            raise ModelError(
                f"Cannot load the reader model from '{folder}': {exc}. Reinstall qa-bot."
            ) from exc
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        # The same pairs come back often (a retry in the UI, the generative answerer asking
        # for the extractive pick, the parts of a question, tuning sweeps).
        self._recent: OrderedDict[tuple[tuple[str, str], ...], np.ndarray] = OrderedDict()

    def score(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """Probability for each candidate (already formatted with `pair_text`)."""
        return sigmoid(self.logits(question, candidates))

    def logits(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """The model's logit for each candidate: above 0 means "answers" (see the card)."""
        return self.pair_logits([(question, c) for c in candidates])

    def score_pairs(self, pairs: Sequence[tuple[str, str]], *, batch_size: int = 32) -> np.ndarray:
        return sigmoid(self.pair_logits(pairs, batch_size=batch_size))

    def pair_logits(self, pairs: Sequence[tuple[str, str]], *, batch_size: int = 32) -> np.ndarray:
        """Logits of many (question, candidate) pairs, in batches of similar length (padding
        is paid to the longest pair of a batch). The last 2,048 calls are remembered."""
        key = tuple(pairs)
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key].copy()
        found = self._batched_logits(pairs, batch_size)
        with self._lock:
            self._recent[key] = found
            while len(self._recent) > 2048:
                self._recent.popitem(last=False)
        return found.copy()

    def _batched_logits(self, pairs: Sequence[tuple[str, str]], batch_size: int) -> np.ndarray:
        out = np.empty(len(pairs), dtype=np.float64)
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for begin in range(0, len(pairs), batch_size):
            rows = order[begin : begin + batch_size]
            out[rows] = self._logits([pairs[i] for i in rows])
        return out

    def _logits(self, batch: Sequence[tuple[str, str]]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([(q, c) for q, c in batch])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = 1
            types[row, :n] = encoding.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feeds = {k: v for k, v in feeds.items() if k in self._inputs}
        with self._run_lock:  # one session, many UI threads: one call at a time on our threads
            (logits,) = self.session.run(["logits"], feeds)
        return logits.reshape(-1).astype(np.float64)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


@lru_cache(maxsize=2)
def load_reader(folder: str = str(MODEL_DIR)) -> Reader:
    """The reader, loaded once per process."""
    return Reader(folder)
