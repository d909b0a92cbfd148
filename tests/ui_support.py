"""Helpers shared by the UI tests: a scripted answerer and a real app server.

`ScriptedAnswerer` is a real `Answerer` subclass that answers with scripted
text (or raises a scripted error), citing the best retrieved passage, so tests
control what the "model" says without patching. `running_app` starts
``python app.py`` on a free loopback port, as a user would, and stops it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from qa_bot.answering.answerers import Answerer, passages_for, source_for
from qa_bot.types import Answer

from .process_support import free_port, served

ROOT = Path(__file__).resolve().parent.parent


class ScriptedAnswerer(Answerer):
    name = "scripted"

    def __init__(self, *replies: str | BaseException) -> None:
        self.replies = list(replies)
        self.questions = []  # the ResolvedQuestions it was asked

    def answer(self, question, candidates, table) -> Answer:
        self.questions.append(question)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        top = candidates[0]
        return Answer(
            text=reply,
            sources=(source_for(top.chunk, top.dense, table),),
            backend=self.name,
            question=question.question,
            search_query=question.search_query,
            passages=passages_for(candidates, table),
        )


@contextlib.contextmanager
def app_server(
    data_dir: Path,
    *,
    embedder: str = "minilm",
    timeout: float = 180.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """``python app.py`` on a free loopback port; yields (URL, process, log path), then stops it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    env.update(
        QA_BOT_DATA_DIR=str(data_dir),
        QA_BOT_EMBEDDER=embedder,
        QA_BOT_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        **(extra_env or {}),
    )
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    log_path = data_dir.parent / f"app-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}/"
    with served(
        [sys.executable, str(ROOT / "app.py")],
        ready_url=url,
        log_path=log_path,
        timeout=timeout,
        stop_timeout=15,
        cwd=ROOT,
        env=env,
    ) as process:
        yield url, process, log_path


@contextlib.contextmanager
def running_app(
    data_dir: Path,
    *,
    embedder: str = "minilm",
    timeout: float = 180.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """``python app.py`` on a free loopback port; yields its URL, then stops it."""
    with app_server(data_dir, embedder=embedder, timeout=timeout, extra_env=extra_env) as (
        url,
        _,
        _,
    ):
        yield url
