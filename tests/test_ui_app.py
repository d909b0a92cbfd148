"""The built Gradio app, not served: endpoints, hardening options, offline theme.

Imports gradio (a few seconds) but starts no server and no browser.
"""

from __future__ import annotations

import pytest

from qa_bot.engine import Engine
from qa_bot.ui.app import build_app, launch, theme


@pytest.fixture
def demo(settings):
    return build_app(Engine(settings), settings.replace(queue_size=3))


def test_only_the_ask_endpoint_is_public(demo):
    public = [d for d in demo.config["dependencies"] if d.get("api_visibility") == "public"]
    assert [d["api_name"] for d in public] == ["ask"]


def test_queue_is_bounded_by_settings(demo):
    assert demo.enable_queue
    assert demo._queue.max_size == 3


def test_chatbot_renders_no_markup(demo):
    import gradio as gr

    chatbots = [b for b in demo.blocks.values() if isinstance(b, gr.Chatbot)]
    assert len(chatbots) == 1
    chatbot = chatbots[0]
    assert chatbot.sanitize_html and not chatbot.render_markdown
    assert chatbot.allow_tags is False and chatbot.latex_delimiters == []
    assert not chatbot.buttons  # share posts to the Hub; copy would copy our HTML source


def test_upload_is_limited_to_article_types(demo):
    import gradio as gr

    from qa_bot.ingest.corpus import SUPPORTED_SUFFIXES

    (upload,) = [b for b in demo.blocks.values() if isinstance(b, gr.File)]
    assert upload.file_types == list(SUPPORTED_SUFFIXES)  # one list: the loader's


def test_theme_loads_no_fonts_from_anywhere():
    import gradio as gr

    used = theme()
    assert not used._stylesheets
    fonts = [*used._font, *used._font_mono]
    assert not any(isinstance(f, (gr.themes.GoogleFont, gr.themes.LocalFont)) for f in fonts)
    assert "@font-face" not in used._get_theme_css()


def test_examples_only_for_the_bundled_article(settings, tmp_path):
    import gradio as gr

    article = tmp_path / "other.txt"
    article.write_text("Other article\n\nA sentence about something else entirely.\n")
    own = settings.replace(corpus=(str(article),))
    for configured, expect_examples in ((settings, True), (own, False)):
        app = build_app(Engine(configured), configured)
        (chatbot,) = [b for b in app.blocks.values() if isinstance(b, gr.Chatbot)]
        assert bool(chatbot.examples) is expect_examples


def test_launch_refuses_a_share_link(demo, settings):
    with pytest.raises(ValueError, match="share link"):
        launch(demo, settings, share=True)


def test_a_taken_port_gives_a_clear_error(demo, settings):
    import socket

    from qa_bot.errors import ServeError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError, match=f"port is in use.*--port {port + 1}"):
            launch(demo, settings, port=port, prevent_thread_lock=True)


def test_an_unreachable_own_address_gives_a_clear_error(demo, settings, monkeypatch):
    # A proxy that intercepts localhost is the usual cause (Gradio checks its own URL).
    from qa_bot.errors import ServeError
    from support.servers import free_port

    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("all_proxy", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServeError, match="NO_PROXY"):
        launch(demo, settings, port=free_port(), prevent_thread_lock=True)


def test_every_event_goes_through_the_queue(demo):
    # queue=False events are called on /gradio_api/run/predict, which the guard closes (N15).
    handlers = [d for d in demo.config["dependencies"] if d.get("backend_fn")]
    assert handlers and all(d.get("queue") is not False for d in handlers)


def test_building_the_app_does_not_open_the_index(settings):
    # The first start's indexing happens in warm_up, after logging is set up (U3).
    build_app(Engine(settings), settings)
    assert not settings.index_path.exists()


def test_gradios_copies_of_uploads_are_swept_every_ten_minutes(demo):
    # Direct uploads that nothing reads stay at most 20 minutes (N5).
    assert demo.delete_cache == (600, 600)
