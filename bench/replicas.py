"""Answers per second from 1 and 2 app replicas sharing one Chroma server (#19), same run.

    python bench/replicas.py [--users 4] [--per-user 8] [--rounds 2]

Starts a real `chroma run` on a loopback port, indexes the bundled corpus into it once,
then measures, alternating `--rounds` times (the machine is shared, so pairs are compared
within a round):

- 1 replica: one `python app.py` (real MiniLM and reader) on the server; `--users`
  concurrent users (gradio_client, gold questions with their history) ask `--per-user`
  questions each;
- 2 replicas: two `python app.py` processes on the same server, the same users split
  between them (as a round-robin proxy would).

Reported per round: answers/s, p50/p95 latency and busy/error counts, and the 2-to-1 ratio.
One app answers one question at a time; two replicas on this 2-core machine share the
cores (and the Chroma server's), so the ratio says what a second process buys here, not
what a second machine would. Every loop is bounded in count and time; servers are stopped
on exit. Figures print as Markdown and go to bench/out/replicas-<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from support.load import Level, run_level  # noqa: E402
from support.servers import app_server, free_port, served  # noqa: E402


@contextlib.contextmanager
def chroma_server(path: Path):
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    command = [exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with served(
        command,
        ready_url=f"{url}/api/v2/heartbeat",
        log_path=path.parent / "chroma.log",
        timeout=120,
        stop_timeout=15,
    ):
        yield url


def index_corpus(url: str, data: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    env.update(QA_BOT_CHROMA_URL=url, QA_BOT_DATA_DIR=str(data), PYTHONPATH=str(ROOT / "src"))
    subprocess.run([sys.executable, "-m", "qa_bot.cli", "index"], env=env, check=True, timeout=900)


def measure(urls: list[str], users: int, per_user: int) -> dict:
    """`users` users split over `urls`, all starting together; combined figures."""
    levels: list[Level] = []
    lock = threading.Lock()

    def replica(url: str, count: int) -> None:
        level = run_level(url, count, per_user=per_user)
        with lock:
            levels.append(level)

    split = [users // len(urls) + (i < users % len(urls)) for i in range(len(urls))]
    threads = [
        threading.Thread(target=replica, args=(url, n), daemon=True)
        for url, n in zip(urls, split, strict=True)
        if n
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=per_user * 60 + 300)
    outcomes = [o for level in levels for o in level.outcomes]
    wall = max(level.wall for level in levels)
    ok = sorted(o.seconds for o in outcomes if o.kind == "ok")
    return {
        "replicas": len(urls),
        "users": users,
        "requests": len(outcomes),
        "answered": len(ok),
        "busy": sum(o.kind == "busy" for o in outcomes),
        "errors": sum(o.kind == "error" for o in outcomes),
        "answers_per_s": round(len(ok) / wall, 3) if wall else 0.0,
        "p50_s": round(statistics.median(ok), 2) if ok else None,
        "p95_s": round(ok[min(len(ok) - 1, round(0.95 * (len(ok) - 1)))], 2) if ok else None,
        "loadavg": round(os.getloadavg()[0], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--per-user", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-bot-replicas-") as tmp:
        work = Path(tmp)
        with chroma_server(work / "chroma") as url:
            index_corpus(url, work / "indexer")
            env = {"QA_BOT_CHROMA_URL": url}
            with (
                app_server(work / "a", extra_env=env, timeout=600) as (a, _, _),
                app_server(work / "b", extra_env=env, timeout=600) as (b, _, _),
            ):
                for url_ in (a, b):
                    run_level(url_, 1, per_user=3)  # warm-up: models, index, caches
                for round_ in range(args.rounds):
                    for replicas in ([a], [a, b]):
                        row = measure(replicas, args.users, args.per_user)
                        row["round"] = round_ + 1
                        rows.append(row)
                        print(json.dumps(row), flush=True)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"replicas-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(rows, indent=2))
    print("\n| round | replicas | users | answers/s | p50 / p95 s | busy | errors | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['round']} | {r['replicas']} | {r['users']} | {r['answers_per_s']} | "
            f"{r['p50_s']} / {r['p95_s']} | {r['busy']} | {r['errors']} | {r['loadavg']} |"
        )
    for round_ in range(1, args.rounds + 1):
        one, two = (r for r in rows if r["round"] == round_)
        if one["answers_per_s"]:
            ratio = two["answers_per_s"] / one["answers_per_s"]
            print(f"round {round_}: 2 replicas / 1 replica = {ratio:.2f}x")
    print(f"\n(figures also in {path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
