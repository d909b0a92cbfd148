"""Like/dislike feedback from the web UI, appended to a JSONL file.

One JSON object per line, so the file can be appended to by several processes
and read line by line: a liked answer is a candidate gold pair, a disliked one
a candidate failure case. Nothing here reads the file back or judges it.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qa_bot.errors import FeedbackError
from qa_bot.private_files import append_private, make_private_dir
from qa_bot.types import Answer

_write_lock = threading.Lock()


def feedback_record(answer: Answer, *, liked: bool, now: datetime | None = None) -> dict[str, Any]:
    """The line saved for one like/dislike of `answer`."""
    when = now or datetime.now(timezone.utc)
    return {
        "timestamp": when.isoformat(timespec="seconds"),
        "question": answer.question,
        "search_query": answer.search_query,
        "answer": answer.text,
        "abstained": answer.abstained,
        "sources": [
            {"text": s.text, "doc_id": s.doc_id, "start": s.start, "end": s.end, "score": s.score}
            for s in answer.sources
        ],
        "backend": answer.backend,
        "liked": bool(liked),
    }


def write_feedback(path: Path, record: dict[str, Any], *, max_bytes: int | None = None) -> None:
    """Append `record` as one JSON line to `path` (0600), creating parent folders (0700).

    ASCII-only JSON: U+2028, U+2029 and NEL in an answer would otherwise break readers
    that split on every Unicode line break. Past `max_bytes` the file is rotated once:
    it becomes ``<name>.1`` (replacing the previous one) and a new file starts, so the
    log never holds more than twice `max_bytes` on disk. (Not `logging`'s
    RotatingFileHandler: it reports a failed write on stderr instead of raising, and the
    user must be told their rating was not saved; and it creates files with the umask.)
    """
    line = json.dumps(record, ensure_ascii=True) + "\n"
    try:
        make_private_dir(path.parent)
        # One write() of a whole line in append mode: concurrent writers never
        # interleave inside a line on POSIX for lines this short.
        with _write_lock:
            size = _size(path)
            if max_bytes is not None and size and size + len(line) > max_bytes:
                os.replace(path, path.with_name(path.name + ".1"))
            append_private(path, line)
    except OSError as exc:
        raise FeedbackError(
            f"Cannot save feedback to '{path}': {exc.strerror or exc}. "
            "Set QA_BOT_FEEDBACK_PATH to a writable file."
        ) from exc


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
