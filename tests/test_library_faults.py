"""Killed changes (#19), on the embedded store and on a real `chroma run` server.

SIGKILL lands *inside* `qa-bot index --add` and `qa-bot index --remove` of one long article
(1,200 passages: more than Chroma's 1,000-vector sync threshold, so an unfrozen collection
would rewrite its vector files during the add). The CLI says "indexing ..." or "removing
..." on stderr when the change starts; each kill comes a random time after that, within the
change's own span (timed on a full run first), and counts only if the process was still
running. Afterwards a fresh process must open the index (no crash), see the article whole
or not at all, the rest as it was, and answer. Each attempt starts from the state the
previous one left (absent: an add is killed; present: a remove), so no attempt needs a
process to set it up; once a change has had its kills, it is let finish.

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
KILLS_EACH = 2  # kills that must land inside an add, and inside a remove
MAX_ATTEMPTS = 10


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
    extra = {"QA_BOT_MAX_PASSAGES": "1000000", "QA_BOT_PROGRESS": "1"}
    if store == "server":
        extra["QA_BOT_CHROMA_URL"] = request.getfixturevalue("chroma_server")
    return qa_env(tmp_path / "data", **extra)


def _started(process: subprocess.Popen, marker: str) -> None:
    """Wait until the CLI says the change has started."""
    assert process.stderr is not None
    for line in process.stderr:
        if marker in line:
            return
    raise AssertionError(f"the CLI ended before saying {marker!r}")


def _timed(args: tuple[str, ...], marker: str, env: dict[str, str]) -> float:
    """Seconds from the change's start (the marker) to the process's end, on a full run."""
    process = start_qa_bot(*args, env=env)
    _started(process, marker)
    started = time.monotonic()
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return time.monotonic() - started


@pytest.mark.parametrize("store", ["embedded", "server"])
def test_a_killed_add_or_remove_leaves_the_article_whole_or_absent(tmp_path, request, store):
    env = _env(tmp_path, store, request)
    corpus = _base_corpus(tmp_path / "corpus")
    long_article = _long_article(tmp_path)
    assert qa_bot("index", str(corpus), env=env).returncode == 0
    base = set(inspect(env, QUESTION)["docs"])
    changes = {
        "add": (("index", "--add", str(long_article)), "indexing 1 path(s)"),
        "remove": (("index", "--remove", LONG_ID), f"removing {LONG_ID}"),
    }
    span = {kind: _timed(args, marker, env) for kind, (args, marker) in changes.items()}
    rng = random.Random(int(os.environ.get("QA_BOT_FAULT_SEED", "19")))
    landed = {"add": 0, "remove": 0}
    present = False  # the full runs above ended with a remove
    for attempt in range(MAX_ATTEMPTS):
        if min(landed.values()) >= KILLS_EACH:
            break
        kind = "remove" if present else "add"
        args, marker = changes[kind]
        if landed[kind] >= KILLS_EACH:
            # Enough kills inside this change: let it finish, so the other one comes next.
            done = qa_bot(*args, env=env)
            assert done.returncode == 0, done.stderr
            present = not present
            continue
        process = start_qa_bot(*args, env=env)
        _started(process, marker)
        time.sleep(rng.uniform(0.0, 0.8 * span[kind]))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            landed[kind] += 1
        process.wait()
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
        state = inspect(env, QUESTION)  # a fresh process opens what the kill left
        assert state["consistent"], f"half an article after {kind} attempt {attempt}: {state}"
        assert set(state["docs"]) - {LONG_ID} == base, "the rest changed"
        assert state["passages"] > 0
        present = LONG_ID in state["docs"]
    assert min(landed.values()) >= KILLS_EACH, f"kills inside the change: {landed}"
    # A change after the kills completes.
    final = qa_bot(*changes["remove" if present else "add"][0], env=env)
    assert final.returncode == 0, final.stderr
    assert (LONG_ID in inspect(env, QUESTION)["docs"]) != present
