"""A test double for the UI tests: `ScriptedAnswerer`.

It is a real `Answerer` subclass that answers with scripted text (or raises a
scripted error), citing the best retrieved passage, so tests control what the
"model" says without patching. The real app server is `support.servers.running_app`.
"""

from __future__ import annotations

from qa_bot.answering.answerers import Answerer, passages_for, source_for
from qa_bot.types import Answer
from support.servers import ROOT, running_app

__all__ = ["ROOT", "ScriptedAnswerer", "running_app"]


class ScriptedAnswerer(Answerer):
    name = "scripted"

    def __init__(self, *replies: str | BaseException) -> None:
        self.replies = list(replies)
        self.questions = []  # the ResolvedQuestions it was asked

    def answer(self, question, candidates, table) -> Answer:
        self.questions.append(question)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        top = candidates[0]
        return Answer(
            text=reply,
            sources=(source_for(top.chunk, top.dense, table),),
            backend=self.name,
            question=question.question,
            search_query=question.search_query,
            passages=passages_for(candidates, table),
        )
