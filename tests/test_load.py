"""A short load ramp against the served app, and the busy answer past the queue bound.

The full ramp (1 to 32 users) and the 10-minute soak are bench commands
(bench/load_test.py); this is the CI-sized version: `python app.py` with the
real MiniLM on a loopback port, 1, 2 and 4 users asking gold questions, 0
errors and 0 refusals. Then an app with a queue of 2 and 12 users at once:
some are told the app is busy, none fail any other way.
"""

from __future__ import annotations

import pytest

from support.load import run_level, served_app

pytestmark = pytest.mark.slow


def test_a_short_ramp_has_no_errors(tmp_path):
    with served_app(tmp_path / "data") as app:
        run_level(app.url, 1, per_user=2)  # warm-up
        for users in (1, 2, 4):
            summary = run_level(app.url, users, per_user=3).summary()
            assert summary["errors"] == 0, summary["error_messages"]
            assert summary["busy"] == 0 and summary["answered"] == users * 3
            assert summary["p95_ms"] is not None
    assert "Traceback" not in app.log.read_text(errors="replace")


def test_past_the_queue_bound_users_are_told_busy(tmp_path):
    with served_app(tmp_path / "data", queue_size=2) as app:
        run_level(app.url, 1, per_user=2)  # warm-up
        summary = run_level(app.url, 12, per_user=3).summary()
    assert summary["errors"] == 0, summary["error_messages"]
    assert summary["busy"] > 0 and summary["answered"] > 0
    assert "Queue is full" in summary["busy_message"]
