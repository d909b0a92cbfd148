"""Adding an article from a link: a real HTTP server on loopback serves saved pages.

Loopback is a private address, so the tests that fetch allow 127.0.0.1/32 explicitly (the
operator's `QA_BOT_FETCH_ALLOW_NETWORKS`). The refusals run with the default policy, and
no refused request may reach the server. Nothing here sends traffic off this machine: names
are resolved by resolvers the tests pass in, and refused addresses are never connected to.
"""

from __future__ import annotations

import pytest

from qa_bot.errors import LinkError, UnsafeLinkError
from qa_bot.ingest.fetch import FetchPolicy, fetch_article

from .ingest_files import PARAGRAPHS, news_page, write_pdf
from .link_server import Route, link_server

LOOPBACK_ALLOWED = ("127.0.0.1/32",)


@pytest.fixture
def server():
    with link_server() as running:
        running.routes["/news/festival"] = Route(news_page().encode("utf-8"))
        yield running


def allowed(**options) -> FetchPolicy:
    return FetchPolicy(allowed_networks=LOOPBACK_ALLOWED, **options)


def test_a_page_is_fetched_when_its_network_is_allowed(server):
    page = fetch_article(f"{server.base}/news/festival", allowed())
    assert page.suffix == ".html" and page.filename == "127.0.0.1-festival.html"
    assert PARAGRAPHS[0].encode() in page.content


# --- refusals (the default policy) ---------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "169.254.169.254",  # the cloud metadata service
        "10.0.0.5",
        "192.168.1.1",
        "[::1]",
        "[::ffff:127.0.0.1]",  # IPv4 inside IPv6
        "2130706433",  # 127.0.0.1 written as one number
        "0.0.0.0",
        "localhost",
    ],
)
def test_links_to_private_loopback_or_link_local_addresses_are_refused(server, host):
    port = server.server_address[1]
    with pytest.raises(UnsafeLinkError, match="private, loopback or link-local"):
        fetch_article(f"http://{host}:{port}/news/festival")
    assert server.hits == []


def test_a_public_looking_name_that_resolves_to_a_private_address_is_refused(server):
    def resolver(host, port):
        return {"news.example.com": ["93.184.216.34", "10.1.2.3"]}[host]

    with pytest.raises(UnsafeLinkError, match="10.1.2.3"):
        fetch_article("http://news.example.com/story", FetchPolicy(resolver=resolver))


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://intranet.example.com/admin"],
)
def test_a_redirect_to_a_private_address_is_refused(server, location):
    server.routes["/go"] = Route(status=302, headers={"Location": location})

    def resolver(host, port):
        return {"intranet.example.com": ["192.168.10.20"]}[host]

    with pytest.raises(UnsafeLinkError, match="private, loopback or link-local"):
        fetch_article(f"{server.base}/go", allowed(resolver=resolver))
    assert [path for path, _ in server.hits] == ["/go"]


def test_the_checked_address_is_the_one_connected_to(server):
    """DNS rebinding: the name is resolved once; a second answer would be a private
    address, and the system resolver does not know the name at all."""
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    calls = []

    def resolver(host, port):
        calls.append(host)
        return next(answers)

    port = server.server_address[1]
    page = fetch_article(f"http://rebind.invalid:{port}/news/festival", allowed(resolver=resolver))
    assert PARAGRAPHS[1].encode() in page.content
    assert calls == ["rebind.invalid"]
    assert server.hits == [("/news/festival", f"rebind.invalid:{port}")]  # the name, as Host


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/a.txt", "javascript:alert(1)", "gopher://x"]
)
def test_only_http_and_https_links_are_fetched(url):
    with pytest.raises(UnsafeLinkError, match="only http:// and https://"):
        fetch_article(url)


def test_a_link_with_a_password_is_refused():
    with pytest.raises(UnsafeLinkError, match="user name or password"):
        fetch_article("http://user:secret@example.com/")


# --- links that fail ------------------------------------------------------------------


def test_a_404_says_so(server):
    with pytest.raises(LinkError, match="answered 404 Not Found"):
        fetch_article(f"{server.base}/news/gone", allowed())


def test_a_link_that_times_out_says_so(server):
    server.routes["/slow"] = Route(b"late", delay=3)
    with pytest.raises(LinkError, match="did not answer within 0.5 s"):
        fetch_article(f"{server.base}/slow", allowed(timeout=0.5))


def test_a_server_that_drips_is_cut_off_at_the_deadline(server):
    server.routes["/drip"] = Route(b"x" * 100, drip=0.1)
    with pytest.raises(LinkError, match="did not answer within 1 s"):
        fetch_article(f"{server.base}/drip", allowed(timeout=1))


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_size_cap_is_refused(server, chunked):
    route = Route(chunked_size=3_000_000) if chunked else Route(b"x" * 3_000_000)
    server.routes["/big"] = route
    with pytest.raises(LinkError, match="larger than 1,000,000 bytes"):
        fetch_article(f"{server.base}/big", allowed(max_bytes=1_000_000))


def test_redirects_are_capped(server):
    for n in range(10):
        server.routes[f"/r{n}"] = Route(status=301, headers={"Location": f"/r{n + 1}"})
    with pytest.raises(LinkError, match="redirects more than 3 times"):
        fetch_article(f"{server.base}/r0", allowed(max_redirects=3))
    assert len(server.hits) == 4


def test_a_redirect_within_the_allowed_network_is_followed(server):
    server.routes["/old"] = Route(status=301, headers={"Location": "/news/festival"})
    page = fetch_article(f"{server.base}/old", allowed())
    assert page.url.endswith("/news/festival")


def test_a_link_to_something_that_is_not_an_article_is_refused(server):
    server.routes["/logo.png"] = Route(b"\x89PNG....", content_type="image/png")
    with pytest.raises(LinkError, match="image/png, not an article"):
        fetch_article(f"{server.base}/logo.png", allowed())


def test_a_page_whose_server_declares_its_encoding_is_kept_readable(server, tmp_path):
    from qa_bot.ingest.corpus import load_document

    text = [p.replace("The mayor", "Mayor Hélène Garçon") for p in PARAGRAPHS]
    body = news_page(paragraphs=text).replace('<meta charset="utf-8">', "").encode("cp1252")
    server.routes["/latin"] = Route(body, content_type="text/html; charset=ISO-8859-1")
    page = fetch_article(f"{server.base}/latin", allowed())
    saved = tmp_path / page.filename
    saved.write_bytes(page.content)
    assert "Mayor Hélène Garçon" in load_document(saved).text


def test_a_pdf_link_is_fetched_as_a_pdf(server, tmp_path):
    pdf = write_pdf(tmp_path / "r.pdf", [["A short report on the harbour festival crowds."]])
    server.routes["/files/report"] = Route(pdf.read_bytes(), content_type="application/pdf")
    page = fetch_article(f"{server.base}/files/report", allowed())
    assert (page.suffix, page.filename) == (".pdf", "127.0.0.1-report.pdf")


# --- https: the pinned address, with the certificate checked against the name -----------


def _tls_server(tmp_path, name: str):
    """An HTTPS server on loopback whose certificate names `name`, and a client context
    that trusts that certificate (and nothing else)."""
    import datetime
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    body = news_page().encode("utf-8")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client_context = ssl.create_default_context(cafile=str(cert_file))
    return server, client_context


@pytest.mark.parametrize("certificate_name, works", [("news.test", True), ("other.test", False)])
def test_https_connects_to_the_checked_address_and_verifies_the_name(
    tmp_path, certificate_name, works
):
    server, context = _tls_server(tmp_path, certificate_name)
    try:
        url = f"https://news.test:{server.server_address[1]}/story"
        policy = allowed(resolver=lambda host, port: ["127.0.0.1"], verify=context)
        if works:
            assert PARAGRAPHS[0].encode() in fetch_article(url, policy).content
        else:
            with pytest.raises(LinkError, match="Could not fetch"):
                fetch_article(url, policy)
    finally:
        server.shutdown()
        server.server_close()
