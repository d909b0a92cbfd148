"""Starting and stopping the real servers that tests and benchmarks use (`python app.py`,
`chroma run`, `python -m llama_cpp.server`): one way to pick a port, wait for the server to
answer, and stop it.

`support/` is shared by `tests/` and `bench/`, which do not import each other.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Return once `url` answers 200.

    RuntimeError if `process` exits first, TimeoutError after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate, and kill if it does not exit within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def served(
    command: Sequence[str],
    *,
    ready_url: str,
    log_path: Path,
    timeout: float,
    stop_timeout: float = 20,
    **popen_kwargs: Any,
) -> Iterator[subprocess.Popen]:
    """Run a server with its output in `log_path`; yield it once `ready_url` answers, then stop it.

    Output goes to a file, not a pipe: a server that logs a lot (llama.cpp logs
    ~200 KB while loading) would fill a pipe nobody reads and freeze. If the
    server exits or never answers, RuntimeError carries the end of its log.
    """
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            list(command), stdout=log, stderr=subprocess.STDOUT, **popen_kwargs
        )
    try:
        try:
            wait_for_http(ready_url, timeout=timeout, process=process)
        except (RuntimeError, TimeoutError) as exc:
            tail = Path(log_path).read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"{command[0]} did not start ({exc}); its log ends:\n{tail}"
            ) from None
        yield process
    finally:
        stop_process(process, timeout=stop_timeout)


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


def seconds_to_first_answer(env: dict[str, str], question: str, *, timeout: float = 180.0) -> float:
    """Start ``python app.py`` with `env` on a free port and time it until the page answers
    `question` through gradio_client (the user's "first answer"); then stop it."""
    from gradio_client import Client

    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=ROOT,
        env={**env, "QA_BOT_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() < started + timeout:
            if process.poll() is not None:
                raise RuntimeError(f"app.py exited with {process.returncode}")
            try:
                Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                    question, api_name="/ask"
                )
                return time.perf_counter() - started
            except Exception:  # not up yet
                time.sleep(0.1)
        raise TimeoutError(f"the app did not answer within {timeout:.0f} s")
    finally:
        stop_process(process, timeout=30)
