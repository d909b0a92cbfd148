"""Who may talk to the web UI: a check of the Host and Origin headers on every request.

Two attacks a loopback-only server is still open to, both from a web page in the user's own
browser:

- DNS rebinding: a page on attacker.example whose name is re-pointed at 127.0.0.1 can read
  the app's `/config` and upload articles, because the browser sees one origin. The answer is
  the Host header: bound to loopback, the app accepts only ``127.0.0.1``, ``localhost`` and
  ``[::1]`` (with any port). Bound to another address (``QA_BOT_HOST=0.0.0.0``), it accepts the
  names in ``QA_BOT_ALLOWED_HOSTS``, or any name when that is empty.
- Cross-site requests: a page elsewhere can POST a form (an upload, a question) to the app;
  the browser blocks the reply, not the request. Browsers send an Origin header with such
  requests, so a request that changes state and carries an Origin from another host is refused.
  Clients that are not browsers (gradio_client, curl) send no Origin and are not affected.

A third check is size. A request body bigger than any valid question with its history could
be (`max_body_bytes`; uploads excepted, Gradio caps them at `max_upload_bytes`) is refused with
a 413 from its Content-Length header, before a byte of it is read: a 32 MB history message
used to cost every user 17 s.

Refusals are plain-text 403s and 413s that say why; nothing reaches Gradio.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def hostname(value: str) -> str:
    """The host of a Host header or an Origin URL, lower-cased, without port or brackets."""
    if "//" not in value:
        value = f"//{value}"
    try:
        name = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    return name.casefold()


def is_loopback(host: str) -> bool:
    return hostname(host) in LOOPBACK_NAMES or hostname(host).startswith("127.")


class RequestGuard:
    """ASGI middleware: refuse requests whose Host or Origin the app does not serve."""

    def __init__(
        self,
        app,
        *,
        bound_to: str,
        allowed_hosts: Iterable[str] = (),
        max_body_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        allowed = {hostname(h) for h in allowed_hosts if h.strip()}
        if is_loopback(bound_to):
            allowed |= LOOPBACK_NAMES
            self.any_host = False
        else:
            self.any_host = not allowed
        self.allowed = frozenset(allowed)

    def host_allowed(self, host: str) -> bool:
        name = hostname(host)
        return bool(name) and (self.any_host or name in self.allowed or name.startswith("127."))

    def _too_big(self, scope, headers: dict[str, str]) -> bool:
        if self.max_body_bytes is None or scope["type"] != "http":
            return False
        if scope.get("path", "").rstrip("/").endswith("/upload"):
            return False
        try:
            return int(headers.get("content-length", "0")) > self.max_body_bytes
        except ValueError:
            return False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        reason, status = "", 403
        if self._too_big(scope, headers):
            reason, status = (
                f"The request is {int(headers['content-length']):,} bytes; questions with their "
                f"conversation are at most {self.max_body_bytes:,}. Send a shorter question or "
                "start a new conversation.",
                413,
            )
        elif not self.host_allowed(host):
            reason = (
                f"Host {host!r} is not served here. Open the app at the address it listens on, "
                "or add the name to QA_BOT_ALLOWED_HOSTS."
            )
        elif scope["type"] == "websocket" or scope.get("method", "GET") not in _SAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and hostname(origin) not in {hostname(host), *self.allowed}:
                reason = f"Requests from {origin!r} are not accepted (a cross-site request)."
        if not reason:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = reason.encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
