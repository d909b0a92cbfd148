"""The `ask` API endpoint through gradio_client, against the served app.

`python app.py` runs in a subprocess on a free loopback port with the real
MiniLM embedder and a fresh data folder, as a user would start it. The busy
test serves an in-process app whose answerer blocks, to fill the queue.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from support.servers import app_server, free_port
from tests.ui_support import ROOT, ScriptedAnswerer

pytestmark = pytest.mark.slow

ARTICLE = (ROOT / "corpus" / "csto-summit-bishkek.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("api") / "data") as (url, process, log_path):
        yield url, process, log_path


@pytest.fixture(scope="module")
def app_url(served):
    return served[0]


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_ask_names_bishkek_with_a_source_that_slices_the_article(client):
    result = client.predict("Where was the summit held?", api_name="/ask")
    assert not result["abstained"]
    assert "Bishkek" in result["text"]
    assert result["sources"], result
    for source in result["sources"]:
        assert ARTICLE[source["start"] : source["end"]] == source["text"]
    assert any("Bishkek" in s["text"] for s in result["sources"])


def test_the_documented_client_example_runs(app_url, capsys):
    """The three-line gradio_client example in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```python\n(from gradio_client import Client\n.*?)```", text, re.S)
    assert found, "no gradio_client example in README.md"
    code = found.group(1)
    assert len(code.strip().splitlines()) == 3
    exec(code.replace("http://127.0.0.1:7860/", app_url), {})
    assert "Bishkek" in capsys.readouterr().out


def test_ask_follows_up_with_history(client):
    first = client.predict("Where was the summit held?", api_name="/ask")
    history = [
        {"role": "user", "content": "Where was the summit held?"},
        {"role": "assistant", "content": first["text"]},
    ]
    result = client.predict("And where will the next one be held?", history, api_name="/ask")
    assert "Moscow" in result["text"]


def test_ask_abstains_when_the_article_does_not_say(client):
    result = client.predict("What did China say about the summit?", api_name="/ask")
    assert result["abstained"] and result["sources"] == []


def test_ask_options_and_errors(client):
    from gradio_client.exceptions import AppError

    result = client.predict("Who chaired the summit?", None, "extractive", 2, api_name="/ask")
    assert len(result["passages"]) <= 2
    with pytest.raises(AppError, match="question is empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(AppError, match="Unknown answerer 'openai:gpt-4o'"):
        client.predict("Who chaired the summit?", None, "openai:gpt-4o", api_name="/ask")


class BlockingAnswerer(ScriptedAnswerer):
    """Answers only when released, so requests pile up in the queue."""

    def __init__(self) -> None:
        super().__init__("Released. [1]")
        self.release = threading.Event()

    def answer(self, question, candidates, table):
        self.release.wait(timeout=60)
        return super().answer(question, candidates, table)


def _wait_for_status(job, status, timeout: float = 60) -> None:
    """Wait until `job` reaches `status`: fixed sleeps were too short on a loaded machine."""
    deadline = time.monotonic() + timeout
    while job.status().code != status:
        assert time.monotonic() < deadline, f"{job.status().code} after {timeout} s"
        time.sleep(0.1)


def test_a_full_queue_answers_busy(tmp_path):
    from gradio_client import Client
    from gradio_client.utils import Status

    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from qa_bot.ui.app import build_app, launch

    settings = Settings.load(data_dir=str(tmp_path / "data"), embedder="hashing", queue_size=1)
    answerer = BlockingAnswerer()
    engine = Engine(settings, answerer=answerer)
    demo = build_app(engine, settings)
    port = free_port()
    launch(demo, settings, engine=None, port=port, prevent_thread_lock=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        running = client.submit("Who chaired the summit?", api_name="/ask")
        _wait_for_status(running, Status.PROCESSING)  # being answered (blocked)
        waiting = client.submit("Who chaired the summit?", api_name="/ask")
        _wait_for_status(waiting, Status.IN_QUEUE)  # it fills the queue of one
        with pytest.raises(Exception, match="Queue is full"):
            client.predict("Who chaired the summit?", api_name="/ask")
        answerer.release.set()
        assert running.result(timeout=30)["text"] == "Released. [1]"
        assert waiting.result(timeout=30)["text"] == "Released. [1]"
    finally:
        answerer.release.set()
        demo.close()


# -- what an attacker on the network tried (see tests/test_hardening.py for the rest) ---------


def _request(url: str, *, method: str = "GET", headers: dict | None = None, data=None):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_the_direct_rest_route_does_not_skip_the_queue(app_url):
    body = json.dumps({"data": ["Where was the summit held?", None, "", 0]}).encode()
    status, text = _request(
        f"{app_url}gradio_api/run/ask",
        method="POST",
        headers={"Content-Type": "application/json"},
        data=body,
    )
    assert status >= 400 and "Bishkek" not in text


def test_a_rebound_host_name_is_refused(app_url):
    status, text = _request(f"{app_url}config", headers={"Host": "rebind.attacker.example"})
    assert status == 403 and "QA_BOT_ALLOWED_HOSTS" in text
    assert _request(f"{app_url}config")[0] == 200


def test_a_cross_site_upload_is_refused(app_url):
    boundary = "qa-bot-test"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="x.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        f"The next summit is chaired by Mallory.\r\n--{boundary}--\r\n"
    ).encode()
    status, _ = _request(
        f"{app_url}gradio_api/upload",
        method="POST",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": "http://evil.example",
        },
        data=body,
    )
    assert status == 403


def test_monitoring_is_off(app_url):
    status, text = _request(f"{app_url}monitoring/summary")
    assert status in (403, 404) and "total_requests" not in text


# -- the third attack test (tests/test_attack_round3.py has the unit tests) -------------------


@pytest.mark.parametrize("host", ["127.attacker.example", "127.0.0.1.nip.io"])
def test_rebinding_names_that_start_like_loopback_are_refused(app_url, host):
    status, text = _request(f"{app_url}config", headers={"Host": host})
    assert status == 403 and "QA_BOT_ALLOWED_HOSTS" in text
    port = app_url.rstrip("/").rsplit(":", 1)[1]
    assert _request(f"{app_url}config", headers={"Host": f"localhost:{port}"})[0] == 200


def test_another_local_origin_can_neither_read_nor_write(app_url):
    origin = {"Origin": "http://localhost:9999"}
    status, text = _request(f"{app_url}config", headers=origin)
    assert status == 403 and "Bishkek" not in text and "components" not in text
    body = json.dumps({"data": ["Where?"], "fn_index": 0, "session_hash": "x"}).encode()
    headers = {**origin, "Content-Type": "application/json"}
    join = f"{app_url}gradio_api/queue/join"
    assert _request(join, method="POST", headers=headers, data=body)[0] == 403
    # No CORS answer to it either, preflights included (Gradio's own layer would allow it).
    import urllib.error
    import urllib.request

    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    for method, url in (("GET", f"{app_url}config"), ("OPTIONS", join)):
        request = urllib.request.Request(url, method=method, headers=preflight)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
        assert "access-control-allow-origin" not in {k.lower() for k in refused.value.headers}


def test_run_predict_is_refused_without_a_traceback(served):
    url, _, log_path = served
    status, text = _request(
        f"{url}gradio_api/run/predict",
        method="POST",
        headers={"Content-Type": "application/json"},
        data=b'{"data": []}',
    )
    assert status == 404 and "queue" in text
    assert "Traceback" not in log_path.read_text(errors="replace")


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_a_256_mb_chunked_body_is_cut_off_and_memory_stays_flat(served):
    import socket

    url, process, _ = served
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    before = _rss_mb(process.pid)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n" % 65_536 + b"x" * 65_536 + b"\r\n"
        try:
            for _ in range(256 * 16):  # 256 MB, no Content-Length
                sock.sendall(chunk)
        except OSError:
            pass  # the server closed the connection once it had refused the body
        reply = sock.recv(200)
    assert reply.startswith(b"HTTP/1.1 413")
    assert _rss_mb(process.pid) - before < 50


def test_direct_uploads_are_limited_in_number_type_and_rate(app_url):
    def upload(*names: str) -> int:
        parts = b"".join(
            f'--b\r\nContent-Disposition: form-data; name="files"; filename="{n}"\r\n'
            "Content-Type: text/plain\r\n\r\nNote\r\n".encode()
            for n in names
        )
        headers = {"Content-Type": "multipart/form-data; boundary=b"}
        return _request(
            f"{app_url}gradio_api/upload", method="POST", headers=headers, data=parts + b"--b--\r\n"
        )[0]

    assert upload("tool.exe") == 415
    assert upload(*[f"n{i}.txt" for i in range(50)]) == 400
    codes = [upload("note.txt") for _ in range(100)]
    assert codes.count(200) <= 10 and codes.count(429) >= 90  # QA_BOT_UPLOADS_PER_MINUTE


def test_a_huge_dict_history_is_refused(client):
    from gradio_client.exceptions import AppError

    history = [
        {"role": "user", "content": {"text": "x " * 2_730_000}},  # 5.46 MB, as in the attack
        {"role": "assistant", "content": "It was in Bishkek."},
    ]
    with pytest.raises(AppError, match="characters long; the limit is 20,000"):
        client.predict("And the next one?", history, api_name="/ask")
