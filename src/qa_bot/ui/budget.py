"""The CPU budget of uploads: sentences indexed per minute, per browser session and for all.

Indexing costs CPU in proportion to an article's sentences (each is embedded), not to the
number of uploads: six 1,500-sentence uploads a minute were more CPU than the machine has,
while six two-line junk files locked every user out of uploading. So the budget is counted
in sentences, charged only once an upload has passed every check and is about to be indexed
(a refused upload costs nothing), and kept per session as well as globally, so one user
cannot spend everyone's.

Each budget is a leaky bucket: it drains at `per_minute / 60` sentences a second and admits
an upload while the upload fits under its `capacity` (at least the largest upload allowed,
so any valid article can go in once the bucket is empty). Over any long stretch the rate is
at most `per_minute`; `bench/attack_scenarios.py` measures what that is in CPU.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from qa_bot.errors import BusyError


class LeakyBucket:
    """Sentences spent and not yet drained; not thread-safe (`UploadBudget` locks)."""

    def __init__(self, per_minute: int, capacity: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(capacity, per_minute)
        self.level = 0.0
        self._at = 0.0

    def drain(self, now: float) -> None:
        self.level = max(0.0, self.level - (now - self._at) * self.rate)
        self._at = now

    def wait(self, amount: int) -> float:
        """Seconds until `amount` fits (0: it fits now); call `drain` first."""
        over = self.level + amount - self.capacity
        return 0.0 if over <= 0 else over / self.rate


class UploadBudget:
    """Admits uploads while both the global and the session's budget have room."""

    def __init__(
        self,
        *,
        per_minute: int,
        session_per_minute: int,
        largest_upload: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.session_per_minute = session_per_minute
        self._largest = largest_upload
        self._clock = clock
        self._everyone = LeakyBucket(per_minute, largest_upload)
        self._sessions: dict[str, LeakyBucket] = {}
        self._lock = threading.Lock()

    def charge(self, session_id: str, sentences: int) -> None:
        """Spend `sentences` from both budgets, or raise `BusyError` and spend nothing."""
        now = self._clock()
        with self._lock:
            self._everyone.drain(now)
            mine = self._sessions.get(session_id)
            if mine is None:
                mine = LeakyBucket(self.session_per_minute, self._largest)
            mine.drain(now)
            own_wait, all_wait = mine.wait(sentences), self._everyone.wait(sentences)
            if own_wait:
                raise BusyError(
                    f"You have uploaded a lot in the last minutes: at most "
                    f"{self.session_per_minute:,} sentences a minute are indexed per user "
                    f"(QA_BOT_SESSION_UPLOAD_SENTENCES_PER_MINUTE). Try again in "
                    f"{math.ceil(own_wait)} s.",
                    retry_after=math.ceil(own_wait),
                )
            if all_wait:
                raise BusyError(
                    f"The server is busy indexing other uploads: at most "
                    f"{self.per_minute:,} sentences a minute are indexed for everyone "
                    f"(QA_BOT_UPLOAD_SENTENCES_PER_MINUTE). Try again in "
                    f"{math.ceil(all_wait)} s.",
                    retry_after=math.ceil(all_wait),
                )
            mine.level += sentences
            self._everyone.level += sentences
            self._sessions[session_id] = mine
            # Forget sessions whose budget has drained: memory stays bounded by activity.
            for key, bucket in list(self._sessions.items()):
                bucket.drain(now)
                if bucket.level <= 0:
                    del self._sessions[key]
