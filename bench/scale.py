"""Scale benchmark: generated corpora of 100, 1,000 and 10,000 articles.

    python bench/scale.py [--sizes 100,1000,10000] [--questions 300] [--skip server,llamaindex]
    python bench/scale.py --changes [--sizes 100,1000,10000] [--embedder hashing] [--work DIR]
    python bench/scale.py --ingest-bbc 100 [--skip llamaindex]
    python bench/scale.py --ingest-bbc 100 --changes --embedder minilm   # both, one run

At each size (articles from bench/synth_corpus.py, 8-12 sentences, one
invented town each, so every generated question has one answer):

- qa-bot indexing into embedded Chroma and into a Chroma server (`chroma run`
  on a loopback port, started and stopped here): chunks/s and articles/s,
  index size on disk;
- retrieval (`HybridRetriever.retrieve`, k=5, warm): p50/p95, and evidence
  recall@5 (the sentence holding the answer is among the 5 passages);
- the baseline, in the same run: llama-index's default ingestion,
  `VectorStoreIndex.from_documents` over a Chroma collection with the same
  MiniLM through `HuggingFaceEmbedding` (default batch size 10, default
  `SentenceSplitter`), chunks/s and articles/s. Its chunks are whole articles,
  ours sentences, so articles/s is the like-for-like figure.

With `--changes` (#19): at each size, a library of that many articles is built through
`Engine.index`, then a 20-sentence article is added through `Engine.add_article` and
removed through `Engine.remove_article` (each timed, five times), and the first answer
after each change is timed beside the p50/p95 of ordinary answers measured in the same
run; before the next change the bench waits until the background BM25 has caught up (and
reports how long that took), so each change is timed on its own. `--embedder hashing`
builds the big libraries faster: the cost that grows with the library (store, catalogue,
table, BM25) does not depend on the embedder. With `--work DIR` a library built by an
earlier run is reused (`Engine.index` finds nothing to change), so the 10,000-article
library is built once.

With `--ingest-bbc N` (#19's indexing figure): N BBC News articles from ../shared/data
into an on-disk embedded Chroma through `Library.sync`, beside llama-index's default
ingestion of the same documents in the same run (articles/s and the ratio); `--ingest-bbc
2208 --skip llamaindex` times the whole BBC set.

Indexing is timed from loaded `Document`s (file reading excluded for both),
with the models loaded beforehand. Figures go to stdout as a Markdown table
and to bench/out/scale-<time>.json. 2 shared cores: compare ratios within a
run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.synth_corpus import generate  # noqa: E402
from qa_bot.answering.retrieve import HybridRetriever  # noqa: E402
from qa_bot.config import Settings  # noqa: E402
from qa_bot.index.embeddings import make_embedder  # noqa: E402
from qa_bot.index.library import Library  # noqa: E402
from qa_bot.index.store import ChromaStore  # noqa: E402
from qa_bot.ingest.corpus import load_corpus  # noqa: E402
from support.servers import free_port, stop_process, wait_for_http  # noqa: E402

CHUNK_MAX_TOKENS = 160


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


class ChromaServer:
    """`chroma run` on a loopback port for the duration of a `with` block."""

    def __init__(self, path: Path) -> None:
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ChromaServer:
        chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        self.log = open(self.path.parent / f"chroma-{self.port}.log", "wb")
        self.process = subprocess.Popen(
            [
                chroma,
                "run",
                "--path",
                str(self.path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        try:
            wait_for_http(f"{self.url}/api/v2/heartbeat", timeout=60, process=self.process)
        except (RuntimeError, TimeoutError) as exc:
            self.__exit__()
            raise RuntimeError(f"chroma run did not start on port {self.port}: {exc}") from None
        return self

    def __exit__(self, *exc) -> None:
        stop_process(self.process, timeout=30)
        self.log.close()


def measure_qabot(
    store: ChromaStore, embedder, documents, questions, *, n_questions: int, reuse: bool = False
) -> dict:
    library = Library(Settings.load(chunk_max_tokens=CHUNK_MAX_TOKENS), store, embedder)
    live = store.live() if reuse else None
    if live is None:
        started = time.perf_counter()
        library.sync(documents)
        seconds = time.perf_counter() - started
        live = store.live()
    else:
        seconds = float("nan")  # an index from an earlier run: retrieval figures only
    chunks = live.count()
    started = time.perf_counter()
    view = library.refresh()
    table = view.table
    retriever = HybridRetriever(view.live, table, embedder)
    load_seconds = time.perf_counter() - started
    asked = questions[:: max(1, len(questions) // n_questions)][:n_questions]
    for q in asked[:20]:  # warm: lazy imports, caches of the query path
        retriever.retrieve(q["question"] + " (warm-up)", 5)
    latencies, hits, by_kind = [], 0, {}
    for q in asked:
        began = time.perf_counter()
        found = retriever.retrieve(q["question"], 5)
        latencies.append((time.perf_counter() - began) * 1000)
        hit = any(c.chunk.text.strip() == q["evidence"] for c in found)
        hits += hit
        kind = by_kind.setdefault(q["id"].rsplit("-", 1)[1], [0, 0])  # mayor, cost, firm ...
        kind[0] += hit
        kind[1] += 1
    return {
        "chunks": chunks,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1),
        "articles_per_s": round(len(documents) / seconds, 2),
        "load_table_and_bm25_s": round(load_seconds, 2),
        "retrieve_p50_ms": round(statistics.median(latencies), 1),
        "retrieve_p95_ms": round(percentile(latencies, 95), 1),
        "recall_at_5": round(hits / len(asked), 3),
        "questions": len(asked),
        "recall_by_question_kind": {k: round(h / n, 2) for k, (h, n) in sorted(by_kind.items())},
    }


def measure_llamaindex(documents, folder: Path, *, keep_texts: bool = False) -> dict:
    from qa_bot.eval.baseline import build_default_index, default_embed_model

    embed_model = default_embed_model()  # llama-index's default batch size
    embed_model.get_text_embedding("warm-up")
    started = time.perf_counter()
    built = build_default_index(documents, embed_model=embed_model, persist_dir=str(folder))
    seconds = time.perf_counter() - started
    chunks = built.collection.count()
    texts = built.collection.get(include=["documents"])["documents"] if keep_texts else None
    return {
        "chunks": chunks,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1),
        "articles_per_s": round(len(documents) / seconds, 2),
        "size_mb": round(folder_mb(folder), 1),
        **({"chunk_texts": texts} if keep_texts else {}),
    }


def run_size(
    size: int, work: Path, embedder, *, skip: set[str], n_questions: int, reuse: bool = False
) -> dict:
    corpus = work / f"corpus-{size}"
    questions = [q.__dict__ for q in generate(corpus, size)]  # the same seed: the same corpus
    documents = load_corpus([corpus])
    result: dict = {"articles": size, "loadavg_start": os.getloadavg()[0]}
    print(f"[{size}] embedded Chroma ...", flush=True)
    embedded = work / f"embedded-{size}"
    result["embedded"] = measure_qabot(
        ChromaStore(path=embedded),
        embedder,
        documents,
        questions,
        n_questions=n_questions,
        reuse=reuse,
    )
    result["embedded"]["size_mb"] = round(folder_mb(embedded), 1)
    if "server" not in skip:
        print(f"[{size}] Chroma server ...", flush=True)
        with ChromaServer(work / f"server-{size}") as server:
            result["server"] = measure_qabot(
                ChromaStore(url=server.url),
                embedder,
                documents,
                questions,
                n_questions=n_questions,
                reuse=reuse,
            )
        result["server"]["size_mb"] = round(folder_mb(server.path), 1)
    if "llamaindex" not in skip:
        print(f"[{size}] llama-index default ingestion ...", flush=True)
        result["llamaindex"] = measure_llamaindex(documents, work / f"llamaindex-{size}")
    # The machine's 2 cores are shared: a busy neighbour slows torch a lot.
    result["loadavg_end"] = os.getloadavg()[0]
    print(json.dumps(result), flush=True)
    return result


ADDED = "Harbour works in Velmora\n\n" + " ".join(
    f"Crane {n} at the Velmora harbour lifted {n * 13 % 89 + 11} containers on day {n + 1}."
    for n in range(20)
)


def measure_changes(size: int, work: Path, embedder_name: str, *, repeats: int = 5) -> dict:
    """Add and remove a 20-sentence article in a library of `size` articles (#19)."""
    from qa_bot.engine import Engine

    corpus = work / f"corpus-{size}"
    questions = [q.question for q in generate(corpus, size)]
    data = work / f"changes-{size}-{embedder_name}"
    settings = Settings.load(
        data_dir=str(data),
        cache_dir=str(work / "cache"),
        corpus=(str(corpus),),
        embedder=embedder_name,
    )
    engine = Engine(settings)
    reused = engine.store.live() is not None
    started = time.perf_counter()
    report = engine.index()  # with an index from an earlier run: finds nothing to change
    build = time.perf_counter() - started
    engine.index()  # a compaction, if the earlier run's changes asked for one, is not timed
    engine.warm_up()
    normal = []
    for q in questions[:60]:
        began = time.perf_counter()
        engine.answer(q)
        normal.append(time.perf_counter() - began)
    adds, removes, after_add, after_remove, caught_up = [], [], [], [], []
    cited: list[bool] = []

    def bm25_caught_up(since: float) -> float:
        """Seconds from `since` until the background BM25 serves the current table; the
        next change waits for it, so each change is timed on its own."""
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            loaded = engine.loaded()
            if loaded.retriever.bm25 is None or loaded.retriever.bm25.built_for is loaded.table:
                break
            time.sleep(0.05)
        return time.perf_counter() - since

    caught_up.append(bm25_caught_up(time.perf_counter()))  # nothing pending before the first
    for n in range(repeats):
        began = time.perf_counter()
        upload = engine.add_article(f"velmora-cranes-{n}.txt", ADDED.encode())
        adds.append(time.perf_counter() - began)
        changed = time.perf_counter()
        found = engine.answer("How many containers did crane 7 at the Velmora harbour lift?")
        after_add.append(time.perf_counter() - changed)
        # BM25 follows in the background: say whether dense search found it meanwhile.
        cited.append(any(p.doc_id == upload.doc_id for p in found.passages))
        caught_up.append(bm25_caught_up(changed))
        began = time.perf_counter()
        engine.remove_article(upload.doc_id)
        removes.append(time.perf_counter() - began)
        changed = time.perf_counter()
        engine.answer(questions[n])
        after_remove.append(time.perf_counter() - changed)
        caught_up.append(bm25_caught_up(changed))
    return {
        "articles": size,
        "passages": report.chunks_total,
        "embedder": embedder_name,
        "build_s": round(build, 1),
        "reused_index": reused,
        "add_s": [round(x, 3) for x in adds],
        "remove_s": [round(x, 3) for x in removes],
        "first_answer_after_add_s": [round(x, 3) for x in after_add],
        "first_answer_after_remove_s": [round(x, 3) for x in after_remove],
        "added_article_in_first_answer": cited,
        "bm25_caught_up_after_change_s": [round(x, 2) for x in caught_up[1:]],
        "answer_p50_s": round(statistics.median(normal), 3),
        "answer_p95_s": round(percentile(normal, 95), 3),
        "loadavg": os.getloadavg()[0],
    }


BBC = ROOT.parent / "shared" / "data" / "bbc-news"


def bbc_documents(count: int) -> list:
    """`count` BBC articles spread over the five sections (ids carry the section)."""
    from dataclasses import replace

    from qa_bot.ingest.corpus import load_document

    if not BBC.is_dir():
        raise SystemExit(f"--ingest-bbc needs the BBC News data in {BBC} (see eval/README.md).")
    paths = sorted(BBC.glob("*/*.txt"))
    documents = []
    for path in paths[:: max(1, len(paths) // count)][:count]:
        try:
            document = load_document(path)
        except Exception:
            continue  # the one Latin-1 file
        documents.append(replace(document, doc_id=f"bbc-{path.parent.name}-{document.doc_id}"))
    return documents


def word_pieces(embedder):
    """A counter of MiniLM word pieces (with [CLS] and [SEP]), cut at `limit` when given;
    None for an embedder without MiniLM's tokenizer (hashing)."""
    count = getattr(embedder, "count_word_pieces", None)
    if count is None:
        return None
    return lambda text, limit: count(text) if limit is None else min(count(text), limit)


def measure_ingestion(count: int, work: Path, *, skip: set[str], embedder_name: str) -> dict:
    """qa-bot's indexing and llama-index's default ingestion of the same BBC articles."""
    documents = bbc_documents(count)
    embedder = make_embedder(embedder_name)
    embedder.embed_documents(["warm-up"])  # load the model before any timing
    library = Library(
        Settings.load(chunk_max_tokens=CHUNK_MAX_TOKENS, max_passages=10_000_000),
        ChromaStore(path=work / f"bbc-{count}"),
        embedder,
    )
    result: dict = {
        "articles": len(documents),
        "embedder": embedder_name,
        "loadavg_start": os.getloadavg()[0],
    }
    started = time.perf_counter()
    report = library.sync(documents)
    seconds = time.perf_counter() - started
    result["qabot"] = {
        "chunks": report.chunks_total,
        "seconds": round(seconds, 1),
        "articles_per_s": round(len(documents) / seconds, 2),
    }
    pieces = word_pieces(embedder)
    if pieces is not None:
        from qa_bot.ingest.chunking import chunk_document

        sentences = [
            c.text for d in documents for c in chunk_document(d, max_tokens=CHUNK_MAX_TOKENS)
        ]
        result["article_word_pieces"] = sum(pieces(d.text, None) for d in documents)
        result["qabot"]["word_pieces"] = sum(pieces(t, None) for t in sentences)
        result["qabot"]["word_pieces_per_s"] = round(result["qabot"]["word_pieces"] / seconds)
    print(json.dumps(result["qabot"]), flush=True)
    if "llamaindex" not in skip:
        result["llamaindex"] = measure_llamaindex(
            documents, work / f"bbc-li-{count}", keep_texts=pieces is not None
        )
        result["ratio"] = round(
            result["qabot"]["articles_per_s"] / result["llamaindex"]["articles_per_s"], 2
        )
        if pieces is not None:
            # HuggingFaceEmbedding cuts each 1,024-token chunk at MiniLM's 256 word pieces:
            # what it embeds (and so can ever retrieve) is the start of each chunk.
            base = result["llamaindex"]
            base["word_pieces"] = sum(pieces(t, 256) for t in base.pop("chunk_texts"))
            base["word_pieces_per_s"] = round(base["word_pieces"] / base["seconds"])
            base["share_of_article_embedded"] = round(
                base["word_pieces"] / result["article_word_pieces"], 3
            )
            result["word_pieces_per_s_ratio"] = round(
                result["qabot"]["word_pieces_per_s"] / base["word_pieces_per_s"], 2
            )
    result["loadavg_end"] = os.getloadavg()[0]
    return result


def changes_table(results: list[dict]) -> str:
    lines = [
        "| articles (passages) | embedder | add 20 sentences s (median, max) | remove s | "
        "first answer after add / remove s (max) | ordinary answer p50 / p95 s | "
        "BM25 caught up s (max) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['articles']:,} ({r['passages']:,}) | {r['embedder']} | "
            f"{statistics.median(r['add_s']):.2f}, {max(r['add_s']):.2f} | "
            f"{statistics.median(r['remove_s']):.2f}, {max(r['remove_s']):.2f} | "
            f"{max(r['first_answer_after_add_s']):.2f} / "
            f"{max(r['first_answer_after_remove_s']):.2f} | "
            f"{r['answer_p50_s']:.2f} / {r['answer_p95_s']:.2f} | "
            f"{max(r['bm25_caught_up_after_change_s'] or [0]):.2f} |"
        )
    return "\n".join(lines)


def table(results: list[dict]) -> str:
    lines = [
        "| articles (load avg) | store | chunks | index s | chunks/s | articles/s | size MB | "
        "retrieve p50 / p95 ms | recall@5 |",
        "|" + "---|" * 9,
    ]
    for r in results:
        for key, label in (
            ("embedded", "qa-bot, embedded"),
            ("server", "qa-bot, server"),
            ("llamaindex", "llama-index default"),
        ):
            m = r.get(key)
            if not m:
                continue
            latency = (
                f"{m['retrieve_p50_ms']} / {m['retrieve_p95_ms']}"
                if "retrieve_p50_ms" in m
                else "-"
            )
            load = f"{r['loadavg_start']:.1f}-{r['loadavg_end']:.1f}"
            lines.append(
                f"| {r['articles']:,} ({load}) | {label} | {m['chunks']:,} "
                f"| {m['seconds']} | "
                f"{m['chunks_per_s']} | {m['articles_per_s']} | {m['size_mb']} | "
                f"{latency} | {m.get('recall_at_5', '-')} |"
            )
        if "llamaindex" in r:
            base = r["llamaindex"]
            for key in ("embedded", "server"):
                if key in r:
                    m = r[key]
                    lines.append(
                        f"| {r['articles']:,} | ratio {key} / llama-index | | | "
                        f"{m['chunks_per_s'] / base['chunks_per_s']:.2f}x | "
                        f"{m['articles_per_s'] / base['articles_per_s']:.2f}x | | | |"
                    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--questions", type=int, default=300, help="questions timed per size")
    parser.add_argument("--skip", default="", help="comma-separated: server, llamaindex")
    parser.add_argument("--work", type=Path, help="folder for corpora and indexes (default: temp)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --work: keep the indexes an earlier run left there and measure "
        "retrieval only (skips llama-index)",
    )
    parser.add_argument(
        "--changes",
        action="store_true",
        help="time adding/removing one article at each size (and the first answer after)",
    )
    parser.add_argument(
        "--embedder",
        default="minilm",
        help="with --changes: minilm or hashing; with --ingest-bbc: minilm or minilm-int8",
    )
    parser.add_argument(
        "--ingest-bbc",
        type=int,
        metavar="N",
        help="time indexing N BBC articles beside llama-index's default ingestion",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.ingest_bbc:
        work = args.work or Path(tempfile.mkdtemp(prefix="qa-bot-ingest-"))
        try:
            result = measure_ingestion(
                args.ingest_bbc,
                work,
                skip={s for s in args.skip.split(",") if s},
                embedder_name=args.embedder,
            )
        finally:
            if args.work is None:
                shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(result, indent=2))
        if not args.changes:
            return 0
    if args.changes:  # with --ingest-bbc too: both tables from one run
        work = args.work or Path(tempfile.mkdtemp(prefix="qa-bot-changes-"))
        try:
            found = []
            for size in sizes:
                print(f"[{size}] changes ...", flush=True)
                found.append(measure_changes(size, work, args.embedder))
                print(json.dumps(found[-1]), flush=True)
        finally:
            if args.work is None:
                shutil.rmtree(work, ignore_errors=True)
        print(changes_table(found))
        return 0
    skip = {s for s in args.skip.split(",") if s}
    embedder = make_embedder("minilm")
    embedder.embed_documents(["warm-up"])  # load the model before any timing
    import torch

    print(f"torch threads: {torch.get_num_threads()}, cpus: {os.cpu_count()}", flush=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-bot-scale-"))
    results = []
    try:
        for size in sizes:
            results.append(
                run_size(
                    size,
                    work,
                    embedder,
                    n_questions=args.questions,
                    skip=skip | ({"llamaindex"} if args.reuse else set()),
                    reuse=args.reuse,
                )
            )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\n(figures also in {path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
