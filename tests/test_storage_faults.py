"""Storage faults: killed indexing, concurrent processes, read-only, missing and corrupt folders.

The slow tests run `qa-bot` in real subprocesses (hashing embedder) on a
generated corpus of 300 articles (about 3,300 chunks, a few seconds to index)
and inspect the served index from a fresh interpreter after each fault. The
fast ones check the errors in-process. Every error must be a `StoreError`
quoting the path and saying what to do; the CLI never prints a traceback.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa_bot.engine import Engine
from qa_bot.errors import StoreError
from tests.fault_support import (
    doc_ids,
    inspect,
    qa_bot,
    qa_env,
    start_qa_bot,
    two_corpora,
)

# --- killed indexing ----------------------------------------------------------------


@pytest.mark.slow
def test_indexing_killed_at_random_points_serves_old_or_new_never_half(tmp_path):
    a, b, questions = two_corpora(tmp_path / "corpora")
    sets = {"a": doc_ids(a), "b": doc_ids(b)}
    env = qa_env(tmp_path / "data")
    assert qa_bot("index", str(a), env=env).returncode == 0
    # How long a switch from one corpus to the other takes, start to exit:
    # kills are spread over that span (and a little past it).
    started = time.monotonic()
    assert qa_bot("index", str(b), env=env).returncode == 0
    switch = time.monotonic() - started
    served = "b"
    rng = random.Random(int(os.environ.get("QA_BOT_FAULT_SEED", "6")))
    outcomes = []
    for attempt in range(14):
        target = "b" if served == "a" else "a"
        process = start_qa_bot("index", str(a if target == "a" else b), env=env)
        delay = rng.uniform(0.2, switch * 1.05)
        try:
            process.wait(timeout=delay)
            killed = False
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed = True
        stderr = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
        state = inspect(env, rng.choice(questions))
        assert state["generation"] is not None, f"no index served after attempt {attempt}"
        assert state["docs"] in (sets["a"], sets["b"]), f"half an index after attempt {attempt}"
        assert state["consistent"] and state["passages"] > 0
        now = "a" if state["docs"] == sets["a"] else "b"
        if not killed:
            assert process.returncode == 0 and now == target, stderr
        assert now in (served, target)
        outcomes.append((round(delay, 2), killed, "new" if now == target else "old"))
        served = now
    print(f"switch {switch:.2f} s; delay, killed, served:", outcomes)
    assert sum(killed for _, killed, _ in outcomes) >= 10
    # The run after the last kill completes and serves its corpus.
    final = qa_bot("index", str(b), env=env)
    assert final.returncode == 0, final.stderr
    assert inspect(env, questions[0])["docs"] == sets["b"]


# --- two processes at once -------------------------------------------------------------

ANSWER_LOOP = r"""
import sys, time
from qa_bot.engine import Engine
from qa_bot.config import Settings
engine = Engine(Settings.load())
questions = sys.argv[2:]
answered = errors = 0
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    try:
        result = engine.answer(questions[answered % len(questions)])
        assert result.text and result.passages
        answered += 1
    except Exception as exc:
        errors += 1
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
print(answered, errors)
"""


def _lock_held(index_dir: Path) -> bool:
    try:
        with open(index_dir / ".qa-bot-write.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except BlockingIOError:
        return True


@pytest.mark.slow
def test_indexing_and_answering_at_once_no_hang_no_corruption_clear_lock_message(tmp_path):
    a, b, questions = two_corpora(tmp_path / "corpora")
    env = qa_env(tmp_path / "data")
    assert qa_bot("index", str(a), env=env).returncode == 0
    answering = subprocess.Popen(
        [sys.executable, "-c", ANSWER_LOOP, "15", *questions[:20]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    indexing = start_qa_bot("index", str(b), env=env)
    deadline = time.monotonic() + 30
    while not _lock_held(tmp_path / "data" / "index"):
        assert time.monotonic() < deadline and indexing.poll() is None, "the indexer never locked"
        time.sleep(0.05)
    # A second indexer gives up quickly with a clear message, no traceback.
    locked = qa_bot("index", str(a), env={**env, "QA_BOT_LOCK_TIMEOUT": "0.5"}, timeout=60)
    assert locked.returncode == 1
    assert "Another qa-bot process is indexing" in locked.stderr
    assert str(tmp_path / "data" / "index") in locked.stderr
    assert "Traceback" not in locked.stderr
    # Nobody hangs: both finish well within their timeouts.
    out, err = indexing.communicate(timeout=120)
    assert indexing.returncode == 0, err
    out, err = answering.communicate(timeout=120)
    assert answering.returncode == 0, err[-3000:]
    answered, errors = map(int, out.split())
    assert errors == 0 and answered > 0, err
    state = inspect(env, questions[-1])
    assert state["docs"] == doc_ids(b) and state["consistent"]


@pytest.mark.slow
def test_two_indexers_with_a_patient_lock_run_one_after_the_other(tmp_path):
    a, b, questions = two_corpora(tmp_path / "corpora", count=150)
    env = qa_env(tmp_path / "data", QA_BOT_LOCK_TIMEOUT="120")
    first, second = start_qa_bot("index", str(a), env=env), start_qa_bot("index", str(b), env=env)
    for process in (first, second):
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
    state = inspect(env, questions[0])
    assert state["docs"] in (doc_ids(a), doc_ids(b)) and state["consistent"]


# --- folders that cannot be used ------------------------------------------------------------


def _cli_fails_cleanly(env, *args) -> str:
    done = qa_bot(*args, env=env, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_index_folder_under_a_file_is_a_clear_error(tmp_path, settings, corpus_copy):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    broken = settings.replace(index_dir=str(blocker / "index"))
    for call in (lambda e: e.index([corpus_copy]), lambda e: e.answer("Who chaired the summit?")):
        with pytest.raises(StoreError, match="QA_BOT_INDEX_DIR") as info:
            call(Engine(broken))
        assert str(blocker / "index") in str(info.value)


def test_index_path_that_is_a_file_is_a_clear_error(tmp_path, settings):
    path = tmp_path / "index-file"
    path.write_text("not an index")
    with pytest.raises(StoreError, match="Cannot create the index folder") as info:
        Engine(settings.replace(index_dir=str(path))).answer("Who chaired the summit?")
    assert str(path) in str(info.value)


def test_a_missing_index_folder_is_built_on_first_use(settings):
    assert not settings.index_path.exists()
    assert Engine(settings).answer("Who chaired the summit?").passages
    assert settings.index_path.is_dir()


@pytest.fixture
def immutable(tmp_path):
    """Make folders read-only even for root (`chattr +i`); undone afterwards."""
    made: list[Path] = []

    def make(path: Path) -> Path:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i does not work here: {done.stderr.decode().strip()}")
        made.append(path)
        return path

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_read_only_index_folder_is_a_clear_error(tmp_path, settings, corpus_copy, immutable):
    Engine(settings).index([corpus_copy])
    immutable(settings.index_path)
    for call in (lambda e: e.answer("Who chaired the summit?"), lambda e: e.index([corpus_copy])):
        with pytest.raises(StoreError, match="read-only") as info:
            call(Engine(settings))
        assert str(settings.index_path) in str(info.value)


def test_read_only_parent_folder_is_a_clear_error(tmp_path, settings, immutable):
    parent = immutable(Path(settings.data_dir).parent)
    with pytest.raises(StoreError, match="Cannot create the index folder") as info:
        Engine(settings).answer("Who chaired the summit?")
    assert str(parent) in str(info.value)


def test_cli_and_ui_show_the_message_not_a_traceback(tmp_path, settings, corpus_copy, immutable):
    from qa_bot.ui.session import UNEXPECTED, ChatSession

    Engine(settings).index([corpus_copy])
    immutable(settings.index_path)
    env = qa_env(Path(settings.data_dir))
    for args in (("ask", "Who chaired the summit?"), ("index", str(corpus_copy))):
        assert "read-only" in _cli_fails_cleanly(env, *args)
    session = ChatSession(Engine(settings), settings)
    *_, last = session.submit("Who chaired the summit?", [], None, None)
    status = last[-1]
    assert "read-only" in status and UNEXPECTED not in status


def test_cli_with_another_embedder_says_rebuild_without_loading_it(settings, corpus_copy):
    """An index built with the hashing embedder, asked with MiniLM configured."""
    Engine(settings).index([corpus_copy])
    env = qa_env(Path(settings.data_dir), QA_BOT_EMBEDDER="minilm")
    started = time.monotonic()
    message = _cli_fails_cleanly(env, "ask", "Who chaired the summit?")
    assert "built with other settings" in message and "qa-bot index --rebuild" in message
    assert "hashing-bow-v1" in message and "all-MiniLM-L6-v2" in message
    assert time.monotonic() - started < 30  # answered before any model was loaded
