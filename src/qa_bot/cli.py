"""The `qa-bot` command: index articles, ask questions, run the eval.

`main(argv) -> int` is the whole entry point, so tests call it directly.
Errors from the project's error family print their message (no traceback)
and exit with status 2 for bad input, 1 for anything else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from qa_bot.errors import QaBotError, QuestionError
from qa_bot.types import ANSWERED, NOT_FOUND, UNSURE


def answerer_help() -> str:
    """The answerer backends, from the registry (a new backend shows up here by registering)."""
    from qa_bot.answering.answerers import answerer_patterns

    return f"answerer: {', '.join(answerer_patterns())} (default: QA_BOT_LLM or 'extractive')"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa-bot",
        description="Grounded question answering over news articles, offline.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = sub.add_parser(
        "index",
        help="build or update the index",
        description="Index articles (.txt, .md, .html, .pdf, .docx). With no PATH, index the "
        "configured corpus (QA_BOT_CORPUS, default: the bundled article). The index then holds "
        "exactly these articles: unchanged ones are kept, changed ones re-embedded, removed ones "
        "dropped. With --add, a PATH may be a link (http:// or https://): the page, PDF or "
        "Word file is fetched, saved with the uploads and indexed.",
    )
    index.add_argument(
        "paths", nargs="*", metavar="PATH", help="article files or folders, or links with --add"
    )
    index.add_argument(
        "--add",
        action="store_true",
        help="add or update these articles (or links) and keep the others",
    )
    index.add_argument(
        "--rebuild",
        action="store_true",
        help="re-embed everything (after changing the embedder or chunker)",
    )
    index.add_argument(
        "--remove",
        metavar="ID",
        action="append",
        help="remove an uploaded article by its id (see the Articles tab); repeatable",
    )

    ask = sub.add_parser(
        "ask",
        help="answer a question",
        description="Answer a question about the indexed articles and print the cited sentences.",
        epilog='A question that starts with "-" goes after "--": qa-bot ask -- "-5 degrees?"',
    )
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--llm", metavar="SPEC", help=answerer_help())
    ask.add_argument("--top-k", type=int, metavar="N", help="passages to retrieve")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    _add_eval_parser(sub)
    return parser


def _add_eval_parser(sub) -> None:
    from qa_bot.eval.runner import RETRIEVAL_CHOICES

    ev = sub.add_parser(
        "eval",
        help="measure answer quality on the gold set",
        description="Run the gold questions against a temporary index (your index is never "
        "touched) and write results.json, report.md and PNG plots. Retrieval modes: 'full' is "
        "the real pipeline (hybrid retrieval + follow-up rewriting); 'hybrid', 'dense' and "
        "'bm25' feed that retriever alone and ask each question without its history.",
    )
    ev.add_argument(
        "--gold", metavar="PATH", help="gold JSONL file (default: eval/gold/csto.jsonl)"
    )
    ev.add_argument(
        "--corpus",
        metavar="PATH",
        help="articles the gold file is about (default: "
        "the folder <name>/ beside <name>_gold.jsonl, else the bundled corpus)",
    )
    ev.add_argument("--llm", metavar="SPEC", help=answerer_help())
    ev.add_argument("--retrieval", choices=RETRIEVAL_CHOICES, help="retrieval mode (default: full)")
    ev.add_argument("--split", choices=("dev", "test", "all"), help="cases to run (default: test)")
    ev.add_argument("--out", metavar="DIR", help="output folder (default: eval/out/<time>-<run>)")
    ev.add_argument(
        "--gate",
        metavar="THRESHOLDS",
        help="fail (exit 1) if a metric is worse than in this thresholds file; its "
        "run settings (gold, split, llm, retrieval) become the defaults",
    )
    ev.add_argument(
        "--ablation",
        action="store_true",
        help="run every retrieval mode x answerer, plus the llama-index baseline",
    )
    ev.add_argument(
        "--answerers",
        metavar="SPECS",
        default="extractive,llamacpp:smollm2",
        help="comma-separated answerers for --ablation (unavailable ones are skipped)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse exits on bad usage (e.g. a question starting with "-") and
        # after --help; return its status instead, as `main(argv) -> int` promises
        # (the fuzz tests call main in-process).
        return exc.code if isinstance(exc.code, int) else 2
    try:
        if args.command == "index":
            return _index(args)
        if args.command == "ask":
            return _ask(args)
        if args.command == "eval":
            from qa_bot.eval.cli import run_eval_command

            return run_eval_command(args)
    except QuestionError as exc:
        print(f"qa-bot: {exc}", file=sys.stderr)
        return 2
    except QaBotError as exc:
        print(f"qa-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "qa-bot: interrupted; the index is unchanged unless a run completed.", file=sys.stderr
        )
        return 130
    print(f"qa-bot: unknown command {args.command!r}", file=sys.stderr)
    return 2


def say(message: str) -> None:
    """Progress on stderr, so a slow first start is never silent (stdout stays the answer)."""
    if sys.stderr.isatty() or os.environ.get("QA_BOT_PROGRESS"):
        print(f"qa-bot: {message}", file=sys.stderr, flush=True)


def _engine(**overrides):
    from qa_bot.config import Settings
    from qa_bot.engine import Engine

    return Engine(Settings.load(**overrides))


def _index(args) -> int:
    engine = _engine()
    if args.remove:
        say("loading the index…")
        engine.loaded()
        for doc_id in args.remove:
            say(f"removing {doc_id}…")
            report = engine.remove_article(doc_id)
            print(report.summary())
    else:
        links = [p for p in args.paths if is_link(p)]
        paths = [p for p in args.paths if not is_link(p)]
        if links and not args.add:
            raise QaBotError(
                f"A link can only be added to the index: qa-bot index --add {links[0]}"
            )
        for link in links:
            say(f"fetching {link}…")
            upload = engine.add_url(link)
            print(f"{link}: saved as {upload.doc_id!r}. {upload.report.summary()}")
        if paths or not links:
            count = "the configured corpus" if not paths else f"{len(paths)} path(s)"
            say(f"indexing {count}{' (adding to the index)' if args.add else ''}…")
            report = engine.index(paths or None, add=args.add, rebuild=args.rebuild)
            print(report.summary())
    print(f"Index: {engine.store.location}")
    return 0


def is_link(value: str) -> bool:
    """A PATH argument that is a URL ("http://...", "https://...", or any "scheme://")."""
    head = value.split("://", 1)[0]
    return "://" in value and head.isalpha() and len(head) > 1


# How `qa-bot ask` marks each answer state, first thing on the line.
STATUS_LABELS = {ANSWERED: "answer", UNSURE: "unsure", NOT_FOUND: "not found"}


def _ask(args) -> int:
    engine = _engine(llm=args.llm, top_k=args.top_k)
    say("loading the index and the models…")
    load_seconds = engine.warm_up(args.llm)
    result = engine.answer(args.question)
    if args.json:
        payload = result.to_dict()
        payload["timings"] = {"load_ms": round(load_seconds * 1000, 1), **payload["timings"]}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(f"[{STATUS_LABELS[result.status]}] {result.text}")
    if result.notice:
        print(f"\nNote: {result.notice}")
    if result.sources:
        print("\nSources:")
        for number, source in enumerate(result.sources, start=1):
            page = f"page {source.page}, " if source.page else ""
            print(
                f"[{number}] {source.title} ({page}chars {source.start}-{source.end}, "
                f"score {source.score:.2f})"
            )
            print(f"    {source.text.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
