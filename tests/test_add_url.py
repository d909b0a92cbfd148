"""Adding articles by link and by file in Python, the CLI and the UI's session, and bad input
in each: one clear error, and the index and uploads folder exactly as they were.

A real engine (hashing embedder, real Chroma, the bundled article) and a real HTTP server
on loopback; fetching from it is allowed by the operator's setting, as documented.
"""

from __future__ import annotations

from dataclasses import replace
from html import unescape

import pytest

from qa_bot.cli import main
from qa_bot.config import Settings
from qa_bot.engine import Engine
from qa_bot.errors import CorpusError, LinkError, UnsafeLinkError
from qa_bot.ui.session import ChatSession

from .ingest_files import navigation_page, news_page, write_docx, write_pdf, zip_bomb_docx
from .link_server import Route, link_server


@pytest.fixture
def server():
    with link_server() as running:
        running.routes["/news/festival"] = Route(news_page().encode("utf-8"))
        running.routes["/news/menu"] = Route(navigation_page().encode("utf-8"))
        running.routes["/slow"] = Route(news_page().encode("utf-8"), delay=3)
        running.routes["/moved"] = Route(
            status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        )
        yield running


@pytest.fixture
def link_settings(isolated_data_dir, monkeypatch):
    monkeypatch.setenv("QA_BOT_FETCH_ALLOW_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("QA_BOT_FETCH_TIMEOUT", "1")
    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")  # the CLI reads the environment
    return Settings.load()


def snapshot(engine: Engine, settings: Settings):
    """What a failed add must not change: the articles, the passages and the saved files."""
    articles = sorted(engine.articles())
    texts = {row[0]: engine.article_text(row[0]) for row in articles}
    folder = settings.uploads_path
    files = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return articles, texts, files, engine.store.live().name


def test_an_article_added_by_link_is_indexed_with_its_metadata(server, link_settings):
    engine = Engine(link_settings)
    upload = engine.add_url(f"{server.base}/news/festival")
    assert upload.doc_id == "upload-127.0.0.1-festival"
    info = engine.article(upload.doc_id)
    assert (info.date, info.author, info.source) == ("2024-06-29", "Mara Quill", "Velmora Gazette")
    result = engine.answer("Who opened the harbour festival?")
    assert any(s.doc_id == upload.doc_id for s in result.passages)
    row = next(row for row in engine.articles() if row[0] == upload.doc_id)
    assert row[2:] == ("Velmora Gazette", upload.report.chunks_embedded, "2024-06-29")


@pytest.mark.parametrize(
    "path, error, message",
    [
        ("/news/gone", LinkError, "answered 404"),
        ("/slow", LinkError, "did not answer within 1 s"),
        ("/moved", UnsafeLinkError, "169.254.169.254"),
        ("/news/menu", CorpusError, "no article text"),
    ],
)
def test_a_bad_link_leaves_the_index_as_it_was(server, link_settings, path, error, message):
    engine = Engine(link_settings)
    engine.add_url(f"{server.base}/news/festival")
    before = snapshot(engine, link_settings)
    with pytest.raises(error, match=message):
        engine.add_url(f"{server.base}{path}")
    assert snapshot(engine, link_settings) == before


def test_links_to_private_addresses_are_refused_by_default(server, settings):
    engine = Engine(settings)  # no QA_BOT_FETCH_ALLOW_NETWORKS
    with pytest.raises(UnsafeLinkError):
        engine.add_url(f"{server.base}/news/festival")
    assert server.hits == []


def bad_files(tmp_path):
    write_pdf(tmp_path / "locked.pdf", [["Some text of a report."]], user_password="pw")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf")
    zip_bomb_docx(tmp_path / "bomb.docx")
    (tmp_path / "menu.html").write_text(navigation_page(), encoding="utf-8")
    return {
        "locked.pdf": "password-protected",
        "broken.pdf": "not a readable PDF",
        "bomb.docx": "zip bomb",
        "menu.html": "no article text",
    }


def test_bad_files_are_refused_in_python_and_leave_the_index_as_it_was(settings, tmp_path):
    engine = Engine(settings)
    engine.add_article(
        "good.docx", write_docx(tmp_path / "g.docx", ["A fine article."]).read_bytes()
    )
    before = snapshot(engine, settings)
    for name, message in bad_files(tmp_path).items():
        with pytest.raises(CorpusError, match=message) as info:
            engine.add_article(name, (tmp_path / name).read_bytes())
        assert f"'{name}'" in str(info.value) and ".partial" not in str(info.value)
        assert snapshot(engine, settings) == before


def test_the_cli_adds_a_link_and_says_what_is_wrong_with_a_bad_one(server, link_settings, capsys):
    assert main(["index", "--add", f"{server.base}/news/festival"]) == 0
    assert "upload-127.0.0.1-festival" in capsys.readouterr().out
    engine = Engine(link_settings)
    before = snapshot(engine, link_settings)
    for path, message in (("/news/gone", "answered 404"), ("/moved", "169.254.169.254")):
        assert main(["index", "--add", f"{server.base}{path}"]) == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["index", f"{server.base}/news/festival"]) == 1
    assert "--add" in capsys.readouterr().err
    assert snapshot(Engine(link_settings), link_settings) == before


def test_the_cli_refuses_bad_files_with_one_line(settings, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QA_BOT_EMBEDDER", "hashing")
    for name, message in bad_files(tmp_path).items():
        assert main(["index", "--add", str(tmp_path / name)]) == 1
        err = capsys.readouterr().err
        assert message in err and name in err and len(err.strip().splitlines()) == 1


def test_the_ui_adds_a_link_and_shows_bad_ones_as_one_message(server, link_settings):
    session = ChatSession(Engine(link_settings), link_settings)
    status = unescape(session.add_url(f"{server.base}/news/festival"))
    assert "Added 'Port Velmora harbour festival" in status
    assert "2024-06-29" in session.articles_html()
    before = snapshot(session.engine, link_settings)
    for path, message in (("/news/gone", "404"), ("/moved", "169.254.169.254"), ("/slow", "1 s")):
        status = unescape(session.add_url(f"{server.base}{path}"))
        assert "qa-error" in status and message in status
    assert "Paste the link" in session.add_url("  ")
    assert snapshot(session.engine, link_settings) == before


def test_the_ui_shows_bad_uploads_as_one_message(settings, tmp_path):
    session = ChatSession(Engine(settings), settings)
    for name, message in bad_files(tmp_path).items():
        status = unescape(session.upload(str(tmp_path / name)))
        assert "qa-error" in status and message in status and name in status


def test_sources_name_the_pdf_page_and_the_articles_date(settings, tmp_path):
    pages = [
        ["The ferry to Piirissaar leaves Tartu harbour at nine in the morning every day."],
        ["The harbour office said the winter timetable starts on the first of December."],
    ]
    pdf = write_pdf(tmp_path / "ferry.pdf", pages, title="Ferry timetable", author="Harbour Office")
    engine = Engine(settings)
    upload = engine.add_article("ferry.pdf", pdf.read_bytes())
    result = engine.answer("When does the winter timetable start?", top_k=10)
    pages_seen = {p.page for p in result.passages if p.doc_id == upload.doc_id}
    assert pages_seen <= {1, 2} and 2 in pages_seen
    cited = next(p for p in result.passages if p.doc_id == upload.doc_id and p.page == 2)
    html = unescape(ChatSession(engine, settings).sources(replace(result, sources=(cited,))))
    assert "page 2, chars" in html
    assert "Harbour Office" in html  # the byline under the article's title
