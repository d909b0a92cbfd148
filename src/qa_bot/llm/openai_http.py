"""The OpenAI chat-completions wire protocol, spoken with httpx.

Why httpx and not llama-index's `OpenAILike` or the `openai` client: both add
a package the default install does not need and a retry loop with backoff
(three attempts by default), which turns a dead server into a long wait before
the fallback. httpx is already installed (chromadb and gradio use it), and one
streaming POST is all we need. Every failure becomes an `LLMError` naming the
URL and what to do: connection refused, timeout, an HTTP error status, a body
that is not the JSON or server-sent events the protocol promises.

Timeouts: `timeout` bounds connecting and each wait for bytes; a total
deadline also stops a server that trickles a reply forever.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from qa_bot.errors import LLMError


def stream_chat(
    base_url: str,
    *,
    model: str,
    messages: Sequence[dict[str, str]],
    max_tokens: int,
    api_key: str | None,
    timeout: float,
    spec: str,
    stop: Sequence[str] = (),
) -> Iterator[str]:
    """POST /chat/completions with ``stream: true`` and yield the content deltas."""
    import httpx

    url = f"{base_url}/chat/completions"
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    payload = {
        "model": model,
        "messages": list(messages),
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
    }
    if stop:
        payload["stop"] = list(stop)
    deadline = time.monotonic() + timeout
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(timeout)) as client,
            client.stream("POST", url, json=payload, headers=headers) as response,
        ):
            if response.status_code >= 400:
                body = response.read().decode("utf-8", "replace")
                raise LLMError(_status_message(spec, url, response.status_code, body))
            content_type = response.headers.get("content-type", "")
            if "text/event-stream" not in content_type:
                # Some servers ignore stream=true and send one JSON reply.
                body = response.read().decode("utf-8", "replace")
                yield _message_content(_parse_json(body, spec, url), spec, url)
                return
            for line in response.iter_lines():
                if time.monotonic() > deadline:
                    raise LLMError(_timeout_message(spec, url, timeout))
                text = _event_text(line, spec, url)
                if text is None:
                    return
                if text:
                    yield text
    except LLMError:
        raise
    except httpx.TimeoutException as exc:
        raise LLMError(_timeout_message(spec, url, timeout)) from exc
    except httpx.ConnectError as exc:
        raise LLMError(
            f"Cannot reach the LLM server for '{spec}' at {url} ({exc}). Start the server, "
            "or set QA_BOT_OPENAI_BASE_URL to where it listens."
        ) from exc
    except httpx.HTTPError as exc:
        raise LLMError(f"The LLM server for '{spec}' at {url} failed: {exc}.") from exc


def _event_text(line: str, spec: str, url: str) -> str | None:
    """The content delta of one server-sent-events line; None at the end of the stream."""
    line = line.strip()
    if not line or line.startswith((":", "event:", "id:", "retry:")):
        return ""
    if not line.startswith("data:"):
        raise LLMError(_malformed_message(spec, url, line))
    data = line[len("data:") :].strip()
    if data == "[DONE]":
        return None
    event = _parse_json(data, spec, url)
    if "error" in event:
        raise LLMError(f"The LLM server for '{spec}' at {url} reported: {event['error']}.")
    try:
        choice = event["choices"][0]
    except (KeyError, IndexError, TypeError):
        raise LLMError(_malformed_message(spec, url, data)) from None
    if not isinstance(choice, dict):
        raise LLMError(_malformed_message(spec, url, data))
    content = (choice.get("delta") or {}).get("content")
    return content if isinstance(content, str) else ""


def _message_content(reply: dict[str, Any], spec: str, url: str) -> str:
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMError(_malformed_message(spec, url, json.dumps(reply)[:200])) from None
    if not isinstance(content, str):
        raise LLMError(_malformed_message(spec, url, repr(content)))
    return content


def _parse_json(text: str, spec: str, url: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise LLMError(_malformed_message(spec, url, text)) from None
    if not isinstance(value, dict):
        raise LLMError(_malformed_message(spec, url, text))
    return value


def _malformed_message(spec: str, url: str, sample: str) -> str:
    return (
        f"The LLM server for '{spec}' at {url} sent a reply that is not an OpenAI chat "
        f"completion: {sample[:120]!r}. Check that QA_BOT_OPENAI_BASE_URL points at an "
        "OpenAI-compatible /v1 endpoint."
    )


def _timeout_message(spec: str, url: str, timeout: float) -> str:
    return (
        f"The LLM server for '{spec}' at {url} did not answer within {timeout:g} s "
        "(QA_BOT_LLM_TIMEOUT). Check the server, or raise the timeout."
    )


def _status_message(spec: str, url: str, status: int, body: str) -> str:
    hint = {
        401: "Set the API key in the variable named by QA_BOT_OPENAI_API_KEY_ENV.",
        403: "The API key is not allowed to use this model.",
        404: f"Check the model name in '{spec}' and that the base URL ends in /v1.",
        429: "The server is rate-limiting; try again later.",
    }.get(status, "Check the server's log." if status >= 500 else "Check the request settings.")
    return f"The LLM server for '{spec}' at {url} answered HTTP {status}: {body[:160]!r}. {hint}"
