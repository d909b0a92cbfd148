"""Run the qa-bot web UI: ``python app.py [--host HOST] [--port PORT]``.

Builds the module-level `demo` (so `gradio app.py` and tests can import it)
and serves it on QA_BOT_HOST:QA_BOT_PORT, 127.0.0.1:7860 by default. The
first run indexes the bundled article (a few seconds) before serving.

Started as a script, it says what it is doing from the first second: the port is
checked before anything slow, logging is set up before the index is built (so the
first run's "indexing" and "exporting ... to ONNX" lines show), and "ready" gives
the time since start.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas before the server starts its threads.

    glibc gives each busy thread its own arena, and the server's worker
    threads then keep freed memory in many half-empty arenas: in a 10-minute
    soak (bench/load_test.py) the resident size crept from 792 to 970 MB
    while the engine alone, under the same load, stayed flat. With two arenas
    it levels off (bench/RESULTS.md). Same as MALLOC_ARENA_MAX=2, which glibc
    reads only at start-up; a user's own MALLOC_ARENA_MAX wins.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # -8 is M_ARENA_MAX


def _parser(host: str, port: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Serve the qa-bot chat UI.")
    parser.add_argument("--host", help=f"address to bind (default {host}, QA_BOT_HOST)")
    parser.add_argument("--port", type=int, help=f"port (default {port}, QA_BOT_PORT)")
    return parser


def _start_as_script() -> None:
    """Before the heavy imports: logging, and the port check (both cheap)."""
    from qa_bot.config import Settings
    from qa_bot.errors import QaBotError
    from qa_bot.ui.port import port_problem

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        configured = Settings.load()
    except QaBotError as exc:
        print(f"qa-bot: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    args = _parser(configured.host, configured.port).parse_args()
    problem = port_problem(args.host or configured.host, args.port or configured.port)
    if problem:
        print(f"qa-bot: {problem}", file=sys.stderr)
        raise SystemExit(1)
    # The imports below take seconds on a laptop; never start in silence.
    print("qa-bot: starting: loading the web UI and the models…", file=sys.stderr, flush=True)


_limit_malloc_arenas()
if __name__ == "__main__":
    _start_as_script()

# Imported after the arena cap: these start the threads the cap is for.
from qa_bot.config import Settings  # noqa: E402
from qa_bot.engine import get_engine  # noqa: E402
from qa_bot.errors import QaBotError  # noqa: E402
from qa_bot.ui.app import build_app, launch  # noqa: E402

settings = Settings.load()
engine = get_engine(settings)
demo = build_app(engine, settings)


def main(argv: list[str] | None = None) -> int:
    args = _parser(settings.host, settings.port).parse_args(argv)
    try:
        launch(demo, settings, engine=engine, host=args.host, port=args.port, started=STARTED)
    except QaBotError as exc:
        print(f"qa-bot: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
