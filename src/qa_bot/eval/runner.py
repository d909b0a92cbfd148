"""Run the eval against a real engine, in a throwaway index.

An `EvalSession` indexes the gold file's corpus into a temporary data folder
(never the user's index, whatever `QA_BOT_*` says) and hands out `answer_fn`s
for each configuration. Retrieval modes, as the CLI and the ablation name them:

- ``dense``, ``bm25``, ``hybrid``: that retriever alone feeds the answerer,
  and each question is asked on its own: the conversation history is not
  passed, so follow-ups are not rewritten into self-contained queries.
- ``full`` (the default): what `qa_bot.answer()` does: hybrid retrieval plus
  follow-up rewriting with the history.

So ``hybrid`` vs ``full`` measures the follow-up handling, and ``dense`` /
``bm25`` vs ``hybrid`` measures the fusion.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa_bot.index.store import ChromaStore

from qa_bot.answering.retrieve import RETRIEVAL_MODES
from qa_bot.config import PACKAGE_DIR, Settings, bundled_corpus_dir
from qa_bot.errors import ConfigError, CorpusError, QaBotError, UnknownBackendError
from qa_bot.eval.gold import AnswerFn, EvalSummary, GoldCase, check_gold, load_gold, run_eval

# "full" is the real pipeline; the others feed one retriever alone (see the module docstring).
RETRIEVAL_CHOICES = ("full", *RETRIEVAL_MODES)
DEFAULT_GOLD = Path("eval") / "gold" / "csto.jsonl"
WARM_UP = (
    "What does the article say?",
    "Who?",
    "What happened next, and where, and why?",
    "Is there anything in the article about the people who were there and what they said?",
    "When",
)


@dataclass(frozen=True)
class EvalConfig:
    """What one eval run measures; recorded in results.json."""

    gold: str
    corpus: str
    split: str = "test"
    llm: str = "extractive"
    retrieval: str = "full"
    embedder: str = "minilm"
    top_k: int = 5

    @property
    def label(self) -> str:
        return f"{self.llm} / {self.retrieval}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_gold() -> Path:
    """eval/gold/csto.jsonl under the working folder, else next to the package (editable)."""
    for base in (Path.cwd(), PACKAGE_DIR.parent.parent):
        if (base / DEFAULT_GOLD).is_file():
            return base / DEFAULT_GOLD
    raise ConfigError(
        f"No gold file at '{DEFAULT_GOLD}' (looked in '{Path.cwd()}' and the source checkout). "
        "Run from the qa-bot checkout or pass --gold PATH."
    )


def corpus_for_gold(gold: str | Path) -> Path:
    """The articles a gold file is about.

    The folder `<name>/` beside `<name>_gold.jsonl`, else the bundled corpus.
    """
    gold = Path(gold)
    if gold.stem.endswith("_gold"):
        sibling = gold.with_name(gold.stem[: -len("_gold")])
        if sibling.is_dir():
            return sibling
    return bundled_corpus_dir()


SOURCES_SUFFIX = ".sources.json"


def article_sources(gold: str | Path) -> dict[str, Path] | None:
    """doc_id -> article file, for a gold file that names its articles, else None.

    `<name>.sources.json` beside `<name>.jsonl` lists articles that live outside the
    repository (the BBC News articles in `../shared/data/`, which must not be copied
    into it): ``{"root": <folder, relative to the sources file>, "articles": {doc_id:
    <path under root>}}``. ``QA_BOT_EVAL_DATA`` overrides the root. Each article is
    evaluated on its own index, as a user with that one article would ask.
    """
    gold = Path(gold)
    manifest = gold.with_name(gold.stem + SOURCES_SUFFIX)
    if not manifest.is_file():
        return None
    import json
    import os

    raw = json.loads(manifest.read_text(encoding="utf-8"))
    root = Path(os.environ.get("QA_BOT_EVAL_DATA") or (manifest.parent / raw["root"]))
    if not root.is_dir() and "QA_BOT_EVAL_DATA" not in os.environ:
        # A checkout elsewhere (a CI clone): look for the same folder beside any ancestor.
        tail = Path(*[part for part in Path(raw["root"]).parts if part != ".."])
        root = next((a / tail for a in manifest.resolve().parents if (a / tail).is_dir()), root)
    articles = {doc_id: root / path for doc_id, path in raw["articles"].items()}
    missing = [str(p) for p in articles.values() if not p.is_file()]
    if missing:
        raise ConfigError(
            f"The articles of '{gold}' are not where '{manifest.name}' says: '{missing[0]}'"
            f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''}. They are the public "
            "data in ../shared/data/ (see its README); set QA_BOT_EVAL_DATA to their folder."
        )
    return articles


def model_cache() -> Path:
    """Where the eval finds exported models: the user's cache, not the throwaway data
    folder, so each eval run does not export MiniLM again."""
    return Settings.load().cache_path


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


class EvalSession:
    """One temporary index of one corpus; engines for every retrieval mode over it."""

    def __init__(
        self, corpus: str | Path, *, embedder: str | None = None, top_k: int | None = None
    ) -> None:
        self.corpus = Path(corpus)
        self._tmp = tempfile.TemporaryDirectory(prefix="qa-bot-eval-", ignore_cleanup_errors=True)
        data = Path(self._tmp.name)
        # Every location is pinned explicitly: QA_BOT_INDEX_DIR, QA_BOT_CHROMA_URL or
        # QA_BOT_CORPUS in the environment must not point the eval at the user's index.
        self.settings = Settings.load(
            data_dir=str(data),
            index_dir=str(data / "index"),
            chroma_url="",
            corpus=(str(self.corpus),),
            feedback_path=str(data / "feedback.jsonl"),
            embedder=embedder,
            top_k=top_k,
        )
        self._engines: dict[str, Any] = {}
        self._store: ChromaStore | None = None
        self.texts: dict[str, str] = {}

    def __enter__(self) -> EvalSession:
        from qa_bot.index.store import ChromaStore
        from qa_bot.ingest.corpus import load_corpus

        try:
            self.texts = {d.doc_id: d.text for d in load_corpus([self.corpus])}
        except CorpusError as exc:
            raise ConfigError(f"Cannot load the eval corpus: {exc} Pass --corpus PATH.") from exc
        self._store = ChromaStore.from_settings(self.settings)
        self.engine("hybrid").index()
        return self

    def __exit__(self, *exc_info) -> None:
        self._engines.clear()
        self._tmp.cleanup()

    def check(self, cases: list[GoldCase]) -> None:
        problems = check_gold(cases, self.texts)
        if problems:
            shown = "; ".join(problems[:5])
            raise ConfigError(
                f"The gold cases do not match the corpus '{self.corpus}': {shown}"
                f"{' ...' if len(problems) > 5 else ''}. Pass the right --corpus."
            )

    def engine(self, mode: str, *, fresh_embedder: bool = False):
        """The engine for a retriever (one per mode), or a new one with its own embedder.

        A fresh embedder has an empty query cache, so a configuration measured
        after another one does not get its query embeddings for free.
        """
        from qa_bot.engine import Engine
        from qa_bot.index.embeddings import make_embedder

        if fresh_embedder or mode not in self._engines:
            shared = next(iter(self._engines.values()), None)
            embedder = (
                make_embedder(self.settings.embedder, cache_dir=model_cache())
                if shared is None or fresh_embedder
                else shared.embedder
            )
            engine = Engine(
                self.settings, embedder=embedder, store=self._store, retrieval_mode=mode
            )
            if fresh_embedder:
                return engine
            self._engines[mode] = engine
        return self._engines[mode]

    def answer_fn(
        self, *, retrieval: str = "full", llm: str | None = None, fresh_embedder: bool = False
    ) -> AnswerFn:
        """An `answer_fn` for `run_eval`; raises if the answerer `llm` is unavailable."""
        if retrieval not in RETRIEVAL_CHOICES:
            raise UnknownBackendError("retrieval mode", retrieval, RETRIEVAL_CHOICES)
        engine = self.engine(
            "hybrid" if retrieval == "full" else retrieval, fresh_embedder=fresh_embedder
        )
        engine.answerer_for(llm)  # fail now, not once per case
        try:
            # Load the index, BM25 and models, and let torch settle (its first few calls
            # are 10-50x slower), so the first cases' latencies measure the pipeline.
            for question in WARM_UP:
                engine.answer(question, llm=llm)
        except QaBotError:
            pass  # a backend failing here fails (and is reported) case by case
        keep_history = retrieval == "full"

        def answer_fn(question, history=None):
            return engine.answer(question, history if keep_history else None, llm=llm)

        return answer_fn


ProgressFactory = Callable[[int, str], Callable[[int, int], None]]


def run_config(
    config: EvalConfig,
    *,
    make_progress: ProgressFactory | None = None,
    session: EvalSession | None = None,
    fresh_embedder: bool = False,
) -> EvalSummary:
    """Evaluate one configuration; opens (and closes) a session unless given one.

    `make_progress(total, label)` returns the per-case callback (e.g. a tqdm bar).
    """
    cases = load_gold(config.gold, split=config.split)
    if not cases:
        raise ConfigError(f"No {config.split!r} cases in '{config.gold}'. Try --split all.")
    sources = article_sources(config.gold) if session is None else None
    if sources is not None:
        return _run_per_article(config, cases, sources, make_progress, fresh_embedder)
    if session is None:
        with EvalSession(config.corpus, embedder=config.embedder, top_k=config.top_k) as own:
            return _run(own, config, cases, make_progress, fresh_embedder)
    return _run(session, config, cases, make_progress, fresh_embedder)


def _run(
    session: EvalSession,
    config: EvalConfig,
    cases: list[GoldCase],
    make_progress: ProgressFactory | None,
    fresh_embedder: bool,
) -> EvalSummary:
    session.check(cases)
    answer_fn = session.answer_fn(
        retrieval=config.retrieval, llm=config.llm, fresh_embedder=fresh_embedder
    )
    progress = make_progress(len(cases), config.label) if make_progress else None
    return run_eval(answer_fn, cases, progress, texts=session.texts)


def _run_per_article(
    config: EvalConfig,
    cases: list[GoldCase],
    sources: dict[str, Path],
    make_progress: ProgressFactory | None,
    fresh_embedder: bool,
) -> EvalSummary:
    """Each article's cases against an index of that article alone; one summary."""
    import shutil

    summary = EvalSummary()
    progress = make_progress(len(cases), config.label) if make_progress else None
    done = 0
    for doc_id in sorted({c.doc_id for c in cases}):
        if doc_id not in sources:
            raise ConfigError(f"Case(s) about {doc_id!r} name no article in the sources file.")
        group = [c for c in cases if c.doc_id == doc_id]
        with tempfile.TemporaryDirectory(prefix="qa-bot-eval-corpus-") as folder:
            shutil.copy(sources[doc_id], Path(folder) / f"{doc_id}{sources[doc_id].suffix}")
            with EvalSession(folder, embedder=config.embedder, top_k=config.top_k) as session:
                session.check(group)
                answer_fn = session.answer_fn(
                    retrieval=config.retrieval, llm=config.llm, fresh_embedder=fresh_embedder
                )

                def step(number: int, total: int, offset: int = done) -> None:
                    if progress is not None:
                        progress(offset + number, len(cases))

                part = run_eval(answer_fn, group, step, texts=session.texts)
        summary.results += part.results
        done += len(group)
    return summary
