"""Core benchmark: every speed figure qa-bot promises, each beside its baseline in the same run.

    python bench/bench_core.py [--runs 5] [--articles 100] [--rounds 3]

Rows (2 shared cores are noisy: read the ratios; the load average is printed):

1. cold `qa-bot ask`: a new process answering from an index on disk, timed from outside,
   against a process that only imports llama-index-core, chromadb and sentence-transformers
   (what a llama-index app over Chroma with these embeddings imports before doing anything).
   Paired runs, alternating, median.
2. `python app.py` until the page answers a question through gradio_client, against a process
   that imports gradio plus those three libraries. Same folder, paired, median.
3. indexing, articles per second: `--articles` BBC News articles into an on-disk Chroma, qa-bot
   (`Library.sync`) against llama-index's default ingestion (`VectorStoreIndex.from_documents`
   with the same MiniLM through `HuggingFaceEmbedding`, its default splitter and batch size).
4. retrieval alone over the bundled article: qa-bot's hybrid top-5 sentences against
   llama-index's default retriever (top-2 of its default 1024-token chunks, i.e. the whole
   article), p50 per question with the query embedding cache cleared, and the evidence recall
   of both (every gold evidence span inside the retrieved text), with the characters to read.
5. warm `answer()` with the reader, each gold question asked once, against retrieval alone:
   the difference is what reading costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from qa_bot.config import Settings  # noqa: E402
from qa_bot.engine import Engine  # noqa: E402
from qa_bot.eval.gold import load_gold  # noqa: E402
from qa_bot.normalise import fold_case  # noqa: E402

GOLD = [ROOT / "eval/gold/csto.jsonl", ROOT / "eval/gold/csto-dev2.jsonl"]
BBC = ROOT.parent / "shared" / "data" / "bbc-news"
QUESTION = "Where was the summit held?"
IMPORTS = "import llama_index.core, chromadb, sentence_transformers"


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def covered(evidence, texts) -> bool:
    joined = [fold_case(t) for t in texts]
    return all(any(fold_case(e) in t for t in joined) for e in evidence)


def timed(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def env_for(data: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    env.update(QA_BOT_DATA_DIR=str(data), PYTHONPATH=str(ROOT / "src"))
    return env


def cold_ask(data: Path, runs: int) -> tuple[float, float]:
    """Median seconds of `qa-bot ask` and of the imports-only baseline, alternating."""
    env = env_for(data)
    script = Path(sys.executable).with_name("qa-bot")  # the installed console script
    cli = [str(script) if script.exists() else sys.executable, *([] if script.exists() else
           ["-m", "qa_bot.cli"]), "ask", QUESTION]  # fmt: skip
    subprocess.run(cli, env=env, check=True, capture_output=True)  # builds the index, exports
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(timed(cli, env))
        theirs.append(timed([sys.executable, "-c", IMPORTS], env))
    return statistics.median(ours), statistics.median(theirs)


def app_to_first_answer(data: Path) -> float:
    from support.servers import seconds_to_first_answer

    return seconds_to_first_answer(env_for(data), QUESTION)


def app_start(data: Path, runs: int) -> tuple[float, float]:
    env = env_for(data)
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(app_to_first_answer(data))
        theirs.append(timed([sys.executable, "-c", f"import gradio; {IMPORTS}"], env))
    return statistics.median(ours), statistics.median(theirs)


def indexing(count: int) -> tuple[float, float, int, int]:
    """(ours, llama-index's) articles per second over `count` BBC articles, and chunk counts."""
    from qa_bot.eval.baseline import build_default_index, default_embed_model
    from qa_bot.index.embeddings import make_embedder
    from qa_bot.index.library import Library
    from qa_bot.index.store import ChromaStore
    from qa_bot.ingest.corpus import load_document

    paths = sorted(BBC.glob("*/*.txt"))[:: max(1, 2208 // count)][:count]
    documents = []
    for path in paths:
        try:
            documents.append(load_document(path))
        except Exception:
            continue  # the one Latin-1 file
    documents = [
        type(d)(**{**d.__dict__, "doc_id": f"bbc-{Path(d.path).parent.name}-{d.doc_id}"})
        for d in documents
    ]
    with tempfile.TemporaryDirectory() as tmp:
        embedder = make_embedder("minilm", cache_dir=Settings.load().cache_path)
        embedder.embed_documents(["warm up"])
        store = ChromaStore(path=Path(tmp) / "ours")
        started = time.perf_counter()
        library = Library(Settings.load(chunk_max_tokens=160), store, embedder)
        report = library.sync(documents)
        ours = len(documents) / (time.perf_counter() - started)
        model = default_embed_model()
        model.get_text_embedding("warm up")
        started = time.perf_counter()
        built = build_default_index(documents, embed_model=model, persist_dir=str(Path(tmp) / "li"))
        theirs = len(documents) / (time.perf_counter() - started)
        return ours, theirs, report.chunks_total, built.collection.count()


def retrieval_figures(retrieve, questions, with_evidence, rounds: int, before_each=None):
    """(p50 ms over `rounds` passes, evidence recall, mean characters returned) of
    `retrieve(question) -> texts`; `before_each` runs untimed before every question."""
    latency = []
    for _ in range(rounds):
        for q in questions:
            if before_each is not None:
                before_each()
            started = time.perf_counter()
            retrieve(q)
            latency.append((time.perf_counter() - started) * 1000)
    return (
        percentile(latency, 50),
        sum(covered(c.evidence, retrieve(c.question)) for c in with_evidence) / len(with_evidence),
        statistics.mean(sum(map(len, retrieve(c.question))) for c in with_evidence),
    )


def retrieval_and_answers(rounds: int) -> dict:
    from qa_bot.eval.baseline import LlamaIndexBaseline
    from qa_bot.ingest.corpus import load_corpus

    cases = [c for path in GOLD for c in load_gold(path)]
    questions = [c.question for c in cases if not c.history]
    with_evidence = [c for c in cases if c.evidence and not c.history]
    out: dict = {"questions": len(questions)}
    with tempfile.TemporaryDirectory() as data:
        engine = Engine(Settings.load(data_dir=data))
        engine.warm_up()
        retriever = engine.loaded().retriever

        def ours(q):
            return [c.chunk.text for c in retriever.retrieve(q, 5)]

        out["ours"] = retrieval_figures(
            ours, questions, with_evidence, rounds, before_each=engine.embedder.clear_cache
        )
        answers, retrievals = [], []
        for q in questions:  # each asked once, as a running app sees new questions
            started = time.perf_counter()
            engine.answer(q)
            answers.append((time.perf_counter() - started) * 1000)
        for q in questions:
            engine.embedder.clear_cache()
            started = time.perf_counter()
            retriever.retrieve(q, engine.answerer_for(None).candidates)
            retrievals.append((time.perf_counter() - started) * 1000)
        out["answer"] = (percentile(answers, 50), percentile(answers, 95))
        out["retrieve_only"] = (percentile(retrievals, 50), percentile(retrievals, 95))
    baseline = LlamaIndexBaseline(load_corpus([ROOT / "corpus"]))
    retriever = baseline.retriever

    def theirs(q):
        return [n.get_content() for n in retriever.retrieve(q)]

    for q in questions:
        theirs(q)  # warm up
    out["theirs"] = retrieval_figures(theirs, questions, with_evidence, rounds)
    baseline.close()
    return out


def process_rows(args) -> list[tuple]:
    """Rows 1-3: whole processes and indexing."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ask, imports = cold_ask(Path(tmp) / "data", args.runs)
        rows.append(
            ("cold `qa-bot ask` (whole process)", f"{ask:.2f} s", f"{imports:.2f} s imports",
             f"{ask / imports:.2f}x", "<= 0.5x and <= 3 s")
        )  # fmt: skip
        app, app_imports = app_start(Path(tmp) / "data", max(1, args.runs // 2))
        rows.append(
            ("`python app.py` to first answer", f"{app:.2f} s", f"{app_imports:.2f} s imports",
             f"{app / app_imports:.2f}x", "<= 5 s")
        )  # fmt: skip
    ours, theirs, chunks, their_chunks = indexing(args.articles)
    rows.append(
        (f"indexing {args.articles} BBC articles", f"{ours:.2f} articles/s ({chunks} chunks)",
         f"{theirs:.2f} articles/s ({their_chunks} chunks)", f"{ours / theirs:.2f}x", ">= 2x")
    )  # fmt: skip
    return rows


def answer_rows(r: dict) -> list[tuple]:
    """Rows 4-5: retrieval and warm answers."""
    return [
        ("retrieval alone, p50 (evidence recall, chars to read)",
         f"{r['ours'][0]:.1f} ms ({r['ours'][1]:.0%}, {r['ours'][2]:.0f})",
         f"{r['theirs'][0]:.1f} ms ({r['theirs'][1]:.0%}, {r['theirs'][2]:.0f})",
         f"{r['ours'][0] / r['theirs'][0]:.2f}x", "<= 1x, recall kept"),
        ("warm `answer()` with the reader, p50 / p95",
         f"{r['answer'][0]:.1f} / {r['answer'][1]:.1f} ms",
         f"{r['retrieve_only'][0]:.1f} / {r['retrieve_only'][1]:.1f} ms retrieval alone",
         f"+{r['answer'][0] - r['retrieve_only'][0]:.1f} ms reading", "<= 60 / 150 ms"),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="paired process runs (rows 1, 2)")
    parser.add_argument("--articles", type=int, default=100, help="BBC articles to index (row 3)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions (row 4)")
    parser.add_argument(
        "--answers-only", action="store_true", help="only rows 4 and 5 (retrieval, answers)"
    )
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)\n")
    rows = [] if args.answers_only else process_rows(args)
    r = retrieval_and_answers(args.rounds)
    rows += answer_rows(r)
    print("| figure | qa-bot | baseline | ratio | goal |")
    print("|---|---|---|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}; {r['questions']} gold questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
