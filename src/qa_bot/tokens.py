"""Token counting with tiktoken, offline.

A bare ``tiktoken.get_encoding`` downloads its BPE file on first use, which
fails without internet. llama-index-core ships that file under
``llama_index/core/_static/tiktoken_cache``; we point ``TIKTOKEN_CACHE_DIR`` at
it (unless the user set one) without importing llama-index, which is slow.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

from qa_bot.errors import ModelError

ENCODING = "cl100k_base"


def _shipped_cache_dir() -> Path | None:
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    return folder if folder.is_dir() else None


@lru_cache(maxsize=1)
def _encoding():
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        shipped = _shipped_cache_dir()
        if shipped is not None:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(shipped)
    import tiktoken

    try:
        return tiktoken.get_encoding(ENCODING)
    except Exception as exc:  # network error, missing cache file
        raise ModelError(
            f"tiktoken could not load {ENCODING} offline ({exc}). Reinstall llama-index-core, "
            "which ships the file, or set TIKTOKEN_CACHE_DIR to a folder that holds it."
        ) from exc


def count_tokens(text: str) -> int:
    return len(encode(text))


def encode(text: str) -> list[int]:
    # disallowed_special=() so text containing "<|endoftext|>" is counted, not refused.
    return _encoding().encode(text, disallowed_special=())
