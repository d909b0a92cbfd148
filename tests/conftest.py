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
    from qa_bot.chain import Engine

    return Engine(settings)


@pytest.fixture
def corpus_copy(tmp_path):
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def real_embedder():
    from qa_bot.embeddings import make_embedder

    return make_embedder("minilm")
