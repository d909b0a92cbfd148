"""Killed changes and replicas (#19), on the embedded store and on a real `chroma run` server.

- SIGKILL during `qa-bot index --add` and `qa-bot index --remove` of one long article, at
  random points over the change's span: afterwards the article is there whole or not at all,
  the rest of the library is as it was, and a fresh process answers.

The browser tests (two sessions; two replicas) are in tests/test_library_browser.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.fault_support import inspect, qa_bot, qa_env, start_qa_bot

pytestmark = pytest.mark.slow

LONG_ID = "long-harbour-report"
QUESTION = "Who is the mayor?"  # about the base corpus: answered with or without the article


def _base_corpus(folder: Path) -> Path:
    from bench.synth_corpus import generate

    generate(folder, 20)
    return folder


def _long_article(folder: Path, sentences: int = 1200) -> Path:
    path = folder / f"{LONG_ID}.txt"
    body = " ".join(
        f"Berth {n} of the Velmora harbour took {n * 7 % 97 + 3} ships in week {n % 52 + 1}."
        for n in range(sentences)
    )
    path.write_text(f"Long harbour report\n\n{body}\n", encoding="utf-8")
    return path


def _env(tmp_path: Path, store: str, request) -> dict[str, str]:
    extra = {"QA_BOT_MAX_PASSAGES": "1000000"}
    if store == "server":
        extra["QA_BOT_CHROMA_URL"] = request.getfixturevalue("chroma_server")
    return qa_env(tmp_path / "data", **extra)


@pytest.mark.parametrize("store", ["embedded", "server"])
@pytest.mark.parametrize("change", ["add", "remove"])
def test_a_killed_change_leaves_the_article_whole_or_absent(tmp_path, request, store, change):
    env = _env(tmp_path, store, request)
    corpus = _base_corpus(tmp_path / "corpus")
    long_article = _long_article(tmp_path)
    assert qa_bot("index", str(corpus), env=env).returncode == 0
    base = inspect(env, QUESTION)
    args = (
        ("index", "--add", str(long_article)) if change == "add" else ("index", "--remove", LONG_ID)
    )
    undo = (
        ("index", "--remove", LONG_ID) if change == "add" else ("index", "--add", str(long_article))
    )
    if change == "remove":
        assert qa_bot(*undo, env=env).returncode == 0
    started = time.monotonic()
    assert qa_bot(*args, env=env).returncode == 0, "the change itself must work"
    span = time.monotonic() - started
    rng = random.Random(int(os.environ.get("QA_BOT_FAULT_SEED", "19")))
    kills = 0

    def back_to_the_start() -> None:
        present = LONG_ID in inspect(env, QUESTION)["docs"]
        if present == (change == "add"):
            assert qa_bot(*undo, env=env).returncode == 0

    for attempt in range(6):
        back_to_the_start()
        process = start_qa_bot(*args, env=env)
        delay = rng.uniform(0.3, span)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
        process.stdout.close()
        process.stderr.close()
        state = inspect(env, QUESTION)
        assert state["consistent"], f"half an article after attempt {attempt}: {state}"
        assert set(state["docs"]) - {LONG_ID} == set(base["docs"]), "the rest changed"
        assert state["passages"] > 0
    assert kills >= 3
    # A change after the kills completes.
    back_to_the_start()
    final = qa_bot(*args, env=env)
    assert final.returncode == 0, final.stderr
    assert (LONG_ID in inspect(env, QUESTION)["docs"]) == (change == "add")
