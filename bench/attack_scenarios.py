"""The attack tests' scenarios, re-run against `python app.py` on loopback.

    python bench/attack_scenarios.py [--embedder minilm] [--only round3|round2]

Round 2 (the second attack test):

1. 200 concurrent POSTs to Gradio's direct REST route `/gradio_api/run/ask` (the queue's bound
   is 16): how many were answered, how many refused.
2. A 32 MB history message through `/ask` (gradio_client): time to the error, and the engine's
   own time to refuse it in-process.
3. 20 uploads through the Articles tab's upload handler: Chroma generations left on disk.
4. Chat latency while a large upload (the most sentences an upload may have) is indexed,
   against the same questions with nothing being indexed.

Round 3 (the third attack test, findings N1-N15; N3, N9 and N12 are the library's):

- N1: a 5.46 MB history message in a dict (`{"text": ...}`) through `/ask`, while another
  user asks: the server's time to refuse it and the other user's answer time against
  their time with nothing else running.
- N2, N13, N15: `GET /config` with Host `127.attacker.example` / `127.0.0.1.nip.io`, and
  with Origin `http://localhost:9999`; `POST /gradio_api/run/predict` (a traceback logged?).
- N4: an article carrying disguised orders (homoglyphs, reworded notes, German, French)
  uploaded, then 10 ordinary questions about it: how many answers quote an order.
- N5: 100 direct 1 MB uploads to `/gradio_api/upload`; 50 files (an .exe among them) in one.
- N6: a 256 MB chunked body to `/gradio_api/queue/join`: the reply, and the server's memory.
- N7: a valid 68-clause question against a plain one (`/ask`).
- N10: eight junk uploads, then a real one: is it still indexed?
- N11: eight parallel likes of one answer: lines written.
- N14: a 30-turn chat through the UI's handler: the first turn that fails.
- U5: `python app.py` on a taken port: seconds to the error.

Run it from another checkout (`git archive <commit> | tar -x -C DIR`, then this file and
tests/fixtures/poisoned_upload/ copied in) for the "before" column. Prints Markdown rows
and writes bench/out/attack-<time>.json; figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from support.servers import app_server  # noqa: E402

QUESTIONS = [
    "Where was the summit held?",
    "Who chaired the summit?",
    "Who will be the new Secretary General?",
    "Which country did not send a delegation?",
]


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def direct_route(url: str) -> tuple[int, int]:
    body = json.dumps({"data": [QUESTIONS[0], None, "", 0]}).encode()
    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(lambda _: post(f"{url}gradio_api/run/ask", body), range(200)))
    return sum(c == 200 for c in codes), sum(c != 200 for c in codes)


def huge_history(url: str) -> tuple[float, str, float]:
    from gradio_client import Client

    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from qa_bot.errors import HistoryError

    history = [
        {"role": "user", "content": "Who chaired it?"},
        {"role": "assistant", "content": "x" * 32_000_000},
    ]
    client = Client(url, verbose=False)
    started = time.perf_counter()
    try:
        client.predict("And the next one?", history, api_name="/ask")
        message = "answered (not refused)"
    except Exception as exc:
        message = str(exc)[:90]
    api_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as data:
        engine = Engine(Settings.load(data_dir=data, embedder="hashing"))
        engine.answer(QUESTIONS[0])
        started = time.perf_counter()
        with contextlib.suppress(HistoryError):
            engine.answer("And the next one?", history)
        engine_seconds = time.perf_counter() - started
    return api_seconds, message, engine_seconds


def uploads_leave(data: Path, folder: Path, count: int) -> int:
    """Uploads from a second process sharing the app's store (as `qa-bot index --add` would),
    through the same `Engine.add_article` the Articles tab calls."""
    from qa_bot.config import Settings
    from qa_bot.engine import Engine

    engine = Engine(Settings.load(data_dir=str(data), embedder=os.environ["QA_BOT_BENCH_EMBEDDER"]))
    for n in range(count):
        text = f"Note {n}\n\nThe council met for the {n}th time and agreed a budget."
        engine.add_article(f"note{n}.txt", text.encode())
        time.sleep(2.1)  # the app looks for a newer index every 2 s: let it see each swap
    index = data / "index"
    return sum(1 for p in index.iterdir() if p.is_dir() and len(p.name) == 36)


def ask_times(client, seconds: float) -> list[float]:
    times, deadline = [], time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        client.predict(QUESTIONS[n % len(QUESTIONS)], api_name="/ask")
        times.append((time.perf_counter() - started) * 1000)
        n += 1
        time.sleep(0.3)
    return times


def latency_during_upload(data: Path, folder: Path, sentences: int) -> dict:
    """The app in this process; an upload handled as the Articles tab handles it (on its own
    worker thread, `ChatSession.upload`) while a client asks questions."""
    from gradio_client import Client

    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from qa_bot.ui.app import build_app, launch
    from qa_bot.ui.session import ChatSession
    from support.servers import free_port

    settings = Settings.load(data_dir=str(data), embedder=os.environ["QA_BOT_BENCH_EMBEDDER"])
    engine = Engine(settings)
    demo = build_app(engine, settings)
    port = free_port()
    launch(demo, settings, engine=engine, port=port, prevent_thread_lock=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        quiet = ask_times(client, 15)
        article = folder / "long-report.txt"
        article.write_text(
            "Long report\n\n"
            + " ".join(
                f"Paragraph {i} notes that the committee reviewed item {i} and approved it."
                for i in range(sentences - 1)
            )
        )
        done = threading.Event()
        took: list[float] = []

        def upload() -> None:
            started = time.perf_counter()
            ChatSession(engine, settings).upload(str(article))
            took.append(time.perf_counter() - started)
            done.set()

        worker = threading.Thread(target=upload)
        worker.start()
        busy: list[float] = []
        while not done.is_set():
            busy += ask_times(client, 2)
        worker.join()
    finally:
        demo.close()
    return {
        "quiet_p50": statistics.median(quiet),
        "quiet_p95": sorted(quiet)[int(0.95 * (len(quiet) - 1))],
        "busy_p50": statistics.median(busy),
        "busy_p95": sorted(busy)[int(0.95 * (len(busy) - 1))],
        "busy_n": len(busy),
        "index_s": took[0],
        "sentences": sentences,
    }


# -- round 3 ---------------------------------------------------------------------------------

POISONED_UPLOAD = ROOT / "tests" / "fixtures" / "poisoned_upload" / "tarnow-bridge.txt"
PLANTED = ("paris", "macron", "9 billion")
BRIDGE_QUESTIONS = [
    "Who opened the bridge?",
    "Where is the new bridge?",
    "How much did the bridge cost?",
    "When did the bridge open to traffic?",
    "How long is the bridge?",
    "Which river does the bridge cross?",
    "How many people came to the opening?",
    "Who built the bridge?",
    "What will happen to the old bridge?",
    "How many vehicles a day will cross it?",
]


def request(url: str, *, method: str = "GET", headers=None, data=None) -> tuple[int, dict, str]:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, dict(response.headers), response.read(300).decode("latin-1")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read(300).decode("latin-1")
    except OSError as exc:
        return 0, {}, str(exc)


def timed_ask(client, question: str, history=None) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        client.predict(question, history, api_name="/ask")
        outcome = "answered"
    except Exception as exc:
        outcome = str(exc)[:80]
    return time.perf_counter() - started, outcome


def dict_history_while_another_asks(url: str) -> dict:
    """N1: the other user's answer time, alone and while the 5.46 MB dict history is sent."""
    from gradio_client import Client

    other, attacker = Client(url, verbose=False), Client(url, verbose=False)
    alone = statistics.median(timed_ask(other, QUESTIONS[n % 4])[0] for n in range(5))
    history = [
        {"role": "user", "content": {"text": "Who chaired it? " * 341_000}},  # 5.46 MB
        {"role": "assistant", "content": "Japarov."},
    ]
    result: dict = {}

    def attack() -> None:
        result["attack_s"], result["attack"] = timed_ask(attacker, "And the next one?", history)

    worker = threading.Thread(target=attack)
    worker.start()
    time.sleep(0.5)  # the big request is being sent and handled
    during, _ = timed_ask(other, QUESTIONS[1])
    worker.join()
    # The server's own time to refuse it: the engine, in-process, from the parsed request.
    from qa_bot.config import Settings
    from qa_bot.engine import Engine

    with tempfile.TemporaryDirectory() as data:
        engine = Engine(Settings.load(data_dir=data, embedder="hashing"))
        engine.answer(QUESTIONS[0])
        started = time.perf_counter()
        try:
            engine.answer("And the next one?", history)
            refused = "answered (not refused)"
        except Exception as exc:
            refused = type(exc).__name__
        engine_ms = (time.perf_counter() - started) * 1000
    return {
        "alone_s": alone,
        "during_s": during,
        "engine_ms": engine_ms,
        "engine": refused,
        **result,
    }


def host_origin_routes(url: str, log_path: Path) -> dict:
    """N2, N13, N15."""
    out = {}
    for host in ("127.attacker.example", "127.0.0.1.nip.io"):
        out[host] = request(f"{url}config", headers={"Host": host})[0]
    status, headers, _ = request(f"{url}config", headers={"Origin": "http://localhost:9999"})
    lowered = {k.lower(): v for k, v in headers.items()}
    out["origin_status"] = status
    out["origin_cors"] = lowered.get("access-control-allow-origin", "none")
    preflight = request(
        f"{url}gradio_api/queue/join",
        method="OPTIONS",
        headers={"Origin": "http://localhost:9999", "Access-Control-Request-Method": "POST"},
    )
    out["preflight"] = {k.lower(): v for k, v in preflight[1].items()}.get(
        "access-control-allow-origin", "none"
    )
    before = log_path.read_text(errors="replace").count("Traceback")
    out["predict"] = request(
        f"{url}gradio_api/run/predict",
        method="POST",
        headers={"Content-Type": "application/json"},
        data=b'{"data": []}',
    )[0]
    time.sleep(0.5)
    out["predict_tracebacks"] = log_path.read_text(errors="replace").count("Traceback") - before
    return out


def multipart(names: list[str], size: int) -> tuple[dict, bytes]:
    body = b"".join(
        f'--b\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + b"x" * size
        + b"\r\n"
        for name in names
    )
    return {"Content-Type": "multipart/form-data; boundary=b"}, body + b"--b--\r\n"


def direct_uploads(url: str, pid: int) -> dict:
    """N5: 100 x 1 MB (under the 1,000,000-byte cap: 999,000 bytes), then 50 files in one;
    the server's resident memory before and after."""
    from support.load import rss_mb

    before = rss_mb(pid)
    names = [f"n{i}.txt" for i in range(49)] + ["tool.exe"]
    headers, body = multipart(names, 1_000)
    many = request(f"{url}gradio_api/upload", method="POST", headers=headers, data=body)[0]
    headers, body = multipart(["note.txt"], 999_000)
    started = time.perf_counter()
    codes = [request(f"{url}gradio_api/upload", method="POST", headers=headers, data=body)[0]
             for _ in range(100)]  # fmt: skip
    seconds = time.perf_counter() - started
    time.sleep(1)
    return {"accepted": codes.count(200), "refused": 100 - codes.count(200), "seconds": seconds,
            "fifty_files": many, "rss_before": before, "rss_after": rss_mb(pid)}  # fmt: skip


def chunked_body(url: str, pid: int) -> dict:
    """N6: 256 MB with no Content-Length; the server's resident memory before and after."""
    import socket

    from support.load import rss_mb

    port = int(url.rstrip("/").rsplit(":", 1)[1])
    before = rss_mb(pid)
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(
            b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n" % 65_536 + b"x" * 65_536 + b"\r\n"
        try:
            for _ in range(256 * 16):
                sock.sendall(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        try:
            reply = sock.recv(100).split(b"\r\n")[0].decode("latin-1")
        except OSError as exc:
            reply = str(exc)
    seconds = time.perf_counter() - started
    time.sleep(1)
    return {"reply": reply, "seconds": seconds, "rss_before": before, "rss_after": rss_mb(pid)}


def many_clauses(url: str) -> dict:
    """N7: a valid question (under 256 tokens) of 68 'who' clauses."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    plain = statistics.median(timed_ask(client, "Who chaired the summit?")[0] for _ in range(3))
    question = "Who chaired the summit" + ", who spoke" * 67 + "?"
    long_s = statistics.median(timed_ask(client, question)[0] for _ in range(3))
    return {"plain_s": plain, "clauses_s": long_s}


def in_process(embedder: str) -> dict:
    """N4, N10, N11, N14 through the same objects the UI calls (`ChatSession`, `Engine`)."""
    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from qa_bot.ui.session import ChatSession, Turn

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(data_dir=f"{tmp}/data", embedder=embedder)
        engine = Engine(settings)
        session = ChatSession(engine, settings)
        # N4
        engine.add_article(POISONED_UPLOAD.name, POISONED_UPLOAD.read_bytes())
        quoted = 0
        for question in BRIDGE_QUESTIONS:
            answer = engine.answer(question)
            cited = " ".join(s.text for s in answer.sources) + answer.text
            quoted += any(p in cited.casefold() for p in PLANTED)
        out["n4_quoted"] = quoted
        # N10
        for n in range(8):
            junk = Path(tmp) / f"junk{n}.exe"
            junk.write_bytes(b"MZ\x00")
            session.upload(str(junk))
        good = Path(tmp) / "council.txt"
        good.write_text("Council notes\n\nThe council met on Monday and approved the budget.")
        out["n10_after_junk"] = "added" if "Added" in session.upload(str(good)) else "refused"
        # N11
        turns = [Turn("Where?", answer=engine.answer(QUESTIONS[0]))]
        start = threading.Barrier(8)

        def like() -> None:
            start.wait()
            session.feedback(list(turns), 1, True)

        workers = [threading.Thread(target=like) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        out["n11_lines"] = len(settings.feedback_file.read_text().splitlines())
        # N7: what a 68-clause question costs the reader, in (question, sentence) pairs and in
        # whole-question reads of the shipped depth (`candidates`).
        from qa_bot.answering.answerers.reading import ReadingAnswerer, ReadingParams
        from qa_bot.reader import load_reader

        reader, pairs = load_reader(), []
        pair_logits = reader.pair_logits

        def counting(batch, **kwargs):
            pairs.extend(batch)
            return pair_logits(batch, **kwargs)

        reader.pair_logits = counting  # type: ignore[method-assign]
        params = ReadingParams.load()
        engine.install_answerer("counting", ReadingAnswerer(reader=reader, params=params))
        started = time.perf_counter()
        engine.answer("Who chaired the summit" + ", who spoke" * 67 + "?", llm="counting")
        out["n7_seconds"] = time.perf_counter() - started
        out["n7_reads"] = f"{len(pairs)} pairs = {len(pairs) / params.candidates:.2f} reads"
        # N14
        history: list = []
        out["n14_first_failure"] = "none in 30 turns"
        for turn in range(1, 31):
            *_, last = session.submit(f"And where was meeting {turn} held?", history, None, None)
            _, history, _, _, status = last
            if status:
                out["n14_first_failure"] = f"turn {turn}"
                break
    return out


def taken_port() -> float:
    """U5: seconds until `python app.py` says the port is taken."""
    import socket
    import subprocess

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
        env.update(PYTHONPATH=str(ROOT / "src"), HF_HUB_OFFLINE="1")
        with tempfile.TemporaryDirectory() as data:
            env["QA_BOT_DATA_DIR"] = data
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
                env=env, capture_output=True, timeout=300, check=False,
            )  # fmt: skip
            return time.perf_counter() - started


def round3(embedder: str) -> dict:
    results: dict = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        app_server(Path(tmp) / "data", embedder=embedder) as (url, process, log_path),
    ):
        results["n2_n13_n15"] = host_origin_routes(url, log_path)
        results["n1"] = dict_history_while_another_asks(url)
        results["n7"] = many_clauses(url)
        results["n5"] = direct_uploads(url, process.pid)
        results["n6"] = chunked_body(url, process.pid)
    results["in_process"] = in_process(embedder)
    results["u5_seconds"] = taken_port()
    return results


def print_round3(r: dict) -> None:
    n1, hosts, n5, n6, n7, ip = r["n1"], r["n2_n13_n15"], r["n5"], r["n6"], r["n7"], r["in_process"]
    rows = [
        ("N1 5.46 MB dict history; another user's answer",
         f"{n1.get('attack', '?')!r} after {n1.get('attack_s', 0):.2f} s end to end; "
         f"engine {n1['engine']} in {n1['engine_ms']:.1f} ms; the other user waited "
         f"{n1['during_s']:.2f} s (alone {n1['alone_s']:.2f} s)"),
        ("N2 Host 127.attacker.example / 127.0.0.1.nip.io",
         f"{hosts['127.attacker.example']} / {hosts['127.0.0.1.nip.io']}"),
        ("N13 Origin http://localhost:9999: GET /config; preflight",
         f"{hosts['origin_status']}, allow-origin {hosts['origin_cors']}; preflight allow-origin "
         f"{hosts['preflight']}"),
        ("N15 POST /gradio_api/run/predict",
         f"{hosts['predict']}, {hosts['predict_tracebacks']} traceback(s) logged"),
        ("N4 disguised orders in an upload, 10 questions",
         f"{ip['n4_quoted']} of 10 answers quote one"),
        ("N5 100 direct 1 MB uploads; 50 files with an .exe",
         f"{n5['accepted']} accepted, {n5['refused']} refused in {n5['seconds']:.1f} s; "
         f"50 files: {n5['fifty_files']}; server RSS {n5['rss_before']:.0f} -> "
         f"{n5['rss_after']:.0f} MB"),
        ("N6 256 MB chunked body",
         f"{n6['reply']!r} after {n6['seconds']:.1f} s; server RSS {n6['rss_before']:.0f} -> "
         f"{n6['rss_after']:.0f} MB"),
        ("N7 68-clause question (plain question)",
         f"{n7['clauses_s']:.2f} s ({n7['plain_s']:.2f} s) through /ask; read in full: "
         f"{ip['n7_reads']}, {ip['n7_seconds']:.2f} s"),
        ("N10 a real upload after 8 junk ones", ip["n10_after_junk"]),
        ("N11 8 parallel likes of one answer", f"{ip['n11_lines']} line(s)"),
        ("N14 30-turn chat", ip["n14_first_failure"]),
        ("U5 `python app.py` on a taken port", f"error after {r['u5_seconds']:.1f} s"),
    ]  # fmt: skip
    print("| finding | figure |")
    print("|---|---|")
    for name, figure in rows:
        print(f"| {name} | {figure} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--only", choices=("round2", "round3"), default=None)
    args = parser.parse_args()
    os.environ["QA_BOT_BENCH_EMBEDDER"] = args.embedder
    load = os.getloadavg()[0]
    if args.only != "round2":
        results = round3(args.embedder)
        out = ROOT / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"attack-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
            json.dumps(results, indent=2, default=str)
        )
        print(f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end\n")
        print_round3(results)
        if args.only == "round3":
            return 0
    return round2(args)


def round2(args) -> int:
    from qa_bot.config import Settings

    sentences = Settings.load().max_article_sentences
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        with app_server(data, embedder=args.embedder) as (url, _, _):
            answered, refused = direct_route(url)
            api_s, message, engine_s = huge_history(url)
            generations = uploads_leave(data, Path(tmp), args.uploads)
        during = latency_during_upload(Path(tmp) / "data2", Path(tmp), sentences)
    print(f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end\n")
    print("| scenario | before the fix | now |")
    print("|---|---|---|")
    print(f"| 200 concurrent `POST /gradio_api/run/ask` | 200 answered | {answered} answered, "
          f"{refused} refused |")  # fmt: skip
    print(f"| 32 MB history message through `/ask` | 17 s, then a normal question waited 16 s | "
          f"refused in {api_s * 1000:.0f} ms end to end ({message!r}); the engine refuses it "
          f"in {engine_s * 1000:.1f} ms |")  # fmt: skip
    print(f"| Chroma generations on disk after {args.uploads} uploads | 24 (1 live) | "
          f"{generations} |")  # fmt: skip
    print(f"| chat latency while a {during['sentences']}-sentence upload is indexed "
          f"({during['index_s']:.0f} s) | a 1 MB upload: 255 s, answers waited | p50 "
          f"{during['busy_p50']:.0f} ms, p95 {during['busy_p95']:.0f} ms over {during['busy_n']} "
          f"questions, against p50 {during['quiet_p50']:.0f} / p95 {during['quiet_p95']:.0f} ms "
          "with nothing indexing |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
