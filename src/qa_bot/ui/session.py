"""What the web UI does, without the widgets: asking, undo/retry, feedback, uploads.

`ChatSession` methods take and return plain values (the list of `Turn`s kept
in a `gr.State`, strings of escaped HTML, chat messages), so they are tested
without Gradio or a browser; `ui.build_app` only wires them to components.
Every error becomes a message for the user: `QaBotError`s keep their own
(actionable) text, anything else is logged with its traceback and shown as a
generic message.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from qa_bot.errors import ConfigError, QaBotError, QuestionError, UnknownBackendError
from qa_bot.index.table import PUBLIC
from qa_bot.ingest.formats import check_article_file
from qa_bot.types import Answer

if TYPE_CHECKING:
    from qa_bot.config import Settings
    from qa_bot.engine import Engine
from qa_bot.ui.budget import UploadBudget
from qa_bot.ui.feedback import feedback_record, write_feedback
from qa_bot.ui.render import (
    answer_html,
    articles_table,
    byline_text,
    draft_html,
    error_html,
    sources_html,
    text_html,
)

log = logging.getLogger("qa_bot.ui.app")

UNEXPECTED = "Something went wrong on the server (it is logged there). Try again, or rephrase."
MAX_TOP_K = 20
MAX_REMEMBERED_RATINGS = 100_000


def backend_choices(settings: Settings) -> list[str]:
    """Answerer backends the UI offers: the configured one first, then those usable here
    (the answerer registry decides: `qa_bot.answering.answerers.offered_answerers`)."""
    from qa_bot.answering.answerers import offered_answerers

    return offered_answerers(settings.llm)


@dataclass(frozen=True)
class Turn:
    """One question and what came back: an answer, or an error message."""

    question: str
    answer: Answer | None = None
    error: str = ""
    rated: bool = False  # one like or dislike per answer is recorded
    # Names this answer across parallel events: two likes sent at once both see
    # `rated=False` in their copy of the state, so the session remembers rated ids.
    turn_id: str = field(default_factory=lambda: uuid.uuid4().hex)


Turns = list[Turn]
# What the chat handlers yield: chat messages, turns, sources HTML, textbox, status HTML.
ChatUpdate = tuple[list[dict], Turns, str, str, str]


def engine_history(
    turns: Turns, *, max_messages: int | None = None, max_chars: int | None = None
) -> list[dict]:
    """The answered turns as messages for `Engine.answer` (plain text, not HTML).

    Only the last turns that fit the engine's limits are sent (`max_messages` messages,
    none over `max_chars`): a follow-up needs the last few, and a long chat must never
    break on its own history (turn 22 used to fail with "send only the last few messages").
    """
    history: list[dict] = []
    for turn in reversed(turns):
        if turn.answer is None:
            continue
        pair = [
            {"role": "user", "content": turn.question},
            {"role": "assistant", "content": turn.answer.text},
        ]
        if max_messages is not None and len(history) + 2 > max_messages:
            break
        if max_chars is not None and any(len(m["content"]) > max_chars for m in pair):
            break  # an older turn beyond it would not be a follow-up's context anyway
        history[:0] = pair
    return history


def chat_messages(turns: Turns, *, draft: str | None = None) -> list[dict]:
    """Two chat messages per turn, so message 2*i+1 is the answer of turn i.

    `draft` (streamed, unverified text) replaces the last turn's answer while
    it is being generated.
    """
    messages: list[dict] = []
    for i, turn in enumerate(turns):
        if draft is not None and i == len(turns) - 1:
            reply = draft_html(draft)
        elif turn.answer is not None:
            reply = answer_html(turn.answer)
        else:
            reply = error_html(turn.error)
        messages.append({"role": "user", "content": text_html(turn.question)})
        messages.append({"role": "assistant", "content": reply})
    return messages


def viewer_of(request) -> str | None:
    """The browser session a Gradio request comes from (its private uploads are its own)."""
    return getattr(request, "session_hash", None) or None


def turn_for_message(index: int | tuple | list | None) -> int | None:
    """The turn a chat message index (from a select or like event) belongs to."""
    if isinstance(index, (tuple, list)):
        index = index[0] if index else None
    return index // 2 if isinstance(index, int) and index >= 0 else None


class ChatSession:
    def __init__(
        self, engine: Engine, settings: Settings, *, backends: list[str] | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.backends = backends or backend_choices(settings)
        self._budget = UploadBudget(
            per_minute=settings.upload_sentences_per_minute,
            session_per_minute=settings.session_upload_sentences_per_minute,
            largest_upload=settings.max_article_sentences,
        )
        # Links fetched in the last minute, for everyone (`add_url`).
        self._fetches: deque[float] = deque()
        self._fetch_lock = threading.Lock()
        # Turn ids already rated (bounded: the oldest are forgotten first).
        self._rated: OrderedDict[str, None] = OrderedDict()
        self._rated_lock = threading.Lock()

    def options(self, backend: str | None, top_k) -> tuple[str, int]:
        """Check the backend and passage count a client sent (the API takes any value)."""
        backend = backend or self.settings.llm
        if backend not in self.backends:
            raise UnknownBackendError("answerer", backend, self.backends)
        try:
            k = int(top_k) if top_k not in (None, "", 0) else self.settings.top_k
        except (TypeError, ValueError):
            raise ConfigError(
                f"The number of passages must be a whole number, got {top_k!r}."
            ) from None
        if not 1 <= k <= MAX_TOP_K:
            raise ConfigError(f"The number of passages must be between 1 and {MAX_TOP_K}, got {k}.")
        return backend, k

    def answer(
        self, question, history, backend: str | None = None, top_k=None, viewer=None
    ) -> Answer:
        """One answer, no streaming (the API endpoint)."""
        llm, k = self.options(backend, top_k)
        return self.engine.answer(question, history or None, llm=llm, top_k=k, viewer=viewer)

    # -- chat ------------------------------------------------------------------------

    def sources(self, answer: Answer | None, viewer: str | None = None) -> str:
        try:
            return sources_html(
                answer,
                lambda doc_id: self.engine.article_text(doc_id, viewer),
                lambda doc_id: self._byline(doc_id, viewer),
            )
        except Exception:
            log.exception("rendering the sources view failed")
            return error_html(UNEXPECTED)

    def _byline(self, doc_id: str, viewer: str | None) -> str:
        info = self.engine.article(doc_id, viewer)
        return byline_text(info.date, info.author) if info is not None else ""

    def submit(
        self,
        question: str,
        turns: Turns,
        backend: str | None,
        top_k: int | None,
        viewer: str | None = None,
    ) -> Iterator[ChatUpdate]:
        """Answer `question` after `turns` for `viewer`; yields the UI state as it changes."""
        turns = list(turns or [])
        question = question if isinstance(question, str) else ""
        pending = [*turns, Turn(question)]
        yield chat_messages(pending, draft=""), turns, self.sources(None), "", ""
        draft = ""
        try:
            llm, k = self.options(backend, top_k)
            history = engine_history(
                turns,
                max_messages=self.settings.max_history_messages,
                max_chars=self.settings.max_history_chars,
            )
            events = self.engine.answer_stream(question, history, llm=llm, top_k=k, viewer=viewer)
            for event in events:
                if event.kind == "token":
                    draft += event.text
                    yield chat_messages(pending, draft=draft), turns, self.sources(None), "", ""
                elif event.answer is not None:
                    done = [*turns, Turn(question, answer=event.answer)]
                    yield chat_messages(done), done, self.sources(event.answer, viewer), "", ""
                    return
            raise RuntimeError("answer_stream ended without an answer event")
        except QuestionError as exc:
            # Bad input is not a turn: keep the question in the box to fix it.
            yield (
                chat_messages(turns),
                turns,
                self.sources(self.last_answer(turns), viewer),
                question,
                error_html(str(exc)),
            )
            return
        except QaBotError as exc:
            message = str(exc)
        except Exception:
            log.exception("answering %r failed", question)
            message = UNEXPECTED
        failed = [*turns, Turn(question, error=message)]
        yield chat_messages(failed), failed, self.sources(None), "", error_html(message)

    def retry(
        self, turns: Turns, backend: str | None, top_k: int | None, viewer: str | None = None
    ) -> Iterator[ChatUpdate]:
        if not turns:
            yield chat_messages([]), [], self.sources(None), "", ""
            return
        yield from self.submit(turns[-1].question, turns[:-1], backend, top_k, viewer)

    def undo(self, turns: Turns, viewer: str | None = None) -> ChatUpdate:
        """Drop the last turn and put its question back in the box."""
        if not turns:
            return chat_messages([]), [], self.sources(None), "", ""
        kept = list(turns[:-1])
        sources = self.sources(self.last_answer(kept), viewer)
        return chat_messages(kept), kept, sources, turns[-1].question, ""

    def select(self, turns: Turns, index, viewer: str | None = None) -> str:
        """The sources view for the answer of the clicked message's turn."""
        i = turn_for_message(index)
        if i is None or i >= len(turns or []):
            return self.sources(self.last_answer(turns or []), viewer)
        return self.sources(turns[i].answer, viewer)

    @staticmethod
    def last_answer(turns: Turns) -> Answer | None:
        return next((t.answer for t in reversed(turns) if t.answer is not None), None)

    # -- feedback ----------------------------------------------------------------------

    def feedback(self, turns: Turns, index, liked) -> tuple[str, Turns]:
        """Record a like or dislike, once per answer; returns the status and the turns."""
        i = turn_for_message(index)
        turn = turns[i] if i is not None and i < len(turns or []) else None
        if i is None or turn is None or turn.answer is None:
            return text_html("Only answers can be rated."), turns
        if turn.rated or not self._first_rating(turn.turn_id):
            rated = [*turns[:i], replace(turn, rated=True), *turns[i + 1 :]]
            return text_html("Your rating of this answer is already saved."), rated
        try:
            record = feedback_record(turn.answer, liked=liked is True)
            write_feedback(
                self.settings.feedback_file, record, max_bytes=self.settings.feedback_max_bytes
            )
        except QaBotError as exc:
            with self._rated_lock:
                self._rated.pop(turn.turn_id, None)  # not saved: it may be rated again
            return error_html(str(exc)), turns
        rated = [*turns[:i], replace(turn, rated=True), *turns[i + 1 :]]
        return text_html("Thanks: your feedback was saved."), rated

    def _first_rating(self, turn_id: str) -> bool:
        """True once per turn id, however many events race for it."""
        with self._rated_lock:
            if turn_id in self._rated:
                return False
            self._rated[turn_id] = None
            if len(self._rated) > MAX_REMEMBERED_RATINGS:
                self._rated.popitem(last=False)
            return True

    # -- corpus ------------------------------------------------------------------------

    def articles_html(self, viewer: str | None = None) -> str:
        try:
            rows = self.engine.articles(viewer)
        except QaBotError as exc:
            return error_html(str(exc))
        except Exception:
            log.exception("listing articles failed")
            return error_html(UNEXPECTED)
        return articles_table(rows)

    def uploaded_ids(self, viewer: str | None = None) -> list[str]:
        """Ids of the uploads `viewer` can remove: its own (everyone's when shared)."""
        return [doc_id for _, doc_id in self.removable(viewer)]

    def removable(self, viewer: str | None = None) -> list[tuple[str, str]]:
        """(label, id) of each upload `viewer` may remove, for the remove list: people know
        their articles by title ("Lantern festival opens ... (upload-varna-lanterns)")."""
        try:
            ids = set(self.engine.removable(viewer))
            rows = self.engine.articles(viewer)
        except Exception:
            return []
        return [
            (f"{row[1] or row[0]} ({row[0]})", row[0])  # row: doc_id, title, ...
            for row in rows
            if row[0] in ids
        ]

    def articles_view(self, viewer: str | None = None) -> tuple[str, dict]:
        """The articles table and the choices of the remove list (a Gradio update)."""
        choices = self.removable(viewer)
        html = self.articles_html(viewer)
        return html, {"__type__": "update", "choices": choices, "value": None}

    def indexing_notice(self, path: str | None) -> str:
        return text_html(f"Indexing '{Path(path).name}'…") if path else ""

    def remove(self, doc_id: str | None, viewer: str | None = None) -> str:
        """Remove an uploaded article; returns a status message (escaped HTML)."""
        if not doc_id:
            return text_html("Choose an uploaded article to remove.")
        try:
            self.engine.remove_article(doc_id, viewer=viewer)
        except QaBotError as exc:
            return error_html(str(exc))
        except Exception:
            log.exception("removing %r failed", doc_id)
            return error_html(UNEXPECTED)
        return text_html(f"Removed {doc_id!r}: its passages are no longer searched.")

    def upload(self, path: str | None, viewer: str | None = None) -> str:
        """Index an uploaded file for `viewer` (the browser session); returns a status
        message (escaped HTML).

        The upload is private to `viewer` unless the operator shares uploads
        (QA_BOT_SHARED_UPLOADS). It is charged to the sentence budgets (`ui.budget`) of
        `viewer` and of everyone, once it has passed every check: a refused upload costs
        nothing. Gradio's copy of the file is deleted once read, whatever the outcome, so
        rejected uploads do not pile up in its cache.
        """
        if not path:
            return ""
        name = Path(path).name
        try:
            # The type and size check every upload route shares, before a byte is read.
            check_article_file(
                name, os.path.getsize(path), max_bytes=self.settings.max_upload_bytes
            )
            upload = self.engine.add_article(
                name,
                Path(path).read_bytes(),
                owner=self._owner(viewer),
                admit=lambda sentences: self._budget.charge(viewer or "", sentences),
            )
        except QaBotError as exc:
            return error_html(str(exc))
        except Exception:
            log.exception("indexing upload %r failed", name)
            return error_html(UNEXPECTED)
        finally:
            with contextlib.suppress(OSError):
                Path(path).unlink()
        report = upload.report
        if upload.replaced and (report.added or report.updated):
            done = (
                f"Replaced the earlier upload {', '.join(repr(r) for r in upload.replaced)} "
                f"with '{name}' as {upload.doc_id!r} ({report.chunks_embedded} passages indexed)."
            )
        elif report.added or report.updated:
            done = (
                f"Added '{name}' as {upload.doc_id!r} ({report.chunks_embedded} passages indexed)."
            )
        else:
            done = f"'{name}' is already indexed as {upload.doc_id!r}, unchanged."
        return text_html(f"{done} Ask about it in the Chat tab.")

    def link_notice(self, url: str | None) -> str:
        return text_html(f"Fetching {url.strip()}…") if url and url.strip() else ""

    def add_url(self, url: str | None, viewer: str | None = None) -> str:
        """Fetch a link and index the article for `viewer`; returns a status message
        (escaped HTML).

        Like an upload, the article is private to the browser session `viewer` unless the
        operator shares uploads, and its indexing is charged to the same sentence budgets.
        The fetch itself costs the server before anything can be measured, so links also
        keep a count per minute, for everyone (QA_BOT_UPLOADS_PER_MINUTE).
        """
        url = (url or "").strip()
        if not url:
            return error_html("Paste the link of an article (https://…) first.")
        try:
            wait = self._fetch_slot()
            if wait:
                return error_html(
                    f"Too many links: at most {self.settings.uploads_per_minute} a minute "
                    f"(QA_BOT_UPLOADS_PER_MINUTE). Try again in {wait} s."
                )
            upload = self.engine.add_url(
                url,
                owner=self._owner(viewer),
                admit=lambda sentences: self._budget.charge(viewer or "", sentences),
            )
        except QaBotError as exc:
            return error_html(str(exc))
        except Exception:
            log.exception("adding the link %r failed", url)
            return error_html(UNEXPECTED)
        report = upload.report
        title = self.engine.article(upload.doc_id, viewer)
        name = f"'{title.title}'" if title is not None else url
        if report.added or report.updated:
            done = f"Added {name} as {upload.doc_id!r} ({report.chunks_embedded} passages indexed)."
        else:
            done = f"{name} is already indexed as {upload.doc_id!r}, unchanged."
        return text_html(f"{done} Ask about it in the Chat tab.")

    def _owner(self, viewer: str | None) -> str:
        """Who an upload from `viewer` belongs to: that session, or everyone when shared."""
        return PUBLIC if self.settings.shared_uploads or viewer is None else viewer

    def _fetch_slot(self) -> int:
        """0 if a link may be fetched now (and count it), else the seconds until one may."""
        now = time.monotonic()
        with self._fetch_lock:
            while self._fetches and now - self._fetches[0] >= 60:
                self._fetches.popleft()
            if len(self._fetches) >= self.settings.uploads_per_minute:
                return max(1, round(60 - (now - self._fetches[0])))
            self._fetches.append(now)
            return 0
