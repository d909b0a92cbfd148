"""Load and soak test of the served app through gradio_client, on loopback only.

    python bench/load_test.py [--levels 1,2,4,8,16,32] [--per-user 6] [--queue-size N]
    python bench/load_test.py --soak 600 [--users 4]

Starts `python app.py` on a free 127.0.0.1 port with a fresh data folder and
the real MiniLM embedder, waits until it serves, then:

- ramp: at each level, that many users (threads, one gradio_client each)
  start together and each asks `--per-user` gold questions
  (eval/gold/csto.jsonl, with their chat history) one after another. Reported
  per level: answers/s, p50/p95 latency of answered requests, and how many
  requests were answered, refused as busy (Gradio's "Queue is full", which
  the web page shows as "This application is currently busy") or failed
  otherwise. The app answers one question at a time (`concurrency_limit=1`)
  and queues up to `queue_size` (default 16) more; past that it says busy.
- soak: `--users` users ask questions without pause for `--soak` seconds,
  while the app's resident memory (psutil if installed, else /proc VmRSS) is
  sampled every `--sample` seconds; reported: start/peak/end RSS and the slope
  of a least-squares line through the samples after the first minute.

Every request loop is bounded in count and time and the server is stopped on
exit. Figures print as Markdown and go to bench/out/load-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from support.load import run_level, served_app, soak  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,2,4,8,16,32")
    parser.add_argument(
        "--per-user", type=int, default=6, help="questions each user asks per level"
    )
    parser.add_argument("--queue-size", type=int, help="QA_BOT_QUEUE_SIZE for the app (default 16)")
    parser.add_argument("--soak", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--users", type=int, default=4, help="concurrent users in the soak")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    args = parser.parse_args()
    results: dict = {"loadavg_start": os.getloadavg()[0]}
    with (
        tempfile.TemporaryDirectory(prefix="qa-bot-load-") as tmp,
        served_app(Path(tmp) / "data", queue_size=args.queue_size) as app,
    ):
        run_level(app.url, 1, per_user=3)  # warm-up: models, index, caches
        if args.soak:
            results["soak"] = soak(app, users=args.users, seconds=args.soak, every=args.sample)
            s = results["soak"]
            print(
                f"soak {s['seconds']} s, {args.users} users: {s['answered']} answered, "
                f"{s['busy']} busy, {s['errors']} errors; RSS start {s['rss_start_mb']} MB, "
                f"peak {s['rss_peak_mb']} MB, end {s['rss_end_mb']} MB, slope after 1 min "
                f"{s['rss_slope_mb_per_min_after_1min']} MB/min"
            )
        else:
            results["levels"] = []
            print(
                "| users | requests | answered | busy | errors | error rate | answers/s | "
                "p50 ms | p95 ms |\n|---|---|---|---|---|---|---|---|---|",
                flush=True,
            )
            for users in (int(u) for u in args.levels.split(",")):
                s = run_level(app.url, users, per_user=args.per_user).summary()
                results["levels"].append(s)
                print(
                    f"| {users} | {s['requests']} | {s['answered']} | {s['busy']} "
                    f"| {s['errors']} "
                    f"| {s['error_rate']:.1%} | {s['answers_per_s']} | {s['p50_ms']} | "
                    f"{s['p95_ms']} |",
                    flush=True,
                )
            busy = next((s["busy_message"] for s in results["levels"] if s["busy"]), "")
            print(f"\nbusy message: {busy or '(none)'}")
            for s in results["levels"]:
                for message in s["error_messages"]:
                    print(f"error at {s['users']} users: {message}")
    results["loadavg_end"] = os.getloadavg()[0]
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(
        f"(load average {results['loadavg_start']:.1f} -> {results['loadavg_end']:.1f}; "
        f"figures in {path})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
