"""A baseline for the ablation: quote the sentence nearest to the question, never abstain.

"Top-1 MiniLM": the candidate with the highest cosine similarity between its embedding and
the question's. It shows what the reader adds over plain semantic search.
"""

from __future__ import annotations

from collections.abc import Sequence

from qa_bot.answering.answerers import Answerer, passages_for, source_for
from qa_bot.answering.followup import ResolvedQuestion
from qa_bot.answering.retrieve import Candidate, ChunkTable
from qa_bot.types import Answer


class NearestSentenceAnswerer(Answerer):
    name = "nearest-sentence"

    def answer(
        self, question: ResolvedQuestion, candidates: Sequence[Candidate], table: ChunkTable
    ) -> Answer:
        passages = passages_for(candidates, table)
        if not candidates:
            return Answer(text="No passage found.", abstained=True, backend=self.name)
        best = max(candidates, key=lambda c: c.dense)
        return Answer(
            text=f"{best.chunk.text.strip()} [1]",
            sources=(source_for(best.chunk, best.dense, table),),
            backend=self.name,
            question=question.question,
            search_query=question.search_query,
            passages=passages,
        )
