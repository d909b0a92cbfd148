"""The Gradio web UI: chat with cited answers, a sources view, settings and uploads.

`build_app(engine, settings)` builds the `gr.Blocks` (nothing is served);
`launch(demo, settings)` serves it. Gradio is imported inside them, so
`import qa_bot` stays light. What each control does lives in `ui_session`
(plain functions, tested without a browser); the HTML is built in `ui_render`.

Hardening, by default: bound to 127.0.0.1, never a share link, analytics off;
a bounded queue (past `queue_size` waiting requests Gradio answers 503 and the
page shows "This application is currently busy. Please try again."); uploads
limited to article types and `max_upload_bytes`; every text shown is escaped
by `ui_render`, and the Chatbot also sanitises, renders no Markdown or LaTeX
and keeps no custom tags. The theme uses system fonts only, so the page
requests nothing outside the server.
"""

# No `from __future__ import annotations` here: Gradio reads the handlers' type
# hints at run time (SelectData, LikeData, the API's argument types).
import contextlib
import logging
import os
import time
from html import escape
from typing import Any

from qa_bot.config import Settings
from qa_bot.engine import Engine
from qa_bot.errors import QaBotError, ServeError
from qa_bot.ingest.corpus import SUPPORTED_SUFFIXES
from qa_bot.ui.guard import BodyLimit, RequestGuard, UploadGate
from qa_bot.ui.port import port_problem
from qa_bot.ui.render import CSS, answer_payload
from qa_bot.ui.session import MAX_TOP_K, UNEXPECTED, ChatSession, viewer_of

log = logging.getLogger("qa_bot.ui.app")

CACHE_SWEEP_S = 600  # how old Gradio's copies of uploads may get, and how often they are swept
# Questions about the bundled article, offered when no other corpus is configured.
BUNDLED_EXAMPLES = (
    "Where was the summit held?",
    "Who will chair the next summit?",
    "Which country did not send a delegation?",
    "What did Belarus say about the Oreshnik missile system?",
)
# Scroll the article box so the first highlighted span is in view (the DOM
# updates after the value changes, hence the short delay).
_SCROLL_TO_MARK = """() => { setTimeout(() => {
  const box = document.querySelector('#qa-sources .qa-article');
  const mark = box && box.querySelector('mark');
  if (mark) box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
}, 60); }"""
_INTRO = (
    "# qa-bot\nAsk about the news articles. Every answer quotes the article; "
    "the panel on the right shows where (click an earlier answer to see its sources)."
)


def _gradio():
    # Analytics must be off before gradio is first imported: it phones home at import.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    return gr


def build_app(
    engine: Engine, settings: Settings, *, examples: tuple[str, ...] | None = None
) -> Any:
    """The web UI as a `gr.Blocks`, queued but not launched.

    `settings` are the app's (host, queue size, upload limit); `engine` answers.
    """
    gr = _gradio()
    from gradio import Request
    from gradio.events import LikeData, SelectData

    session = ChatSession(engine, settings)
    if examples is None:
        examples = () if settings.corpus else BUNDLED_EXAMPLES
    answer_limit = {"concurrency_id": "answer", "concurrency_limit": 1, "api_visibility": "private"}

    # delete_cache: Gradio keeps a copy of every uploaded file; drop copies older than ten
    # minutes, checked every ten (the upload handler also deletes each copy once read, seconds
    # after it arrives). Files sent straight to the upload route and never used then hold at
    # most 20 minutes of QA_BOT_UPLOADS_PER_MINUTE uploads per address (200 MB by default).
    with gr.Blocks(
        title="qa-bot", analytics_enabled=False, delete_cache=(CACHE_SWEEP_S, CACHE_SWEEP_S)
    ) as demo:
        turns = gr.State([])
        gr.Markdown(_INTRO)
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    elem_id="qa-chat",
                    height=520,
                    examples=[{"text": q} for q in examples] or None,
                    render_markdown=False,
                    sanitize_html=True,
                    allow_tags=False,
                    # No copy buttons: they copy the message's HTML source, not its
                    # text. No share button: it posts the chat to the Hugging Face Hub.
                    latex_delimiters=[],
                    buttons=[],
                    feedback_options=("Like", "Dislike"),
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask about the article…",
                        show_label=False,
                        scale=5,
                        max_lines=4,
                        elem_id="qa-question",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
                status = gr.HTML(elem_id="qa-status", js_on_load=None)
                with gr.Accordion("Settings", open=False):
                    backend = gr.Dropdown(
                        session.backends,
                        value=session.backends[0],
                        label="Answerer",
                        elem_id="qa-backend",
                    )
                    top_k = gr.Slider(
                        1,
                        MAX_TOP_K,
                        value=min(settings.top_k, MAX_TOP_K),
                        step=1,
                        label="Passages retrieved",
                        elem_id="qa-top-k",
                    )
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(session.sources(None), elem_id="qa-sources", js_on_load=None)
        with gr.Tab("Articles"):
            articles = gr.HTML(elem_id="qa-articles", js_on_load=None)
            upload = gr.File(
                label=f"Add an article ({', '.join(SUPPORTED_SUFFIXES)}, at most "
                f"{settings.max_upload_bytes:,} bytes = {settings.max_upload_bytes / 1024:.1f} KB)",
                file_types=list(SUPPORTED_SUFFIXES),
                type="filepath",
                elem_id="qa-upload",
            )
            with gr.Row():
                link = gr.Textbox(
                    label="Or add an article from a link (a web page, PDF or Word file)",
                    placeholder="https://…",
                    max_lines=1,
                    elem_id="qa-url",
                    scale=4,
                )
                fetch = gr.Button("Add from URL", elem_id="qa-add-url", scale=1)
            upload_status = gr.HTML(elem_id="qa-upload-status", js_on_load=None)
            with gr.Row():
                # Filled when the page loads (`articles_view`): building the app must not
                # open the index, which the first start builds (with its progress lines).
                removable = gr.Dropdown(
                    [],  # filled per browser session on load: its own uploads
                    label="Uploaded article to remove",
                    elem_id="qa-remove-choice",
                    scale=3,
                )
                remove = gr.Button("Remove", elem_id="qa-remove", scale=1)

        chat_out = [chatbot, turns, sources, box, status]
        ask_in = [box, turns, backend, top_k]

        # Every handler that reads or changes articles asks as the browser session it
        # serves (`request.session_hash`): a session sees only its own private uploads.
        def submit(question, history, spec, k, request: Request):
            yield from session.submit(question, history, spec, k, viewer_of(request))

        def retry(history, spec, k, request: Request):
            yield from session.retry(history, spec, k, viewer_of(request))

        def undo(history, request: Request):
            return session.undo(history, viewer_of(request))

        def upload_file(path, request: Request):
            return session.upload(path, viewer_of(request)), None

        def remove_upload(doc_id, request: Request):
            return session.remove(doc_id, viewer_of(request))

        def articles_view(request: Request):
            return session.articles_view(viewer_of(request))

        box.submit(submit, ask_in, chat_out, **answer_limit)
        send.click(submit, ask_in, chat_out, **answer_limit)

        def ask_example(history, spec, k, evt: SelectData, request: Request):
            value = evt.value if isinstance(evt.value, dict) else {}
            yield from session.submit(value.get("text", ""), history, spec, k, viewer_of(request))

        def show_sources(history, evt: SelectData, request: Request):
            return session.select(history, evt.index, viewer_of(request))

        def rate(history, evt: LikeData):
            return session.feedback(history, evt.index, evt.liked)

        chatbot.example_select(ask_example, [turns, backend, top_k], chat_out, **answer_limit)
        chatbot.retry(retry, [turns, backend, top_k], chat_out, **answer_limit)
        chatbot.undo(undo, [turns], chat_out, api_visibility="private")
        chatbot.clear(
            lambda: ([], session.sources(None), ""),
            None,
            [turns, sources, status],
            api_visibility="private",
        )
        chatbot.select(show_sources, [turns], sources, api_visibility="private")
        chatbot.like(rate, [turns], [status, turns], api_visibility="private")
        # Say at once what is happening (an earlier error must not linger), then index in
        # the "index" queue, apart from the answers; the file box is emptied for the next one.
        # Every event goes through the queue (none is queue=False): Gradio's direct route,
        # /gradio_api/run/..., which such events use, is closed (ui.guard).
        upload.upload(
            session.indexing_notice,
            [upload],
            upload_status,
            concurrency_id="notice",
            concurrency_limit=4,
            api_visibility="private",
        ).then(
            upload_file,
            [upload],
            [upload_status, upload],
            concurrency_id="index",
            concurrency_limit=1,
            api_visibility="private",
        ).then(articles_view, None, [articles, removable], api_visibility="private")

        def add_link(url, request: Request):
            return session.add_url(url, viewer_of(request)), ""

        for trigger in (fetch.click, link.submit):
            trigger(
                session.link_notice,
                [link],
                upload_status,
                concurrency_id="notice",
                concurrency_limit=4,
                api_visibility="private",
            ).then(
                add_link,
                [link],
                [upload_status, link],
                concurrency_id="index",
                concurrency_limit=1,
                api_visibility="private",
            ).then(articles_view, None, [articles, removable], api_visibility="private")
        remove.click(
            remove_upload,
            [removable],
            upload_status,
            concurrency_id="index",
            concurrency_limit=1,
            api_visibility="private",
        ).then(articles_view, None, [articles, removable], api_visibility="private")
        sources.change(None, None, None, js=_SCROLL_TO_MARK, api_visibility="private")
        demo.load(articles_view, None, [articles, removable], api_visibility="private")

        def ask(
            question: str,
            history: list[dict] | None = None,
            backend: str = "",
            top_k: int = 0,
            request: Request | None = None,  # Gradio fills it in
        ) -> dict:
            """Answer `question` (after `history`, OpenAI-style messages), with its sources."""
            try:
                viewer = viewer_of(request)
                return answer_payload(session.answer(question, history, backend, top_k, viewer))
            except QaBotError as exc:
                # gr.Error messages are shown as HTML in the page: escape < > &.
                raise gr.Error(escape(str(exc), quote=False), print_exception=False) from None
            except Exception:
                log.exception("API answer to %r failed", question)
                raise gr.Error(UNEXPECTED, print_exception=False) from None

        gr.api(ask, api_name="ask", concurrency_id="answer", concurrency_limit=1)

    # api_open=False: no direct REST route (/gradio_api/run/...) skips the queue and its bound.
    demo.queue(max_size=settings.queue_size, default_concurrency_limit=2, api_open=False)
    return demo


def theme():
    """Gradio's default look with system fonts: no font files fetched from anywhere."""
    gr = _gradio()
    return gr.themes.Default(
        font=["Helvetica Neue", "Arial", "sans-serif"],
        font_mono=["DejaVu Sans Mono", "Menlo", "monospace"],
    )


def warm_up(engine: Engine) -> float:
    """Build or open the index and load the models, so the first question is quick."""
    started = time.perf_counter()
    log.info("loading the index and the models…")
    try:
        engine.warm_up()
    except QaBotError as exc:
        log.warning("warm-up failed: %s", exc)
    return time.perf_counter() - started


def max_body_bytes(settings: Settings) -> int:
    """The largest request a valid question can make: the longest history, every character
    JSON-escaped (six bytes), plus room for the question and Gradio's envelope."""
    history = settings.max_history_messages * settings.max_history_chars
    return 6 * history + 1_000_000


# Room for the multipart envelope around an uploaded file (headers, boundaries).
UPLOAD_ENVELOPE_BYTES = 64 * 1024


def guard_middleware(settings: Settings) -> list:
    """The size and upload checks in front of Gradio, outermost first (see `ui.guard`)."""
    from starlette.middleware import Middleware

    return [
        Middleware(
            BodyLimit,
            max_bytes=max_body_bytes(settings),
            upload_max_bytes=settings.max_upload_bytes + UPLOAD_ENVELOPE_BYTES,
        ),
        # The allowed types are the article loader's: one list.
        Middleware(UploadGate, suffixes=SUPPORTED_SUFFIXES, per_minute=settings.uploads_per_minute),
    ]


def guard_outermost(settings: Settings, host: str):
    """A FastAPI lifespan that puts `RequestGuard` (Host, Origin, closed routes) in front
    of everything, Gradio's own middleware included.

    `demo.launch` adds Gradio's CORS middleware outside any middleware passed to it, and
    that layer answers a localhost origin (``http://localhost:9999``) with credentials,
    preflights included, before an inner check sees the request. The lifespan runs once
    the app's middleware stack is built and before the server accepts a request, so the
    guard wraps the built stack there.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app):
        stack = app.middleware_stack or app.build_middleware_stack()
        app.middleware_stack = RequestGuard(
            stack, bound_to=host, allowed_hosts=settings.allowed_hosts
        )
        yield

    return lifespan


def launch(
    demo,
    settings: Settings,
    *,
    engine=None,
    host: str | None = None,
    port: int | None = None,
    started: float | None = None,
    **launch_kwargs: Any,
):
    """Serve `demo` on `host:port` (default: the settings' 127.0.0.1:7860), never shared.

    `started` (a `time.perf_counter()` value) is when the process started, for the
    "serving" line's time since start.
    """
    if launch_kwargs.pop("share", False):
        raise ValueError(
            "qa-bot never creates a public share link; serve it behind your own proxy."
        )
    host, port = host or settings.host, port or settings.port
    # Before the models load: a taken port is said at once, not after seconds of loading.
    problem = port_problem(host, port)
    if problem:
        raise ServeError(problem)
    if engine is not None:
        log.info("index and models loaded in %.1f s", warm_up(engine))
        engine.watch()  # other replicas' and processes' changes show within about a second
    # quiet: Gradio's banner suggests a public share link, which qa-bot never makes.
    launch_kwargs.setdefault("quiet", True)
    block = not launch_kwargs.pop("prevent_thread_lock", False)
    try:
        result = demo.launch(
            server_name=host,
            server_port=port,
            share=False,
            prevent_thread_lock=True,
            max_file_size=settings.max_upload_bytes,
            theme=theme(),
            css=CSS,
            enable_monitoring=False,  # /monitoring would need no login
            app_kwargs={
                "middleware": guard_middleware(settings),
                "lifespan": guard_outermost(settings, host),
            },
            **launch_kwargs,
        )
    except OSError as exc:  # Gradio: "Cannot find empty port in range"
        raise ServeError(
            f"Cannot serve on {host}:{port}: the port is in use (another qa-bot?) or the "
            f"address is not this machine's. Stop the other server, or choose another port: "
            f"python app.py --port {port + 1} (or set QA_BOT_PORT)."
        ) from exc
    except Exception as exc:  # Gradio checks it can reach its own URL (httpx, ValueError)
        demo.close()
        raise ServeError(
            f"The UI started but could not reach itself at http://{host}:{port}/ ({exc}). "
            "If an HTTP proxy is set (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY), add 127.0.0.1 and "
            "localhost to NO_PROXY; check that the loopback network interface is up."
        ) from exc
    # Printed only now that the server answers, so the line never lies.
    since = f", ready {time.perf_counter() - started:.1f} s after start" if started else ""
    print(f"qa-bot: serving on http://{host}:{port}{since} (Ctrl+C to stop)", flush=True)
    if block:
        demo.block_thread()
    return result
