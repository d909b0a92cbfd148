"""The web UI in a real browser: Debian's Chromium driven by Playwright, headless.

`python app.py` serves the bundled article (real MiniLM, fresh data folder) on
a free loopback port. The tests ask, follow up, meet an abstention, upload a
second article and ask about it, rate an answer, and check that nothing from
an article or from a model's answer runs as HTML or script. Every request the
page makes is recorded; none may leave loopback. Screenshots go to
tests/artifacts/screenshots/ (QA_BOT_SCREENSHOT_DIR=docs/screenshots refreshes the README's).

Needs: ``pip install playwright`` (no ``playwright install``: its browser
download does not work offline) and ``apt-get install -y chromium``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from support.servers import free_port
from tests.ui_support import ROOT, ScriptedAnswerer, running_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
# Screenshots go to the git-ignored tests/artifacts/; the README's images are refreshed only
# on request: QA_BOT_SCREENSHOT_DIR=docs/screenshots pytest -m browser tests/test_ui_browser.py
SCREENSHOTS = Path(
    os.environ.get("QA_BOT_SCREENSHOT_DIR") or ROOT / "tests" / "artifacts" / "screenshots"
)
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=2">'
FIRST_QUESTION = "Where was the summit held?"
SECOND_ARTICLE = """Lantern festival opens on the lake shore in Varna
Varna Daily

The lantern festival on the lake shore in Varna opened on Saturday evening.
The mayor of Varna, Ivo Petrov, lit the first lantern.
About four thousand visitors came to the opening night.
"""
XSS_ARTICLE = f"""Harbour notice {XSS_SCRIPT}
Tartu Harbour Office

The harbour office in Tartu published a notice {XSS_IMG} about the ferry timetable.
The ferry to Piirissaar island leaves Tartu harbour at nine in the morning.
"""


def chromium_path() -> Path:
    """Debian's Chromium, installed with apt when missing and possible; else skip."""
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=900, check=False
        )
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing and `apt-get install -y chromium` could not install "
            "it (needs root and the Debian archive); the browser tests need it."
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    data = tmp_path_factory.mktemp("browser") / "data"
    with running_app(data) as url:
        yield url, data


@pytest.fixture(scope="module")
def requests_made():
    return []


@pytest.fixture(scope="module")
def page(browser, app, requests_made):
    url, _ = app
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    context.on("request", lambda request: requests_made.append(request.url))
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#qa-question textarea")
    yield page
    context.close()


def ask(page, question: str) -> str:
    """Ask in the chat; returns the text of the (final) answer."""
    answers = page.locator("#qa-chat .bot-row")
    before = answers.count()
    page.fill("#qa-question textarea", question)
    page.click("#qa-ask")
    page.wait_for_function(
        """n => { const rows = document.querySelectorAll('#qa-chat .bot-row');
                  return rows.length > n && !rows[rows.length - 1].querySelector('.qa-draft'); }""",
        arg=before,
        timeout=60_000,
    )
    page.wait_for_function(
        "q => document.querySelector('#qa-sources').innerText.includes(q)",
        arg=question,
        timeout=10_000,
    )
    return answers.last.inner_text()


def upload(page, tmp_path: Path, name: str, text: str) -> str:
    page.get_by_role("tab", name="Articles").click()
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    page.set_input_files("#qa-upload input[type=file]", str(path))
    status = page.locator("#qa-upload-status")
    # "Indexing '<name>'…" shows first; wait for the outcome that replaces it.
    status.filter(has_text=name).filter(has_not_text="Indexing").wait_for(timeout=60_000)
    return status.inner_text()


def assert_only_loopback(urls: list[str]) -> None:
    outside = [
        u
        for u in urls
        if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname not in LOOPBACK
    ]
    assert urls and not outside, f"requests left loopback: {outside}"


def test_first_answer_names_bishkek_with_its_source_highlighted(page, requests_made):
    answer = ask(page, FIRST_QUESTION)
    assert "Bishkek" in answer
    marks = page.locator("#qa-sources mark")
    assert marks.count() >= 1 and "Bishkek" in " ".join(marks.all_inner_texts())
    assert page.locator("#qa-sources").get_by_text("Cited passages").is_visible()
    # The article view scrolls to the highlighted sentence, which is below the fold.
    page.wait_for_function(
        "() => document.querySelector('#qa-sources .qa-article').scrollTop > 0", timeout=10_000
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "chat.png"))
    assert_only_loopback(requests_made)


def test_follow_up_uses_the_conversation(page):
    # The natural follow-up to "where was it held": "one" means the summit.
    answer = ask(page, "And where will the next one be held?")
    assert "Moscow" in answer


def test_unanswerable_question_is_an_abstention(page):
    answer = ask(page, "What did China say about the summit?")
    assert "doesn't say" in answer or "don't say" in answer
    last = page.locator("#qa-chat .bot-row").last
    assert last.locator(".qa-abstain").count() == 1 and last.locator(".qa-error").count() == 0
    assert page.locator("#qa-sources mark").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "abstention.png"))


def test_selecting_an_earlier_answer_shows_its_sources(page):
    page.locator("#qa-chat .bot-row .selectable").first.click()
    page.wait_for_function(
        "q => document.querySelector('#qa-sources').innerText.includes(q)",
        arg=FIRST_QUESTION,
        timeout=10_000,
    )
    assert "Bishkek" in " ".join(page.locator("#qa-sources mark").all_inner_texts())


def test_like_is_saved_as_feedback(page, app):
    _, data = app
    # Each answer has its own Like button, in the row under it; the first is the first answer's.
    page.locator("#qa-chat").get_by_role("button", name="Like", exact=True).first.click()
    page.locator("#qa-status").filter(has_text="feedback was saved").wait_for(timeout=10_000)
    record = json.loads((data / "feedback.jsonl").read_text().splitlines()[-1])
    assert record["liked"] is True and record["question"] == FIRST_QUESTION


def test_uploaded_article_can_be_asked_about(page, tmp_path, requests_made):
    status = upload(page, tmp_path, "varna-lanterns.txt", SECOND_ARTICLE)
    assert "Added" in status
    page.locator("#qa-articles").filter(has_text="Lantern festival opens").wait_for(timeout=10_000)
    page.screenshot(path=str(SCREENSHOTS / "articles.png"))
    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "Who lit the first lantern at the festival?")
    assert "Ivo Petrov" in answer
    assert "Ivo Petrov" in " ".join(page.locator("#qa-sources mark").all_inner_texts())
    assert_only_loopback(requests_made)


def test_bad_upload_is_a_clear_error(page, tmp_path):
    page.get_by_role("tab", name="Articles").click()
    path = tmp_path / "empty.txt"
    path.write_text("")
    page.set_input_files("#qa-upload input[type=file]", str(path))
    error = page.locator("#qa-upload-status .qa-error").filter(has_text="empty.txt")
    error.wait_for(timeout=30_000)
    # Past max_upload_bytes Gradio refuses the upload itself (launch's max_file_size).
    big = tmp_path / "huge.txt"
    big.write_text("Huge\n\n" + "A sentence about nothing at all. " * 40_000)
    page.set_input_files("#qa-upload input[type=file]", str(big))
    page.get_by_text("exceed the maximum allowed size").first.wait_for(timeout=30_000)
    assert "huge" not in page.locator("#qa-articles").inner_text()
    page.get_by_role("tab", name="Chat").click()


def test_markup_in_an_article_renders_as_text(page, tmp_path, requests_made):
    upload(page, tmp_path, "harbour-notice.txt", XSS_ARTICLE)
    # The title, literally:
    page.locator("#qa-articles").filter(has_text=XSS_SCRIPT).wait_for(timeout=10_000)
    page.get_by_role("tab", name="Chat").click()
    ask(page, "When does the ferry to Piirissaar island leave?")
    shown = page.locator("#qa-sources").inner_text() + page.locator("#qa-chat").inner_text()
    assert XSS_IMG in shown
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x'], #qa-sources script, #qa-articles script").count() == 0
    assert_only_loopback(requests_made)


def test_undo_retry_and_clear(page):
    rows = page.locator("#qa-chat .bot-row")
    count = rows.count()
    last_question = "When does the ferry to Piirissaar island leave?"
    page.locator("#qa-chat").get_by_role("button", name="Retry", exact=True).click()
    page.wait_for_function(
        """n => { const rows = document.querySelectorAll('#qa-chat .bot-row');
                  return rows.length === n && !rows[n - 1].querySelector('.qa-draft'); }""",
        arg=count,
        timeout=30_000,
    )
    page.locator("#qa-chat").get_by_role("button", name="Undo", exact=True).click()
    page.wait_for_function(
        "n => document.querySelectorAll('#qa-chat .bot-row').length === n",
        arg=count - 1,
        timeout=10_000,
    )
    assert page.input_value("#qa-question textarea") == last_question
    page.locator("#qa-chat").get_by_role("button", name="Clear", exact=True).click()
    page.wait_for_function("() => !document.querySelector('#qa-chat .bot-row')", timeout=10_000)
    page.locator("#qa-sources").filter(has_text="Ask a question").wait_for(timeout=10_000)
    assert "Bishkek" in ask(page, FIRST_QUESTION)  # a fresh conversation works
    assert rows.count() == 1


def test_markup_in_a_model_answer_renders_as_text(browser, tmp_path):
    """A scripted model (a real Answerer subclass) answers with a payload."""
    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from qa_bot.ui.app import build_app, launch

    settings = Settings.load(data_dir=str(tmp_path / "data"), embedder="hashing")
    reply = f"The summit was in Bishkek. {XSS_SCRIPT} {XSS_IMG} [1]"
    demo = build_app(Engine(settings, answerer=ScriptedAnswerer(reply)), settings)
    port = free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True)
    context = browser.new_context()
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        answer = ask(page, "Where was the summit held?")
        assert XSS_SCRIPT in answer and XSS_IMG in answer
        assert page.evaluate("window.__xss") is None
        assert page.locator("#qa-chat img, #qa-chat script").count() == 0
        assert_only_loopback(urls)
    finally:
        context.close()
        demo.close()


# What each example button under the chat must answer, as a user sees it: a confident
# answer (no "unsure" or "doesn't say" box) that holds the fact.
EXAMPLE_ANSWERS = {
    "Where was the summit held?": "Bishkek",
    "Who will chair the next summit?": "Russia",
    "Which country did not send a delegation?": "Armenia",
    "What did Belarus say about the Oreshnik missile system?": "western direction",
}
# Known failure, kept visible (issue 16 stays open): the reader does not take "chair" for
# "preside" and ranks the Secretary-General sentence ("... from the start of next year")
# first. strict: the day it answers right, this marker must go.
CHAIR_NOT_PRESIDE = pytest.mark.xfail(
    strict=True, reason="reader v2 ranks the Secretary-General sentence above 'Russia will preside'"
)


def test_every_example_button_is_checked():
    from qa_bot.ui.app import BUNDLED_EXAMPLES

    assert set(BUNDLED_EXAMPLES) == set(EXAMPLE_ANSWERS)


@pytest.mark.parametrize(
    "question",
    [pytest.param(q, marks=CHAIR_NOT_PRESIDE) if "chair" in q else q for q in EXAMPLE_ANSWERS],
)
def test_an_example_button_answers_right(browser, app, question):
    url, _ = app
    fact = EXAMPLE_ANSWERS[question]
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("#qa-question textarea")
        # The examples show while the chat is empty; clicking one asks it.
        page.locator("#qa-chat").get_by_role("button", name=question).click()
        page.wait_for_function(
            """() => { const rows = document.querySelectorAll('#qa-chat .bot-row');
                       const last = rows[rows.length - 1];
                       return last && !last.querySelector('.qa-draft'); }""",
            timeout=60_000,
        )
        last = page.locator("#qa-chat .bot-row").last
        assert fact in last.inner_text(), (question, last.inner_text())
        assert last.locator(".qa-unsure, .qa-abstain").count() == 0, question
    finally:
        context.close()


def test_an_unsure_answer_looks_different_from_a_confident_one(browser, tmp_path):
    """The reading answerer over a scripted reader: one question it is sure of, one it is not."""
    from qa_bot.answering.answerers.reading import ReadingAnswerer, ReadingParams
    from qa_bot.answering.calibration import Calibrator
    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from qa_bot.ui.app import build_app, launch
    from tests.fakes import ScriptedReader

    def logit(question: str, candidate: str) -> float:
        if "took place in Bishkek" in candidate and "held" in question:
            return 5.0
        return 0.0 if "Masadykov" in candidate and "chair" in question else -5.0

    params = ReadingParams(
        calibrator=Calibrator({"top_logit": 1.0}, 0.0), answer_at=0.7, unsure_at=0.3
    )
    answerer = ReadingAnswerer(reader=ScriptedReader(logit), params=params)
    settings = Settings.load(data_dir=str(tmp_path / "data"), embedder="hashing")
    demo = build_app(Engine(settings, answerer=answerer), settings)
    port = free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True)
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#qa-question textarea")
        sure = ask(page, "Where was the summit held?")
        confident = page.locator("#qa-chat .bot-row").last
        assert "Bishkek" in sure and confident.locator(".qa-unsure, .qa-abstain").count() == 0
        unsure = ask(page, "Who will chair the next summit?")
        row = page.locator("#qa-chat .bot-row").last
        assert "Unsure." in unsure and "may not answer this directly" in unsure
        assert "Masadykov" in unsure
        box = row.locator(".qa-unsure")
        assert box.count() == 1
        colour = box.evaluate("e => getComputedStyle(e).backgroundColor")
        plain = confident.evaluate("e => getComputedStyle(e.querySelector('.message') || e)"
                                   ".backgroundColor")  # fmt: skip
        assert colour != plain
        assert page.locator("#qa-sources .qa-unsure").count() == 1  # the sources say so too
        page.screenshot(path=str(SCREENSHOTS / "unsure.png"))
    finally:
        context.close()
        demo.close()


def test_a_30_turn_chat_never_breaks(browser, tmp_path):
    """The chat's own history outgrew the 40-message limit at turn 21 (N14): the page now
    sends only the last messages that fit. A scripted answerer keeps each turn quick."""
    from qa_bot.config import Settings
    from qa_bot.engine import Engine
    from qa_bot.ui.app import build_app, launch

    settings = Settings.load(data_dir=str(tmp_path / "data"), embedder="hashing")
    demo = build_app(Engine(settings, answerer=ScriptedAnswerer("In Bishkek. [1]")), settings)
    port = free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#qa-question textarea")
        for turn in range(1, 31):
            assert "Bishkek" in ask(page, f"And where was meeting {turn} held?"), turn
        assert page.locator("#qa-chat .bot-row").count() == 30
        assert page.locator("#qa-chat .qa-error, #qa-status .qa-error").count() == 0
    finally:
        context.close()
        demo.close()
