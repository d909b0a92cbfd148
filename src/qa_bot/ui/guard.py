"""Who may talk to the web UI, and what they may send: the checks no library makes for us.

The request pipeline (`ui.app.guard_outermost`, `ui.app.guard_middleware`) is, from the
outside in:

1. `RequestGuard` (here): the Host and Origin of every request, and Gradio's closed routes,
   in front of everything, Gradio's own CORS layer included.
2. Starlette's `RequestBodyLimitMiddleware`: the body's size, counted as it streams in, so
   a chunked body without a Content-Length is cut off too (a 256 MB one used to be read
   whole). Uploads get their own, smaller limit (`body_limit`).
3. `UploadGate` (here): what an upload may be, on every route that takes one.

Why these two are hand-written:

- Starlette's `TrustedHostMiddleware` matches names only: it cannot accept "any loopback
  address" (127.0.0.0/8, ::1), and it answers 400 "Invalid host header", which tells a
  user or an operator nothing about what to do. The check below is `ipaddress`'s
  ``is_loopback`` on IP literals and exact names otherwise, never a string prefix
  (``127.attacker.example`` and ``127.0.0.1.nip.io`` are names, not addresses).
- No Starlette or Gradio middleware compares the Origin of a request with the app's own
  (scheme, host and port), and Gradio's upload route takes any number of files of any
  type from anyone, as fast as they come.

The attacks, all from a web page in the user's own browser or a script on the network:

- DNS rebinding: a page on attacker.example whose name is re-pointed at 127.0.0.1 can read
  `/config` and the sources view (an uploaded article's full text) because the browser sees
  one origin. Bound to loopback, the app serves only loopback addresses and ``localhost``;
  bound elsewhere, the names in ``QA_BOT_ALLOWED_HOSTS`` (any, when that is empty).
- Cross-origin requests: any request with an Origin other than the app's own (scheme, host
  and port: ``http://localhost:9999`` is another site) is refused, reads included, so a
  page elsewhere can neither change anything nor read a reply. Browsers send Origin on
  every cross-origin request; gradio_client and curl send none and are not affected.
  Gradio's own CORS layer, which would answer a localhost origin with credentials, never
  sees such a request: the guard is outside it.
- Gradio's direct REST routes (``/gradio_api/run/...``, ``/gradio_api/api/...``) would skip
  the queue; the queue closes them, but a call still printed a traceback: refused here.

Refusals are plain-text responses that say why and what to do; nothing reaches Gradio.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Iterable
from pathlib import PurePosixPath
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost"})
UPLOAD_PATH = "/gradio_api/upload"
CLOSED_PREFIXES = ("/gradio_api/run/", "/gradio_api/api/")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEB_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def split_host(value: str) -> tuple[str, int | None]:
    """(host, port) of a Host header or an origin URL: lower-cased, without brackets;
    ("", None) when it cannot be parsed."""
    if "//" not in value:
        value = f"//{value}"
    try:
        parts = urlsplit(value)
        return (parts.hostname or "").casefold(), parts.port
    except ValueError:
        return "", None


def hostname(value: str) -> str:
    return split_host(value)[0]


def is_loopback(name: str) -> bool:
    """True for ``localhost`` and for IP addresses of the loopback network, nothing else.

    `name` is a bare host name or address (as `hostname` returns it), or a bind address.
    """
    name = name.strip("[]").casefold()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class RequestGuard:
    """ASGI middleware: refuse requests whose Host or Origin the app does not serve, and
    Gradio's direct REST routes."""

    def __init__(self, app, *, bound_to: str, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(hostname(h) for h in allowed_hosts if h.strip())
        # Bound to loopback, only loopback is served; bound to a network address, the
        # configured names (and loopback), or any name when none is configured.
        self.any_host = not is_loopback(bound_to) and not self.allowed

    def host_allowed(self, host: str) -> bool:
        name = hostname(host)
        return bool(name) and (self.any_host or name in self.allowed or is_loopback(name))

    @staticmethod
    def same_origin(origin: str, scope, host: str) -> bool:
        """Does `origin` name this app: the same scheme, host and port?"""
        scheme = _WEB_SCHEMES.get(scope.get("scheme", "http"), "http")
        try:
            theirs = urlsplit(origin)
            their_port = theirs.port or _DEFAULT_PORTS.get(theirs.scheme)
        except ValueError:
            return False
        name, port = split_host(host)
        return (theirs.scheme, (theirs.hostname or "").casefold(), their_port) == (
            scheme,
            name,
            port or _DEFAULT_PORTS[scheme],
        )

    def refusal(self, scope) -> tuple[int, str]:
        """(status, reason) to refuse the request with, or (0, "") to let it through."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if not self.host_allowed(host):
            return 403, (
                f"Host {host!r} is not served here. Open the app at the address it listens "
                "on, or add the name to QA_BOT_ALLOWED_HOSTS."
            )
        origin = headers.get("origin")
        if origin is not None and not self.same_origin(origin, scope, host):
            return 403, (
                f"Requests from {origin!r} are not accepted: only pages of this app "
                "(same scheme, host and port) may call it."
            )
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(CLOSED_PREFIXES):
            return 404, (
                "Direct calls are closed: they would skip the queue. Call the app through "
                "its queue (gradio_client's Client.predict, api_name='/ask')."
            )
        return 0, ""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        status, reason = self.refusal(scope)
        if not status:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await plain_response(send, status, reason)


class BodyLimit:
    """Starlette's streamed body limit, with its own limit for the upload route."""

    def __init__(self, app, *, max_bytes: int, upload_max_bytes: int) -> None:
        from starlette.middleware.body_limit import RequestBodyLimitMiddleware

        self.limits = {False: max_bytes, True: upload_max_bytes}
        self.general = RequestBodyLimitMiddleware(app, max_bytes)
        self.uploads = RequestBodyLimitMiddleware(app, upload_max_bytes)

    async def __call__(self, scope, receive, send) -> None:
        is_upload = scope.get("path", "").rstrip("/") == UPLOAD_PATH
        declared = _content_length(scope)
        limit = self.limits[is_upload]
        if scope["type"] == "http" and declared is not None and declared > limit:
            # Starlette would refuse it too, with "Content Too Large"; this says what to do.
            what = "an uploaded article" if is_upload else "a question with its conversation"
            await plain_response(
                send,
                413,
                f"The request is {declared:,} bytes; {what} is at most {limit:,}. "
                + (
                    "Upload a shorter article."
                    if is_upload
                    else "Send a shorter question or start a new conversation."
                ),
            )
            return
        await (self.uploads if is_upload else self.general)(scope, receive, send)


def _content_length(scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class UploadGate:
    """ASGI middleware: every request that carries files goes to Gradio's upload route, one
    file at a time, of a type the app reads, at most `per_minute` from one client address.

    Gradio's route would take 1,000 files of any type per request, as fast as they come,
    and keep them on disk for hours. The body is already capped by the body limit outside
    this middleware, so it is read here (at most about `max_upload_bytes`), parsed with
    Starlette's multipart parser, and handed on unchanged when it passes. The type check
    reads the file name's suffix, as the article loader does; the loader then checks the
    content.
    """

    def __init__(self, app, *, suffixes: Iterable[str], per_minute: int) -> None:
        self.app = app
        self.suffixes = tuple(s.lower() for s in suffixes)
        self.per_minute = per_minute
        self._recent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not _carries_files(scope):
            await self.app(scope, receive, send)
            return
        if scope.get("path", "").rstrip("/") != UPLOAD_PATH:
            await plain_response(send, 404, "Files are accepted only by the upload route.")
            return
        client = (scope.get("client") or ("",))[0]
        wait = self._take_slot(client)
        if wait:
            await plain_response(
                send,
                429,
                f"Too many uploads: at most {self.per_minute} a minute from one address "
                f"(QA_BOT_UPLOADS_PER_MINUTE). Try again in {wait} s.",
                extra_headers=[(b"retry-after", str(wait).encode())],
            )
            return
        try:
            body, names, problem = await self._read(scope, receive)
        except BaseException:  # the body limit cut it off, or the client went away
            self._give_back(client)
            raise
        problem = problem or self._check(names)
        if problem:
            self._give_back(client)
            await plain_response(send, problem[0], problem[1])
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, scope, receive) -> tuple[bytes, list[str], tuple[int, str] | None]:
        from starlette.datastructures import Headers, UploadFile
        from starlette.formparsers import MultiPartException, MultiPartParser

        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", [], (400, "The upload was interrupted.")
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)

        async def stream():
            yield body

        parser = MultiPartParser(Headers(scope=scope), stream(), max_files=1, max_fields=10)
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            return body, [], (400, f"{exc.message} Upload one article at a time.")
        names = []
        for _, value in form.multi_items():
            if isinstance(value, UploadFile):
                names.append(value.filename or "")
                await value.close()
        return body, names, None

    def _check(self, names: list[str]) -> tuple[int, str] | None:
        if len(names) != 1:
            return 400, "Upload one article at a time."
        suffix = PurePosixPath(names[0]).suffix.lower()
        if suffix not in self.suffixes:
            return 415, (
                f"'{names[0]}' is not a supported article type. Upload {', '.join(self.suffixes)}."
            )
        return None

    def _take_slot(self, client: str) -> int:
        """0 if `client` may upload now (the slot is taken), else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            for key in list(self._recent):
                recent = self._recent[key]
                while recent and now - recent[0] >= 60:
                    recent.popleft()
                if not recent:
                    del self._recent[key]
            recent = self._recent.setdefault(client, deque())
            if len(recent) >= self.per_minute:
                return max(1, round(60 - (now - recent[0])))
            recent.append(now)
            return 0

    def _give_back(self, client: str) -> None:
        """A refused upload costs its sender no slot."""
        with self._lock:
            recent = self._recent.get(client)
            if recent:
                recent.pop()


def _carries_files(scope) -> bool:
    for key, value in scope["headers"]:
        if key.lower() == b"content-type":
            return value.lower().startswith(b"multipart/")
    return False


def _replay(body: bytes, receive):
    """A `receive` that hands on `body` (already read) once, then the real one."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def plain_response(
    send, status: int, reason: str, *, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = reason.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(extra_headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
