"""Run the qa-bot web UI: ``python app.py [--host HOST] [--port PORT]``.

Builds the module-level `demo` (so `gradio app.py` and tests can import it)
and serves it on QA_BOT_HOST:QA_BOT_PORT, 127.0.0.1:7860 by default. The
first run indexes the bundled article (a few seconds) before serving.
"""

from __future__ import annotations

import argparse
import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa_bot.chain import get_engine
from qa_bot.config import Settings
from qa_bot.ui import build_app, launch

settings = Settings.load()
engine = get_engine(settings)
demo = build_app(engine, settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the qa-bot chat UI.")
    parser.add_argument("--host", help=f"address to bind (default {settings.host}, QA_BOT_HOST)")
    parser.add_argument("--port", type=int, help=f"port (default {settings.port}, QA_BOT_PORT)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    launch(demo, settings, engine=engine, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
