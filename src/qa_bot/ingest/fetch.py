"""Fetch an article from a link, without letting the link reach inside the network.

A link given to a server is a classic server-side request forgery: `http://127.0.0.1:8000/`,
`http://169.254.169.254/latest/meta-data/` (a cloud's credentials), an intranet name, or a
public-looking name whose DNS answer is a private address, or a public page that redirects
to one. So, for the first URL and for every redirect hop:

- only `http` and `https`, on a host name or address (no user:password@);
- the name is resolved here, once, and every address it resolves to must be public
  (`ipaddress`'s `is_global`, IPv4 inside IPv6 unwrapped) unless it falls in a network the
  operator allowed (`QA_BOT_FETCH_ALLOW_NETWORKS`, e.g. `10.0.0.0/8`);
- the connection goes to that checked address: the request is sent to the IP itself, with
  the name in the Host header and as the TLS server name (httpx's `sni_hostname`), so the
  certificate is still checked against the name, and a DNS answer that changes between the
  check and the connection (DNS rebinding) changes nothing;
- no proxy from the environment (a proxy would resolve the name itself);
- redirects are followed by hand, at most `max_redirects`;
- a time limit for the whole download (not just per read: a server that drips a byte a
  second is cut off), and a size cap counted on the bytes as they arrive.

The body must be an article type (`formats.MEDIA_TYPES`); a web page whose server declares
an encoding is stored as UTF-8 with a byte-order mark, so reading the saved file later
decodes it the same way.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from qa_bot.config import Settings
from qa_bot.errors import LinkError, UnsafeLinkError
from qa_bot.ingest.formats import MEDIA_TYPES, suffix_of, supported_list

Resolver = Callable[[str, int], Sequence[str]]
USER_AGENT = "qa-bot/0.1 (article fetcher)"
_REDIRECTS = {301, 302, 303, 307, 308}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, as the OS resolver answers."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise LinkError(f"The name '{host}' cannot be resolved ({exc}). Check the link.") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    timeout: float = 20.0  # seconds for the whole download, redirects included
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    allowed_networks: tuple[str, ...] = ()  # private networks the operator allows
    resolver: Resolver = field(default=system_resolver, compare=False)
    verify: Any = True  # httpx's `verify`: True, or an ssl.SSLContext (tests)

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            timeout=settings.fetch_timeout,
            max_bytes=settings.fetch_max_bytes,
            allowed_networks=settings.fetch_allow_networks,
        )

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        try:
            return [ipaddress.ip_network(n.strip(), strict=False) for n in self.allowed_networks]
        except ValueError as exc:
            raise LinkError(
                f"QA_BOT_FETCH_ALLOW_NETWORKS holds a value that is not a network ({exc}). "
                "Use CIDR notation, e.g. 10.0.0.0/8,127.0.0.1/32."
            ) from exc


@dataclass(frozen=True)
class FetchedPage:
    url: str  # where the body came from, after redirects
    content: bytes
    suffix: str  # the article type: .html, .pdf, .docx, .txt, .md
    filename: str  # a name for the saved copy, from the link


def fetch_article(url: str, policy: FetchPolicy | None = None) -> FetchedPage:
    """Download the article at `url`; `LinkError` (or `UnsafeLinkError`) says why not."""
    import httpx

    policy = policy or FetchPolicy()
    deadline = time.monotonic() + policy.timeout
    current = url.strip()
    with httpx.Client(
        trust_env=False, follow_redirects=False, verify=policy.verify, timeout=policy.timeout
    ) as client:
        for _hop in range(policy.max_redirects + 1):
            target = _checked_target(current, policy)
            try:
                with client.stream(
                    "GET",
                    target.pinned_url,
                    headers={
                        "Host": target.host_header,
                        "User-Agent": USER_AGENT,
                        "Accept": "text/html,application/xhtml+xml,application/pdf,"
                        "application/vnd.openxmlformats-officedocument.wordprocessingml."
                        "document,text/plain;q=0.9,*/*;q=0.1",
                        "Accept-Encoding": "identity",
                    },
                    extensions={"sni_hostname": target.host} if target.https else {},
                    timeout=httpx.Timeout(max(0.1, deadline - time.monotonic())),
                ) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    if not 200 <= response.status_code < 300:
                        raise LinkError(
                            f"{url} answered {response.status_code} "
                            f"{response.reason_phrase or ''}".rstrip()
                            + ": there is no article there. Check the link."
                        )
                    return _page(current, response, policy, deadline)
            except httpx.TimeoutException as exc:
                raise LinkError(_too_slow(url, policy)) from exc
            except httpx.HTTPError as exc:
                raise LinkError(
                    f"Could not fetch {url}: {type(exc).__name__} ({exc}). Check the link, "
                    "or save the page and upload the file."
                ) from exc
    raise LinkError(
        f"{url} redirects more than {policy.max_redirects} times. Open it in a browser and "
        "use the address it ends at."
    )


@dataclass(frozen=True)
class _Target:
    host: str
    host_header: str
    pinned_url: str  # the URL with the checked IP address in place of the name
    https: bool


def _checked_target(url: str, policy: FetchPolicy) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise LinkError(f"'{url}' is not a valid link ({exc}).") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeLinkError(
            f"'{url}' is not a web link: only http:// and https:// links can be added."
        )
    if parts.username or parts.password:
        raise UnsafeLinkError(f"'{url}' carries a user name or password; remove them.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise LinkError(f"'{url}' has no host name. Check the link.")
    https = parts.scheme == "https"
    port = port or (443 if https else 80)
    addresses = [ipaddress.ip_address(a.split("%")[0]) for a in _resolve(host, port, policy)]
    if not addresses:
        raise LinkError(f"The name '{host}' resolves to no address. Check the link.")
    refused = [a for a in addresses if not _allowed(a, policy)]
    if refused:
        raise UnsafeLinkError(
            f"{url} leads to {refused[0]}, a private, loopback or link-local address; "
            "qa-bot fetches only public addresses. (An operator can allow a network with "
            "QA_BOT_FETCH_ALLOW_NETWORKS.)"
        )
    pinned = addresses[0]
    literal = f"[{pinned}]" if pinned.version == 6 else str(pinned)
    default_port = port == (443 if https else 80)
    netloc = literal if default_port else f"{literal}:{port}"
    host_header = host if default_port else f"{host}:{port}"
    if ":" in host:
        host_header = f"[{host}]" if default_port else f"[{host}]:{port}"
    pinned_url = parts._replace(netloc=netloc, fragment="").geturl()
    return _Target(host=host, host_header=host_header, pinned_url=pinned_url, https=https)


def _resolve(host: str, port: int, policy: FetchPolicy) -> Sequence[str]:
    try:
        return [str(ipaddress.ip_address(host))]  # an address literal needs no DNS
    except ValueError:
        return policy.resolver(host, port)


def _allowed(address: IPAddress, policy: FetchPolicy) -> bool:
    if any(address in network for network in policy.networks()):
        return True
    inner = _embedded_ipv4(address)
    if inner is not None:
        return _allowed(inner, policy)
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if address.version != 6:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _page(url: str, response, policy: FetchPolicy, deadline: float) -> FetchedPage:
    media_type, charset = _content_type(response.headers.get("content-type", ""))
    suffix = MEDIA_TYPES.get(media_type) or _suffix_from_url(url, media_type)
    if not suffix:
        raise LinkError(
            f"{url} is {media_type or 'of no stated type'}, not an article qa-bot can read "
            f"({supported_list()})."
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise LinkError(_too_big(url, policy))
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > policy.max_bytes:
            raise LinkError(_too_big(url, policy))
        if time.monotonic() > deadline:
            raise LinkError(_too_slow(url, policy))
    content = bytes(body)
    if suffix == ".html" and charset:
        from qa_bot.ingest.html_reader import decode_html, html_codec

        if html_codec(charset) not in ("", "utf-8"):
            content = b"\xef\xbb\xbf" + decode_html(content, declared=charset).encode("utf-8")
    return FetchedPage(url=url, content=content, suffix=suffix, filename=_filename(url, suffix))


def _content_type(header: str) -> tuple[str, str]:
    media_type = header.split(";", 1)[0].strip().lower()
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", header, flags=re.IGNORECASE)
    return media_type, match.group(1) if match else ""


def _suffix_from_url(url: str, media_type: str) -> str:
    """A server that says "application/octet-stream" (or nothing) for a .pdf or .docx."""
    if media_type not in ("", "application/octet-stream", "binary/octet-stream"):
        return ""
    suffix = suffix_of(urlsplit(url).path)
    return suffix if suffix in MEDIA_TYPES.values() else ""


def _filename(url: str, suffix: str) -> str:
    """'www.bbc.co.uk/news/world-123' -> 'bbc.co.uk-world-123.html': the site and the page,
    so two sites' 'index.html' do not replace each other."""
    parts = urlsplit(url)
    host = (parts.hostname or "link").removeprefix("www.")
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    stem = last[: -len(suffix_of(last))] if suffix_of(last) else last
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{host}-{stem}" if stem else host).strip("-.")
    return f"{name[:100]}{suffix}"


def _too_big(url: str, policy: FetchPolicy) -> str:
    return (
        f"{url} is larger than {policy.max_bytes:,} bytes (QA_BOT_FETCH_MAX_BYTES), "
        "too big for an article. Save the article's text and upload that."
    )


def _too_slow(url: str, policy: FetchPolicy) -> str:
    return (
        f"{url} did not answer within {policy.timeout:g} s (QA_BOT_FETCH_TIMEOUT). "
        "The site may be down or slow: try again later, or save the page and upload it."
    )
