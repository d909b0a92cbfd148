"""'Add from URL' in a real browser: Debian's Chromium adds a news page served by a real HTTP
server on loopback, then asks about it; a refused link and a dead one show one message each.

`python app.py` runs with real MiniLM and `QA_BOT_FETCH_ALLOW_NETWORKS=127.0.0.1/32`, the
documented way to let qa-bot fetch from a network it refuses by default (loopback here).
"""

from __future__ import annotations

import pytest

from tests.ingest_files import news_page
from tests.link_server import Route, link_server
from tests.test_ui_browser import (
    CHROMIUM_ARGS,
    SCREENSHOTS,
    ask,
    assert_only_loopback,
    chromium_path,
)
from tests.ui_support import running_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def pages():
    with link_server() as server:
        server.routes["/news/festival"] = Route(news_page().encode("utf-8"))
        server.routes["/moved"] = Route(
            status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        )
        yield server


@pytest.fixture(scope="module")
def page(tmp_path_factory, pages):
    from playwright.sync_api import sync_playwright

    data = tmp_path_factory.mktemp("browser-links") / "data"
    allow = {"QA_BOT_FETCH_ALLOW_NETWORKS": "127.0.0.1/32"}
    with (
        running_app(data, extra_env=allow) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path()), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1400, "height": 950})
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("#qa-question textarea")
        page.requests = requests  # type: ignore[attr-defined]
        yield page
        context.close()
        browser.close()


def add_link(page, url: str, expect: str) -> str:
    """Add `url` from the Articles tab; wait until the status shows `expect` as the outcome."""
    page.get_by_role("tab", name="Articles").click()
    page.fill("#qa-url input, #qa-url textarea", url)
    page.click("#qa-add-url")
    # "Fetching <url>…", Gradio's timer ("0.4s") and its "queue: ..." overlay show first, and
    # the previous outcome may linger under them: wait for this link's own outcome, with the
    # overlay gone, rather than for any change.
    page.wait_for_function(
        """expect => { const s = document.querySelector('#qa-upload-status');
                   return s && s.innerText.includes(expect)
                       && !s.innerText.includes('processing')
                       && !s.innerText.includes('queue')
                       && !s.innerText.includes('Fetching')
                       && !/\\d\\.\\ds/.test(s.innerText); }""",
        arg=expect,
        timeout=90_000,
    )
    return page.locator("#qa-upload-status").inner_text()


def test_an_article_added_by_url_can_be_asked_about(page, pages):
    status = add_link(page, f"{pages.base}/news/festival", "Ask about it")
    assert "Added 'Port Velmora harbour festival" in status
    articles = page.locator("#qa-articles")
    articles.filter(has_text="2024-06-29").wait_for(timeout=10_000)
    assert "Velmora Gazette" in articles.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "add-from-url.png"))
    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "Who opened the harbour festival?")
    assert "Ilse Marrow" in answer
    sources = page.locator("#qa-sources")
    assert "Ilse Marrow" in " ".join(sources.locator("mark").all_inner_texts())
    assert "2024-06-29 · Mara Quill" in sources.inner_text()
    assert ("/news/festival", f"127.0.0.1:{pages.server_address[1]}") in pages.hits
    assert_only_loopback(page.requests)


@pytest.mark.parametrize(
    "path, message",
    [("/moved", "169.254.169.254"), ("/news/gone", "answered 404")],
)
def test_a_refused_or_dead_link_is_one_clear_message(page, pages, path, message):
    status = add_link(page, f"{pages.base}{path}", message)
    error = page.locator("#qa-upload-status .qa-error")
    assert error.count() == 1 and message in status, status
    assert "upload-127.0.0.1-moved" not in page.locator("#qa-articles").inner_text()
    page.get_by_role("tab", name="Chat").click()
