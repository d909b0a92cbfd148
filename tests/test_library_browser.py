"""Uploads in real browsers: private to their session (#17 N3), and shared by replicas (#19).

- Two browser contexts (two sessions) on one app: A uploads, B asks. B never sees A's article
  in an answer, the sources view or the article list; in A, a passage from the upload is
  labelled as an upload.
- Two real app processes (`python app.py`) on one real `chroma run`, uploads shared: an
  article uploaded through A is cited by B within 2 s; removed through B, A stops citing it.

The hashing embedder keeps them lean (they run in CI with everything else).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.servers import app_server
from tests.test_ui_browser import CHROMIUM_ARGS, ask, chromium_path, upload

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LANTERNS = (
    "Lantern festival in Varna\n\nThe lantern festival in Varna drew 52,000 visitors on "
    "Saturday. The mayor Ivo Petrov lit the first lantern on the lake shore.\n"
)
QUESTION = "Who lit the first lantern at the festival in Varna?"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_path()), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#qa-question textarea")
    return context, page


def _article_list(page) -> str:
    page.get_by_role("tab", name="Articles").click()
    page.locator("#qa-articles table").wait_for(timeout=10_000)
    return page.locator("#qa-articles").inner_text()


def test_an_upload_is_private_to_the_browser_session_that_made_it(browser, tmp_path):
    with app_server(tmp_path / "data", embedder="hashing") as (url, _, _):
        context_a, a = _open(browser, url)
        context_b, b = _open(browser, url)
        try:
            assert "Added" in upload(a, tmp_path, "varna-lanterns.txt", LANTERNS)
            assert "Lantern festival in Varna" in _article_list(a)
            a.get_by_role("tab", name="Chat").click()
            assert "Ivo Petrov" in ask(a, QUESTION)
            sources_a = a.locator("#qa-sources").inner_text()
            assert "Uploaded by a user" in sources_a and "Lantern festival in Varna" in sources_a

            assert "Lantern festival in Varna" not in _article_list(b)
            b.get_by_role("tab", name="Chat").click()
            answer_b = ask(b, QUESTION)
            sources_b = b.locator("#qa-sources").inner_text()
            assert "Ivo Petrov" not in answer_b and "Ivo Petrov" not in sources_b
            for leak in ("52,000", "Lantern festival in Varna", "Uploaded by a user"):
                assert leak not in sources_b and leak not in answer_b
        finally:
            context_a.close()
            context_b.close()


def _remove(page, doc_id: str) -> None:
    page.get_by_role("tab", name="Articles").click()
    page.locator("#qa-remove-choice input").click()
    page.get_by_role("option", name=doc_id).click()
    page.click("#qa-remove")
    page.locator("#qa-upload-status").filter(has_text="Removed").wait_for(timeout=30_000)


def test_two_replicas_on_one_chroma_server_share_changes(browser, tmp_path, chroma_server):
    from gradio_client import Client

    shared = {"QA_BOT_CHROMA_URL": chroma_server, "QA_BOT_SHARED_UPLOADS": "1"}
    root = Path(__file__).resolve().parent.parent
    shared["QA_BOT_CORPUS"] = str(root / "corpus")

    def cites_upload(client) -> bool:
        answer = client.predict(QUESTION, api_name="/ask")
        return any(s["doc_id"] == "upload-varna-lanterns" for s in answer["sources"])

    with (
        app_server(tmp_path / "a", embedder="hashing", extra_env=shared) as (url_a, _, _),
        app_server(tmp_path / "b", embedder="hashing", extra_env=shared) as (url_b, _, _),
    ):
        client_a, client_b = Client(url_a, verbose=False), Client(url_b, verbose=False)
        assert not cites_upload(client_b)
        context_a, page_a = _open(browser, url_a)
        context_b, page_b = _open(browser, url_b)
        try:
            assert "Added" in upload(page_a, tmp_path, "varna-lanterns.txt", LANTERNS)
            added = time.monotonic()
            while not cites_upload(client_b):
                assert time.monotonic() - added < 2.0, "replica B did not cite it within 2 s"
                time.sleep(0.05)
            print(f"B cited the upload {time.monotonic() - added:.2f} s after A's 'Added'")
            page_b.reload()
            page_b.wait_for_selector("#qa-question textarea")
            _remove(page_b, "upload-varna-lanterns")
            removed = time.monotonic()
            while cites_upload(client_a):
                assert time.monotonic() - removed < 2.0, "replica A still cites it after 2 s"
                time.sleep(0.05)
            print(f"A stopped citing it {time.monotonic() - removed:.2f} s after B's 'Removed'")
        finally:
            context_a.close()
            context_b.close()
