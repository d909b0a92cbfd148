"""Shared fixtures.

Every test runs with its own data folder (index, uploads, feedback), so no test
sees the user's index or another test's. The default run is hermetic: the
`hashing` embedder stands in for MiniLM. Tests marked `slow` use the real
components (MiniLM, a Chroma server, llama.cpp, Chromium).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ARTICLE = CORPUS / "csto-summit-bishkek.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MULTI_CORPUS = FIXTURES / "multi_corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Read once, before the autouse fixture clears every QA_BOT_* variable.
REQUIRE_ALL = os.environ.get("QA_BOT_REQUIRE_ALL") == "1"
# The public data sets are not installed by scripts/test.sh (a user's clone may lack them:
# tests/public_data.py); CI has them, and .ci/run requires them too.
REQUIRE_DATA = os.environ.get("QA_BOT_REQUIRE_DATA") == "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("QA_BOT_"):
            monkeypatch.delenv(name)
    data = tmp_path / "qa-bot-data"
    monkeypatch.setenv("QA_BOT_DATA_DIR", str(data))
    return data


@pytest.fixture
def settings(isolated_data_dir):
    from qa_bot.config import Settings

    return Settings.load(embedder="hashing")


@pytest.fixture
def engine(settings):
    from qa_bot.engine import Engine

    return Engine(settings)


@pytest.fixture
def corpus_copy(tmp_path):
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def chroma_server(tmp_path):
    """A real Chroma server (`chroma run`) on a free loopback port."""
    import sys

    from support.servers import free_port, served

    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        exe,
        "run",
        "--path",
        str(tmp_path / "chroma-data"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with served(
        command,
        ready_url=f"{url}/api/v2/heartbeat",
        log_path=tmp_path / "chroma.log",
        timeout=60,
        stop_timeout=10,
    ):
        yield url


@pytest.fixture(scope="session")
def real_embedder():
    from qa_bot.index.embeddings import make_embedder

    return make_embedder("minilm")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With QA_BOT_REQUIRE_ALL=1 (set by scripts/test.sh, so in CI) a skip is a failure.

    Tests for optional parts (the [llm] extra, Chromium) skip on a developer's
    machine that lacks them; CI installs everything, so a skip there means a
    component silently went untested. Tests marked `public_data` may still skip for
    want of the data unless QA_BOT_REQUIRE_DATA=1 too (.ci/run sets it).
    """
    outcome = yield
    report = outcome.get_result()
    data_only = item.get_closest_marker("public_data") is not None and not REQUIRE_DATA
    if report.skipped and REQUIRE_ALL and not data_only and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (
            f"skipped in a run that requires every test (QA_BOT_REQUIRE_ALL=1): {reason}"
        )
