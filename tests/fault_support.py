"""Helpers for the storage-fault tests: qa-bot in subprocesses, and an index inspector.

Each check of the served index runs in a fresh interpreter, as a user's next
command would: the test process never opens the Chroma folder itself, so no
in-process cache can hide what is on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for bench.synth_corpus

from bench.synth_corpus import generate  # noqa: E402

# Prints the served generation, its article set and chunk counts, and answers a question.
INSPECT = r"""
import json, sys
from qa_bot.engine import Engine
from qa_bot.config import Settings
engine = Engine(Settings.load())
live = engine.store.live()
if live is None:
    print(json.dumps({"generation": None})); sys.exit(0)
records = live.document_records()  # the catalogue's live articles
counts = {}  # rows per (article, revision); rows of other revisions are never shown
for _, _, meta, _ in live.rows():
    key = (meta["doc_id"], meta["rev"])
    counts[key] = counts.get(key, 0) + 1
answer = engine.answer(sys.argv[1])
view = engine.loaded().table
print(json.dumps({
    "generation": live.name, "docs": sorted(records), "chunks": live.count(),
    "consistent": all(counts.get((d, r["rev"]), 0) == r["chunk_count"] for d, r in records.items())
                  and all(len(view.chunks_of(d)) <= r["chunk_count"] for d, r in records.items())
                  and sorted(view.articles) == sorted(records),
    "answer": answer.text, "passages": len(answer.passages),
}))
"""


def qa_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    env.update(
        {
            "QA_BOT_DATA_DIR": str(data_dir),
            "QA_BOT_EMBEDDER": "hashing",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT / "src"),
            **extra,
        }
    )
    return env


def qa_bot(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa_bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_qa_bot(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "qa_bot.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def inspect(env: dict[str, str], question: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", INSPECT, question],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def two_corpora(folder: Path, count: int = 300) -> tuple[Path, Path, list[str]]:
    """Corpus A, and corpus B = A with 20 articles removed, 20 added and 30 changed.

    Returns the folders and one question per article of both (for answering checks).
    """
    a, b = folder / "a", folder / "b"
    questions = generate(folder / "all", count + 20)
    files = sorted((folder / "all").iterdir())
    a.mkdir()
    b.mkdir()
    for path in files[:count]:
        shutil.copy2(path, a / path.name)
    for path in files[20:]:
        shutil.copy2(path, b / path.name)
    for path in sorted(b.iterdir())[:30]:
        path.write_text(
            path.read_text(encoding="utf-8") + "\nA correction was added later.\n", encoding="utf-8"
        )
    asked = {q.doc_id: q.question for q in questions if q.id.endswith("-mayor")}
    return a, b, list(asked.values())


def doc_ids(folder: Path) -> list[str]:
    from qa_bot.ingest.corpus import load_corpus

    return sorted(d.doc_id for d in load_corpus([folder]))
