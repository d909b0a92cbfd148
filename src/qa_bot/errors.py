"""The one error family of qa-bot.

Every error a user can cause or meet derives from `QaBotError`. Messages say
what happened and what to do, quoting the path or value involved. Third-party
errors (chromadb, sentence-transformers, llama.cpp, HTTP clients) are caught at
the adapter that calls them and re-raised as one of these, with the original
chained as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Iterable


class QaBotError(Exception):
    """Base class of every error qa-bot raises on purpose."""


# --- bad input -----------------------------------------------------------------


class QuestionError(QaBotError, ValueError):
    """The question cannot be answered as given (empty, too long, not text)."""


class EmptyQuestionError(QuestionError):
    pass


class QuestionTooLongError(QuestionError):
    def __init__(self, tokens: int, limit: int) -> None:
        self.tokens = tokens
        self.limit = limit
        super().__init__(
            f"The question is {tokens} tokens long; the limit is {limit}. "
            "Ask a shorter question (one or two sentences)."
        )


class QuestionTypeError(QuestionError, TypeError):
    pass


class HistoryError(QaBotError, ValueError):
    """The chat history is not a list of {"role", "content"} messages."""


class ConfigError(QaBotError, ValueError):
    """A setting has a value qa-bot cannot use."""


class UnknownBackendError(ConfigError):
    def __init__(self, kind: str, spec: str, valid: Iterable[str]) -> None:
        self.spec = spec
        self.valid = list(valid)
        super().__init__(f"Unknown {kind} {spec!r}. Valid choices: {', '.join(self.valid)}.")


# --- corpus --------------------------------------------------------------------


class CorpusError(QaBotError):
    """An article or corpus folder cannot be read."""


class LinkError(CorpusError):
    """An article link cannot be fetched (timeout, 404, too big, not an article)."""


class UnsafeLinkError(LinkError):
    """A link is refused: not http(s), or it leads to a private, loopback or link-local
    address (directly, through DNS or through a redirect)."""


class FeedbackError(QaBotError):
    """The UI's feedback file cannot be written."""


# --- models --------------------------------------------------------------------


class ModelError(QaBotError):
    """A model (embedder or LLM) is missing, corrupt or failed to load."""


class MissingDependencyError(QaBotError, ImportError):
    """An optional extra is needed for the chosen backend."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{purpose} needs the {package!r} package, which is not installed. "
            f"Install it with: pip install 'qa-bot[{extra}]'"
        )


class LLMError(QaBotError):
    """The language model backend failed (server down, timeout, bad reply)."""


# --- store ---------------------------------------------------------------------


class StoreError(QaBotError):
    """The vector store cannot be opened, read or written."""


class StoreLockedError(StoreError):
    """Another process holds the index's write lock."""


class IndexMismatchError(StoreError):
    """The stored index was built with other settings (embedder, chunker)."""


class IndexNotFoundError(StoreError):
    """There is no complete index yet."""


class BusyError(QaBotError):
    """A limit on shared work (the upload budget) is reached for now; `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServeError(QaBotError):
    """The web UI could not start serving (port taken, its own address unreachable)."""
