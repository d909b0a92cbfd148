"""Time from `python app.py` to a page that answers, against the CLI as a baseline.

Runs, each in a fresh process on this machine:
  cold  `python app.py` with an empty data folder (builds the index first),
  warm  `python app.py` again on the same folder (opens the index),
  cli   `qa-bot ask` on that folder: the same imports and index, no web server.
"Answers" means the first successful gradio_client call to the `ask` endpoint.
Prints seconds and the ratios app/cli, so a slower machine shows as a ratio.

    PYTHONPATH=src python bench/ui_startup.py [--embedder minilm|hashing]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTION = "Where was the summit held?"


def app_seconds(data: Path, embedder: str) -> float:
    from support.servers import seconds_to_first_answer

    env = {**os.environ, "QA_BOT_DATA_DIR": str(data), "QA_BOT_EMBEDDER": embedder}
    return seconds_to_first_answer(env, QUESTION)


def cli_seconds(data: Path, embedder: str) -> float:
    env = {**os.environ, "QA_BOT_DATA_DIR": str(data), "QA_BOT_EMBEDDER": embedder}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "qa_bot.cli", "ask", QUESTION],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="minilm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        cold = app_seconds(data, args.embedder)
        warm = app_seconds(data, args.embedder)
        cli = cli_seconds(data, args.embedder)
    print(f"embedder {args.embedder}, {os.cpu_count()} CPUs")
    print(f"cold app start to first answer: {cold:6.1f} s  ({cold / cli:.2f}x the CLI)")
    print(f"warm app start to first answer: {warm:6.1f} s  ({warm / cli:.2f}x the CLI)")
    print(f"baseline `qa-bot ask` (warm):   {cli:6.1f} s")


if __name__ == "__main__":
    main()
