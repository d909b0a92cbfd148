"""The public data sets some tests need, and the one marker that says so.

The data (SQuAD, SelQA, the BBC News articles, ...) is never in this repository. This
team keeps it in ``../shared/data`` beside the checkout; anyone else fetches it with
``python scripts/fetch_public_data.py`` (from the data sets' public homes) or points
``QA_BOT_PUBLIC_DATA`` at a folder that holds it. A test that needs it is marked::

    @needs_public_data("bbc-news", why="the BBC eval gate")
    def test_...():
        ... PUBLIC_DATA / "bbc-news" ...

Without the data it is skipped with a message that names what is missing, where it comes
from and how to get it; with ``QA_BOT_REQUIRE_DATA=1`` (set by `.ci/run`: CI has the data)
and ``QA_BOT_REQUIRE_ALL=1`` (set by `scripts/test.sh`) that skip is a failure, so where the
data is, these tests always run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Read at import: the autouse fixture in conftest clears QA_BOT_* variables for each test.
PUBLIC_DATA = Path(os.environ.get("QA_BOT_PUBLIC_DATA") or ROOT.parent / "shared" / "data")
FETCH = "python scripts/fetch_public_data.py"


def missing_public_data(*paths: str) -> list[str]:
    return [p for p in paths if not (PUBLIC_DATA / p).exists()]


def needs_public_data(*paths: str, why: str):
    """Mark a test as needing `paths` under the public data folder; skip it plainly when
    they are missing. Select or deselect these tests with ``-m public_data``."""
    missing = missing_public_data(*paths)
    reason = (
        f"needs the public data {', '.join(missing)} for {why}, not found in {PUBLIC_DATA}. "
        f"It is public research data, not part of the repository: `{FETCH}` downloads it "
        "(see that script for the sources), or set QA_BOT_PUBLIC_DATA to its folder."
    )

    def mark(test):
        test = pytest.mark.public_data(test)
        return pytest.mark.skipif(bool(missing), reason=reason)(test)

    return mark
