"""Put load on a served app: users (threads with a gradio_client each) asking gold questions.

`run_level` measures one concurrency level (answers/s, latency, how many were refused as busy)
and `soak` keeps users asking while it samples the app's memory. Used by `bench/load_test.py`
and by the short load tests in `tests/test_load.py`.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from support.servers import ROOT, app_server

GOLD = ROOT / "eval" / "gold" / "csto.jsonl"


def gold_questions() -> list[tuple[str, list | None]]:
    cases = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line]
    return [(c["question"], c.get("history") or None) for c in cases]


@dataclass
class App:
    url: str
    pid: int
    log: Path


@contextlib.contextmanager
def served_app(
    data_dir: Path, *, queue_size: int | None = None, embedder: str = "minilm", timeout: float = 300
) -> Iterator[App]:
    """`python app.py` on a free loopback port; stopped (and waited for) on exit."""
    extra = {} if queue_size is None else {"QA_BOT_QUEUE_SIZE": str(queue_size)}
    with app_server(data_dir, embedder=embedder, timeout=timeout, extra_env=extra) as (
        url,
        process,
        log,
    ):
        yield App(url, process.pid, log)


@dataclass
class Outcome:
    kind: str  # "ok" | "busy" | "error"
    seconds: float
    message: str = ""


@dataclass
class Level:
    users: int
    wall: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(o.kind == kind for o in self.outcomes)

    def summary(self) -> dict:
        ok = sorted(o.seconds for o in self.outcomes if o.kind == "ok")
        p95 = ok[min(len(ok) - 1, round(0.95 * (len(ok) - 1)))] if ok else 0.0
        errors = [o.message for o in self.outcomes if o.kind == "error"]
        return {
            "users": self.users,
            "requests": len(self.outcomes),
            "answered": len(ok),
            "busy": self.count("busy"),
            "errors": len(errors),
            "error_rate": round(len(errors) / max(1, len(self.outcomes)), 4),
            "answers_per_s": round(len(ok) / self.wall, 2) if self.wall else 0.0,
            "p50_ms": round(statistics.median(ok) * 1000) if ok else None,
            "p95_ms": round(p95 * 1000) if ok else None,
            "busy_message": next((o.message for o in self.outcomes if o.kind == "busy"), ""),
            "error_messages": sorted(set(errors))[:5],
        }


def ask_once(client, question: str, history) -> Outcome:
    started = time.perf_counter()
    try:
        result = client.predict(question, history, api_name="/ask")
        kind, message = ("ok", "") if result.get("text") else ("error", f"empty answer {result!r}")
    except Exception as exc:  # noqa: BLE001 - every failure is a figure here
        message = f"{type(exc).__name__}: {exc}"
        kind = "busy" if "Queue is full" in message else "error"
    return Outcome(kind, time.perf_counter() - started, message)


def run_level(
    url: str,
    users: int,
    *,
    per_user: int = 0,
    duration: float = 0.0,
    questions: list | None = None,
    on_sample=None,
) -> Level:
    """`users` concurrent users; each asks `per_user` questions, or asks for `duration` s."""
    from gradio_client import Client

    questions = questions or gold_questions()
    level = Level(users)
    clients = [Client(url, verbose=False) for _ in range(users)]
    start = threading.Barrier(users + 1)
    lock = threading.Lock()

    def user(number: int, client) -> None:
        start.wait()
        began, asked = time.monotonic(), 0
        while (asked < per_user) if per_user else (time.monotonic() - began < duration):
            question, history = questions[(number * 7 + asked) % len(questions)]
            outcome = ask_once(client, question, history)
            with lock:
                level.outcomes.append(outcome)
            asked += 1

    threads = [
        threading.Thread(target=user, args=(n, c), daemon=True) for n, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    limit = (duration or per_user * 30) + 120  # bounded: never wait forever
    while any(t.is_alive() for t in threads) and time.monotonic() - began < limit:
        if on_sample is not None:
            on_sample(time.monotonic() - began)
        for thread in threads:
            thread.join(timeout=0.5)
    level.wall = time.monotonic() - began
    return level


def rss_mb(pid: int) -> float:
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 1e6
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1000
    raise RuntimeError(f"no RSS for process {pid}")


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    later = [(t, m) for t, m in samples if t >= 60] or samples
    if len(later) < 2:
        return 0.0
    mean_t = statistics.fmean(t for t, _ in later)
    mean_m = statistics.fmean(m for _, m in later)
    num = sum((t - mean_t) * (m - mean_m) for t, m in later)
    den = sum((t - mean_t) ** 2 for t, _ in later) or 1.0
    return num / den * 60


def soak(app: App, *, users: int, seconds: float, every: float) -> dict:
    samples: list[tuple[float, float]] = [(0.0, rss_mb(app.pid))]

    def sample(elapsed: float) -> None:
        if elapsed - samples[-1][0] >= every:
            samples.append((elapsed, rss_mb(app.pid)))

    level = run_level(app.url, users, duration=seconds, on_sample=sample)
    samples.append((level.wall, rss_mb(app.pid)))
    return {
        **level.summary(),
        "seconds": round(level.wall),
        "rss_start_mb": round(samples[0][1], 1),
        "rss_peak_mb": round(max(m for _, m in samples), 1),
        "rss_end_mb": round(samples[-1][1], 1),
        "rss_slope_mb_per_min_after_1min": round(slope_mb_per_min(samples), 2),
        "samples": [(round(t), round(m, 1)) for t, m in samples],
    }
