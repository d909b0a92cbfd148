"""A corrupt index: a clear error that names the rebuild, and a rebuild that recovers.

Garbage is written into chroma.sqlite3 (its header, or its pages) or into the
HNSW files of a collection large enough for Chroma to keep them on disk (over
1,000 chunks). Every command then fails with a `StoreError` quoting the folder
and naming `qa-bot index --rebuild`, never a traceback; the rebuild moves a
folder Chroma cannot open aside and builds a fresh index, after which
answering works again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa_bot.engine import Engine
from qa_bot.errors import StoreError
from tests.fault_support import qa_bot, qa_env, two_corpora


def _garbage(path: Path, *, offset: int = 0, length: int | None = None) -> None:
    size = path.stat().st_size
    length = max(size - offset, 100) if length is None else length
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(os.urandom(length))


def corrupt(index: Path, how: str) -> None:
    sqlite = index / "chroma.sqlite3"
    if how == "sqlite-header":
        _garbage(sqlite, length=100)
    elif how == "sqlite-pages":
        _garbage(sqlite, offset=4096, length=sqlite.stat().st_size - 8192)
    elif how == "hnsw":
        files = list(index.glob("*/*.bin"))
        assert files, "no HNSW files on disk: the collection is too small"
        for path in files:
            _garbage(path)
    else:
        raise ValueError(how)


def test_a_corrupt_sqlite_file_is_reported_then_rebuilt_in_process(settings, corpus_copy):
    Engine(settings).index([corpus_copy])
    # Chroma keeps the folder open per process; start from a closed one, as a
    # new process would.
    Engine(settings).store._forget_client()
    corrupt(settings.index_path, "sqlite-header")
    for _attempt in range(2):  # the second attempt must not hide the cause
        with pytest.raises(StoreError, match="qa-bot index --rebuild") as info:
            Engine(settings).answer("Who chaired the summit?")
        assert str(settings.index_path) in str(info.value)
        assert "file is not a database" in str(info.value)
    with pytest.raises(StoreError, match="qa-bot index --rebuild"):
        Engine(settings).index([corpus_copy])  # a plain index does not touch the damage
    report = Engine(settings).index([corpus_copy], rebuild=True)
    assert report.rebuilt and report.set_aside
    assert (Path(report.set_aside) / "chroma.sqlite3").exists()  # kept for inspection
    assert Engine(settings).answer("Who chaired the summit?").passages


@pytest.mark.slow
@pytest.mark.parametrize("how", ["sqlite-header", "sqlite-pages", "hnsw"])
def test_cli_on_a_corrupt_index_says_rebuild_and_rebuild_recovers(tmp_path, how):
    a, _, questions = two_corpora(tmp_path / "corpora", count=300 if how == "hnsw" else 20)
    env = qa_env(tmp_path / "data")
    index = tmp_path / "data" / "index"
    assert qa_bot("index", str(a), env=env).returncode == 0
    corrupt(index, how)
    for args in (("ask", questions[0]), ("index", str(a))):
        done = qa_bot(*args, env=env)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert str(index) in done.stderr and "qa-bot index --rebuild" in done.stderr
    rebuilt = qa_bot("index", "--rebuild", str(a), env=env)
    assert rebuilt.returncode == 0 and "Traceback" not in rebuilt.stderr, rebuilt.stderr
    assert "Rebuilt the index" in rebuilt.stdout
    asked = qa_bot("ask", questions[0], env=env)
    assert asked.returncode == 0 and asked.stdout.strip(), asked.stderr
